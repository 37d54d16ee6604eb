// nova-sim doctor: each inconsistency a crash or a failed save can leave, found in one line,
// and repaired the way an operator would — following the disk the domain really uses, so the
// guest's data is kept whichever image holds it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initWorld } from '../../../src/novasim/world.js';
import { interruptedNotices, reconcile } from '../../../src/novasim/doctor.js';
import { journalBegin, journalEnd, journalStep, interruptedOperations } from '../../../src/state/journal.js';
import { volumeImagePath } from '../../../src/state/paths.js';
import type { Operation, State } from '../../../src/state/types.js';
import { SERVERS, VOLS } from '../../support/world.js';

let dir = '';
let statePath = '';
let fresh: State;
/** a pid that no process has now (a child that has exited and been reaped) */
const deadPid = spawnSync('true').pid as number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-doctor-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
  fresh = JSON.parse(readFileSync(statePath, 'utf8')) as State;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const kinds = (s: State) => reconcile(structuredClone(s), statePath).map((f) => f.kind).sort();
const web1 = (s: State) => s.libvirt.domains.find((d) => d.uuid === SERVERS.web1)!;
const vol = (s: State, id: string) => s.cinder.volumes.find((v) => v.id === id)!;
const bdm = (s: State) => s.nova.bdms.find((b) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb')!;

function deadOp(s: State, op: Partial<Operation> & Pick<Operation, 'kind' | 'step'>): void {
  (s.operations ??= []).push({
    id: 'req-1',
    instance: SERVERS.web1,
    volumes: [VOLS.webData, VOLS.newWebData],
    device: '/dev/vdb',
    pid: deadPid,
    startedAt: '2026-12-02T00:00:00',
    updatedAt: '2026-12-02T00:00:00',
    ...op,
  });
}

/** what a swap killed mid-copy leaves: volumes detaching/attaching, the BDM holding the new
 * connection, the domain transient with a block-copy record of the dead process */
function killedMidCopy(s: State): void {
  vol(s, VOLS.webData).status = 'detaching';
  vol(s, VOLS.newWebData).status = 'attaching';
  const c = JSON.parse(bdm(s).connectionInfo!);
  c.data.device_path = volumeImagePath(statePath, VOLS.newWebData);
  bdm(s).connectionInfo = JSON.stringify(c);
  web1(s).persistentDef = null;
  web1(s).mirrors.vdb = { dev: 'vdb', type: 'file', source: volumeImagePath(statePath, VOLS.newWebData), format: 'raw', job: 'copy', ready: false, cur: 0, end: 1, bandwidth: 0, ownerPid: deadPid, updatedAt: '' };
  deadOp(s, { kind: 'swap', step: 'libvirt.mirroring' });
}

describe('doctor finds', () => {
  it('on the fresh default world, only the transient domain the fixture gives cache-1', () => {
    const found = reconcile(structuredClone(fresh), statePath);
    expect(found.map((f) => f.kind)).toEqual(['domain-transient']);
    expect(found[0].line).toContain('cache-1');
  });

  it('a swap killed mid-copy: every inconsistency, one line each with its cause', () => {
    const s = structuredClone(fresh);
    killedMidCopy(s);
    const found = reconcile(structuredClone(s), statePath);
    expect(found.map((f) => f.kind).sort()).toEqual(
      ['cinder-attachment', 'domain-transient', 'domain-transient', 'interrupted-operation', 'leaked-connection', 'orphaned-mirror', 'volume-stuck'].sort(),
    );
    for (const f of found) expect(f.line).not.toContain('\n');
    expect(found.find((f) => f.kind === 'interrupted-operation')!.line).toContain('ended after step libvirt.mirroring');
  });
});

describe('doctor --fix repairs, keeping the guest on the image that holds its data', () => {
  it('a swap killed before the pivot is undone: old volume in-use, new available, domain persistent again', () => {
    const s = structuredClone(fresh);
    killedMidCopy(s);
    reconcile(s, statePath);
    expect(vol(s, VOLS.webData)).toMatchObject({ status: 'in-use', attachStatus: 'attached' });
    expect(vol(s, VOLS.newWebData)).toMatchObject({ status: 'available', attachStatus: 'detached', attachments: [] });
    expect(bdm(s).volumeId).toBe(VOLS.webData);
    expect(JSON.parse(bdm(s).connectionInfo!).data.device_path).toBe(volumeImagePath(statePath, VOLS.webData));
    expect(web1(s).persistentDef?.disks.find((d) => d.targetDev === 'vdb')?.source).toBe(volumeImagePath(statePath, VOLS.webData));
    expect(web1(s).mirrors).toEqual({});
    expect(s.operations).toBeUndefined();
    expect(kinds(s)).toEqual([]);
  });

  it('a swap killed after the pivot is finished: the BDM and Cinder follow the disk to the new volume', () => {
    const s = structuredClone(fresh);
    killedMidCopy(s);
    delete web1(s).mirrors.vdb;
    const disk = web1(s).def.disks.find((d) => d.targetDev === 'vdb')!;
    disk.source = volumeImagePath(statePath, VOLS.newWebData);
    s.operations![0].step = 'libvirt.pivoted';
    const found = reconcile(s, statePath).map((f) => f.kind);
    expect(found).toContain('bdm-wrong-volume');
    expect(bdm(s).volumeId).toBe(VOLS.newWebData);
    // the guest keeps seeing the serial it had
    expect(JSON.parse(bdm(s).connectionInfo!).serial).toBe(disk.serial ?? VOLS.webData);
    expect(vol(s, VOLS.newWebData)).toMatchObject({ status: 'in-use', attachStatus: 'attached' });
    expect(vol(s, VOLS.newWebData).attachments[0]).toMatchObject({ instanceUuid: SERVERS.web1, mountpoint: '/dev/vdb' });
    expect(vol(s, VOLS.webData)).toMatchObject({ status: 'available', attachments: [] });
    expect(web1(s).persistentDef?.disks.find((d) => d.targetDev === 'vdb')?.source).toBe(volumeImagePath(statePath, VOLS.newWebData));
    expect(kinds(s)).toEqual([]);
  });

  it('after such a swap the transient domain was shut off and vanished: defined again from the BDMs, on the volume the journal says was pivoted to', () => {
    const s = structuredClone(fresh);
    killedMidCopy(s);
    s.libvirt.domains = s.libvirt.domains.filter((d) => d.uuid !== SERVERS.web1);
    s.operations![0].step = 'libvirt.pivoted';
    const found = reconcile(s, statePath).map((f) => f.kind);
    expect(found).toContain('domain-missing');
    expect(bdm(s).volumeId).toBe(VOLS.newWebData);
    const d = web1(s);
    expect(d.state).toBe('shutoff');
    expect(d.persistentDef?.disks.map((x) => [x.targetDev, x.source])).toEqual([
      ['vda', expect.stringContaining(SERVERS.web1)],
      ['vdb', volumeImagePath(statePath, VOLS.newWebData)],
    ]);
    expect(s.nova.instances.find((i) => i.uuid === SERVERS.web1)).toMatchObject({ vmState: 'stopped', powerState: 4 });
    expect(kinds(s)).toEqual([]);
  });

  it('an attach interrupted before libvirt: the reserved BDM goes, the volume is available again', () => {
    const s = structuredClone(fresh);
    s.nova.bdms.push({ ...structuredClone(bdm(s)), id: 999, deviceName: '/dev/vdc', volumeId: VOLS.spare, connectionInfo: null });
    vol(s, VOLS.spare).status = 'attaching';
    deadOp(s, { kind: 'attach', step: 'nova.bdm-reserved', volumes: [VOLS.spare], device: '/dev/vdc' });
    expect(kinds(s)).toEqual(expect.arrayContaining(['bdm-without-disk', 'interrupted-operation']));
    reconcile(s, statePath);
    expect(s.nova.bdms.some((b) => b.id === 999)).toBe(false);
    expect(vol(s, VOLS.spare)).toMatchObject({ status: 'available', attachments: [] });
    expect(kinds(s)).toEqual([]);
  });

  it('a detach interrupted after libvirt removed the disk is finished', () => {
    const s = structuredClone(fresh);
    const d = web1(s);
    d.def.disks = d.def.disks.filter((x) => x.targetDev !== 'vdb');
    d.persistentDef!.disks = d.persistentDef!.disks.filter((x) => x.targetDev !== 'vdb');
    vol(s, VOLS.webData).status = 'detaching';
    deadOp(s, { kind: 'detach', step: 'libvirt.detached', volumes: [VOLS.webData] });
    reconcile(s, statePath);
    expect(s.nova.bdms.some((b) => b.instanceUuid === SERVERS.web1 && b.volumeId === VOLS.webData)).toBe(false);
    expect(vol(s, VOLS.webData)).toMatchObject({ status: 'available', attachStatus: 'detached', attachments: [] });
    expect(kinds(s)).toEqual([]);
  });

  it('a delete interrupted half-way is finished; its volumes are detached in Cinder', () => {
    const s = structuredClone(fresh);
    s.nova.instances.find((i) => i.uuid === SERVERS.web1)!.taskState = 'deleting';
    deadOp(s, { kind: 'delete', step: 'api.accepted', volumes: [], device: null });
    const removals: string[] = [];
    reconcile(s, statePath, removals);
    expect(s.nova.instances.find((i) => i.uuid === SERVERS.web1)).toMatchObject({ deleted: true, vmState: 'deleted', taskState: null });
    expect(web1(s)).toBeUndefined();
    expect(vol(s, VOLS.webData)).toMatchObject({ status: 'available', attachments: [] });
    expect(removals).toEqual([expect.stringContaining(SERVERS.web1)]);
    expect(kinds(s)).toEqual([]);
  });

  it('an instance whose operation is still running in a live process is left alone', () => {
    const s = structuredClone(fresh);
    killedMidCopy(s);
    s.operations![0].pid = process.pid;
    web1(s).mirrors.vdb.ownerPid = process.pid;
    const before = JSON.stringify({ web1: web1(s), vols: [vol(s, VOLS.webData), vol(s, VOLS.newWebData)], bdm: bdm(s) });
    reconcile(s, statePath);
    expect(JSON.stringify({ web1: web1(s), vols: [vol(s, VOLS.webData), vol(s, VOLS.newWebData)], bdm: bdm(s) })).toBe(before);
  });
});

describe('the journal', () => {
  it('an entry lives from the intent to the last save of its own process, and one of a dead process is interrupted', () => {
    const s = structuredClone(fresh);
    const key = { kind: 'swap', instance: SERVERS.web1, device: '/dev/vdb' } as const;
    journalBegin(s, { ...key, id: 'req-a', volumes: [VOLS.webData, VOLS.newWebData], step: 'api.accepted' });
    journalStep(s, key, 'libvirt.mirroring');
    expect(s.operations).toMatchObject([{ step: 'libvirt.mirroring', pid: process.pid }]);
    expect(interruptedOperations(s)).toEqual([]);
    journalEnd(s, key);
    expect(s.operations).toBeUndefined();
    deadOp(s, { kind: 'swap', step: 'cinder.reserved' });
    expect(interruptedOperations(s)).toHaveLength(1);
    const [line] = interruptedNotices(s);
    expect(line).toMatch(/^WARNING: the swap of volume web-data .* for new-web-data .* on server web-1 .* was interrupted \(process \d+ ended after step cinder\.reserved, req-1\); on a real Mitaka cloud .*nova-sim doctor --fix/);
    expect(line).not.toContain('\n');
  });
});
