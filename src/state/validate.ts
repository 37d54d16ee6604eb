// Structural check of a state file before anyone trusts it: a wrong or truncated file is
// refused with the path of the first bad field, never half-used.
import { BLKDEBUG_ERRNOS, BLKDEBUG_EVENTS, BLKDEBUG_MAX_DELAY_MS, BLKDEBUG_OPS, DISK_CACHE_MODES, SCHEMA_VERSION, diskCachemodeProblem } from './types.js';

type Check = (v: unknown, path: string) => string | null;

const str: Check = (v, p) => (typeof v === 'string' ? null : `${p} must be a string`);
const strOrNull: Check = (v, p) => (v === null || typeof v === 'string' ? null : `${p} must be a string or null`);
const int: Check = (v, p) => (Number.isInteger(v) ? null : `${p} must be an integer`);
const intOrNull: Check = (v, p) => (v === null || Number.isInteger(v) ? null : `${p} must be an integer or null`);
const bool: Check = (v, p) => (typeof v === 'boolean' ? null : `${p} must be a boolean`);
const obj: Check = (v, p) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? null : `${p} must be an object`);
const oneOf =
  (...vals: unknown[]): Check =>
  (v, p) =>
    vals.includes(v) ? null : `${p} must be one of ${vals.map((x) => JSON.stringify(x)).join(', ')}`;

function record(fields: Record<string, Check>): Check {
  return (v, p) => {
    const e = obj(v, p);
    if (e) return e;
    const o = v as Record<string, unknown>;
    for (const [key, check] of Object.entries(fields)) {
      // a key written 'name?' is optional (absent in files written before it existed)
      const k = key.endsWith('?') ? key.slice(0, -1) : key;
      if (!(k in o)) {
        if (k !== key) continue;
        return `${p}.${k} is missing`;
      }
      const err = check(o[k], `${p}.${k}`);
      if (err) return err;
    }
    return null;
  };
}

function arrayOf(item: Check): Check {
  return (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array`;
    for (let i = 0; i < v.length; i++) {
      const err = item(v[i], `${p}[${i}]`);
      if (err) return err;
    }
    return null;
  };
}

function nullable(c: Check): Check {
  return (v, p) => (v === null ? null : c(v, p));
}

const disk = record({
  type: oneOf('file', 'block', 'network'),
  device: oneOf('disk', 'cdrom'),
  driverType: str,
  source: str,
  targetDev: str,
  targetBus: str,
  serial: strOrNull,
  alias: strOrNull,
  'cache?': oneOf(...DISK_CACHE_MODES),
});

const domainDef = record({ name: str, uuid: str, memoryKiB: int, vcpus: int, disks: arrayOf(disk) });

const mirror = record({
  dev: str,
  source: str,
  format: str,
  ready: bool,
  cur: int,
  end: int,
  ownerPid: int,
});

const mirrors: Check = (v, p) => {
  const e = obj(v, p);
  if (e) return e;
  for (const [k, m] of Object.entries(v as Record<string, unknown>)) {
    const err = mirror(m, `${p}.${k}`);
    if (err) return err;
  }
  return null;
};

const stateCheck = record({
  schemaVersion: (v, p) => (v === SCHEMA_VERSION ? null : `${p} is ${JSON.stringify(v)}, expected ${SCHEMA_VERSION}`),
  host: str,
  users: arrayOf(
    record({
      id: str,
      name: str,
      defaultProject: str,
      projects: arrayOf(record({ projectId: str, projectName: str, roles: arrayOf(str) })),
    }),
  ),
  flavors: arrayOf(record({ id: str, name: str, ram: int, vcpus: int, disk: int })),
  images: arrayOf(record({ id: str, name: str })),
  nova: record({
    instances: arrayOf(
      record({
        uuid: str,
        id: int,
        name: str,
        projectId: str,
        userId: str,
        host: str,
        availabilityZone: str,
        vmState: str,
        taskState: strOrNull,
        powerState: int,
        locked: bool,
        launchedAt: strOrNull,
        flavorId: str,
        imageRef: str,
        addresses: obj,
        metadata: obj,
        deleted: bool,
      }),
    ),
    bdms: arrayOf(
      record({
        id: int,
        instanceUuid: str,
        deviceName: str,
        sourceType: str,
        destinationType: str,
        volumeId: strOrNull,
        bootIndex: intOrNull,
        deleteOnTermination: bool,
        connectionInfo: strOrNull,
        volumeSize: intOrNull,
      }),
    ),
    nextInstanceId: int,
    nextBdmId: int,
  }),
  cinder: record({
    volumes: arrayOf(
      record({
        id: str,
        displayName: strOrNull,
        size: int,
        status: str,
        attachStatus: oneOf('attached', 'detached', 'attaching'),
        attachments: arrayOf(
          record({ id: str, instanceUuid: str, mountpoint: str, attachMode: str, attachStatus: str }),
        ),
        migrationStatus: strOrNull,
        availabilityZone: str,
        volumeType: str,
        projectId: str,
      }),
    ),
  }),
  libvirt: record({
    domains: arrayOf(
      record({
        name: str,
        uuid: str,
        id: intOrNull,
        state: oneOf('running', 'paused', 'shutoff', 'pmsuspended'),
        def: domainDef,
        persistentDef: nullable(domainDef),
        managedSave: bool,
        mirrors,
      }),
    ),
    nextDomainId: int,
  }),
});

const guestLoad = record({
  server: str,
  disk: str,
  active: bool,
  runnerPid: intOrNull,
  segments: arrayOf(
    record({ seed: int, rate: int, blockSizes: arrayOf(int), region: record({ offset: int, length: int }), limit: intOrNull, writes: int }),
  ),
});

const cachemodeItem: Check = (v, p) => str(v, p) ?? (diskCachemodeProblem(v as string) ? `${p}: ${diskCachemodeProblem(v as string)}` : null);
const novaConfCheck = record({ libvirt: record({ disk_cachemodes: arrayOf(cachemodeItem) }) });

const nonNegInt: Check = (v, p) => int(v, p) ?? ((v as number) >= 0 ? null : `${p} must not be negative`);
const positiveIntOrNull: Check = (v, p) => intOrNull(v, p) ?? (v === null || (v as number) > 0 ? null : `${p} must be positive`);
const blkdebugBase = { server: str, disk: str, count: positiveIntOrNull };
const delayMs: Check = (v, p) => nonNegInt(v, p) ?? ((v as number) <= BLKDEBUG_MAX_DELAY_MS ? null : `${p} must be at most ${BLKDEBUG_MAX_DELAY_MS}`);
const blkdebugDelay = record({ ...blkdebugBase, event: oneOf(...BLKDEBUG_EVENTS), ms: delayMs });
const blkdebugError = record({ ...blkdebugBase, op: oneOf(...BLKDEBUG_OPS), errno: oneOf(...BLKDEBUG_ERRNOS) });
/** a blkdebug rule: the fields its action needs */
const blkdebugRule: Check = (v, p) => {
  const e = obj(v, p);
  if (e) return e;
  const o = v as { action?: unknown };
  if (!('action' in o)) return `${p}.action is missing`;
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

/** Returns the first problem found, or null when the document has the state's shape. */
export function validateState(doc: unknown): string | null {
  const problem = stateCheck(doc, 'state');
  if (problem) return problem;
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
  return novaConf === undefined ? null : novaConfCheck(novaConf, 'state.novaConf');
}
