// The fault table: `nova-sim fault`, point by point, through the built binaries. Set the
// fault, run the operation that reaches it, check that the world is what Mitaka leaves
// (volume statuses and attachments, the BDM's volume and connection, the domain persistent
// or transient and on which image, the guest's bytes), then `fault clear`, `doctor` (exit 1
// listing what Mitaka left, or 0 when it leaves nothing), `doctor --fix`, `doctor` (exit 0),
// and a new swap works. docs/reliability.md ("Faults on purpose") tabulates the same end
// states.
//
// Shared by test/cli/faults.test.ts (each point once) and the `fault-table` campaign of
// `npm run torture` (test/torture/fault-table.ts: each point several times, every second
// run of a swap with a guest writing on vdb). No vitest here: runFaultCase returns the list
// of what differed (empty when the case passed). Runs the built launchers: `npm run build`.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultPoint } from '../../src/common/faults.js';
import { fillSectors, GUEST_BLOCK, planWrite, type WorkloadSpec } from '../../src/qemu/guest-workload.js';
import { volumeImagePath } from '../../src/state/paths.js';
import type { GuestLoad, State } from '../../src/state/types.js';
import { allZero, digest, sameBytes, SERVERS } from './world.js';

// the same from test/support/ and from the campaign's bundle in dist/torture/
export const NOVA = fileURLToPath(new URL('../../bin/nova.cjs', import.meta.url));
export const NOVA_SIM = fileURLToPath(new URL('../../bin/nova-sim.cjs', import.meta.url));
const DEFAULT_FIXTURE = fileURLToPath(new URL('../../fixtures/default.json', import.meta.url));

const GiB = 1024 ** 3;
const ADMIN = { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A temporary state file (and its images) for one case. */
export class FaultWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'novasim-faults-'));
  readonly state = join(this.dir, 'state.json');

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: '80', ...extra };
    for (const k of ['OS_USERNAME', 'OS_PROJECT_NAME', 'OS_TENANT_NAME', 'OS_COMPUTE_API_VERSION', 'NOVASIM_STATE', 'NO_COLOR']) {
      if (!(k in extra)) delete env[k];
    }
    return env;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function run(w: FaultWorld, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: w.env(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
export const nova = (w: FaultWorld, ...args: string[]) => run(w, NOVA, ['--state', w.state, ...args], ADMIN);
export const sim = (w: FaultWorld, ...args: string[]) => run(w, NOVA_SIM, [...args, '--state', w.state]);

export const state = (w: FaultWorld): State => JSON.parse(readFileSync(w.state, 'utf8')) as State;
const volId = (s: State, name: string) => s.cinder.volumes.find((v) => v.displayName === name)!.id;
export const image = (w: FaultWorld, name: string) => volumeImagePath(w.state, volId(state(w), name));

/** What the cases compare: the world as an operator would read it, by names. */
export interface EndState {
  /** status, and ' @<mountpoint>' while Cinder records an attachment to web-1 */
  volumes: Record<string, string>;
  /** web-1's volume BDMs: '<volume> (connection: <volume whose device the connection_info names>)' */
  bdms: Record<string, string>;
  /** web-1's domain: persistent or transient, the image vdb runs on, and the one its config names */
  domain: string;
}

/** The end state; a block job that outlived the command that ran it is added to `problems`. */
export function endState(w: FaultWorld, problems: string[]): EndState {
  const s = state(w);
  const byImage = (path: string | undefined) => (path ? (s.cinder.volumes.find((v) => volumeImagePath(w.state, v.id) === path)?.displayName ?? path) : 'none');
  const byId = (id: string | null) => s.cinder.volumes.find((v) => v.id === id)?.displayName ?? String(id);
  const volumes: Record<string, string> = {};
  for (const name of ['web-data', 'new-web-data', 'big-data', 'spare']) {
    const v = s.cinder.volumes.find((x) => x.displayName === name)!;
    const att = v.attachments.find((a) => a.instanceUuid === SERVERS.web1 && a.attachStatus === 'attached');
    volumes[name] = `${v.status}${att ? ` @${att.mountpoint}` : ''}`;
  }
  const bdms: Record<string, string> = {};
  for (const b of s.nova.bdms.filter((x) => x.instanceUuid === SERVERS.web1 && x.volumeId)) {
    const ci = JSON.parse(b.connectionInfo ?? 'null') as { data: { device_path: string } } | null;
    bdms[b.deviceName] = `${byId(b.volumeId)} (connection: ${ci ? byImage(ci.data.device_path) : 'none'})`;
  }
  const d = s.libvirt.domains.find((x) => x.uuid === SERVERS.web1)!;
  const vdb = (def: typeof d.def | null) => byImage(def?.disks.find((x) => x.targetDev === 'vdb')?.source);
  const domain = d.persistentDef ? `persistent, vdb on ${vdb(d.def)}, config vdb on ${vdb(d.persistentDef)}` : `transient, vdb on ${vdb(d.def)}`;
  const jobs = Object.keys(d.mirrors);
  if (jobs.length) problems.push(`a block job outlives the command that ran it: ${JSON.stringify(jobs)}`);
  return { volumes, bdms, domain };
}

export const BEFORE: EndState = {
  volumes: { 'web-data': 'in-use @/dev/vdb', 'new-web-data': 'available', 'big-data': 'available', spare: 'available' },
  bdms: { '/dev/vdb': 'web-data (connection: web-data)' },
  domain: 'persistent, vdb on web-data, config vdb on web-data',
};
const end = (over: Partial<EndState> & { volumes?: Record<string, string> } = {}): EndState => ({
  ...BEFORE,
  ...over,
  volumes: { ...BEFORE.volumes, ...over.volumes },
});
/** a swap that doctor --fix finishes: everything follows the disk onto `vol` */
const swappedTo = (vol: string): EndState =>
  end({ volumes: { 'web-data': 'available', [vol]: 'in-use @/dev/vdb' }, bdms: { '/dev/vdb': `${vol} (connection: ${vol})` }, domain: `persistent, vdb on ${vol}, config vdb on ${vol}` });

export interface FaultCase {
  point: FaultPoint;
  /** extra `fault add` arguments */
  add?: string[];
  op: 'swap' | 'swap to big-data' | 'attach' | 'detach';
  /** exit code of the operation, and what its stderr says */
  code: number;
  says?: RegExp;
  /** what Mitaka leaves */
  left: EndState;
  /** what `nova-sim doctor` lists (none: exit 0) */
  doctor: string[];
  /** the world after doctor --fix */
  fixed: EndState;
}

/** '<point> [<add>] during <op>': how a case is named */
export const caseName = (c: FaultCase): string => `${c.point}${c.add ? ` ${c.add.join(' ')}` : ''} during ${c.op}`;
export const isSwap = (c: FaultCase): boolean => c.op === 'swap' || c.op === 'swap to big-data';

const NOVA_500 = /Unexpected API Error\. .*\n<class 'cinderclient\.exceptions\.ClientException'> \(HTTP 500\)/;
const CINDER_500 = /ERROR \(ClientException\): The server has either erred or is incapable of performing the requested operation\. \(HTTP 500\)/;
/** a cast nova-compute failed after the 202: the error line, then novasim's note that Mitaka is silent there */
const COMPUTE_FAILED = (method: string, error: RegExp): RegExp =>
  new RegExp(`${error.source}.*\\nnova-compute failed the ${method} after the API had answered 202; real Nova would have failed silently`);
/** the domain rolled back onto web-data, the BDM keeping the new volume's connection (LP #1685185) */
const ROLLED_BACK_LEAKED = end({ bdms: { '/dev/vdb': 'web-data (connection: new-web-data)' } });
/** the pivot happened, then the finally raised: the rollback puts Cinder back on the old volume */
const PIVOTED_UNFINISHED = end({
  volumes: { 'web-data': 'detaching @/dev/vdb', 'new-web-data': 'attaching' },
  bdms: { '/dev/vdb': 'web-data (connection: new-web-data)' },
  domain: 'persistent, vdb on new-web-data, config vdb on web-data',
});

export const CASES: FaultCase[] = [
  // swap: the compute API (before the cast)
  { point: 'cinder.begin_detaching', op: 'swap', code: 1, says: NOVA_500, left: BEFORE, doctor: [], fixed: BEFORE },
  {
    point: 'cinder.reserve_volume',
    op: 'swap',
    code: 1,
    says: NOVA_500,
    left: end({ volumes: { 'web-data': 'detaching @/dev/vdb' } }),
    doctor: ['cinder-attachment', 'interrupted-operation'],
    fixed: BEFORE,
  },
  {
    point: 'rpc.cast',
    op: 'swap',
    code: 0,
    left: end({ volumes: { 'web-data': 'detaching @/dev/vdb', 'new-web-data': 'attaching' } }),
    doctor: ['cinder-attachment', 'interrupted-operation', 'volume-stuck'],
    fixed: BEFORE,
  },
  // swap: the compute manager and the driver
  { point: 'cinder.initialize_connection', op: 'swap', code: 1, says: CINDER_500, left: BEFORE, doctor: [], fixed: BEFORE },
  { point: 'driver.connect_volume', op: 'swap', code: 1, says: /ERROR \(VolumeDeviceNotFound\): Volume device not found at \/\S+volume-e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01\./, left: BEFORE, doctor: [], fixed: BEFORE },
  { point: 'libvirt.undefine', op: 'swap', code: 1, says: /ERROR \(libvirtError\): cannot remove config \/etc\/libvirt\/qemu\/instance-00000001\.xml: Input\/output error/, left: ROLLED_BACK_LEAKED, doctor: ['leaked-connection'], fixed: BEFORE },
  { point: 'libvirt.blockRebase', op: 'swap', code: 1, says: /ERROR \(libvirtError\): internal error: unable to execute QEMU command 'drive-mirror'/, left: ROLLED_BACK_LEAKED, doctor: ['leaked-connection'], fixed: BEFORE },
  { point: 'libvirt.blockJobAbort.pivot', op: 'swap', code: 1, says: /ERROR \(libvirtError\): operation failed: failed to pivot job for disk vdb/, left: ROLLED_BACK_LEAKED, doctor: ['leaked-connection'], fixed: BEFORE },
  {
    point: 'libvirt.blockResize',
    op: 'swap to big-data',
    code: 1,
    says: /ERROR \(libvirtError\): internal error: unable to execute QEMU command 'block_resize'/,
    left: end({ bdms: { '/dev/vdb': 'web-data (connection: big-data)' }, domain: 'persistent, vdb on big-data, config vdb on web-data' }),
    doctor: ['bdm-wrong-volume', 'cinder-attachment', 'persistent-xml-stale'],
    fixed: swappedTo('big-data'),
  },
  {
    point: 'libvirt.defineXML',
    op: 'swap',
    code: 1,
    says: /ERROR \(libvirtError\): cannot write data to file '\/etc\/libvirt\/qemu\/instance-00000001\.xml\.new': No space left on device/,
    left: end({ bdms: { '/dev/vdb': 'web-data (connection: new-web-data)' }, domain: 'transient, vdb on new-web-data' }),
    doctor: ['bdm-wrong-volume', 'cinder-attachment', 'domain-transient'],
    fixed: swappedTo('new-web-data'),
  },
  // swap: the manager's finally, after the pivot
  { point: 'cinder.terminate_connection', op: 'swap', code: 1, says: CINDER_500, left: PIVOTED_UNFINISHED, doctor: ['bdm-wrong-volume', 'cinder-attachment', 'persistent-xml-stale'], fixed: swappedTo('new-web-data') },
  { point: 'cinder.migrate_volume_completion', op: 'swap', code: 1, says: CINDER_500, left: PIVOTED_UNFINISHED, doctor: ['bdm-wrong-volume', 'cinder-attachment', 'persistent-xml-stale'], fixed: swappedTo('new-web-data') },
  // the state's own write: the first save of the command fails, nothing changes
  { point: 'state.write', add: ['--once'], op: 'swap', code: 1, says: /StateWriteError/, left: BEFORE, doctor: [], fixed: BEFORE },
  // attach (volume-attach web-1 spare): a cast after the reserve; a failure on the compute
  // side is silent in Mitaka, and reported by novasim (the process hosts nova-compute)
  { point: 'cinder.reserve_volume', op: 'attach', code: 1, says: NOVA_500, left: BEFORE, doctor: [], fixed: BEFORE },
  {
    point: 'rpc.cast',
    op: 'attach',
    code: 0,
    left: end({ volumes: { spare: 'attaching' }, bdms: { '/dev/vdb': 'web-data (connection: web-data)', '/dev/vdc': 'spare (connection: none)' } }),
    doctor: ['bdm-without-disk', 'interrupted-operation'],
    fixed: BEFORE,
  },
  { point: 'cinder.initialize_connection', op: 'attach', code: 1, says: COMPUTE_FAILED('attach_volume', CINDER_500), left: BEFORE, doctor: [], fixed: BEFORE },
  { point: 'driver.connect_volume', op: 'attach', code: 1, says: COMPUTE_FAILED('attach_volume', /ERROR \(VolumeDeviceNotFound\): Volume device not found at \/\S+volume-e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03\./), left: BEFORE, doctor: [], fixed: BEFORE },
  // detach (volume-detach web-1 web-data)
  { point: 'cinder.begin_detaching', op: 'detach', code: 1, says: NOVA_500, left: BEFORE, doctor: [], fixed: BEFORE },
  { point: 'rpc.cast', op: 'detach', code: 0, left: end({ volumes: { 'web-data': 'detaching @/dev/vdb' } }), doctor: ['cinder-attachment', 'interrupted-operation'], fixed: BEFORE },
  {
    point: 'cinder.terminate_connection',
    op: 'detach',
    code: 1,
    says: COMPUTE_FAILED('detach_volume', CINDER_500),
    left: end({ volumes: { 'web-data': 'detaching @/dev/vdb' }, domain: 'persistent, vdb on none, config vdb on none' }),
    doctor: ['bdm-without-disk', 'interrupted-operation'],
    fixed: end({ volumes: { 'web-data': 'available' }, bdms: {}, domain: 'persistent, vdb on none, config vdb on none' }),
  },
];

export const OPS: Record<FaultCase['op'], string[]> = {
  swap: ['volume-update', 'web-1', 'web-data', 'new-web-data'],
  'swap to big-data': ['volume-update', 'web-1', 'web-data', 'big-data'],
  attach: ['volume-attach', 'web-1', 'spare'],
  detach: ['volume-detach', 'web-1', 'web-data'],
};

/** the kinds of inconsistency a doctor output lists, sorted */
export function kinds(doctorOut: string): string[] {
  return doctorOut
    .split('\n')
    .map((l) => /^([a-z-]+): /.exec(l)?.[1])
    .filter((k): k is string => Boolean(k))
    .sort();
}

const JS_ERROR = /TypeError|RangeError|ReferenceError|    at /;
const json = (x: unknown) => JSON.stringify(x);
/** the last line of a command's stderr worth quoting */
const lastLine = (r: Result) =>
  r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('WARNING: '))
    .at(-1) ?? '';

/** where two plain values differ, one 'path: got, expected want' each */
function differences(got: unknown, want: unknown, path = ''): string[] {
  const obj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (obj(got) && obj(want)) {
    return [...new Set([...Object.keys(want), ...Object.keys(got)])].flatMap((k) => differences(got[k], want[k], path ? `${path}.${k}` : k));
  }
  return json(got) === json(want) ? [] : [`${path || 'got'} ${got === undefined ? 'absent' : json(got)}, expected ${want === undefined ? 'absent' : json(want)}`];
}

const vdbBdm = (s: State) => s.nova.bdms.find((b) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb');

/** The world a case starts from: default fixture with cache-1's domain defined like the others
 * (so that a fresh world has nothing for doctor to report), written under `dir`. */
export function writeFixture(dir: string): string {
  const path = join(dir, 'default-persistent.json');
  const fx = JSON.parse(readFileSync(DEFAULT_FIXTURE, 'utf8')) as { servers: { transient?: boolean }[] };
  for (const srv of fx.servers) delete srv.transient;
  writeFileSync(path, JSON.stringify(fx));
  return path;
}

/** A fresh world for one case. Under load (the cases run at once, beside other suites), the
 * target's fdatasync before READY can outlast Mitaka's 0.5 s poll, and the swap then meets
 * Mitaka's premature pivot ('not ready for pivot yet', see README) — a real race, but not the
 * one under test: web-1's disks get cache='unsafe' (no flush), as `disk_cachemodes` gives. */
export async function freshWorld(fixturePath: string): Promise<FaultWorld> {
  const w = new FaultWorld();
  const r = await sim(w, 'init', '--fixture', fixturePath);
  if (r.code !== 0) {
    w.cleanup();
    throw new Error(`nova-sim init: ${r.stderr}`);
  }
  const s = state(w);
  const d = s.libvirt.domains.find((x) => x.uuid === SERVERS.web1)!;
  for (const disk of [...d.def.disks, ...(d.persistentDef?.disks ?? [])]) disk.cache = 'unsafe';
  writeFileSync(w.state, JSON.stringify(s));
  return w;
}

/**
 * Bytes of the guest's recorded writes that vdb's image does not hold now: each 4 KiB block
 * whose last recorded write is not what the image holds there (what `guest-load --verify`
 * checks, counted block by block instead of stopping at the first difference).
 */
export function guestBytesLost(imagePath: string, load: GuestLoad): number {
  const segs = load.segments.map((s): WorkloadSpec & { writes: number } => ({ seed: s.seed, rate: s.rate, blockSizes: s.blockSizes, region: s.region, limit: s.limit, writes: s.writes }));
  const last = new Map<number, { seg: number; index: number; write: ReturnType<typeof planWrite> }>();
  segs.forEach((seg, si) => {
    for (let i = 0; i < seg.writes; i++) {
      const write = planWrite(seg, si, i);
      for (let b = write.offset / GUEST_BLOCK; b < (write.offset + write.size) / GUEST_BLOCK; b++) last.set(b, { seg: si, index: i, write });
    }
  });
  const fd = openSync(imagePath, 'r');
  const got = Buffer.alloc(GUEST_BLOCK);
  const want = Buffer.alloc(GUEST_BLOCK);
  let lost = 0;
  try {
    for (const [b, { seg, index, write }] of last) {
      const n = readSync(fd, got, 0, GUEST_BLOCK, b * GUEST_BLOCK);
      fillSectors(want, segs[seg], seg, index, write, (b * GUEST_BLOCK - write.offset) / 512);
      if (n !== GUEST_BLOCK || !got.equals(want)) lost += GUEST_BLOCK;
    }
  } finally {
    closeSync(fd);
  }
  return lost;
}

/** `guest-load web-1 --verify` on whichever image vdb uses now: the problem and the bytes lost */
async function verifyGuest(w: FaultWorld, when: string): Promise<{ problem: string | null; bytesLost: number }> {
  const v = await sim(w, 'guest-load', 'web-1', '--verify');
  if (v.code === 0) return { problem: null, bytesLost: 0 };
  let lost = 0;
  try {
    const s = state(w);
    const load = s.guestLoads?.find((l) => l.server === SERVERS.web1 && l.disk === 'vdb');
    const src = s.libvirt.domains.find((d) => d.uuid === SERVERS.web1)?.def.disks.find((d) => d.targetDev === 'vdb')?.source;
    if (load && src) lost = guestBytesLost(src, load);
  } catch {
    // the count is a courtesy: the failed --verify is the problem
  }
  return { problem: `${when}: guest-load --verify exits ${v.code} (${lost} bytes lost): ${lastLine(v) || v.stdout.trim()}`, bytesLost: lost };
}

/**
 * After the repair: swap web-1's vdb to a free volume of its size (attaching web-data back
 * if the detach went through). Returns what went wrong (empty: the swap succeeded). Without
 * a guest, the guest's bytes went along every step (web-data's image and the new disk hold
 * the same); with one, `guest-load --verify` passes on the new disk.
 */
export async function newSwapSucceeds(w: FaultWorld, guest = false): Promise<{ problems: string[]; bytesLost: number }> {
  const problems: string[] = [];
  const ok = async (...args: string[]) => {
    const r = await nova(w, ...args);
    if (r.code !== 0 || /ERROR/.test(r.stderr)) problems.push(`after the repair, nova ${args.join(' ')} exits ${r.code}: ${lastLine(r)}`);
    return problems.length === 0;
  };
  let bdm = vdbBdm(state(w));
  if (!bdm) {
    if (!(await ok('volume-attach', 'web-1', 'web-data', '/dev/vdb'))) return { problems, bytesLost: 0 };
  } else if ((JSON.parse(bdm.connectionInfo ?? '{}') as { serial?: string }).serial !== bdm.volumeId) {
    // the disk was swapped (the fault came after the pivot, doctor finished the swap): its
    // connection keeps the old volume's serial, as after any Mitaka swap, and a second swap
    // would fail with VolumeBDMNotFound (LP #1490236) — the known workaround is to detach
    // and attach the volume again first (the guest stops writing first: its disk goes away)
    const name = state(w).cinder.volumes.find((v) => v.id === bdm!.volumeId)!.displayName!;
    if (guest) {
      const off = await sim(w, 'guest-load', 'web-1', '--off');
      if (off.code !== 0) return { problems: [`guest-load --off exits ${off.code}: ${lastLine(off)}`], bytesLost: 0 };
    }
    if (!(await ok('volume-detach', 'web-1', name)) || !(await ok('volume-attach', 'web-1', name, '/dev/vdb'))) return { problems, bytesLost: 0 };
  }
  const s = state(w);
  bdm = vdbBdm(s)!;
  const cur = s.cinder.volumes.find((v) => v.id === bdm!.volumeId)!;
  let target = s.cinder.volumes.find((v) => v.status === 'available' && v.size === cur.size && v.displayName !== 'web-data')?.displayName;
  if (!target) {
    if (!(await ok('volume-create', String(cur.size), '--display-name', 'another'))) return { problems, bytesLost: 0 };
    target = 'another';
  }
  if (!(await ok('volume-update', 'web-1', cur.displayName!, target))) return { problems, bytesLost: 0 };
  if (guest) {
    const v = await verifyGuest(w, `after the new swap ${cur.displayName} -> ${target}`);
    return { problems: v.problem ? [v.problem] : [], bytesLost: v.bytesLost };
  }
  if (!sameBytes(image(w, 'web-data'), image(w, target), GiB)) problems.push(`after the new swap ${cur.displayName} -> ${target}, ${target} does not hold web-data's bytes`);
  return { problems, bytesLost: 0 };
}

export interface FaultCaseOptions {
  /** a guest writes on vdb during the operation (`guest-load --seed <guestSeed>`): the image
   * bytes checks become `guest-load --verify` after doctor --fix and after the new swap */
  guestSeed?: number;
  /** also check that `nova list` reads the state after the operation (the campaign does) */
  listAfter?: boolean;
  /** keep the world's directory when the case fails (its path is added to the problems) */
  keepFailed?: boolean;
}

export interface FaultCaseOutcome {
  /** what differed, one line each (empty: the case passed) */
  problems: string[];
  /** the state no longer parses, or `nova list` fails on it */
  unreadable: boolean;
  /** bytes of the guest's recorded writes that vdb's image does not hold */
  bytesLost: number;
}

/** One run of a table case on a fresh world. */
export async function runFaultCase(c: FaultCase, fixturePath: string, opts: FaultCaseOptions = {}): Promise<FaultCaseOutcome> {
  const out: FaultCaseOutcome = { problems: [], unreadable: false, bytesLost: 0 };
  const fail = (what: string) => out.problems.push(what);
  const guest = opts.guestSeed !== undefined;
  const differ = (what: string, got: unknown, want: unknown) => {
    const d = differences(got, want);
    if (d.length) fail(`${what}: ${d.join(', ')}`);
  };
  const w = await freshWorld(fixturePath);
  try {
    const guestBytes = guest ? null : digest(image(w, 'web-data'));
    if (guest) {
      const g = await sim(w, 'guest-load', 'web-1', '--disk', 'vdb', '--rate', '20MiB/s', '--seed', String(opts.guestSeed));
      if (g.code !== 0) {
        fail(`guest-load exits ${g.code}: ${lastLine(g)}`);
        return out;
      }
    }

    const set = await sim(w, 'fault', 'add', c.point, ...(c.add ?? []));
    if (!new RegExp(`^fault set: ${c.point.replace(/\./g, '\\.')}: .*, fires (every time|the first time it is reached in each command)`).test(set.stdout) || set.code !== 0) {
      fail(`fault add exits ${set.code}: ${json(set.stdout + set.stderr)}`);
      return out;
    }
    const stateBefore = readFileSync(w.state, 'utf8');

    const r = await nova(w, ...OPS[c.op]);
    if (c.says && !c.says.test(r.stderr)) fail(`the operation does not say ${c.says}: ${json(r.stderr)}`);
    if (JS_ERROR.test(r.stderr)) fail(`the operation printed a JavaScript error: ${json(r.stderr)}`);
    if (r.code !== c.code) fail(`the operation exits ${r.code}, expected ${c.code}: ${lastLine(r)}`);

    // what Mitaka leaves
    try {
      state(w);
    } catch (e) {
      out.unreadable = true;
      fail(`the state file does not parse after the operation: ${(e as Error).message}`);
      return out;
    }
    differ('left', endState(w, out.problems), c.left);
    if (guestBytes !== null) {
      if (digest(image(w, 'web-data')) !== guestBytes) fail("the guest's volume web-data was written by a failed swap");
      const live = c.left.domain.match(/vdb on ([\w-]+)/)?.[1];
      if (live && live !== 'web-data' && live !== 'none') {
        // pivoted: the disk the guest runs on holds the guest's bytes
        if (!sameBytes(image(w, 'web-data'), image(w, live), GiB)) fail(`${live}, which vdb runs on, does not hold web-data's bytes`);
        if (!allZero(image(w, live), GiB)) fail(`${live} is not all zeroes past web-data's size`);
      }
    }
    if (c.point === 'state.write' && readFileSync(w.state, 'utf8') !== stateBefore) fail('a failed first save changed the state');

    const clear = await sim(w, 'fault', 'clear');
    if (clear.stdout !== 'faults cleared: 1 rule\n') fail(`fault clear says ${json(clear.stdout + clear.stderr)}`);
    if (opts.listAfter) {
      const list = await nova(w, 'list');
      if (list.code !== 0) {
        out.unreadable = true;
        fail(`nova list exits ${list.code} after the operation: ${lastLine(list)}`);
        return out;
      }
    }
    const doc = await sim(w, 'doctor');
    differ('doctor lists', kinds(doc.stdout), c.doctor);
    if (doc.code !== (c.doctor.length ? 1 : 0)) fail(`doctor exits ${doc.code}`);

    const fix = await sim(w, 'doctor', '--fix');
    if (fix.code !== 0) fail(`doctor --fix exits ${fix.code}: ${json(fix.stdout + fix.stderr)}`);
    differ('doctor --fix fixed', kinds(fix.stdout.replace(/^fixed /gm, '')), c.doctor);
    const again = await sim(w, 'doctor');
    differ('doctor after --fix', [again.code, again.stdout], [0, 'No inconsistencies found.\n']);
    differ('after doctor --fix', endState(w, out.problems), c.fixed);
    if (c.fixed.bdms['/dev/vdb']?.startsWith('big-data')) {
      // the BDM records the grown size, as Mitaka's successful swap_volume does (resize_to)
      differ("the BDM's volume_size", vdbBdm(state(w))?.volumeSize, 2);
    }
    if (guestBytes !== null) {
      if (digest(image(w, 'web-data')) !== guestBytes) fail("after doctor --fix, web-data's bytes changed");
    } else {
      const v = await verifyGuest(w, 'after doctor --fix');
      if (v.problem) fail(v.problem);
      out.bytesLost += v.bytesLost;
    }

    const next = await newSwapSucceeds(w, guest);
    out.problems.push(...next.problems);
    // the same lost blocks are found again after the new swap: count them once
    out.bytesLost = Math.max(out.bytesLost, next.bytesLost);
    return out;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // state(w) no longer parses
    out.unreadable = true;
    fail(`the state file does not parse: ${e.message}`);
    return out;
  } finally {
    if (out.problems.length && opts.keepFailed) out.problems.push(`(world kept in ${w.dir})`);
    else w.cleanup();
  }
}
