// Two things the crash and concurrency campaigns (test/torture) found about what the next
// command and the doctor conclude from a process that is gone:
// - an operation is named interrupted only when its process was seen gone before a read that
//   still holds its entry: a process ends its operation in its last save and then exits, so
//   a read made just before that save, followed by the liveness check just after the exit,
//   named a finished attach "interrupted" (8 `nova` processes at once on 2 cores);
// - a swap re-defines the persistent XML it saved before the copy (Mitaka's _swap_volume):
//   a disk attached (or detached) by another process meanwhile is missing from (or left in)
//   the persistent definition, so a restart from it loses (or brings back) the disk;
// - a guest whose host process was killed (kill -9 mid-swap) wrote more than the state
//   records (it records every 250 ms): `doctor --fix` counts the writes the disk's image
//   holds, so that `guest-load --verify` checks every write the guest made.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmedInterruptedNotices, interruptedNotices, reconcile } from '../../../src/novasim/doctor.js';
import { landedWrites } from '../../../src/novasim/guest-recover.js';
import { initWorld } from '../../../src/novasim/world.js';
import { planWrite, verifyImage, writeData, type WorkloadSpec } from '../../../src/qemu/guest-workload.js';
import { volumeImagePath } from '../../../src/state/paths.js';
import type { GuestLoad, State } from '../../../src/state/types.js';
import { SERVERS, VOLS } from '../../support/world.js';

let dir = '';
let statePath = '';
let fresh: State;
/** a pid that no process has now (a child that has exited and been reaped) */
const deadPid = spawnSync('true').pid as number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-doctor-races-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
  fresh = JSON.parse(readFileSync(statePath, 'utf8')) as State;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** the journal entry of an attach whose process has exited */
function withAttachOf(pid: number, s: State): State {
  (s.operations ??= []).push({
    id: 'req-attach',
    kind: 'attach',
    instance: SERVERS.db1,
    volumes: [VOLS.bigData],
    device: '/dev/vdc',
    pid,
    startedAt: '2026-12-02T00:00:00',
    step: 'nova.bdm-reserved',
    updatedAt: '2026-12-02T00:00:00',
  });
  return s;
}

describe('the next command names an operation interrupted', () => {
  it('not when the entry it read was removed by the last save of its process, which then exited', () => {
    const read = withAttachOf(deadPid, structuredClone(fresh));
    // the attach's process saved its last step (its entry gone) and exited after that read
    const afterItsLastSave = structuredClone(fresh);
    expect(interruptedNotices(read)).toHaveLength(1); // a read, then the liveness check: wrong
    expect(confirmedInterruptedNotices(read, () => afterItsLastSave)).toEqual([]);
  });

  it('when a read made after its process was seen gone still holds the entry', () => {
    const read = withAttachOf(deadPid, structuredClone(fresh));
    const [line] = confirmedInterruptedNotices(read, () => structuredClone(read));
    expect(line).toMatch(/^WARNING: the attach of volume big-data .* to server db-1 .* at \/dev\/vdc was interrupted \(process \d+ ended after step nova\.bdm-reserved, req-attach\); /);
  });

  it('not for a live process, and without a second read when nothing is gone', () => {
    const read = withAttachOf(process.pid, structuredClone(fresh));
    let reads = 0;
    expect(
      confirmedInterruptedNotices(read, () => {
        reads++;
        return read;
      }),
    ).toEqual([]);
    expect(reads).toBe(0);
  });
});

describe('the persistent definition of a domain a swap re-defined while another process attached or detached a disk', () => {
  const web1 = (s: State) => s.libvirt.domains.find((d) => d.uuid === SERVERS.web1)!;

  it('a disk attached meanwhile is missing from it: found, and defined from the live one', () => {
    const s = structuredClone(fresh);
    const d = web1(s);
    d.def.disks.push({ ...d.def.disks[1], source: volumeImagePath(statePath, VOLS.spare), targetDev: 'vdc', serial: VOLS.spare, alias: 'virtio-disk2' });
    const found = reconcile(s, statePath).filter((f) => f.kind === 'persistent-xml-stale');
    expect(found.map((f) => f.line)).toEqual([
      `domain instance-00000001: its persistent definition has no disk vdc, which the live domain has (${volumeImagePath(statePath, VOLS.spare)}): a restart from it would lose the disk (Mitaka's _swap_volume re-defines the XML it saved before the copy, over an attach made meanwhile)`,
    ]);
    expect(d.persistentDef!.disks.map((x) => x.targetDev)).toEqual(['vda', 'vdb', 'vdc']);
    expect(d.persistentDef!.disks[2].alias).toBeNull();
  });

  it('a disk detached meanwhile is left in it: found, and defined from the live one', () => {
    const s = structuredClone(fresh);
    const d = web1(s);
    d.persistentDef!.disks.push({ ...d.persistentDef!.disks[1], source: volumeImagePath(statePath, VOLS.spare), targetDev: 'vdc', serial: VOLS.spare });
    const found = reconcile(s, statePath).filter((f) => f.kind === 'persistent-xml-stale');
    expect(found.map((f) => f.line)).toEqual([
      `domain instance-00000001: its persistent definition has a disk vdc (${volumeImagePath(statePath, VOLS.spare)}) that the live domain no longer has: a restart from it would bring the disk back (Mitaka's _swap_volume re-defines the XML it saved before the copy, over a detach made meanwhile)`,
    ]);
    expect(d.persistentDef!.disks.map((x) => x.targetDev)).toEqual(['vda', 'vdb']);
  });
});

describe('doctor --fix counts the writes of a guest whose host process died', () => {
  const spec: WorkloadSpec = { seed: 42, rate: 20 << 20, blockSizes: [4096, 16384, 65536], region: { offset: 0, length: 64 << 20 }, limit: null };

  function land(image: string, from: number, to: number, partFirstBytes?: number): void {
    const fd = openSync(image, 'r+');
    try {
      for (let i = from; i < to; i++) {
        const w = planWrite(spec, 0, i);
        const data = writeData(spec, 0, i, w);
        writeSync(fd, data, 0, i === to - 1 && partFirstBytes ? partFirstBytes : data.length, w.offset);
      }
    } finally {
      closeSync(fd);
    }
  }

  function loadOf(s: State, writes: number, runnerPid: number | null): GuestLoad {
    const l: GuestLoad = { server: SERVERS.web1, disk: 'vdb', active: true, runnerPid, segments: [{ ...spec, writes }], updatedAt: '2026-12-02T00:00:00' };
    s.guestLoads = [l];
    return l;
  }

  it('the state records 300 writes, the image holds 420: the doctor records 420 and --verify passes', () => {
    const image = volumeImagePath(statePath, VOLS.webData);
    land(image, 0, 420);
    const s = structuredClone(fresh);
    loadOf(s, 300, deadPid);
    const seg = { ...spec, writes: 300 };
    const before = verifyImage(image, [seg]);
    expect(before.ok).toBe(false); // write 300+ overwrote blocks of the first 300

    const found = reconcile(s, statePath);
    const f = found.find((x) => x.kind === 'guest-load-host-gone');
    expect(f?.line).toMatch(new RegExp(`^the guest load of server web-1 \\(${SERVERS.web1}\\) on vdb was run by process ${deadPid}, which is gone: the state records 300 writes of segment 0; .*volume-${VOLS.webData} holds 120 more$`));
    expect(s.guestLoads![0]).toMatchObject({ runnerPid: null, segments: [{ writes: 420 }] });
    expect(verifyImage(image, [{ ...spec, writes: 420 }]).ok).toBe(true);
    // nothing else: the load is settled
    expect(reconcile(structuredClone(s), statePath).filter((x) => x.kind === 'guest-load-host-gone')).toEqual([]);
  });

  it('a write the kill cut short is named, and not counted', () => {
    const image = volumeImagePath(statePath, VOLS.webData);
    // a 16 KiB or 64 KiB write whose first page only landed
    let n = 50;
    while (planWrite(spec, 0, n - 1).size === 4096) n++;
    land(image, 0, n, 4096);
    expect(landedWrites(image, spec, 0, 10)).toEqual({ landed: n - 1, torn: true });
    const s = structuredClone(fresh);
    loadOf(s, 10, deadPid);
    const f = reconcile(s, statePath).find((x) => x.kind === 'guest-load-host-gone');
    expect(f?.line).toContain(`, and write ${n - 1} in part (it was in flight; the guest never saw it complete)`);
    expect(s.guestLoads![0].segments[0].writes).toBe(n - 1);
  });

  it('a load run by a live process, or released, is left alone', () => {
    const image = volumeImagePath(statePath, VOLS.webData);
    land(image, 0, 100);
    for (const pid of [process.pid, null]) {
      const s = structuredClone(fresh);
      loadOf(s, 60, pid);
      expect(reconcile(s, statePath).filter((x) => x.kind === 'guest-load-host-gone')).toEqual([]);
      expect(s.guestLoads![0]).toMatchObject({ runnerPid: pid, segments: [{ writes: 60 }] });
    }
  });
});
