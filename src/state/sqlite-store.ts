// The live world of a large state, kept in SQLite (better-sqlite3): one table per large
// collection (a row is the record's JSON text, with its key and the fields look-ups filter on
// as indexed columns) and a `meta` table holding the rest of the state (users, flavors,
// counters, nova.conf, the journal …) as one small JSON "skeleton". A state read from it is
// loaded lazily: each collection is read from its table on the first ordinary use of its
// array, and an indexed look-up (collections.ts: byKey/where) loads only the rows it finds.
// A save writes only the rows that changed, were added or removed, in one transaction
// (synchronous=FULL, write-ahead log: one fsync per commit): a crash or a full disk leaves
// the old state, a commit acknowledged is kept.
// The JSON document stays what a user reads and edits: `nova-sim export` writes it,
// `nova-sim import` reads it back, exactly (docs/large-worlds.md).
import { fsyncDirectory } from './durable-dir.js';
import { closeSync, constants, fsyncSync, openSync, promises as fsp, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { COLLECTION, COLLECTIONS, INDEXED, indexedField, type CollectionName, type CollectionRows, type CollectionSpec, type IndexedRows } from './collections.js';
import type { State } from './types.js';
import { validateState, type KnownImages } from './validate.js';

/** the first 16 bytes of every SQLite 3 database */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** what meta.format holds in a novasim state kept in SQLite */
export const SQLITE_FORMAT = 'novasim-state-1';
/** a collection's place in the skeleton */
const MARK = '\u0000novasim:rows';

/** The file's first bytes say SQLite: the state is kept in SQLite, not JSON. */
export function isSqliteFile(path: string): boolean {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(16);
    return readSync(fd, buf, 0, 16, 0) === 16 && buf.equals(SQLITE_HEADER);
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

// ---- the binding, loaded only for a state kept in SQLite --------------------------------

interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  raw(on?: boolean): Statement;
  pluck(on?: boolean): Statement;
  iterate(...params: unknown[]): IterableIterator<unknown>;
}
export interface Db {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string, opts?: { simple?: boolean }): unknown;
  function(name: string, fn: (...args: unknown[]) => unknown): void;
  close(): void;
  readonly inTransaction: boolean;
}
type DbCtor = new (path: string, opts?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Db;
let ctor: DbCtor | null = null;
function Database(): DbCtor {
  // a CommonJS native addon: required, not imported (and kept out of the bundle)
  ctor ??= createRequire(import.meta.url)('better-sqlite3') as DbCtor;
  return ctor;
}

/** A SQLite error, in one line: what the store says when it cannot read or write its file. */
export class SqliteProblem extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
function asProblem(err: unknown): SqliteProblem {
  const e = err as { code?: string; message?: string };
  return new SqliteProblem(e.code ?? 'SQLITE_ERROR', (e.message ?? String(err)).replace(/\s+/g, ' '));
}

// ---- prepared statements, kept per database -------------------------------------------------

/** each database's statements, by mode and SQL: preparing one costs more than running it */
const statements = new WeakMap<Db, Map<string, Statement>>();

/** `sql` prepared once per database; `mode` raw (rows as arrays) or pluck (the first column).
 * Not for iterate(): a statement being iterated is busy until the iteration ends. */
function prepared(db: Db, sql: string, mode: 'raw' | 'pluck' | 'run' = 'run'): Statement {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  const key = `${mode}:${sql}`;
  let st = m.get(key);
  if (!st) {
    st = db.prepare(sql);
    if (mode === 'raw') st.raw(true);
    else if (mode === 'pluck') st.pluck();
    m.set(key, st);
  }
  return st;
}

// ---- schema --------------------------------------------------------------------------------

function columnsOf(spec: CollectionSpec): Array<{ field: string; column: string; unique?: boolean }> {
  return spec.key ? [spec.key, ...spec.fields] : spec.fields;
}

function createSchema(db: Db): void {
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  for (const spec of COLLECTIONS) {
    const cols = columnsOf(spec).map((c) => `${c.column}${c.unique ? ' UNIQUE' : ''}`);
    db.exec(`CREATE TABLE ${spec.name} (seq INTEGER PRIMARY KEY, ${cols.join(', ')}, json TEXT NOT NULL)`);
    for (const c of columnsOf(spec)) if (!c.unique) db.exec(`CREATE INDEX ${spec.name}_${c.column} ON ${spec.name} (${c.column})`);
  }
}

/** how much of the database a connection reads through a memory map (pragmas()) */
const MMAP_SIZE = 1073741824;

function pragmas(db: Db): void {
  // Write-ahead log, synchronous=FULL: a commit appends its pages to <state>-wal and fsyncs
  // that one file (a rollback journal costs four fsyncs: journal, its header, the database,
  // and the journal's removal), and is as durable: every transaction acknowledged survives a
  // crash or a power loss. Readers of other processes read on while a writer commits. The
  // mode is kept in the file (writeSqliteState sets it); a file of an older novasim, kept
  // with a rollback journal, is switched on its first open.
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // the log is emptied into the database every 1,000 pages (SQLite's default checkpoint);
  // a log a large write grew (init --force over a world) is cut back to this size after it
  db.pragma('journal_size_limit = 16777216');
  // pages read through a memory map, not copied by read() into SQLite's cache: reading a
  // whole table (`nova volume-list`: 30,000 rows) costs a third. Writes still go through
  // write() and fsync (SQLite's default): durability is unchanged.
  db.pragma(`mmap_size = ${MMAP_SIZE}`);
  db.function('novasim_test', (v: unknown) => (currentTest?.(v) ? 1 : 0));
}

// ---- the skeleton: the state without its large collections ---------------------------------

function holderOf(doc: Record<string, unknown>, spec: CollectionSpec): Record<string, unknown> | undefined {
  return spec.section ? (doc[spec.section] as Record<string, unknown> | undefined) : doc;
}

/** the state's JSON with each large collection replaced by a mark; no getter is run */
function skeletonOf(state: State): string {
  const doc = state as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(doc)) {
    const v = Object.getOwnPropertyDescriptor(doc, k)?.value as unknown;
    if (k === 'guestLoads') {
      out[k] = MARK;
    } else if (k === 'nova' || k === 'cinder' || k === 'libvirt') {
      const sec: Record<string, unknown> = {};
      const src = v as Record<string, unknown>;
      for (const k2 of Object.keys(src)) sec[k2] = COLLECTIONS.some((c) => c.section === k && c.prop === k2) ? MARK : (Object.getOwnPropertyDescriptor(src, k2)?.value as unknown);
      out[k] = sec;
    } else out[k] = v;
  }
  return JSON.stringify(out);
}

/** the rows the state holds for a collection, without materialising it: null when untouched */
function touchedArray(state: State, spec: CollectionSpec): unknown[] | null | undefined {
  const holder = holderOf(state as unknown as Record<string, unknown>, spec);
  if (!holder) return undefined;
  const d = Object.getOwnPropertyDescriptor(holder, spec.prop);
  if (!d) return undefined; // absent: no rows
  if (d.get) return null; // never used as an array
  return Array.isArray(d.value) ? d.value : undefined;
}

// ---- one state read from the database --------------------------------------------------

interface Loaded {
  obj: object;
  text: string;
}

/** the rows of one state: what was loaded, so that a save writes what changed */
class LazyWorld implements IndexedRows {
  /** per collection: seq → the record as loaded, with its text then */
  readonly loaded = new Map<CollectionName, Map<number, Loaded>>();
  readonly seqOf = new WeakMap<object, number>();
  /** collections read whole */
  readonly whole = new Set<CollectionName>();
  /** records appended to a collection not read whole (append()), in order */
  readonly appended = new Map<CollectionName, object[]>();

  constructor(
    private readonly db: Db,
    /** a state that will be saved: what each row was is kept, to write only what changed */
    private readonly tracking: boolean,
    /** the state file, named when a row cannot be read */
    private readonly path: string,
    /** a state shared by every reader until the database changes (SqliteWorld.read(true)):
     * its records are never changed in memory, so a look-up needs no scan of those loaded */
    private readonly shared = false,
  ) {}

  private cache(c: CollectionName): Map<number, Loaded> {
    let m = this.loaded.get(c);
    if (!m) this.loaded.set(c, (m = new Map()));
    return m;
  }

  private adopt(c: CollectionName, seq: number, text: string): object {
    const m = this.cache(c);
    const had = m.get(seq);
    if (had) return had.obj;
    const obj = JSON.parse(text) as object;
    m.set(seq, { obj, text });
    // only a save asks which row a record came from (a WeakMap entry is dear to collect)
    if (this.tracking) this.seqOf.set(obj, seq);
    return obj;
  }

  all(c: CollectionName): object[] {
    try {
      return this.allRows(c);
    } catch (err) {
      throw readProblem(err, this.path);
    }
  }

  private allRows(c: CollectionName): object[] {
    // records appended before the array was read come after its rows
    const extra = this.appended.get(c) ?? [];
    this.appended.delete(c);
    return [...this.tableRows(c), ...extra];
  }

  private tableRows(c: CollectionName): object[] {
    this.whole.add(c);
    const m = this.loaded.get(c);
    if (!this.tracking && !m?.size) {
      // a state only read: the records, and nothing kept about them
      // (one group_concat string parsed once measured slower, and higher at its peak)
      const texts = prepared(this.db, `SELECT json FROM ${c} ORDER BY seq`, 'pluck').all() as string[];
      return texts.map((t) => JSON.parse(t) as object);
    }
    let rows = prepared(this.db, `SELECT seq, json FROM ${c} ORDER BY seq`, 'raw').all() as Array<[number, string]>;
    if (this.removed.get(c)?.size) rows = rows.filter(([seq]) => !this.isRemoved(c, seq));
    if (!this.tracking) return rows.map(([seq, text]) => m?.get(seq)?.obj ?? (JSON.parse(text) as object));
    return rows.map(([seq, text]) => this.adopt(c, seq, text));
  }

  where<C extends CollectionName>(c: C, field: string, value: string | number): CollectionRows[C][] {
    const col = indexedField(c, field);
    if (!col) throw new Error(`${c}.${field} is not indexed`);
    let rows: Array<[number, string]>;
    try {
      rows = prepared(this.db, `SELECT seq, json FROM ${c} WHERE ${col.column} = ? ORDER BY seq`, 'raw').all(value) as Array<[number, string]>;
    } catch (err) {
      throw readProblem(err, this.path);
    }
    return this.merge(c, rows, (o) => (o as Record<string, unknown>)[field] === value);
  }

  matching<C extends CollectionName>(c: C, field: string, test: (value: unknown) => boolean, contains?: string): CollectionRows[C][] {
    const col = indexedField(c, field);
    if (!col) throw new Error(`${c}.${field} is not indexed`);
    if (contains !== undefined) {
      // the test is "holds this text": SQLite's instr() runs it without calling back
      let rows: Array<[number, string]>;
      try {
        rows = prepared(this.db, `SELECT seq, json FROM ${c} WHERE instr(${col.column}, ?) > 0 ORDER BY seq`, 'raw').all(contains) as Array<[number, string]>;
      } catch (err) {
        throw readProblem(err, this.path);
      }
      return this.merge(c, rows, (o) => test((o as Record<string, unknown>)[field]));
    }
    currentTest = test;
    let rows: Array<[number, string]>;
    try {
      rows = prepared(this.db, `SELECT seq, json FROM ${c} WHERE novasim_test(${col.column}) ORDER BY seq`, 'raw').all() as Array<[number, string]>;
    } catch (err) {
      throw readProblem(err, this.path);
    } finally {
      currentTest = null;
    }
    return this.merge(c, rows, (o) => test((o as Record<string, unknown>)[field]));
  }

  /** some fields of every record, in order, without loading the records (a state only read,
   * whose records of `c` were not loaded); null when that cannot be */
  pick(c: CollectionName, fields: string[], nonNull?: string): Array<Record<string, unknown>> | null {
    if (this.tracking || this.loaded.get(c)?.size || this.appended.get(c)?.length || !fields.every((f) => /^[A-Za-z]\w*$/.test(f))) return null;
    // an indexed field is read from its column (none holds a boolean), any other with `->`
    // (JSON text: true stays true); one string for all, parsed once
    const expr = (f: string): string => {
      const col = indexedField(c, f);
      return col ? `json_quote(${col.column})` : `COALESCE(json -> '$.${f}', 'null')`;
    };
    const item = `'[' || ${fields.map(expr).join(" || ',' || ")} || ']'`;
    const nn = nonNull === undefined ? undefined : indexedField(c, nonNull);
    if (nonNull !== undefined && !nn) return null;
    let text: string;
    try {
      const sql = `SELECT '[' || COALESCE(group_concat(${item}, ',' ORDER BY seq), '') || ']' FROM ${c}${nn ? ` WHERE ${nn.column} IS NOT NULL` : ''}`;
      text = (prepared(this.db, sql, 'raw').get() as [string])[0];
    } catch (err) {
      throw readProblem(err, this.path);
    }
    // (a loop, not Object.fromEntries of pairs: no array per field of each of 20,000 rows;
    // the fields are plain names, never __proto__)
    return (JSON.parse(text) as unknown[][]).map((vals) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) o[fields[i]] = vals[i];
      return o;
    });
  }

  /** the rows found, with the records changed in memory since they were loaded (their present
   * value decides), in the collection's order */
  private merge<C extends CollectionName>(c: C, rows: Array<[number, string]>, keep: (o: object) => boolean): CollectionRows[C][] {
    const found = new Map<number, object>();
    for (const [seq, text] of rows) if (!this.isRemoved(c, seq)) found.set(seq, this.adopt(c, seq, text));
    if (!this.shared) for (const [seq, l] of this.cache(c)) if (!found.has(seq) && !this.isRemoved(c, seq)) found.set(seq, l.obj);
    return [
      ...[...found.entries()].sort((a, b) => a[0] - b[0]).map(([, o]) => o),
      ...(this.appended.get(c) ?? []),
    ].filter(keep) as CollectionRows[C][];
  }

  /** each record in order, one at a time, none kept (a state only read whose records of `c`
   * were not loaded); false when that cannot be */
  each(c: CollectionName, fn: (row: object) => void): boolean {
    if (this.tracking || this.loaded.get(c)?.size || this.appended.get(c)?.length) return false;
    let it: IterableIterator<unknown>;
    try {
      it = this.db.prepare(`SELECT json FROM ${c} ORDER BY seq`).pluck().iterate();
    } catch (err) {
      throw readProblem(err, this.path);
    }
    for (const text of it) fn(JSON.parse(text as string) as object);
    return true;
  }

  /** adds a record at the end of a collection not read whole, without reading it */
  append(c: CollectionName, row: object): void {
    let l = this.appended.get(c);
    if (!l) this.appended.set(c, (l = []));
    l.push(row);
  }

  /** per collection: the rows removed (remove()) from a collection not read whole */
  readonly removed = new Map<CollectionName, Set<number>>();

  /** removes records of a collection not read whole (found through where()/byKey(), or
   * appended), without reading it: their rows are deleted by the save */
  remove(c: CollectionName, rows: object[]): void {
    const gone = new Set(rows);
    const extra = this.appended.get(c);
    if (extra) this.appended.set(c, extra.filter((o) => !gone.has(o)));
    let removed = this.removed.get(c);
    if (!removed) this.removed.set(c, (removed = new Set()));
    for (const [seq, l] of this.loaded.get(c) ?? []) if (gone.has(l.obj)) removed.add(seq);
  }

  /** whether the row was removed by remove() */
  private isRemoved(c: CollectionName, seq: number): boolean {
    return this.removed.get(c)?.has(seq) ?? false;
  }
}

/** how a failed read of rows is told (the store sets it: a StateFileError naming the file) */
let readProblem: (err: unknown, path: string) => Error = (err) => (err instanceof Error ? err : new Error(String(err)));
export function setReadProblem(wrap: (err: unknown, path: string) => Error): void {
  readProblem = wrap;
}

/** the test novasim_test() runs in the query under way (matching()) */
let currentTest: ((value: unknown) => boolean) | null = null;

/** where a holder of collections (the state, or its nova, cinder, libvirt section) keeps the
 * LazyWorld its collections load from */
const WORLD = Symbol('novasim.sqlite.world');

/** The accessors of each collection's place, one pair per collection for every state read:
 * shared functions (not closures per state) let V8 give every state read the same shapes. */
const ACCESSORS = new Map<CollectionName, PropertyDescriptor>(
  COLLECTIONS.map((spec) => [
    spec.name,
    {
      enumerable: true,
      configurable: true,
      get(this: Record<string | symbol, unknown>): unknown {
        const rows = (this[WORLD] as LazyWorld).all(spec.name);
        Object.defineProperty(this, spec.prop, { value: rows, writable: true, enumerable: true, configurable: true });
        return rows;
      },
      set(this: Record<string | symbol, unknown>, v: unknown): void {
        const world = this[WORLD] as LazyWorld;
        // the old rows must be known to be removed
        if (!world.whole.has(spec.name)) world.all(spec.name);
        Object.defineProperty(this, spec.prop, { value: v, writable: true, enumerable: true, configurable: true });
      },
    },
  ]),
);

/** a state on the database: its small parts parsed, each large collection loaded on first use */
function lazyState(db: Db, skeleton: string, tracking: boolean, path: string, shared = false): { state: State; world: LazyWorld } {
  const world = new LazyWorld(db, tracking, path, shared);
  const doc = JSON.parse(skeleton) as Record<string, unknown>;
  for (const spec of COLLECTIONS) {
    const holder = holderOf(doc, spec);
    if (!holder || holder[spec.prop] !== MARK) continue;
    if (!Object.prototype.hasOwnProperty.call(holder, WORLD)) Object.defineProperty(holder, WORLD, { value: world, enumerable: false });
    Object.defineProperty(holder, spec.prop, ACCESSORS.get(spec.name) as PropertyDescriptor);
  }
  Object.defineProperty(doc, INDEXED, { value: world, enumerable: false });
  return { state: doc as unknown as State, world };
}

// ---- saving: the rows that changed --------------------------------------------------------

interface RowWrite {
  seq: number;
  obj: object;
  text: string;
}
interface CollectionPlan {
  spec: CollectionSpec;
  /** seqs to delete (removed, or changed and written again) */
  drop: number[];
  /** rows to write */
  put: RowWrite[];
  /** every row is written again (the order changed) */
  rewrite: boolean;
}

function planCollection(world: LazyWorld, spec: CollectionSpec, state: State, maxSeq: () => number): CollectionPlan {
  const plan: CollectionPlan = { spec, drop: [], put: [], rewrite: false };
  const arr = touchedArray(state, spec);
  const loaded = world.loaded.get(spec.name) ?? new Map<number, Loaded>();
  if (arr === null) {
    // only records looked up by index: each written again if it changed, those removed deleted
    const removed = world.removed.get(spec.name);
    for (const [seq, l] of loaded) {
      if (removed?.has(seq)) {
        plan.drop.push(seq);
        continue;
      }
      const text = JSON.stringify(l.obj);
      if (text !== l.text) {
        plan.drop.push(seq);
        plan.put.push({ seq, obj: l.obj, text });
      }
    }
    // and the records appended, after every row
    const extra = world.appended.get(spec.name) ?? [];
    if (extra.length) {
      let next = maxSeq();
      for (const obj of extra) plan.put.push({ seq: ++next, obj, text: JSON.stringify(obj) });
    }
    return plan;
  }
  if (arr === undefined) {
    // the collection is gone from the state (or was never there): no rows
    plan.rewrite = true;
    return plan;
  }
  const rows = arr;
  // read whole (a setter or a getter ran): the array is the collection
  const used = new Set<number>();
  let last = 0;
  let next = maxSeq();
  let appendOnly = true;
  const fresh: RowWrite[] = [];
  const changed: RowWrite[] = [];
  for (const obj of rows) {
    const seq = obj && typeof obj === 'object' ? world.seqOf.get(obj as object) : undefined;
    const text = JSON.stringify(obj);
    if (seq === undefined || used.has(seq)) {
      fresh.push({ seq: ++next, obj: obj as object, text });
      continue;
    }
    if (seq < last || fresh.length) appendOnly = false;
    last = seq;
    used.add(seq);
    if (text !== loaded.get(seq)?.text) changed.push({ seq, obj: obj as object, text });
  }
  if (!appendOnly) {
    plan.rewrite = true;
    plan.put = rows.map((obj, i) => ({ seq: i + 1, obj: obj as object, text: JSON.stringify(obj) }));
    return plan;
  }
  for (const seq of loaded.keys()) if (!used.has(seq)) plan.drop.push(seq);
  for (const c of changed) plan.drop.push(c.seq);
  plan.put = [...changed, ...fresh];
  return plan;
}

function columnValue(obj: object, field: string): unknown {
  const v = (obj as Record<string, unknown>)[field];
  return v === undefined ? null : typeof v === 'boolean' ? Number(v) : v;
}

/** Writes the changes of `state` (read from `db` by lazyState) inside the open transaction;
 * returns a problem that makes the change unsaveable, or null. */
function saveChanges(db: Db, world: LazyWorld, state: State, statePath: string): string | null {
  const skeleton = skeletonOf(state);
  const plans = COLLECTIONS.map((spec) =>
    planCollection(world, spec, state, () => (prepared(db, `SELECT COALESCE(MAX(seq), 0) FROM ${spec.name}`, 'raw').get() as [number])[0]),
  );
  // check what is written as the next command will read it: the skeleton with the rows
  // that changed (each record's shape, ids unique among them; the database's UNIQUE columns
  // keep them unique against the rest)
  const mini = JSON.parse(skeleton) as Record<string, unknown>;
  for (const p of plans) {
    const holder = holderOf(mini, p.spec);
    if (holder && holder[p.spec.prop] === MARK) holder[p.spec.prop] = p.put.map((r) => JSON.parse(r.text) as unknown);
  }
  const known: KnownImages = {
    volume: (id) => prepared(db, 'SELECT 1 FROM volumes WHERE id = ?', 'raw').get(id) !== undefined,
    instance: (uuid) => prepared(db, 'SELECT 1 FROM instances WHERE uuid = ?', 'raw').get(uuid) !== undefined,
  };
  for (const p of plans) {
    const del = prepared(db, `DELETE FROM ${p.spec.name} WHERE seq = ?`);
    if (p.rewrite) db.exec(`DELETE FROM ${p.spec.name}`);
    else for (const seq of p.drop) del.run(seq);
  }
  for (const p of plans) {
    if (!p.put.length) continue;
    const cols = columnsOf(p.spec);
    const ins = prepared(db, `INSERT INTO ${p.spec.name} (seq, ${cols.map((c) => c.column).join(', ')}, json) VALUES (?, ${cols.map(() => '?').join(', ')}, ?)`);
    for (const r of p.put) {
      try {
        ins.run(r.seq, ...cols.map((c) => columnValue(r.obj, c.field)), r.text);
      } catch (err) {
        const e = err as { code?: string };
        if (e.code?.startsWith('SQLITE_CONSTRAINT')) {
          const col = cols.find((c) => c.unique && prepared(db, `SELECT 1 FROM ${p.spec.name} WHERE ${c.column} = ?`, 'raw').get(columnValue(r.obj, c.field)) !== undefined);
          return `${p.spec.section ? `state.${p.spec.section}` : 'state'}.${p.spec.prop}: ${col ? `${col.field} ${JSON.stringify(columnValue(r.obj, col.field))}` : 'a record'} is a duplicate`;
        }
        throw err;
      }
    }
  }
  prepared(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('skeleton', ?)").run(skeleton);
  // the new records, and the counters ahead of every id (kept or new)
  const problem = validateState(mini, statePath, known);
  if (problem) return problem;
  const max = (t: string): number => (prepared(db, `SELECT COALESCE(MAX(num), 0) FROM ${t}`, 'raw').get() as [number])[0];
  const s = state as State;
  if (s.nova.nextInstanceId <= max('instances')) return `state.nova.nextInstanceId must be greater than every instance id (${max('instances')} is one)`;
  if (s.nova.nextBdmId <= max('bdms')) return `state.nova.nextBdmId must be greater than every BDM id (${max('bdms')} is one)`;
  if (s.libvirt.nextDomainId <= max('domains')) return `state.libvirt.nextDomainId must be greater than every domain id (${max('domains')} is one)`;
  return null;
}

// ---- the database of one state file ----------------------------------------------------

/** the open database of a state kept in SQLite (one per file and process) */
export class SqliteWorld {
  private constructor(
    readonly path: string,
    readonly db: Db,
    /** the file opened: a file put in its place (init, import) is opened anew */
    private readonly ino: number,
  ) {}

  private static open = new Map<string, SqliteWorld>();

  /** opens the state's database, or throws SqliteProblem saying why it is no state */
  static at(path: string, knownIno?: number): SqliteWorld {
    const had = SqliteWorld.open.get(path);
    // the inode the caller has just seen (a stat of its own), or one looked up here
    let ino = knownIno ?? -1;
    if (knownIno === undefined) {
      try {
        ino = statSync(path).ino;
      } catch {
        // opening says why
      }
    }
    if (had && had.ino === ino) return had;
    if (had) SqliteWorld.closeAt(path);
    let db: Db;
    try {
      db = new (Database())(path, { fileMustExist: true, timeout: 10_000 });
      pragmas(db);
      const fmt = prepared(db, "SELECT value FROM meta WHERE key = 'format'", 'raw').get() as [string] | undefined;
      if (!fmt || fmt[0] !== SQLITE_FORMAT) throw new SqliteProblem('NOT_A_STATE', `a SQLite database, but no novasim state (meta.format is ${fmt ? JSON.stringify(fmt[0]) : 'missing'})`);
    } catch (err) {
      if (err instanceof SqliteProblem) throw err;
      const p = asProblem(err);
      // a database without our tables
      if (/no such table/.test(p.message)) throw new SqliteProblem('NOT_A_STATE', 'a SQLite database, but no novasim state (it has no meta table)');
      throw p;
    }
    const w = new SqliteWorld(path, db, ino);
    SqliteWorld.open.set(path, w);
    return w;
  }

  /** whether a read snapshot of the database open at `path` is under way: a read now sees
   * what the reads before it in the same synchronous work saw */
  static inSnapshot(path: string): boolean {
    return SqliteWorld.open.get(path)?.reading ?? false;
  }

  /** forgets the open database (after the file was replaced) */
  static closeAt(path: string): void {
    const w = SqliteWorld.open.get(path);
    if (!w) return;
    SqliteWorld.open.delete(path);
    w.closeLog();
    try {
      w.db.close();
    } catch {
      // already closed
    }
  }

  private skeleton(): string {
    const row = prepared(this.db, "SELECT value FROM meta WHERE key = 'skeleton'", 'raw').get() as [string] | undefined;
    if (!row) throw new SqliteProblem('NOT_A_STATE', 'a SQLite database, but no novasim state (meta.skeleton is missing)');
    return row[0];
  }

  /** a read transaction is open until the current task's synchronous work is done */
  private reading = false;
  /** the skeleton read in the snapshot open now: it cannot change before the snapshot ends */
  private snapshotSkeleton: string | null = null;
  /** the last skeleton read that passed skeletonProblem() */
  private checkedSkeleton: string | null = null;

  /**
   * Opens a read transaction that lasts until the current synchronous work ends (a
   * microtask commits it): what a command reads from one state in one go (a request's
   * handler) is one snapshot, as a JSON file read at once is. It holds the database's shared
   * lock only that long, so no writer waits on a reader for more than that.
   */
  private snapshot(): void {
    if (this.reading || this.db.inTransaction) return;
    prepared(this.db, 'BEGIN').run();
    this.reading = true;
    queueMicrotask(() => this.endSnapshot());
  }

  private endSnapshot(): void {
    if (!this.reading) return;
    this.reading = false;
    this.snapshotSkeleton = null;
    try {
      if (this.db.inTransaction) prepared(this.db, 'COMMIT').run();
    } catch {
      // closed (the file was replaced): nothing to end
    }
  }

  /** the state read(true) hands out, and the database as it was read; forgotten by every
   * write of this connection (which data_version does not count) */
  private sharedState: { state: State; dataVersion: number } | null = null;

  /**
   * A state read lazily from the committed database, its small parts checked. With `shared`
   * (the owner of a served world, src/state/owned-store.ts) the same state is handed to every
   * reader until the database changes (a save of this process, or a commit of another
   * process: PRAGMA data_version), with the records it has loaded: a reader must not change it.
   */
  read(shared = false): State {
    if (shared) {
      let dataVersion: number;
      try {
        this.snapshot();
        dataVersion = prepared(this.db, 'PRAGMA data_version', 'pluck').get() as number;
      } catch (err) {
        throw err instanceof SqliteProblem ? err : asProblem(err);
      }
      const had = this.sharedState;
      if (had && had.dataVersion === dataVersion) return had.state;
      const state = this.readState(true);
      this.sharedState = { state, dataVersion };
      return state;
    }
    return this.readState(false);
  }

  private readState(shared: boolean): State {
    let skeleton: string;
    try {
      this.snapshot();
      skeleton = this.snapshotSkeleton ?? this.skeleton();
      if (this.reading) this.snapshotSkeleton = skeleton;
    } catch (err) {
      throw err instanceof SqliteProblem ? err : asProblem(err);
    }
    // the skeleton changes only with a write: one checked is not checked again
    if (skeleton !== this.checkedSkeleton) {
      const problem = skeletonProblem(skeleton, this.path);
      if (problem) throw new SqliteProblem('NOT_A_STATE', problem);
      this.checkedSkeleton = skeleton;
    }
    return lazyState(this.db, skeleton, false, this.path, shared).state;
  }

  /** runs `fn` on the state inside one write transaction and commits what it changed */
  transact<T>(fn: (state: State) => T, beforeCommit: () => void, onProblem: (problem: string) => Error): T {
    const db = this.db;
    // a read snapshot of this task ends before the write transaction begins
    this.endSnapshot();
    this.sharedState = null;
    db.exec('BEGIN IMMEDIATE');
    try {
      const skeleton = this.skeleton();
      const { state, world } = lazyState(db, skeleton, true, this.path);
      const result = fn(state);
      return this.finish(state, world, result, beforeCommit, onProblem);
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    } finally {
      // a state shared while the transaction was open is not the one after it
      this.sharedState = null;
    }
  }

  /**
   * Replaces every row with those of the novasim state at `src` (same schema), in one
   * transaction: durable and atomic as any save. Used instead of renaming a new file over a
   * state kept in SQLite: the log (<state>-wal) and its index (<state>-shm) are found by name,
   * and a process that still had the old file open would, on closing it, delete the new
   * file's log and index by those names. False when the schemas differ (nothing was changed).
   */
  replaceWith(src: string): boolean {
    const db = this.db;
    this.endSnapshot();
    const schema = (schemaOf: string): string =>
      (db.prepare(`SELECT group_concat(sql, ';') FROM (SELECT sql FROM ${schemaOf}.sqlite_master WHERE sql IS NOT NULL ORDER BY name)`).pluck().get() as string | null) ?? '';
    // (the old and the new world are read once each: through SQLite's small cache, not mapped
    // into the process, which would count every page of both in its memory)
    db.pragma('mmap_size = 0');
    db.prepare('ATTACH DATABASE ? AS src').run(src);
    try {
      if (schema('main') !== schema('src')) return false;
      this.sharedState = null;
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const t of ['meta', ...COLLECTIONS.map((c) => c.name)]) db.exec(`DELETE FROM main.${t}; INSERT INTO main.${t} SELECT * FROM src.${t}`);
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
      // the log holds the whole world now: emptied into the database (and cut back) at once
      db.pragma('wal_checkpoint(TRUNCATE)');
      return true;
    } finally {
      db.exec('DETACH DATABASE src');
      db.pragma(`mmap_size = ${MMAP_SIZE}`);
    }
  }

  /** whether commits leave the log's fsync to syncLog() (synchronous=NORMAL) */
  private deferred = false;
  /** the log, kept open for syncLog() (the folder was synced when it was opened) */
  private log: fsp.FileHandle | null = null;

  /**
   * With `on`, a commit writes the log (<state>-wal) but does not fsync it (SQLite's
   * synchronous=NORMAL in WAL mode: the log is still synced before each checkpoint and the
   * database after it, so the file stays consistent), and the caller must await syncLog()
   * before it acknowledges the save. The owner of a served world does (owned-store.ts): its
   * event loop does not wait on the disk, only the request that saved does.
   */
  deferLogSync(on: boolean): void {
    if (on === this.deferred) return;
    this.db.pragma(`synchronous = ${on ? 'NORMAL' : 'FULL'}`);
    this.deferred = on;
  }

  /**
   * Makes every commit of this connection so far durable, off the event loop (libuv's
   * pool): fdatasync of the log, which holds the commits' frames, their commit marks and the
   * file's length; when a log file is first synced, the folder too (its name may be new, as
   * SQLite itself syncs the folder of a log it creates under synchronous=FULL). The log is
   * kept open: while this connection is, no other process can remove it (SQLite deletes a log
   * only when it closes the last connection); a checkpoint that truncates it keeps the file.
   * Nothing to do without deferLogSync(true).
   */
  async syncLog(): Promise<void> {
    if (!this.deferred) return;
    if (!this.log) {
      const fh = await fsp.open(`${this.path}-wal`, 'r');
      try {
        const dir = await fsp.open(dirname(this.path), 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
        // (another save may have opened it meanwhile)
        if (this.log) await fh.close();
        else this.log = fh;
      } catch (err) {
        await fh.close();
        throw err;
      }
    }
    await this.log.datasync();
  }

  /** closes the log syncLog() keeps open */
  private closeLog(): void {
    const log = this.log;
    this.log = null;
    if (log) void log.close().catch(() => undefined);
  }

  /** the second half of transact: `state` was changed by the caller (its beforeSave too) */
  private finish<T>(state: State, world: LazyWorld, result: T, beforeCommit: () => void, onProblem: (problem: string) => Error): T {
    const problem = saveChanges(this.db, world, state, this.path);
    if (problem) throw onProblem(problem);
    beforeCommit();
    this.db.exec('COMMIT');
    return result;
  }
}

/** the skeleton, with each collection empty, must be a state this version can trust */
function skeletonProblem(skeleton: string, path: string): string | null {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(skeleton) as Record<string, unknown>;
  } catch {
    return 'meta.skeleton is not valid JSON';
  }
  if (!doc || typeof doc !== 'object') return 'meta.skeleton is not an object';
  for (const spec of COLLECTIONS) {
    const holder = holderOf(doc, spec);
    if (holder && typeof holder === 'object' && holder[spec.prop] === MARK) holder[spec.prop] = [];
  }
  // (no record, so no path: the images are checked with the records that name them)
  void path;
  return validateState(doc);
}

/**
 * Writes `state` (a whole state, already checked) as a new SQLite database at `path`,
 * durably: built beside it, synced, renamed over it, the folder synced.
 */
export function writeSqliteState(path: string, state: State): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.sqlite.tmp`);
  rmSync(tmp, { force: true });
  rmSync(`${tmp}-journal`, { force: true });
  const db = new (Database())(tmp);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    createSchema(db);
    db.exec('BEGIN');
    const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    meta.run('format', SQLITE_FORMAT);
    meta.run('skeleton', skeletonOf(state));
    for (const spec of COLLECTIONS) {
      const holder = holderOf(state as unknown as Record<string, unknown>, spec);
      const rows = (holder?.[spec.prop] as object[] | undefined) ?? [];
      const cols = columnsOf(spec);
      const ins = db.prepare(`INSERT INTO ${spec.name} (seq, ${cols.map((c) => c.column).join(', ')}, json) VALUES (?, ${cols.map(() => '?').join(', ')}, ?)`);
      rows.forEach((r, i) => ins.run(i + 1, ...cols.map((c) => columnValue(r, c.field)), JSON.stringify(r)));
    }
    db.exec('COMMIT');
    // kept in the file: every opener logs ahead (pragmas())
    db.pragma('journal_mode = WAL');
    db.close();
    const fd = openSync(tmp, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    try {
      db.close();
    } catch {
      // closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  // a state kept in SQLite is replaced in place, in one transaction: its file, its log and
  // their names stay what every other process has open (see SqliteWorld.replaceWith)
  let world: SqliteWorld | null = null;
  try {
    world = isSqliteFile(path) ? SqliteWorld.at(path) : null;
  } catch {
    world = null; // not a state we can open: replaced by rename below
  }
  if (world) {
    let replaced = false;
    try {
      replaced = world.replaceWith(tmp);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    if (replaced) {
      rmSync(tmp, { force: true });
      return;
    }
  }
  SqliteWorld.closeAt(path);
  removeSideFiles(path);
  renameSync(tmp, path);
  fsyncDirectory(dir);
}

/**
 * Removes the files SQLite keeps beside a database by name (a rollback journal, the log and
 * its index) before the file is replaced by rename: left there, a journal or a log of the old
 * world (a writer that crashed, or the commits of a world a JSON file replaced) would be
 * applied by SQLite to the next database at that path.
 */
export function removeSideFiles(path: string): void {
  for (const side of ['-journal', '-wal', '-shm']) rmSync(`${path}${side}`, { force: true });
}

export { COLLECTION };
