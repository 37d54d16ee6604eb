// Named worlds: a fixture describes servers, volumes and attachments; materialize()
// turns it into a consistent state (Nova's instances and BDMs, Cinder's volumes and
// attachments, libvirt's domains) and real image files with real data in them.
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, SimError } from '../common/errors.js';
import { isoMicros, isoSeconds } from '../common/time.js';
import { dbTimestamp, instanceName, newBdm, newImageBdm } from '../nova/db.js';
import { CREATE } from '../nova/compute/instance_actions.js';
import { imagesDir, instanceDiskPath, isSafeId, logsDir, volumeImagePath } from '../state/paths.js';
import { MAX_VOLUME_GIB } from '../state/validate.js';
import type { StateStore } from '../state/store.js';
import { StateStore as Store, type StateFormat } from '../state/store.js';
import { SCHEMA_VERSION, type Domain, type DomainDisk, type Flavor, type Image, type Instance, type State, type User, type Volume } from '../state/types.js';

const GiB = 1024 ** 3;

export class FixtureError extends SimError {
  constructor(message: string) {
    super('FixtureError', message);
  }
}

export class StateExists extends SimError {
  constructor(path: string) {
    super('CommandError', `${path} already exists; use --force to replace it`);
  }
}

/** devstack's users: demo is a member of demo; admin is admin of admin and of demo */
export const PROJECT_DEMO = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';
export const PROJECT_ADMIN = '1f2e3d4c5b6a49788796a5b4c3d2e1f0';
export const USER_DEMO = 'e5f4d3c2b1a04f9e8d7c6b5a49382716';
export const USER_ADMIN = '0a9b8c7d6e5f40312233445566778899';

export const USERS: User[] = [
  { id: USER_DEMO, name: 'demo', defaultProject: 'demo', projects: [{ projectId: PROJECT_DEMO, projectName: 'demo', roles: ['Member'] }] },
  {
    id: USER_ADMIN,
    name: 'admin',
    defaultProject: 'admin',
    projects: [
      { projectId: PROJECT_ADMIN, projectName: 'admin', roles: ['admin'] },
      { projectId: PROJECT_DEMO, projectName: 'demo', roles: ['admin'] },
    ],
  },
];

/** devstack's default flavors */
export const FLAVORS: Flavor[] = [
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1, ephemeral: 0, swap: 0 },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20, ephemeral: 0, swap: 0 },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40, ephemeral: 0, swap: 0 },
  { id: '4', name: 'm1.large', ram: 8192, vcpus: 4, disk: 80, ephemeral: 0, swap: 0 },
  { id: '5', name: 'm1.xlarge', ram: 16384, vcpus: 8, disk: 160, ephemeral: 0, swap: 0 },
];

export const CIRROS: Image = {
  id: '6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c',
  name: 'cirros-0.3.4-x86_64-uec',
  status: 'ACTIVE',
  minDisk: 0,
  minRam: 0,
  size: 25165824,
  created: '2016-04-07T10:00:00Z',
  updated: '2016-04-07T10:00:05Z',
};

export interface FixtureVolumeData {
  offset: number;
  /** bytes of pseudo-random data from `seed` */
  length?: number;
  seed?: number;
  /** or a text written as UTF-8 */
  text?: string;
}

export interface FixtureVolume {
  id: string;
  name: string;
  size: number;
  description?: string;
  data?: FixtureVolumeData[];
}

export interface FixtureServer {
  uuid: string;
  name: string;
  /** active, stopped, paused, suspended */
  state: 'active' | 'stopped' | 'paused' | 'suspended';
  locked?: 'owner' | 'admin';
  transient?: boolean;
  flavor: string;
  ip: string;
  createdAt: string;
  volumes?: { volume: string; device: string }[];
}

export interface Fixture {
  name: string;
  description: string;
  host: string;
  servers: FixtureServer[];
  volumes: FixtureVolume[];
}

/** The package's fixtures folder: the first folder up from this module (src/, dist/ or
 * the bundle) that holds fixtures/default.json. */
export function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'fixtures');
    if (existsSync(join(candidate, 'default.json'))) return candidate;
    const up = dirname(dir);
    if (up === dir) return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
    dir = up;
  }
}

export function loadFixture(nameOrPath: string): Fixture {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  const path = isPath ? resolve(nameOrPath) : join(fixturesDir(), `${nameOrPath}.json`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new FixtureError(isPath ? `${path}: no such fixture file` : `no fixture named '${nameOrPath}' (known: default, empty)`);
  }
  let fx: Fixture;
  try {
    fx = JSON.parse(text) as Fixture;
  } catch (err) {
    throw new FixtureError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const problem = checkFixture(fx);
  if (problem) throw new FixtureError(`${path}: ${problem}`);
  return fx;
}

function checkFixture(fx: Fixture): string | null {
  if (!fx || typeof fx !== 'object') return 'a fixture is a JSON object';
  if (typeof fx.name !== 'string' || typeof fx.host !== 'string') return 'name and host must be strings';
  if (!Array.isArray(fx.servers) || !Array.isArray(fx.volumes)) return 'servers and volumes must be arrays';
  const volIds = new Set<string>();
  for (const v of fx.volumes) {
    if (typeof v.id !== 'string' || typeof v.name !== 'string' || !Number.isInteger(v.size) || v.size <= 0 || v.size > MAX_VOLUME_GIB) {
      return `volume ${JSON.stringify(v.name ?? v.id)} needs an id, a name and a size of 1 to ${MAX_VOLUME_GIB} GiB`;
    }
    // the id names the volume's image file: volume-<id>
    if (!isSafeId(v.id)) return `volume ${JSON.stringify(v.name)}: the id ${JSON.stringify(v.id)} must be letters, digits, '.', '_' and '-'`;
    if (volIds.has(v.id)) return `volume id ${v.id} is used twice`;
    volIds.add(v.id);
  }
  const attached = new Set<string>();
  const uuids = new Set<string>();
  for (const s of fx.servers) {
    if (typeof s.uuid !== 'string' || typeof s.name !== 'string') return 'every server needs a uuid and a name';
    // the uuid names the server's folder: instances/<uuid>/
    if (!isSafeId(s.uuid)) return `server ${JSON.stringify(s.name)}: the uuid ${JSON.stringify(s.uuid)} must be letters, digits, '.', '_' and '-'`;
    if (uuids.has(s.uuid)) return `server uuid ${s.uuid} is used twice`;
    uuids.add(s.uuid);
    if (!['active', 'stopped', 'paused', 'suspended'].includes(s.state)) return `server ${s.name}: unknown state ${JSON.stringify(s.state)}`;
    if (!FLAVORS.some((f) => f.name === s.flavor)) return `server ${s.name}: unknown flavor ${JSON.stringify(s.flavor)}`;
    for (const a of s.volumes ?? []) {
      if (!volIds.has(a.volume)) return `server ${s.name}: unknown volume ${a.volume}`;
      if (attached.has(a.volume)) return `volume ${a.volume} is attached twice`;
      if (!/^\/dev\/vd[b-z]$/.test(a.device)) return `server ${s.name}: device ${a.device} must be /dev/vdb…/dev/vdz`;
      attached.add(a.volume);
    }
  }
  return null;
}

/** deterministic bytes: xorshift32 from a seed */
export function patternBytes(seed: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  for (let i = length - (length % 4); i < length; i++) buf[i] = i & 0xff;
  return buf;
}

function sparseFile(path: string, size: number): number {
  mkdirSync(dirname(path), { recursive: true });
  // a new file (the folders were emptied): never through a link, never one of a fixture's own twice
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  ftruncateSync(fd, size);
  return fd;
}

/** Builds the state for a fixture and writes its images next to the state file. */
/**
 * The 'create' action a fixture's server was booted with, as the compute API and the
 * build's event recorded it: the request at createdAt, spawned by launched_at. Its request
 * id is derived from the server's uuid, so a world is the same each time it is made.
 */
function createAction(state: State, inst: Instance): void {
  const hex = createHash('sha1').update(`create ${inst.uuid}`).digest('hex');
  const requestId = `req-${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  const at = (ms: number): string => dbTimestamp(new Date(Date.parse(inst.createdAt) + ms));
  (state.nova.instanceActions ??= []).push({
    action: CREATE,
    instanceUuid: inst.uuid,
    requestId,
    userId: inst.userId,
    projectId: inst.projectId,
    startTime: at(0),
    finishTime: null,
    message: null,
    events: [{ event: 'compute__do_build_and_run_instance', startTime: at(2000), finishTime: at(Date.parse(inst.launchedAt ?? inst.createdAt) - Date.parse(inst.createdAt)), result: 'Success', traceback: null }],
  });
}

export function materialize(statePath: string, fx: Fixture): State {
  rmSync(join(imagesDir(statePath), 'volumes'), { recursive: true, force: true });
  rmSync(join(imagesDir(statePath), 'instances'), { recursive: true, force: true });
  // a new world starts with empty logs: the old world's requests are no part of it
  rmSync(logsDir(statePath), { recursive: true, force: true });
  const now = isoMicros();
  const volumes: Volume[] = [];
  const volumeById = new Map<string, Volume>();
  for (const v of fx.volumes) {
    const fd = sparseFile(volumeImagePath(statePath, v.id), v.size * GiB);
    try {
      for (const d of v.data ?? []) {
        const bytes = d.text !== undefined ? Buffer.from(d.text, 'utf8') : patternBytes(d.seed ?? 1, d.length ?? 0);
        writeSync(fd, bytes, 0, bytes.length, d.offset);
      }
    } finally {
      closeSync(fd);
    }
    volumes.push({
      id: v.id,
      displayName: v.name,
      displayDescription: v.description ?? null,
      size: v.size,
      status: 'available',
      attachStatus: 'detached',
      attachments: [],
      migrationStatus: null,
      availabilityZone: 'nova',
      volumeType: 'lvmdriver-1',
      bootable: false,
      projectId: PROJECT_DEMO,
      userId: USER_DEMO,
      host: `${fx.host}@lvmdriver-1#lvmdriver-1`,
      createdAt: now,
      updatedAt: now,
      metadata: {},
    });
    volumeById.set(v.id, volumes[volumes.length - 1]);
  }

  const state: State = {
    schemaVersion: SCHEMA_VERSION,
    fixture: fx.name,
    createdAt: now,
    host: fx.host,
    users: USERS,
    flavors: FLAVORS,
    images: [CIRROS],
    nova: { instances: [], bdms: [], nextInstanceId: 1, nextBdmId: 1, instanceActions: [] },
    cinder: { volumes },
    libvirt: { domains: [], nextDomainId: 1 },
  };

  for (const s of fx.servers) {
    const flavor = FLAVORS.find((f) => f.name === s.flavor) as Flavor;
    const id = state.nova.nextInstanceId++;
    const running = s.state === 'active' || s.state === 'paused';
    const inst: Instance = {
      uuid: s.uuid,
      id,
      name: s.name,
      projectId: PROJECT_DEMO,
      userId: USER_DEMO,
      host: fx.host,
      node: fx.host,
      availabilityZone: 'nova',
      vmState: s.state,
      taskState: null,
      powerState: s.state === 'active' ? 1 : s.state === 'paused' ? 3 : 4,
      locked: Boolean(s.locked),
      lockedBy: s.locked ?? null,
      launchedAt: isoSeconds(new Date(Date.parse(s.createdAt) + 15000)),
      terminatedAt: null,
      createdAt: s.createdAt,
      updatedAt: s.createdAt,
      flavorId: flavor.id,
      imageRef: CIRROS.id,
      keyName: null,
      metadata: {},
      securityGroups: ['default'],
      addresses: { private: [{ addr: s.ip, version: 4, type: 'fixed', mac: `fa:16:3e:${s.uuid.slice(0, 2)}:${s.uuid.slice(2, 4)}:${s.uuid.slice(4, 6)}` }] },
      accessIPv4: '',
      accessIPv6: '',
      configDrive: '',
      deleted: false,
    };
    state.nova.instances.push(inst);
    createAction(state, inst);
    const rootPath = instanceDiskPath(statePath, s.uuid);
    closeSync(sparseFile(rootPath, flavor.disk * GiB));
    newImageBdm(state, s.uuid, CIRROS.id);
    const disks: DomainDisk[] = [
      { type: 'file', device: 'disk', driverType: 'raw', source: rootPath, targetDev: 'vda', targetBus: 'virtio', serial: null, alias: running ? 'virtio-disk0' : null, cache: 'none' },
    ];
    (s.volumes ?? []).forEach((a, i) => {
      const vol = volumeById.get(a.volume) as Volume;
      const path = volumeImagePath(statePath, vol.id);
      const connector = { ip: '127.0.0.1', host: fx.host, initiator: `iqn.1994-05.com.redhat:${fx.host}`, multipath: false, platform: 'x86_64', os_type: 'linux2' };
      const cinfo = {
        driver_volume_type: 'local',
        data: { device_path: path, volume_id: vol.id, access_mode: 'rw', encrypted: false, qos_specs: null },
        connector,
        serial: vol.id,
      };
      newBdm(state, { instanceUuid: s.uuid, deviceName: a.device, volumeId: vol.id, connectionInfo: JSON.stringify(cinfo), volumeSize: vol.size });
      vol.status = 'in-use';
      vol.attachStatus = 'attached';
      vol.attachments.push({
        id: `${vol.id.slice(0, 8)}-7a7a-4b4b-8c8c-${s.uuid.slice(-12)}`,
        instanceUuid: s.uuid,
        attachedHost: fx.host,
        mountpoint: a.device,
        attachTime: now,
        attachMode: 'rw',
        attachStatus: 'attached',
      });
      disks.push({
        type: 'block',
        device: 'disk',
        driverType: 'raw',
        source: path,
        targetDev: a.device.slice(5),
        targetBus: 'virtio',
        serial: vol.id,
        alias: running ? `virtio-disk${i + 1}` : null,
        // what Nova wrote: volumes' get_config says "none"; so does disk_cachemode on a
        // filesystem that takes O_DIRECT (CONF.libvirt.disk_cachemodes unset)
        cache: 'none',
      });
    });
    const def = { name: instanceName(inst), uuid: s.uuid, memoryKiB: flavor.ram * 1024, vcpus: flavor.vcpus, disks };
    const persistentDef = s.transient ? null : { ...structuredClone(def), disks: def.disks.map((d) => ({ ...d, alias: null })) };
    const domain: Domain = {
      name: def.name,
      uuid: s.uuid,
      id: running ? state.libvirt.nextDomainId++ : null,
      state: s.state === 'active' ? 'running' : s.state === 'paused' ? 'paused' : 'shutoff',
      def,
      persistentDef,
      managedSave: s.state === 'suspended',
      mirrors: {},
    };
    state.libvirt.domains.push(domain);
  }
  return state;
}

/** The first command on a missing state file creates it from the default world. */
export async function ensureWorld(store: StateStore, onNotice?: (line: string) => void): Promise<void> {
  if (store.exists()) return;
  const fx = loadFixture('default');
  const created = await store.create(() => materialize(store.path, fx), false);
  if (created) onNotice?.(`novasim: created ${store.path} from the '${fx.name}' fixture`);
}

/** nova-sim init [--fixture NAME|PATH] [--force] */
export async function initWorld(statePath: string, fixture: string | Fixture, force: boolean, format: StateFormat = 'json'): Promise<{ created: boolean; path: string }> {
  let fx: Fixture;
  if (typeof fixture === 'string') fx = loadFixture(fixture);
  else {
    const problem = checkFixture(fixture);
    if (problem) throw new FixtureError(`${fixture.name}: ${problem}`);
    fx = fixture;
  }
  const store = new Store(statePath);
  const existed = existsSync(statePath);
  if (!force && existed) throw new StateExists(statePath);
  const written = await store.create(() => materialize(statePath, fx), force, format);
  if (!written) throw new StateExists(statePath);
  // the nova-sim shell prints "Replaced" for a world that was there before
  return { created: !existed, path: statePath };
}

/** nova-sim volume-path VOLUME: the image of a volume named by id or display name */
export async function volumePath(statePath: string, ref: string, onNotice?: (line: string) => void): Promise<string> {
  const store = new Store(statePath);
  await ensureWorld(store, onNotice);
  const state = store.read();
  const byId = state.cinder.volumes.find((v) => v.id === ref);
  if (byId) return volumeImagePath(statePath, byId.id);
  const byName = state.cinder.volumes.filter((v) => v.displayName === ref);
  if (byName.length > 1) throw new CommandError(`Multiple volume matches found for '${ref}', use an ID to be more specific.`);
  if (!byName.length) throw new CommandError(`No volume with a name or ID of '${ref}' exists.`);
  return volumeImagePath(statePath, byName[0].id);
}
