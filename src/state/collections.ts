// The state's large collections (servers, their BDMs, volumes, domains, instance actions,
// guest loads) and the indexed look-ups the hot paths use on them. On a JSON state a look-up
// is an array search; on a state kept in SQLite (sqlite-store.ts) it is an index query that
// loads the rows it finds and nothing else, so a command that reads one server does not
// parse thirty thousand volumes. Either way the records returned are the state's own: a
// change made to one is saved like a change made through the array.
import type { Bdm, Domain, GuestLoad, Instance, InstanceAction, State, Volume } from './types.js';

export interface CollectionRows {
  instances: Instance;
  bdms: Bdm;
  volumes: Volume;
  domains: Domain;
  instanceActions: InstanceAction;
  guestLoads: GuestLoad;
}
export type CollectionName = keyof CollectionRows;

/** a record's field kept as an indexed column of its table */
export interface IndexedField {
  field: string;
  column: string;
  unique?: boolean;
}

export interface CollectionSpec {
  name: CollectionName;
  /** where it sits in the state document */
  section: 'nova' | 'cinder' | 'libvirt' | null;
  /** its key within the section (or the state, for a top-level one) */
  prop: string;
  /** absent in older files (read as none): kept absent */
  optional: boolean;
  /** the record's unique key, if it has one */
  key: IndexedField | null;
  /** the fields look-ups filter on */
  fields: IndexedField[];
}

export const COLLECTIONS: readonly CollectionSpec[] = [
  {
    name: 'instances',
    section: 'nova',
    prop: 'instances',
    optional: false,
    key: { field: 'uuid', column: 'uuid', unique: true },
    fields: [
      { field: 'id', column: 'num', unique: true },
      { field: 'name', column: 'name' },
      { field: 'projectId', column: 'project_id' },
    ],
  },
  {
    name: 'bdms',
    section: 'nova',
    prop: 'bdms',
    optional: false,
    key: { field: 'id', column: 'num', unique: true },
    fields: [
      { field: 'instanceUuid', column: 'instance_uuid' },
      { field: 'volumeId', column: 'volume_id' },
    ],
  },
  {
    name: 'instanceActions',
    section: 'nova',
    prop: 'instanceActions',
    optional: true,
    key: null,
    fields: [{ field: 'instanceUuid', column: 'instance_uuid' }],
  },
  {
    name: 'volumes',
    section: 'cinder',
    prop: 'volumes',
    optional: false,
    key: { field: 'id', column: 'id', unique: true },
    fields: [
      { field: 'displayName', column: 'name' },
      { field: 'status', column: 'status' },
      { field: 'projectId', column: 'project_id' },
    ],
  },
  {
    name: 'domains',
    section: 'libvirt',
    prop: 'domains',
    optional: false,
    key: { field: 'uuid', column: 'uuid', unique: true },
    fields: [
      { field: 'name', column: 'name', unique: true },
      { field: 'id', column: 'num', unique: true },
    ],
  },
  {
    name: 'guestLoads',
    section: null,
    prop: 'guestLoads',
    optional: true,
    key: null,
    fields: [{ field: 'server', column: 'server' }],
  },
];

export const COLLECTION: Record<CollectionName, CollectionSpec> = Object.fromEntries(COLLECTIONS.map((c) => [c.name, c])) as Record<CollectionName, CollectionSpec>;

/** what a state kept in a store that can look records up by index offers */
export interface IndexedRows {
  /** the records whose `field` equals `value`, in the collection's order */
  where<C extends CollectionName>(collection: C, field: string, value: string | number): CollectionRows[C][];
  /** the records whose `field` passes `test` (tested on the indexed column, not the record) */
  matching<C extends CollectionName>(collection: C, field: string, test: (value: unknown) => boolean, contains?: string): CollectionRows[C][];
  /** adds a record at the end of the collection, without reading it */
  append(collection: CollectionName, row: object): void;
  /** removes records found through it (or appended), without reading the collection */
  remove(collection: CollectionName, rows: object[]): void;
  /** each record in order, none kept (false when it cannot) */
  each(collection: CollectionName, fn: (row: object) => void): boolean;
  /** some fields of every record, without loading the records (null when it cannot) */
  pick(collection: CollectionName, fields: string[], nonNull?: string): Array<Record<string, unknown>> | null;
}

/** the symbol under which a lazily loaded state keeps its store (never serialised) */
export const INDEXED = Symbol.for('novasim.state.indexed');

/** the store to ask, while the collection is not read whole (then the array is the truth) */
function indexedOf(state: State, collection: CollectionName): IndexedRows | undefined {
  const idx = (state as unknown as Record<symbol, IndexedRows | undefined>)[INDEXED];
  if (!idx) return undefined;
  const spec = COLLECTION[collection];
  const holder = spec.section ? state[spec.section] : state;
  return Object.getOwnPropertyDescriptor(holder, spec.prop)?.get ? idx : undefined;
}

/** the collection's array (materialising it on a lazily loaded state) */
export function rowsOf<C extends CollectionName>(state: State, collection: C): CollectionRows[C][] {
  const spec = COLLECTION[collection];
  const holder = (spec.section ? state[spec.section] : state) as unknown as Record<string, CollectionRows[C][] | undefined>;
  return holder[spec.prop] ?? [];
}

function fieldOf(row: unknown, field: string): unknown {
  return (row as Record<string, unknown>)[field];
}

/** the records of `collection` whose `field` is `value`, in order */
export function where<C extends CollectionName>(state: State, collection: C, field: string, value: string | number): CollectionRows[C][] {
  const idx = indexedOf(state, collection);
  if (idx && indexedField(collection, field)) return idx.where(collection, field, value);
  return rowsOf(state, collection).filter((r) => fieldOf(r, field) === value);
}

/** the records of `collection` whose `field` passes `test`, in order: on a state kept in
 * SQLite only those records are loaded */
export function matching<C extends CollectionName>(
  state: State,
  collection: C,
  field: string,
  test: (value: unknown) => boolean,
  /** the test passes exactly the strings that hold this text (a hint the store may use) */
  contains?: string,
): CollectionRows[C][] {
  const idx = indexedOf(state, collection);
  if (idx && indexedField(collection, field)) return idx.matching(collection, field, test, contains);
  return rowsOf(state, collection).filter((r) => test(fieldOf(r, field)));
}

/** runs `fn` on each record of `collection`, in order. On a state kept in SQLite that was only
 * read, the records are read one at a time and none is kept: a view of thirty thousand
 * volumes does not hold the records and the views at once. */
export function each<C extends CollectionName>(state: State, collection: C, fn: (row: CollectionRows[C]) => void): void {
  const idx = indexedOf(state, collection);
  if (idx?.each(collection, fn as (row: object) => void)) return;
  for (const r of rowsOf(state, collection)) fn(r);
}

/** adds `row` at the end of `collection` (creating an optional collection that is absent);
 * on a state kept in SQLite the collection is not read for it */
export function append<C extends CollectionName>(state: State, collection: C, row: CollectionRows[C]): void {
  const idx = indexedOf(state, collection);
  if (idx) return idx.append(collection, row);
  const spec = COLLECTION[collection];
  const holder = (spec.section ? state[spec.section] : state) as unknown as Record<string, CollectionRows[C][] | undefined>;
  (holder[spec.prop] ??= []).push(row);
}

/** removes `rows` — records of `collection` as found by byKey/where/matching or the array —
 * from it, keeping the order of the rest. On a state kept in SQLite the collection is not
 * read for it: the save deletes their rows and writes nothing else (where
 * `s.nova.bdms = s.nova.bdms.filter(...)` reads every BDM and writes the table again). */
export function remove<C extends CollectionName>(state: State, collection: C, rows: ReadonlyArray<CollectionRows[C] | undefined>): void {
  const gone = new Set<object>(rows.filter((r): r is CollectionRows[C] => r !== undefined));
  if (!gone.size) return;
  const idx = indexedOf(state, collection);
  if (idx) return idx.remove(collection, [...gone]);
  const spec = COLLECTION[collection];
  const holder = (spec.section ? state[spec.section] : state) as unknown as Record<string, CollectionRows[C][] | undefined>;
  const arr = holder[spec.prop];
  if (!arr) return;
  // in place: the same array, as append() keeps it
  let kept = 0;
  for (const r of arr) if (!gone.has(r)) arr[kept++] = r;
  arr.length = kept;
}

/** `fields` of every record of `collection`, in order, as plain objects to read (not the
 * records: a change to them is not saved). On a state kept in SQLite the records are not
 * loaded for it. */
export function pick<C extends CollectionName, K extends keyof CollectionRows[C] & string>(
  state: State,
  collection: C,
  fields: K[],
  /** only the records where this indexed field is not null */
  nonNull?: K,
): Array<Pick<CollectionRows[C], K>> {
  const idx = indexedOf(state, collection);
  const picked = idx?.pick(collection, fields, nonNull);
  if (picked) return picked as Array<Pick<CollectionRows[C], K>>;
  return rowsOf(state, collection)
    .filter((r) => nonNull === undefined || (r[nonNull] !== null && r[nonNull] !== undefined))
    .map((r) => Object.fromEntries(fields.map((f) => [f, r[f]])) as Pick<CollectionRows[C], K>);
}

/** the record of `collection` whose unique key (or unique `field`) is `value` */
export function byKey<C extends CollectionName>(state: State, collection: C, value: string | number, field?: string): CollectionRows[C] | undefined {
  const f = field ?? COLLECTION[collection].key?.field;
  if (!f) throw new Error(`${collection} has no key`);
  const idx = indexedOf(state, collection);
  if (idx && indexedField(collection, f)) return idx.where(collection, f, value)[0];
  return rowsOf(state, collection).find((r) => fieldOf(r, f) === value);
}

export function indexedField(collection: CollectionName, field: string): IndexedField | undefined {
  const spec = COLLECTION[collection];
  if (spec.key?.field === field) return spec.key;
  return spec.fields.find((f) => f.field === field);
}
