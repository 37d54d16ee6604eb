// A guest that writes while nova volume-update runs, through the whole stack in process:
// its seeded workload writes through QEMU's guest path, the mirror copies what it
// dirties, and the replay (nova-sim guest-load --verify) finds every write in the volume
// the disk uses after the swap — whichever way the swap ended.
//
// Mitaka's race, made deterministic: the mirror's last step before READY is a flush of the
// target, during which query-block-jobs reads offset == len with ready false. A blkdebug
// breakpoint on that flush (QEMU's own iotests technique) holds the real window open for
// longer than the driver's 0.5 s poll, so the poll surely lands in it. What decides the
// outcome is then the guest: one that is still writing keeps dirtying the disk, so
// cur < end and the driver waits for READY (success); one that finished its writes before
// the copy converged leaves cur == end, and Mitaka's wait_for_job pivots too early —
// libvirt refuses ("not ready for pivot yet") and the compute manager rolls back.
import { mkdtempSync, openSync, readSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSimulatedCloud } from '../../src/novasim/cloud.js';
import type { CloudEvent, EmbeddedCloud } from '../../src/cloud/types.js';
import { configureGuestLoad, verifyGuestLoad } from '../../src/novasim/guest-load.js';
import { initWorld } from '../../src/novasim/world.js';
import type { QemuProcess } from '../../src/qemu/process.js';
import { volumeImagePath } from '../../src/state/paths.js';
import { StateStore } from '../../src/state/store.js';
import type { State } from '../../src/state/types.js';
import { SERVERS, VOLS } from '../support/world.js';

const VDB = 'drive-virtio-disk1';
const MiB = 1 << 20;

interface Setup {
  dir: string;
  statePath: string;
  cloud: EmbeddedCloud;
  events: CloudEvent[];
  procs: QemuProcess[];
  /** guest writes issued per phase of the block job */
  phases: Record<'before' | 'during' | 'after', number>;
  state(): State;
  swap(): Promise<number>;
}

let cur: Setup | null = null;
/** breakpoints set by a test: released in afterEach so a failed test cannot hang close() */
const held: Array<{ resume(): void }> = [];

async function setup(load: { seed: number; count?: number }, onQemu?: (proc: QemuProcess) => void): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'novasim-guest-'));
  const statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
  await configureGuestLoad(statePath, 'web-1', 'vdb', { seed: load.seed, rate: 20 * MiB, count: load.count ?? null });
  const procs: QemuProcess[] = [];
  const phases = { before: 0, during: 0, after: 0 };
  let phase: keyof typeof phases = 'before';
  const cloud = await openSimulatedCloud({
    statePath,
    onQemuStart: (_uuid, proc) => {
      procs.push(proc);
      // count the guest's writes by the job's phase (the workload calls guestWrite per write)
      const write = proc.guestWrite.bind(proc);
      proc.guestWrite = (device, offset, data) => {
        phases[phase]++;
        return write(device, offset, data);
      };
      proc.onEvent((ev) => {
        if (ev.event === 'JOB_STATUS_CHANGE' && ev.data.status === 'created') phase = 'during';
        if (ev.event === 'BLOCK_JOB_COMPLETED' || ev.event === 'BLOCK_JOB_CANCELLED') phase = 'after';
      });
      onQemu?.(proc);
    },
  });
  const events: CloudEvent[] = [];
  cloud.on((e) => events.push(e));
  const store = new StateStore(statePath);
  cur = {
    dir,
    statePath,
    cloud,
    events,
    procs,
    phases,
    state: () => store.read(),
    swap: async () => {
      const res = await cloud.transport.request({
        method: 'PUT',
        url: `http://127.0.0.1:8774/v2.1/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.webData}`,
        headers: { 'X-Auth-Token': 'admin:demo', 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ volumeAttachment: { volumeId: VOLS.newWebData } }),
      });
      return res.status;
    },
  };
  return cur;
}

afterEach(async () => {
  for (const b of held.splice(0)) b.resume();
  if (!cur) return;
  await cur.cloud.close();
  rmSync(cur.dir, { recursive: true, force: true });
  cur = null;
});

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function writesOf(s: State): number {
  return s.guestLoads![0].segments.at(-1)!.writes;
}

function vdbSource(s: State): string {
  return s.libvirt.domains.find((d) => d.uuid === SERVERS.web1)!.def.disks.find((d) => d.targetDev === 'vdb')!.source;
}

describe('a guest writing during nova volume-update', () => {
  it('writes before, during and after the copy all end up in the new volume (seed 7)', async () => {
    const w = await setup({ seed: 7 });
    expect(await w.swap()).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({ type: 'compute-done', method: 'swap_volume' });
    await until(() => w.phases.after >= 20, 'guest writes after the pivot');
    await w.cloud.close();

    const s = w.state();
    expect(vdbSource(s)).toBe(volumeImagePath(w.statePath, VOLS.newWebData));
    expect(w.phases.before).toBeGreaterThan(0);
    expect(w.phases.during).toBeGreaterThan(0);
    // the count the state records is exact once the host process has stopped the guest
    expect(writesOf(s)).toBe(w.phases.before + w.phases.during + w.phases.after);
    expect(s.guestLoads![0].runnerPid).toBeNull();
    const v = verifyGuestLoad(w.statePath, 'web-1', 'vdb');
    expect(v.path).toBe(volumeImagePath(w.statePath, VOLS.newWebData));
    expect(v.result).toMatchObject({ ok: true, writes: writesOf(s) });
  });

  it('the replay is honest: one byte changed in a written block is found and named', async () => {
    const w = await setup({ seed: 7, count: 50 });
    await w.swap();
    await w.cloud.drain();
    await w.cloud.close();
    const v = verifyGuestLoad(w.statePath, 'web-1', 'vdb');
    expect(v.result.ok).toBe(true);
    // flip a byte in the middle of the last write's data
    const { planWrite } = await import('../../src/qemu/guest-workload.js');
    const seg = w.state().guestLoads![0].segments[0];
    const last = planWrite(seg, 0, seg.writes - 1);
    const at = last.offset + 1000;
    const fd = openSync(v.path, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    expect(verifyGuestLoad(w.statePath, 'web-1', 'vdb').result).toMatchObject({ ok: false, offset: at, expected: { index: seg.writes - 1 } });
  });
});

describe("Mitaka's premature pivot under a guest load (the target flush before READY held past a poll)", () => {
  it('a guest that finished writing before the copy converged: cur == end before READY, the pivot is refused, rollback; no write lost (seed 7)', async () => {
    let firstWrite!: ReturnType<QemuProcess['setBreakpoint']>;
    let flush!: ReturnType<QemuProcess['setBreakpoint']>;
    const w = await setup({ seed: 7, count: 60 }, (proc) => {
      firstWrite = proc.setBreakpoint(VDB, 'write_aio');
      flush = proc.setBreakpoint(VDB, 'flush_to_disk');
      held.push(firstWrite, flush);
    });
    expect(await w.swap()).toBe(202);
    await until(() => w.procs.length > 0, "web-1's QEMU to start");
    // the job's first write to the target waits while the guest writes its 60 writes
    await firstWrite.hit;
    await until(() => writesOf(w.state()) === 60, 'the guest to finish its writes');
    firstWrite.resume();
    // everything is copied (the guest's writes too): the job is flushing the target
    await flush.hit;
    const proc = w.procs[0];
    const snap = proc.jobSnapshot(VDB)!;
    expect(snap.offset).toBe(snap.len);
    expect(snap.ready).toBe(false);
    // the driver's next poll reads cur == end and pivots: libvirt refuses, nova rolls back
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({
      type: 'compute-error',
      errorClass: 'libvirtError',
      message: "block copy still active: disk 'vdb' not ready for pivot yet",
    });
    flush.resume();
    const s = w.state();
    const vol = (id: string) => s.cinder.volumes.find((v) => v.id === id)!;
    expect([vol(VOLS.webData).status, vol(VOLS.newWebData).status]).toEqual(['in-use', 'available']);
    expect(s.nova.bdms.find((b) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb')!.volumeId).toBe(VOLS.webData);
    expect(vdbSource(s)).toBe(volumeImagePath(w.statePath, VOLS.webData));
    const phases = w.events.filter((e) => e.type === 'job').map((e) => (e as { phase: string }).phase);
    expect(phases).not.toContain('pivot');

    await w.cloud.close();
    // the job died with the host process; the disk stayed on the old volume, which holds every write
    expect(w.state().libvirt.domains.find((d) => d.uuid === SERVERS.web1)!.mirrors).toEqual({});
    expect(verifyGuestLoad(w.statePath, 'web-1', 'vdb').result).toMatchObject({ ok: true, writes: 60 });
  });

  it('a guest still writing during the same held flush keeps cur < end: the driver waits, the pivot succeeds (seed 7)', async () => {
    let flush!: ReturnType<QemuProcess['setBreakpoint']>;
    const w = await setup({ seed: 7 }, (proc) => {
      flush = proc.setBreakpoint(VDB, 'flush_to_disk');
      held.push(flush);
    });
    expect(await w.swap()).toBe(202);
    await until(() => w.procs.length > 0, "web-1's QEMU to start");
    await flush.hit;
    // hold the window open across at least one 0.5 s poll of the driver
    await new Promise((r) => setTimeout(r, 700));
    expect(w.events.some((e) => e.type === 'compute-error' || e.type === 'compute-done')).toBe(false);
    const snap = w.procs[0].jobSnapshot(VDB)!;
    expect(snap.len).toBeGreaterThan(snap.offset);
    flush.resume();
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({ type: 'compute-done', method: 'swap_volume' });
    await w.cloud.close();
    const s = w.state();
    expect(vdbSource(s)).toBe(volumeImagePath(w.statePath, VOLS.newWebData));
    expect(verifyGuestLoad(w.statePath, 'web-1', 'vdb').result).toMatchObject({ ok: true, writes: writesOf(s) });
  });
});
