// `nova-sim fault`, point by point, through the built binaries: set the fault, run the
// operation that reaches it, check that the world is what Mitaka leaves (volume statuses and
// attachments, the BDM's volume and connection, the domain persistent or transient and on
// which image, the guest's bytes), then `fault clear`, `doctor` (exit 1 listing what Mitaka
// left, or 0 when it leaves nothing), `doctor --fix`, `doctor` (exit 0), and a new swap works.
// docs/reliability.md ("Faults on purpose") tabulates the same end states.
//
// One fresh world per case; the cases run concurrently (each is a chain of processes).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultPoint } from '../../src/common/faults.js';
import { volumeImagePath } from '../../src/state/paths.js';
import type { State } from '../../src/state/types.js';
import { allZero, digest, sameBytes, SERVERS } from '../support/world.js';
import { NOVA, NOVA_SIM, World, build, type Result } from './helpers.js';

const GiB = 1024 ** 3;
const ADMIN = { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };

function run(w: World, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
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
const nova = (w: World, ...args: string[]) => run(w, NOVA, ['--state', w.state, ...args], ADMIN);
const sim = (w: World, ...args: string[]) => run(w, NOVA_SIM, [...args, '--state', w.state]);

const state = (w: World): State => JSON.parse(readFileSync(w.state, 'utf8')) as State;
const volId = (s: State, name: string) => s.cinder.volumes.find((v) => v.displayName === name)!.id;
const image = (w: World, name: string) => volumeImagePath(w.state, volId(state(w), name));

/** What the cases compare: the world as an operator would read it, by names. */
interface EndState {
  /** status, and ' @<mountpoint>' while Cinder records an attachment to web-1 */
  volumes: Record<string, string>;
  /** web-1's volume BDMs: '<volume> (connection: <volume whose device the connection_info names>)' */
  bdms: Record<string, string>;
  /** web-1's domain: persistent or transient, the image vdb runs on, and the one its config names */
  domain: string;
}

function endState(w: World): EndState {
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
  expect(Object.keys(d.mirrors), 'no block job outlives the command that ran it').toEqual([]);
  return { volumes, bdms, domain };
}

const BEFORE: EndState = {
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

interface Case {
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

const CASES: Case[] = [
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

const OPS: Record<Case['op'], string[]> = {
  swap: ['volume-update', 'web-1', 'web-data', 'new-web-data'],
  'swap to big-data': ['volume-update', 'web-1', 'web-data', 'big-data'],
  attach: ['volume-attach', 'web-1', 'spare'],
  detach: ['volume-detach', 'web-1', 'web-data'],
};

function kinds(doctorOut: string): string[] {
  return doctorOut
    .split('\n')
    .map((l) => /^([a-z-]+): /.exec(l)?.[1])
    .filter((k): k is string => Boolean(k))
    .sort();
}

const vdbBdm = (s: State) => s.nova.bdms.find((b) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb');

/** After the repair: swap web-1's vdb to a free volume of its size (attaching web-data back if the detach went through). */
async function newSwapSucceeds(w: World): Promise<void> {
  const ok = async (...args: string[]) => {
    const r = await nova(w, ...args);
    expect([r.code, r.stderr], args.join(' ')).toEqual([0, expect.not.stringMatching(/ERROR/)]);
  };
  let bdm = vdbBdm(state(w));
  if (!bdm) {
    await ok('volume-attach', 'web-1', 'web-data', '/dev/vdb');
  } else if ((JSON.parse(bdm.connectionInfo ?? '{}') as { serial?: string }).serial !== bdm.volumeId) {
    // the disk was swapped (the fault came after the pivot, doctor finished the swap): its
    // connection keeps the old volume's serial, as after any Mitaka swap, and a second swap
    // would fail with VolumeBDMNotFound (LP #1490236) — the known workaround is to detach
    // and attach the volume again first
    const name = state(w).cinder.volumes.find((v) => v.id === bdm!.volumeId)!.displayName!;
    await ok('volume-detach', 'web-1', name);
    await ok('volume-attach', 'web-1', name, '/dev/vdb');
  }
  const s = state(w);
  bdm = vdbBdm(s)!;
  const cur = s.cinder.volumes.find((v) => v.id === bdm!.volumeId)!;
  let target = s.cinder.volumes.find((v) => v.status === 'available' && v.size === cur.size && v.displayName !== 'web-data')?.displayName;
  if (!target) {
    await ok('volume-create', String(cur.size), '--display-name', 'another');
    target = 'another';
  }
  await ok('volume-update', 'web-1', cur.displayName!, target);
  // the guest's bytes went along every step: web-data's image still holds them, and so does the new disk
  expect(sameBytes(image(w, 'web-data'), image(w, target), GiB)).toBe(true);
}

/** A fresh world for one case. Under load (the cases run at once, beside other suites), the
 * target's fdatasync before READY can outlast Mitaka's 0.5 s poll, and the swap then meets
 * Mitaka's premature pivot ('not ready for pivot yet', see README) — a real race, but not the
 * one under test: web-1's disks get cache='unsafe' (no flush), as `disk_cachemodes` gives. */
async function freshWorld(): Promise<World> {
  const w = new World();
  const r = await sim(w, 'init', '--fixture', fixturePath);
  if (r.code !== 0) throw new Error(`nova-sim init: ${r.stderr}`);
  const s = state(w);
  const d = s.libvirt.domains.find((x) => x.uuid === SERVERS.web1)!;
  for (const disk of [...d.def.disks, ...(d.persistentDef?.disks ?? [])]) disk.cache = 'unsafe';
  writeFileSync(w.state, JSON.stringify(s));
  return w;
}

const fixture = new World();
const fixturePath = `${fixture.dir}/default-persistent.json`;

beforeAll(() => {
  build();
  // the default world, with cache-1's domain defined like the others, so that a fresh world
  // has nothing for doctor to report
  const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/default.json', import.meta.url)), 'utf8')) as { servers: { transient?: boolean }[] };
  for (const srv of fx.servers) delete srv.transient;
  writeFileSync(fixturePath, JSON.stringify(fx));
});
afterAll(() => fixture.cleanup());

describe.concurrent('a fault at each point leaves what Mitaka leaves, and doctor --fix recovers it', () => {
  it.each(CASES.map((c) => ({ ...c, name: `${c.point}${c.add ? ` ${c.add.join(' ')}` : ''} during ${c.op}` })))(
    '$name',
    async (c) => {
      const w = await freshWorld();
      try {
        const guestBytes = digest(image(w, 'web-data'));

        const set = await sim(w, 'fault', 'add', c.point, ...(c.add ?? []));
        expect(set.stdout).toMatch(new RegExp(`^fault set: ${c.point.replace(/\./g, '\\.')}: .*, fires (every time|the first time it is reached in each command)`));
        expect(set.code).toBe(0);
        const stateBefore = readFileSync(w.state, 'utf8');

        const r = await nova(w, ...OPS[c.op]);
        if (c.says) expect(r.stderr).toMatch(c.says);
        expect(r.stderr).not.toMatch(/TypeError|RangeError|ReferenceError|    at /);
        expect(r.code).toBe(c.code);

        // what Mitaka leaves
        expect(endState(w)).toEqual(c.left);
        expect(digest(image(w, 'web-data')), "the guest's volume is never written by a failed swap").toBe(guestBytes);
        const live = c.left.domain.match(/vdb on ([\w-]+)/)?.[1];
        if (live && live !== 'web-data' && live !== 'none') {
          // pivoted: the disk the guest runs on holds the guest's bytes
          expect(sameBytes(image(w, 'web-data'), image(w, live), GiB)).toBe(true);
          expect(allZero(image(w, live), GiB)).toBe(true);
        }
        if (c.point === 'state.write') expect(readFileSync(w.state, 'utf8'), 'a failed first save changes nothing').toBe(stateBefore);

        expect((await sim(w, 'fault', 'clear')).stdout).toBe('faults cleared: 1 rule\n');
        const doc = await sim(w, 'doctor');
        expect(kinds(doc.stdout)).toEqual(c.doctor);
        expect(doc.code).toBe(c.doctor.length ? 1 : 0);

        const fix = await sim(w, 'doctor', '--fix');
        expect(fix.code).toBe(0);
        expect(kinds(fix.stdout.replace(/^fixed /gm, ''))).toEqual(c.doctor);
        const again = await sim(w, 'doctor');
        expect([again.code, again.stdout]).toEqual([0, 'No inconsistencies found.\n']);
        expect(endState(w)).toEqual(c.fixed);
        if (c.fixed.bdms['/dev/vdb']?.startsWith('big-data')) {
          // the BDM records the grown size, as Mitaka's successful swap_volume does (resize_to)
          expect(state(w).nova.bdms.find((b) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb')?.volumeSize).toBe(2);
        }
        expect(digest(image(w, 'web-data'))).toBe(guestBytes);

        await newSwapSucceeds(w);
      } finally {
        w.cleanup();
      }
    },
    120_000,
  );

  it('libvirt.undefine --once: delete_configuration retries with undefine() and the swap goes through', async () => {
    const w = await freshWorld();
    try {
      expect((await sim(w, 'fault', 'add', 'libvirt.undefine', '--once')).code).toBe(0);
      const r = await nova(w, ...OPS.swap);
      expect(r.stderr).toMatch(/Swapped volume web-data -> new-web-data on web-1/);
      expect(r.code).toBe(0);
      expect(endState(w).domain).toBe('persistent, vdb on new-web-data, config vdb on web-data');
    } finally {
      w.cleanup();
    }
  }, 60_000);

  it('state.write: ENOSPC/EIO after some bytes fail the command in one line, the state and its directory unchanged; a short write is resumed', async () => {
    const w = await freshWorld();
    try {
      for (const [errno, text] of [
        ['ENOSPC', 'No space left on device'],
        ['EIO', 'Input/output error'],
      ]) {
        expect((await sim(w, 'fault', 'add', 'state.write', '--error', errno, '--after-bytes', '2000')).stdout).toMatch(
          new RegExp(`^fault set: state\\.write: write\\(2\\) fails with ${errno} after 2000 bytes, fires every time it is reached`),
        );
        const before = readFileSync(w.state, 'utf8');
        const files = readdirSync(w.dir).sort();
        const r = await nova(w, 'volume-create', '1', '--display-name', 'extra');
        expect(r.code).toBe(1);
        expect(r.stderr.split('\n').filter((l) => l.startsWith('ERROR'))).toEqual([
          `ERROR (StateWriteError): cannot save the state to ${w.state}: ${text} (${errno}); the state file is unchanged`,
        ]);
        expect(readFileSync(w.state, 'utf8')).toBe(before);
        expect(readdirSync(w.dir).sort(), 'no temporary file is left behind').toEqual(files);
      }
      const short = await sim(w, 'fault', 'add', 'state.write', '--error', 'short');
      expect([short.code, short.stderr]).toEqual([0, '']);
      const created = await nova(w, 'volume-create', '1', '--display-name', 'extra');
      expect([created.code, created.stderr]).toEqual([0, expect.not.stringMatching(/ERROR/)]);
      expect((await sim(w, 'fault', 'clear', 'state.write')).stdout).toBe('fault cleared: state.write\n');
      expect(state(w).cinder.volumes.filter((v) => v.displayName === 'extra')).toHaveLength(1);
    } finally {
      w.cleanup();
    }
  }, 60_000);

  it('refuses an unknown point or a nonsense count (usage error, exit 2) and lists the rules as a table', async () => {
    const w = await freshWorld();
    try {
      const before = readFileSync(w.state, 'utf8');
      const bad = await sim(w, 'fault', 'add', 'libvirt.blockJobAbort');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: argument <point>: invalid point: 'libvirt\.blockJobAbort'; the points are: cinder\.reserve_volume, .*, libvirt\.blockJobAbort\.pivot, .*state\.write$/m);
      for (const args of [['--times', '0'], ['--times', '-3'], ['--times', 'many'], ['--once', '--times', '2'], ['--after-bytes', '10']]) {
        const r = await sim(w, 'fault', 'add', 'rpc.cast', ...args);
        expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(/^error: argument --(times|after-bytes): /m)]);
      }
      expect(readFileSync(w.state, 'utf8'), 'a refused command changes nothing').toBe(before);
      await sim(w, 'fault', 'add', 'libvirt.blockJobAbort.pivot', '--times', '2', '--error', 'QEMU went away');
      await sim(w, 'fault', 'add', 'rpc.cast');
      const list = await sim(w, 'fault', 'list');
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('| libvirt.blockJobAbort.pivot | libvirtd raises libvirtError "operation failed: QEMU went away"');
      expect(list.stdout).toContain('fires the first 2 times it is reached in each command');
      expect(list.stdout).toMatch(/\| rpc\.cast +\| the cast is accepted and never consumed \(nova-compute down\) +\| fires every time it is reached/);
      const help = await sim(w, 'fault', '--help');
      expect(help.stdout.replace(/\s+/g, ' ')).toContain('each nova or nova-sim command counts afresh');
    } finally {
      w.cleanup();
    }
  }, 60_000);
});
