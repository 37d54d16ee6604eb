// nova-sim blkdebug: rules set in one process reach the `nova volume-update` process that
// hosts the QEMU, and make the two failures of a swap rehearsable from the CLI — Mitaka's
// premature pivot (the target flush before READY held past the driver's 0.5 s poll) and an
// I/O error of the block job — each failing cleanly and rolling back. Built binaries
// against a temporary state (npm run build first).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { digest, sameBytes, SERVERS, VOLS } from '../support/world.js';
import { build, tableRows, World, worldPerTest } from './helpers.js';

beforeAll(() => build());

let w!: World;
const sim = worldPerTest((x) => (w = x));
const state = () => JSON.parse(readFileSync(w.state, 'utf8'));
const path = (volume: string) => sim('volume-path', volume).stdout.trim();
const vdbSource = () => state().libvirt.domains.find((d: { uuid: string }) => d.uuid === SERVERS.web1).def.disks.find((d: { targetDev: string }) => d.targetDev === 'vdb').source as string;
const statuses = () => {
  const rows = tableRows(w.admin(['volume-list']).stdout);
  const status = (name: string) => rows.find((r) => r[2] === name)?.[1];
  return [status('web-data'), status('new-web-data')];
};
const swap = () => w.admin(['volume-update', 'web-1', 'web-data', 'new-web-data']);
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('ERROR'));

/** the swap failed and was rolled back: volumes, the BDM, the live and persistent disk, no job left */
function expectRolledBack(): void {
  expect(statuses()).toEqual(['in-use', 'available']);
  const s = state();
  expect(s.nova.bdms.find((b: { instanceUuid: string; deviceName: string }) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb').volumeId).toBe(VOLS.webData);
  expect(vdbSource()).toBe(path('web-data'));
  expect(sim('virsh', 'domblklist', 'web-1').stdout).toContain(path('web-data'));
  expect(sim('virsh', 'dumpxml', '--inactive', 'web-1').stdout).toContain(path('web-data'));
  const dom = s.libvirt.domains.find((d: { uuid: string }) => d.uuid === SERVERS.web1);
  expect(dom.mirrors).toEqual({});
  expect(dom.persistentDef).not.toBeNull();
  expect(s.nova.instances.find((i: { uuid: string }) => i.uuid === SERVERS.web1).taskState).toBeNull();
}

describe('nova-sim blkdebug: the rules', () => {
  it('set, list (by name, uuid, disk), replace, clear', () => {
    expect(sim('blkdebug', 'web-1')).toEqual({ code: 0, stderr: '', stdout: 'No blkdebug rules for web-1\n' });
    const delay = "web-1 vdb: delay flush_to_disk by 700 ms (the job's flushes of the target), every time\n";
    expect(sim('blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=700')).toEqual({ code: 0, stderr: '', stdout: delay });
    const error = "web-1 vdb: inject-error write ENOSPC (the job's writes to the target fail: No space left on device), the first 2 times\n";
    expect(sim('blkdebug', SERVERS.web1, 'vdb', '--inject-error', 'write', '--errno', 'ENOSPC', '--count', '2')).toEqual({ code: 0, stderr: '', stdout: delay + error });
    expect(sim('blkdebug', 'web-1').stdout).toBe(delay + error);
    expect(sim('blkdebug', SERVERS.web1, 'vdb').stdout).toBe(delay + error);
    expect(sim('blkdebug', 'web-1', 'vda').stdout).toBe('No blkdebug rules for web-1 vda\n');
    expect(state().blkdebug).toEqual([
      { action: 'delay', event: 'flush_to_disk', ms: 700, count: null, server: SERVERS.web1, disk: 'vdb' },
      { action: 'error', op: 'write', errno: 'ENOSPC', count: 2, server: SERVERS.web1, disk: 'vdb' },
    ]);
    // a rule on the same event replaces the one there
    const shorter = "web-1 vdb: delay flush_to_disk by 600 ms (the job's flushes of the target), once\n";
    expect(sim('blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=600', '--count', '1').stdout).toBe(shorter + error);
    expect(sim('blkdebug', 'db-1', 'vdb', '--delay', 'write_aio=5').code).toBe(0);
    expect(sim('blkdebug', 'web-1', 'vdb', '--clear')).toEqual({ code: 0, stderr: '', stdout: 'Cleared 2 blkdebug rules of web-1 vdb\n' });
    expect(sim('blkdebug', 'web-1').stdout).toBe('No blkdebug rules for web-1\n');
    expect(sim('blkdebug', 'web-1', '--clear').stdout).toBe('No blkdebug rules for web-1\n');
    expect(sim('blkdebug', 'db-1').stdout).toBe("db-1 vdb: delay write_aio by 5 ms (the job's writes to the target), every time\n");
    expect(sim('blkdebug', 'db-1', '--clear').stdout).toBe('Cleared 1 blkdebug rule of db-1\n');
    expect('blkdebug' in state()).toBe(false);
  });

  it('bad input: one line, exit 1 (usage errors 2), the state file untouched', () => {
    expect(sim('blkdebug', 'web-1', 'vdb', '--inject-error', 'read').code).toBe(0);
    const before = readFileSync(w.state, 'utf8');
    const cases: Array<[string[], string]> = [
      [['nope'], "No server with a name or ID of 'nope' exists."],
      [['nope', 'vdb', '--delay', 'flush_to_disk=700'], "No server with a name or ID of 'nope' exists."],
      [['web-1', 'vdz', '--delay', 'flush_to_disk=700'], 'Server web-1 has no disk vdz (its disks: vda, vdb)'],
      [['web-1', 'vdz', '--clear'], 'Server web-1 has no disk vdz (its disks: vda, vdb)'],
      [['web-1', 'vdb', '--delay', 'read_aio=700'], "Invalid --delay 'read_aio=700': unknown event 'read_aio' (choose from write_aio, flush_to_disk)"],
      [['web-1', 'vdb', '--delay', 'flush_to_disk=soon'], "Invalid --delay 'flush_to_disk=soon': 'soon' is not a number of milliseconds from 0 to 60000"],
      [['web-1', 'vdb', '--delay', 'flush_to_disk'], "Invalid --delay 'flush_to_disk': expected EVENT=MS, e.g. flush_to_disk=700"],
      [['web-1', 'vdb', '--inject-error', 'write', '--count', '0'], "Invalid --count '0': expected a positive whole number"],
      [['web-1', 'vdb', '--inject-error', 'write', '--count', 'x'], "Invalid --count 'x': expected a positive whole number"],
      [['web-1', 'vdb', '--inject-error', 'flush'], "Invalid --inject-error 'flush' (choose from read, write)"],
      [['web-1', 'vdb', '--inject-error', 'write', '--errno', 'EPERM'], "Invalid --errno 'EPERM' (choose from EIO, ENOSPC)"],
      [['web-1', 'vdb', '--delay', 'flush_to_disk=700', '--inject-error', 'write'], '--delay and --inject-error make two rules: give one of them per command'],
      [['web-1', 'vdb', '--clear', '--delay', 'flush_to_disk=700'], '--clear cannot be combined with --delay'],
      [['web-1', 'vdb', '--errno', 'EIO'], '--errno needs --inject-error'],
      [['web-1', '--count', '2'], '--count needs --delay or --inject-error'],
      [['web-1', '--delay', 'flush_to_disk=700'], 'A rule needs the disk it acts on, e.g. nova-sim blkdebug web-1 vdb --delay flush_to_disk=700'],
      [
        ['web-1', 'vdb', '--inject-error', 'write', '--errno', 'ENOSPC'],
        'web-1 vdb already fails reads with EIO; the drive has one errno for its injected errors: use --errno EIO or --clear first',
      ],
    ];
    for (const [args, message] of cases) {
      expect(sim('blkdebug', ...args), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: `ERROR (CommandError): ${message}\n` });
    }
    expect(sim('blkdebug')).toMatchObject({ code: 2, stdout: '' });
    expect(sim('blkdebug').stderr).toBe("Usage: nova-sim blkdebug [options] <server> [disk]\nerror: missing required argument 'server'\nTry 'nova-sim blkdebug --help' for more information.\n");
    expect(sim('blkdebug', 'web-1', 'vdb', 'extra').code).toBe(2);
    expect(readFileSync(w.state, 'utf8')).toBe(before);
  });
});

describe('nova-sim blkdebug: rules on a disk detached after they were set', () => {
  it('`SERVER` lists them, so `SERVER DISK` lists and clears them too (a disk never ruled is still refused)', () => {
    const line = "web-1 vdb: delay flush_to_disk by 700 ms (the job's flushes of the target), every time\n";
    expect(sim('blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=700').code).toBe(0);
    expect(w.admin(['volume-detach', 'web-1', 'web-data']).code).toBe(0);
    expect(sim('blkdebug', 'web-1')).toEqual({ code: 0, stderr: '', stdout: line });
    expect(sim('blkdebug', 'web-1', 'vdb')).toEqual({ code: 0, stderr: '', stdout: line });
    // a new rule still needs the disk
    expect(sim('blkdebug', 'web-1', 'vdb', '--inject-error', 'write')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ERROR (CommandError): Server web-1 has no disk vdb (its disks: vda)\n',
    });
    expect(sim('blkdebug', 'web-1', 'vdc', '--clear')).toMatchObject({ code: 1, stderr: 'ERROR (CommandError): Server web-1 has no disk vdc (its disks: vda)\n' });
    expect(sim('blkdebug', 'web-1', 'vdb', '--clear')).toEqual({ code: 0, stderr: '', stdout: 'Cleared 1 blkdebug rule of web-1 vdb\n' });
    expect('blkdebug' in state()).toBe(false);
  });
});

describe('nova-sim blkdebug: a deleted server takes its rules (and guest loads) with it', () => {
  it('nova delete drops the server\'s rules and loads, not the others\'', () => {
    expect(sim('blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=700').code).toBe(0);
    expect(sim('blkdebug', 'db-1', 'vdb', '--inject-error', 'write').code).toBe(0);
    expect(sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '1MiB/s', '--seed', '3').code).toBe(0);
    expect(w.admin(['delete', 'web-1']).code).toBe(0);
    const s = state();
    expect(s.blkdebug).toEqual([expect.objectContaining({ server: SERVERS.db1, disk: 'vdb' })]);
    expect(s.guestLoads).toEqual([]);
  });
});

describe('nova-sim blkdebug: rehearsing failures of nova volume-update', () => {
  it("--delay flush_to_disk=700 on an idle guest: Mitaka's poll pivots before READY, libvirt refuses, rollback; cleared, the same swap succeeds", () => {
    const before = digest(path('web-data'));
    expect(sim('blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=700').code).toBe(0);
    const r = swap();
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr)).toEqual(["ERROR (libvirtError): block copy still active: disk 'vdb' not ready for pivot yet"]);
    expect(r.stderr).not.toContain('Swapped volume');
    expectRolledBack();
    expect(digest(path('web-data'))).toBe(before);
    // the rule fired in the swap's process, and qemu.log says so
    const qemuLog = sim('logs', 'qemu').stdout;
    expect(qemuLog).toMatch(/INFO qemu\.blkdebug .*instance-00000001: blkdebug: vdb \(drive-virtio-disk1\): flush_to_disk #1 held for 700 ms/);
    // the rules stay until cleared
    expect(sim('blkdebug', 'web-1').stdout).toContain('delay flush_to_disk by 700 ms');

    expect(sim('blkdebug', 'web-1', '--clear').stdout).toBe('Cleared 1 blkdebug rule of web-1\n');
    const ok = swap();
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('Swapped volume web-data -> new-web-data on web-1');
    expect(statuses()).toEqual(['available', 'in-use']);
    expect(vdbSource()).toBe(path('new-web-data'));
    expect(sameBytes(path('web-data'), path('new-web-data'))).toBe(true);
    expect(sim('logs', 'qemu').stdout.match(/held for/g)).toHaveLength(qemuLog.match(/held for/g)!.length);
  }, 60_000);

  it('--delay flush_to_disk=0: the rule fires, no poll lands in the window, the swap succeeds', () => {
    expect(sim('blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=0').code).toBe(0);
    const r = swap();
    expect(r.code, r.stderr).toBe(0);
    expect(vdbSource()).toBe(path('new-web-data'));
    expect(sim('logs', 'qemu').stdout).toContain('flush_to_disk #1 held for 0 ms');
  });

  it('--inject-error write --count 1: the job fails with EIO, the swap fails cleanly and rolls back, nothing lost', () => {
    const before = digest(path('web-data'));
    expect(sim('blkdebug', 'web-1', 'vdb', '--inject-error', 'write', '--count', '1').code).toBe(0);
    const r = swap();
    expect(r.code, r.stderr).toBe(1);
    // QEMU reports the error in BLOCK_JOB_COMPLETED; libvirt drops the failed job, Mitaka's
    // wait_for_job reads "no job" as cur == end and asks for the pivot, which libvirt refuses
    expect(errorLines(r.stderr)).toEqual(["ERROR (libvirtError): Requested operation is not valid: pivot of disk 'vdb' requires an active copy job"]);
    expect(r.stderr).not.toContain('Swapped volume');
    // the progress tells the job's own end: failed on QEMU's error, not cancelled
    expect(r.stderr).toMatch(/volume-update: failed: block job on vdb failed at [\d.]+ \w+\/1\.0 GiB: Input\/output error\n/);
    expect(r.stderr).not.toContain('cancelled');
    expectRolledBack();
    expect(digest(path('web-data'))).toBe(before);
    expect(sim('logs', 'qemu').stdout).toMatch(/WARNING qemu\.blkdebug .*vdb \(drive-virtio-disk1\): block job target write #1 fails with EIO \(Input\/output error\)/);
    expect(sim('logs', 'qemu-monitor').stdout).toMatch(/"event":"BLOCK_JOB_COMPLETED","data":\{"device":"drive-virtio-disk1".*"error":"Input\/output error"/);
  }, 15_000);

  it('--inject-error read --errno ENOSPC: the same clean failure, "No space left on device" in the monitor log', () => {
    const before = digest(path('web-data'));
    expect(sim('blkdebug', 'web-1', 'vdb', '--inject-error', 'read', '--errno', 'ENOSPC').code).toBe(0);
    const r = swap();
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(': No space left on device\n');
    expectRolledBack();
    expect(digest(path('web-data'))).toBe(before);
    expect(sim('logs', 'qemu-monitor').stdout).toMatch(/"event":"BLOCK_JOB_COMPLETED".*"error":"No space left on device"/);
  }, 15_000);
});
