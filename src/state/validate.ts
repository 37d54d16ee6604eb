// Check of a state file before anyone trusts it: a wrong, truncated or hostile file is
// refused with the path of the first bad field, never half-used. Beyond its shape: every
// number is a safe integer, ids are unique and counters ahead of them, no key reaches a
// prototype, nothing nests deeper than MAX_DEPTH, and every path-valued field is exactly an
// image the state derives from an id (confinement: docs/reliability.md).
import { specProblem } from '../qemu/guest-workload.js';
import { FAULT_POINTS } from '../common/faults.js';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { imagesDir, isSafeId } from './paths.js';
import { OPERATION_KINDS } from './types.js';
import { BLKDEBUG_ERRNOS, BLKDEBUG_EVENTS, BLKDEBUG_MAX_DELAY_MS, BLKDEBUG_OPS, DISK_CACHE_MODES, SCHEMA_VERSION, diskCachemodeProblem } from './types.js';

type Check = (v: unknown, path: string) => string | null;

/** the largest volume, GiB (Cinder's size column is a 32-bit integer) */
export const MAX_VOLUME_GIB = 2 ** 31 - 1;
/** how deep a value the schema leaves open (a newer version's section, connection_info) may nest */
export const MAX_DEPTH = 64;
/** keys that reach an object's prototype when copied with o[k] = v or Object.assign */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Whether the checks name the fields they descend into. A state is first checked without
 * (a path string per field of a 50 MB file is most of the cost), and only a state found
 * wrong is checked again, naming them, for the path of its first bad field.
 */
let naming = true;

/** a value as a problem shows it: one line, short */
function show(v: unknown): string {
  if (v !== null && typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

/** the path of a key one level down: .name, or ["odd key"] */
function child(p: string, k: string): string {
  return /^[A-Za-z_$][\w$-]{0,63}$/.test(k) && !FORBIDDEN_KEYS.has(k) ? `${p}.${k}` : `${p}[${show(k)}]`;
}

const str: Check = (v, p) => (typeof v === 'string' ? null : `${p} must be a string`);
const strOrNull: Check = (v, p) => (v === null || typeof v === 'string' ? null : `${p} must be a string or null`);
const int: Check = (v, p) =>
  Number.isSafeInteger(v) ? null : Number.isInteger(v) ? `${p} must be an integer between -(2^53-1) and 2^53-1, not ${show(v)}` : `${p} must be an integer`;
const intOrNull: Check = (v, p) => (v === null ? null : Number.isInteger(v) ? int(v, p) : `${p} must be an integer or null`);
const bool: Check = (v, p) => (typeof v === 'boolean' ? null : `${p} must be a boolean`);
const boolOrNull: Check = (v, p) => (v === null || typeof v === 'boolean' ? null : `${p} must be a boolean or null`);
const obj: Check = (v, p) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? null : `${p} must be an object`);
const oneOf =
  (...vals: unknown[]): Check =>
  (v, p) =>
    vals.includes(v) ? null : `${p} must be one of ${vals.map((x) => JSON.stringify(x)).join(', ')}`;
const nonNegInt: Check = (v, p) => int(v, p) ?? ((v as number) >= 0 ? null : `${p} must not be negative`);
const posInt: Check = (v, p) => int(v, p) ?? ((v as number) > 0 ? null : `${p} must be positive`);
const posIntOrNull: Check = (v, p) => (v === null ? null : Number.isInteger(v) ? posInt(v, p) : `${p} must be an integer or null`);
const volumeSize: Check = (v, p) => int(v, p) ?? ((v as number) >= 1 && (v as number) <= MAX_VOLUME_GIB ? null : `${p} must be between 1 and ${MAX_VOLUME_GIB}`);
const volumeSizeOrNull: Check = (v, p) => (v === null ? null : Number.isInteger(v) ? volumeSize(v, p) : `${p} must be an integer or null`);
/** an id that names a file of the images folder (volume-<id>, instances/<uuid>/) */
const safeId: Check = (v, p) => str(v, p) ?? (isSafeId(v as string) ? null : `${p} must be a name of letters, digits, '.', '_' and '-': ${show(v)}`);

/**
 * A record of known fields (a key written 'name?' is optional: absent in files written
 * before it existed). A key the record does not know is refused: code that rebuilds the
 * record would drop or misread it. `open` records (the top level) keep unknown keys.
 */
function record(fields: Record<string, Check>, open = false): Check {
  const entries = Object.entries(fields).map(([key, check]) => [key.endsWith('?') ? key.slice(0, -1) : key, key.endsWith('?'), check] as const);
  const known = new Set(entries.map(([k]) => k));
  return (v, p) => {
    const e = obj(v, p);
    if (e) return e;
    const o = v as Record<string, unknown>;
    for (const [k, optional, check] of entries) {
      if (!Object.hasOwn(o, k)) {
        if (optional) continue;
        return `${p}.${k} is missing`;
      }
      const err = check(o[k], naming ? `${p}.${k}` : p);
      if (err) return err;
    }
    // (counted with for…in, which allocates nothing: a key the record does not know makes
    // the count differ from the fields present, and only then are the keys looked at)
    let count = 0;
    for (const _key in o) count++;
    if (count === present(o)) return null;
    for (const k of Object.keys(o)) {
      if (FORBIDDEN_KEYS.has(k)) return `${child(p, k)} is a forbidden key`;
      if (!open && !known.has(k)) return `${child(p, k)} is not a field of this version`;
    }
    return null;
  };
  function present(o: Record<string, unknown>): number {
    let n = 0;
    for (const [k] of entries) if (Object.hasOwn(o, k)) n++;
    return n;
  }
}

/** an object of free keys (metadata, mirrors by disk) whose values are `item`. User data
 * (`anyKey`: metadata) may use any key Nova accepts, `constructor` included: JSON.parse makes
 * them own properties, and the code never merges such a map into another object. */
function mapOf(item: Check, anyKey = false): Check {
  return (v, p) => {
    const e = obj(v, p);
    if (e) return e;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const q = naming ? child(p, k) : p;
      if (!anyKey && FORBIDDEN_KEYS.has(k)) return `${q} is a forbidden key`;
      const err = item(x, q);
      if (err) return err;
    }
    return null;
  };
}

function arrayOf(item: Check): Check {
  return (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array`;
    for (let i = 0; i < v.length; i++) {
      const err = item(v[i], naming ? `${p}[${i}]` : p);
      if (err) return err;
    }
    return null;
  };
}

/**
 * A value the schema leaves open (a section of a newer version, the free parts of a
 * connection_info): refused if it nests deeper than MAX_DEPTH (so neither this walk nor
 * JSON.stringify, when the state is saved, can overflow the stack) or holds a key that
 * reaches a prototype.
 */
function openValue(v: unknown, p: string): string | null {
  const keys: Array<string | number> = [];
  const pathOf = (): string => keys.reduce<string>((q, k) => (typeof k === 'number' ? `${q}[${k}]` : child(q, k)), p);
  const walk = (x: unknown, depth: number): string | null => {
    if (x === null || typeof x !== 'object') return null;
    if (depth >= MAX_DEPTH) return `${pathOf()} nests deeper than ${MAX_DEPTH} levels`;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        keys.push(i);
        const e = walk(x[i], depth + 1);
        if (e) return e;
        keys.pop();
      }
      return null;
    }
    for (const k in x) {
      keys.push(k);
      if (FORBIDDEN_KEYS.has(k)) return `${pathOf()} is a forbidden key`;
      const e = walk((x as Record<string, unknown>)[k], depth + 1);
      if (e) return e;
      keys.pop();
    }
    return null;
  };
  return walk(v, 0);
}

function nullable(c: Check): Check {
  return (v, p) => (v === null ? null : c(v, p));
}

const disk = record({
  type: oneOf('file', 'block', 'network'),
  device: oneOf('disk', 'cdrom'),
  driverType: oneOf('raw', 'qcow2'),
  // for file and block disks an image of this state (checked with the ids, below)
  source: str,
  targetDev: str,
  targetBus: str,
  serial: strOrNull,
  alias: strOrNull,
  'cache?': oneOf(...DISK_CACHE_MODES),
});

const domainDef = record({ name: str, uuid: str, memoryKiB: nonNegInt, vcpus: nonNegInt, disks: arrayOf(disk) });

const mirror = record({
  dev: str,
  // a volume's image (checked with the ids, below)
  source: str,
  format: str,
  ready: bool,
  cur: nonNegInt,
  end: nonNegInt,
  ownerPid: posInt,
  type: oneOf('file', 'block'),
  job: oneOf('copy'),
  bandwidth: nonNegInt,
  updatedAt: str,
});

/** Nova's connection_info (JSON text in the BDM): Cinder's dict, open but for its frame */
const connectionInfoFrame = record(
  {
    driver_volume_type: str,
    data: (v, p) => obj(v, p) ?? openValue(v, p),
    'serial?': strOrNull,
  },
  true,
);
const connectionInfo: Check = (v, p) => {
  if (v === null) return null;
  const e = str(v, p);
  if (e) return e;
  let info: unknown;
  try {
    info = JSON.parse(v as string);
  } catch {
    return `${p} is not valid JSON`;
  }
  const err = connectionInfoFrame(info, p) ?? openValue(info, p);
  if (err) return err;
  const { driver_volume_type: type, data } = info as { driver_volume_type: string; data: Record<string, unknown> };
  // every type but a network one (rbd) names a host path: LibvirtVolumeDriver's device_path
  if (type === 'rbd') return null;
  if (!Object.hasOwn(data, 'device_path')) return `${p}.data.device_path is missing`;
  const e2 = str(data.device_path, `${p}.data.device_path`);
  if (!e2) devicePaths.set(v as string, data.device_path as string);
  return e2;
};
/** the device_path of each connection_info text seen by this validation (parsed once) */
const devicePaths = new Map<string, string>();

/** an instance action and its events (nova.instance_actions, instance_actions_events) */
const instanceAction = record({
  action: str,
  instanceUuid: str,
  requestId: str,
  userId: str,
  projectId: str,
  startTime: str,
  finishTime: strOrNull,
  message: strOrNull,
  events: arrayOf(record({ event: str, startTime: str, finishTime: strOrNull, result: strOrNull, traceback: strOrNull })),
});

const address = record({ addr: str, version: oneOf(4, 6), type: oneOf('fixed', 'floating'), mac: str });

const stateCheck = record(
  {
    schemaVersion: (v, p) => (v === SCHEMA_VERSION ? null : `${p} is ${show(v)}, expected ${SCHEMA_VERSION}`),
    fixture: str,
    createdAt: str,
    host: str,
    users: arrayOf(
      record({
        id: str,
        name: str,
        defaultProject: str,
        projects: arrayOf(record({ projectId: str, projectName: str, roles: arrayOf(str) })),
      }),
    ),
    flavors: arrayOf(record({ id: str, name: str, ram: nonNegInt, vcpus: nonNegInt, disk: nonNegInt, ephemeral: nonNegInt, swap: nonNegInt })),
    // Glance's catalogue, only ever read: its details are optional
    images: arrayOf(
      record({ id: str, name: str, 'status?': str, 'minDisk?': nonNegInt, 'minRam?': nonNegInt, 'size?': nonNegInt, 'created?': str, 'updated?': str }),
    ),
    nova: record({
      instances: arrayOf(
        record({
          uuid: safeId,
          id: posInt,
          name: str,
          projectId: str,
          userId: str,
          host: str,
          node: str,
          availabilityZone: str,
          vmState: str,
          taskState: strOrNull,
          powerState: nonNegInt,
          locked: bool,
          lockedBy: oneOf('owner', 'admin', null),
          launchedAt: strOrNull,
          terminatedAt: strOrNull,
          createdAt: str,
          updatedAt: str,
          flavorId: str,
          imageRef: str,
          keyName: strOrNull,
          metadata: mapOf(str, true),
          securityGroups: arrayOf(str),
          addresses: mapOf(arrayOf(address)),
          accessIPv4: str,
          accessIPv6: str,
          configDrive: str,
          deleted: bool,
        }),
      ),
      bdms: arrayOf(
        record({
          id: posInt,
          instanceUuid: str,
          deviceName: str,
          sourceType: oneOf('image', 'volume', 'snapshot', 'blank'),
          destinationType: oneOf('local', 'volume'),
          volumeId: strOrNull,
          snapshotId: strOrNull,
          imageId: strOrNull,
          bootIndex: intOrNull,
          deleteOnTermination: bool,
          connectionInfo,
          volumeSize: volumeSizeOrNull,
          noDevice: boolOrNull,
          diskBus: strOrNull,
          deviceType: strOrNull,
        }),
      ),
      nextInstanceId: posInt,
      nextBdmId: posInt,
      // optional: files written before instance actions were recorded have none
      'instanceActions?': arrayOf(instanceAction),
    }),
    cinder: record({
      volumes: arrayOf(
        record({
          id: safeId,
          displayName: strOrNull,
          displayDescription: strOrNull,
          size: volumeSize,
          status: str,
          attachStatus: oneOf('attached', 'detached', 'attaching'),
          attachments: arrayOf(
            record({
              id: str,
              instanceUuid: str,
              attachedHost: str,
              mountpoint: str,
              attachTime: str,
              attachMode: oneOf('rw', 'ro'),
              attachStatus: oneOf('attached', 'attaching', 'detached'),
            }),
          ),
          migrationStatus: strOrNull,
          availabilityZone: str,
          volumeType: str,
          bootable: bool,
          projectId: str,
          userId: str,
          host: str,
          createdAt: str,
          updatedAt: str,
          metadata: mapOf(str, true),
        }),
      ),
    }),
    libvirt: record({
      domains: arrayOf(
        record({
          name: str,
          uuid: str,
          id: posIntOrNull,
          state: oneOf('running', 'paused', 'shutoff', 'pmsuspended'),
          def: domainDef,
          persistentDef: nullable(domainDef),
          managedSave: bool,
          mirrors: mapOf(mirror),
        }),
      ),
      nextDomainId: posInt,
    }),
  },
  // unknown top-level sections (written by a newer version) are kept as they are
  true,
);

/** the most write sizes a plan picks from (far more than a real workload needs) */
const MAX_BLOCK_SIZES = 256;

const segmentShape = record({
  seed: int,
  rate: int,
  blockSizes: (v, p) => arrayOf(int)(v, p) ?? ((v as unknown[]).length <= MAX_BLOCK_SIZES ? null : `${p} has more than ${MAX_BLOCK_SIZES} sizes`),
  region: record({ offset: int, length: int }),
  limit: intOrNull,
  writes: nonNegInt,
});
/** a segment's plan must be one the workload can run (as `guest-load` checks it) */
const segment: Check = (v, p) => {
  const e = segmentShape(v, p);
  if (e) return e;
  const problem = specProblem(v as Parameters<typeof specProblem>[0]);
  return problem ? `${p}: ${problem}` : null;
};

const guestLoad = record({
  server: str,
  disk: str,
  active: bool,
  runnerPid: posIntOrNull,
  segments: arrayOf(segment),
  updatedAt: str,
});

const cachemodeItem: Check = (v, p) => str(v, p) ?? (diskCachemodeProblem(v as string) ? `${p}: ${diskCachemodeProblem(v as string)}` : null);
const novaConfCheck = record({ libvirt: record({ disk_cachemodes: arrayOf(cachemodeItem) }) });

const positiveIntOrNull: Check = (v, p) => intOrNull(v, p) ?? (v === null || (v as number) > 0 ? null : `${p} must be positive`);
const blkdebugBase = { server: str, disk: str, count: positiveIntOrNull };
const delayMs: Check = (v, p) => nonNegInt(v, p) ?? ((v as number) <= BLKDEBUG_MAX_DELAY_MS ? null : `${p} must be at most ${BLKDEBUG_MAX_DELAY_MS}`);
const blkdebugDelay = record({ action: oneOf('delay'), ...blkdebugBase, event: oneOf(...BLKDEBUG_EVENTS), ms: delayMs });
const blkdebugError = record({ action: oneOf('error'), ...blkdebugBase, op: oneOf(...BLKDEBUG_OPS), errno: oneOf(...BLKDEBUG_ERRNOS) });
/** a blkdebug rule: the fields its action needs */
const blkdebugRule: Check = (v, p) => {
  const e = obj(v, p);
  if (e) return e;
  const o = v as { action?: unknown };
  if (!Object.hasOwn(o, 'action')) return `${p}.action is missing`;
  const a = oneOf('delay', 'error')(o.action, `${p}.action`);
  if (a) return a;
  return (v as { action: string }).action === 'delay' ? blkdebugDelay(v, p) : blkdebugError(v, p);
};

/** the block layer keeps one errno per drive for its injected errors (as the CLI enforces) */
function oneErrnoPerDrive(rules: Array<Record<string, unknown>>): string | null {
  const seen = new Map<string, unknown>();
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i] as Record<string, unknown>;
    if (r.action !== 'error') continue;
    const key = `${String(r.server)} ${String(r.disk)}`;
    if (seen.has(key) && seen.get(key) !== r.errno) return `state.blkdebug[${i}].errno must be ${String(seen.get(key))}, as the other error rule of ${String(r.disk)}`;
    seen.set(key, r.errno);
  }
  return null;
}

/** a `nova-sim fault` rule */
const faultRule = record({
  point: oneOf(...FAULT_POINTS),
  error: strOrNull,
  times: positiveIntOrNull,
  afterBytes: (v, p) => intOrNull(v, p) ?? (v === null || (v as number) >= 0 ? null : `${p} must not be negative`),
});

/** a journal entry (an operation in flight) */
const operation = record({
  id: str,
  kind: oneOf(...OPERATION_KINDS),
  instance: str,
  volumes: arrayOf(str),
  device: strOrNull,
  pid: (v, p) => int(v, p) ?? ((v as number) > 0 ? null : `${p} must be positive`),
  startedAt: str,
  step: str,
  updatedAt: str,
});

/** the top-level sections this version knows; any other is a newer version's, kept as it is */
const KNOWN_SECTIONS = new Set([
  'schemaVersion', 'fixture', 'createdAt', 'host', 'users', 'flavors', 'images', 'nova', 'cinder', 'libvirt',
  'guestLoads', 'novaConf', 'blkdebug', 'faults', 'operations',
]);

/**
 * The records a partial document (the changed rows of a state kept in SQLite) does not hold
 * but may name: a volume or a server of the rest of the state.
 */
export interface KnownImages {
  volume(id: string): boolean;
  instance(uuid: string): boolean;
}

/**
 * Returns the first problem found, or null when the document is a state this version can
 * trust. With `statePath` (as the store always gives it) the paths of the state are checked
 * too: each must be exactly an image the state derives from an id, and none may lead
 * through a symbolic link planted in its images folder.
 */
export function validateState(doc: unknown, statePath?: string, known?: KnownImages): string | null {
  devicePaths.clear();
  try {
    return shapeProblem(doc) ?? idsProblem(doc as StateDoc) ?? (statePath === undefined ? null : pathsProblem(doc as StateDoc, statePath, known));
  } finally {
    devicePaths.clear();
  }
}

function shapeProblem(doc: unknown): string | null {
  naming = false;
  try {
    if (shapeCheck(doc) === null) return null;
  } finally {
    naming = true;
  }
  devicePaths.clear();
  return shapeCheck(doc);
}

function shapeCheck(doc: unknown): string | null {
  const problem = stateCheck(doc, 'state');
  if (problem) return problem;
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (KNOWN_SECTIONS.has(k)) continue;
    const p = openValue(v, child('state', k));
    if (p) return p;
  }
  // an optional field: files written before guest workloads existed have none
  const { guestLoads, novaConf, blkdebug } = doc as { guestLoads?: unknown; novaConf?: unknown; blkdebug?: unknown };
  if (guestLoads !== undefined) {
    const p = arrayOf(guestLoad)(guestLoads, 'state.guestLoads');
    if (p) return p;
  }
  // optional too: files written before `nova-sim blkdebug` existed have no rules
  if (blkdebug !== undefined) {
    const p = arrayOf(blkdebugRule)(blkdebug, 'state.blkdebug') ?? oneErrnoPerDrive(blkdebug as Array<Record<string, unknown>>);
    if (p) return p;
  }
  // optional: the faults set on purpose, and the journal of operations in flight
  const { faults, operations } = doc as { faults?: unknown; operations?: unknown };
  if (faults !== undefined) {
    const p = arrayOf(faultRule)(faults, 'state.faults');
    if (p) return p;
  }
  if (operations !== undefined) {
    const p = arrayOf(operation)(operations, 'state.operations');
    if (p) return p;
  }
  return novaConf === undefined ? null : novaConfCheck(novaConf, 'state.novaConf');
}

/** the parts of a state the checks across records read (its shape is checked by then) */
interface StateDoc {
  nova: {
    instances: Array<{ uuid: string; id: number }>;
    bdms: Array<{ id: number; connectionInfo: string | null }>;
    nextInstanceId: number;
    nextBdmId: number;
  };
  cinder: { volumes: Array<{ id: string }> };
  libvirt: {
    domains: Array<{
      name: string;
      uuid: string;
      id: number | null;
      def: { disks: Array<{ type: string; source: string }> };
      persistentDef: { disks: Array<{ type: string; source: string }> } | null;
      mirrors: Record<string, { source: string }>;
    }>;
    nextDomainId: number;
  };
}

/** each of `values` (the `field` of the records at `where`) is unique, nulls aside: a Set, linear */
function unique(values: unknown[], where: string, field: string): string | null {
  const seen = new Set<unknown>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) continue;
    if (seen.has(v)) return `${where}[${i}].${field} is a duplicate: ${show(v)} is already ${where}[${values.indexOf(v)}].${field}`;
    seen.add(v);
  }
  return null;
}

/** a counter hands out ids greater than every id in use */
function ahead(next: number, ids: Array<number | null>, p: string, what: string): string | null {
  let max = 0;
  for (const id of ids) if (id !== null && id > max) max = id;
  return next > max ? null : `${p} must be greater than every ${what} id (${max} is one)`;
}

/** ids unique where the tool finds records by them, and counters ahead of their ids */
function idsProblem(s: StateDoc): string | null {
  const { instances, bdms } = s.nova;
  const { domains } = s.libvirt;
  const instanceIds = instances.map((i) => i.id);
  const bdmIds = bdms.map((b) => b.id);
  const domainIds = domains.map((d) => d.id);
  return (
    unique(instances.map((i) => i.uuid), 'state.nova.instances', 'uuid') ??
    unique(instanceIds, 'state.nova.instances', 'id') ??
    unique(bdmIds, 'state.nova.bdms', 'id') ??
    unique(s.cinder.volumes.map((v) => v.id), 'state.cinder.volumes', 'id') ??
    unique(domains.map((d) => d.uuid), 'state.libvirt.domains', 'uuid') ??
    unique(domains.map((d) => d.name), 'state.libvirt.domains', 'name') ??
    unique(domainIds, 'state.libvirt.domains', 'id') ??
    ahead(s.nova.nextInstanceId, instanceIds, 'state.nova.nextInstanceId', 'instance') ??
    ahead(s.nova.nextBdmId, bdmIds, 'state.nova.nextBdmId', 'BDM') ??
    ahead(s.libvirt.nextDomainId, domainIds, 'state.libvirt.nextDomainId', 'domain')
  );
}

/**
 * Confinement: every path-valued field is exactly the image of a volume of this state
 * (volume-<id>) or of one of its servers (instances/<uuid>/disk), as the code derives them
 * from the ids; and no image of the state, nor a folder on the way to it, is a symbolic
 * link (a link planted in the images folder would steer a write elsewhere).
 */
function pathsProblem(s: StateDoc, statePath: string, known?: KnownImages): string | null {
  // the ids are file names by now (safeId), so the derived paths are plain concatenations
  // of what volumeImagePath and instanceDiskPath return
  const root = imagesDir(statePath);
  const volumesDir = join(root, 'volumes');
  const instancesDir = join(root, 'instances');
  const volumePath = (id: string): string => `${volumesDir}${sep}volume-${id}`;
  const serverDir = (uuid: string): string => `${instancesDir}${sep}${uuid}`;
  const volumeSet = new Set(s.cinder.volumes.map((v) => volumePath(v.id)));
  const serverSet = new Set(s.nova.instances.map((i) => `${serverDir(i.uuid)}${sep}disk`));
  const volumePrefix = `${volumesDir}${sep}volume-`;
  const volumeImages = {
    has: (p: string): boolean => volumeSet.has(p) || (known !== undefined && p.startsWith(volumePrefix) && known.volume(p.slice(volumePrefix.length))),
  };
  const serverImages = {
    has: (p: string): boolean => {
      if (serverSet.has(p)) return true;
      if (!known || !p.startsWith(`${instancesDir}${sep}`) || !p.endsWith(`${sep}disk`)) return false;
      const uuid = p.slice(instancesDir.length + 1, p.length - 5);
      return !uuid.includes(sep) && known.instance(uuid);
    },
  };
  const notAnImage = (p: string, v: string): string => `${p} is not an image of this state: ${show(v)} (its images are in ${root})`;

  for (let i = 0; i < s.nova.bdms.length; i++) {
    const text = s.nova.bdms[i].connectionInfo;
    const path = text === null ? undefined : devicePaths.get(text);
    // (a network connection (rbd) names no path)
    if (path === undefined) continue;
    // a BDM's connection names a volume, never a server's own disk
    if (!volumeImages.has(path)) return notAnImage(`state.nova.bdms[${i}].connectionInfo.data.device_path`, path);
  }
  // what a QEMU opens: the disks of each domain, and the targets of its block jobs (each
  // path once, with the field that names it first: its name is only made for a problem)
  const opened = new Map<string, () => string>();
  for (let i = 0; i < s.libvirt.domains.length; i++) {
    const d = s.libvirt.domains[i];
    for (const which of ['def', 'persistentDef'] as const) {
      const def = d[which];
      if (!def) continue;
      for (let j = 0; j < def.disks.length; j++) {
        const disk = def.disks[j];
        if (disk.type === 'network') continue;
        const field = (): string => `state.libvirt.domains[${i}].${which}.disks[${j}].source`;
        if (!volumeImages.has(disk.source) && !serverImages.has(disk.source)) return notAnImage(field(), disk.source);
        if (!opened.has(disk.source)) opened.set(disk.source, field);
      }
    }
    for (const dev in d.mirrors) {
      const m = d.mirrors[dev];
      const field = (): string => `${child(`state.libvirt.domains[${i}].mirrors`, dev)}.source`;
      if (!volumeImages.has(m.source)) return notAnImage(field(), m.source);
      if (!opened.has(m.source)) opened.set(m.source, field);
    }
  }

  // No symbolic link on the way to an image: the folders' entries are read once (a
  // directory entry tells a link apart without a stat), an opened server disk is lstat'ed.
  const links = (dir: string): { self: boolean; entries: { has(name: string): boolean; size: number } } => {
    const st = lstatOrNull(dir);
    if (!st || st.isSymbolicLink()) return { self: Boolean(st), entries: new Set() };
    if (known) {
      // a partial document (a few changed records of a large world): each entry it names is
      // looked at, not the whole folder
      const memo = new Map<string, boolean>();
      const has = (name: string): boolean => {
        let link = memo.get(name);
        if (link === undefined) memo.set(name, (link = lstatOrNull(join(dir, name))?.isSymbolicLink() ?? false));
        return link;
      };
      return { self: false, entries: { has, size: 1 } };
    }
    try {
      return { self: false, entries: new Set(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isSymbolicLink()).map((e) => e.name)) };
    } catch {
      return { self: false, entries: new Set() }; // unreadable: nothing can be opened there either
    }
  };
  const vols = links(volumesDir);
  const servers = links(instancesDir);
  const linkOn = (path: string): string | null => {
    if (path.startsWith(volumesDir + sep)) {
      if (vols.self) return volumesDir;
      return vols.entries.has(path.slice(volumesDir.length + 1)) ? path : null;
    }
    if (servers.self) return instancesDir;
    const dir = path.slice(0, path.lastIndexOf(sep));
    if (servers.entries.has(dir.slice(instancesDir.length + 1))) return dir;
    return lstatOrNull(path)?.isSymbolicLink() ? path : null;
  };
  const viaLink = (p: string, path: string, what: string): string | null => {
    const link = linkOn(path);
    return link === null ? null : `${p} ${what} a symbolic link: ${show(link)} (images are never opened through one)`;
  };
  for (const [path, field] of opened) {
    const link = linkOn(path);
    if (link !== null) return `${field()} is a symbolic link: ${show(link)} (images are never opened through one)`;
  }
  // every volume, whether a domain uses it now or a later command will (a swap's target)
  if (vols.self || vols.entries.size > 0) {
    for (let i = 0; i < s.cinder.volumes.length; i++) {
      const problem = viaLink(`state.cinder.volumes[${i}].id`, volumePath(s.cinder.volumes[i].id), 'names an image that is');
      if (problem) return problem;
    }
  }
  if (servers.self || servers.entries.size > 0) {
    for (let i = 0; i < s.nova.instances.length; i++) {
      const uuid = s.nova.instances[i].uuid;
      if (servers.self || servers.entries.has(uuid)) return `state.nova.instances[${i}].uuid names an image that is a symbolic link: ${show(servers.self ? instancesDir : serverDir(uuid))} (images are never opened through one)`;
    }
  }
  return null;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
