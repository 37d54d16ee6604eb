// nova-sim virsh and nova-sim guest-load, run as built binaries against a temporary state
// (npm run build first). virsh's output is virsh's own (vsh-table.c, virshPrintJobProgress).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOVA, NOVA_SIM, World, freezeOutsideLock, worldPerTest } from './helpers.js';

let w!: World;
const sim = worldPerTest((x) => (w = x));

describe('nova-sim virsh', () => {
  it('list / list --all: the vshTable layout', () => {
    expect(sim('virsh', 'list').stdout).toBe(
      [
        ' Id   Name                State',
        '-----------------------------------',
        ' 1    instance-00000001   running',
        ' 2    instance-00000002   running',
        ' 3    instance-00000004   paused',
        ' 4    instance-00000005   running',
        '',
        '',
      ].join('\n'),
    );
    const all = sim('virsh', 'list', '--all').stdout.split('\n');
    expect(all).toContain(' -    instance-00000003   shut off');
  });

  it('domblklist by server name, uuid or libvirt name', () => {
    const a = sim('virsh', 'domblklist', 'web-1');
    expect(a.code).toBe(0);
    const lines = a.stdout.split('\n');
    expect(lines[0]).toBe(' Target   Source');
    expect(lines[1]).toMatch(/^-+$/);
    expect(lines[3]).toMatch(/^ vdb      \/.*volumes\/volume-d0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01$/);
    expect(sim('virsh', 'domblklist', 'instance-00000001').stdout).toBe(a.stdout);
    expect(sim('virsh', 'domblklist', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01').stdout).toBe(a.stdout);
  });

  it('blockjob without a job, qemu-monitor-command, and the errors', () => {
    expect(sim('virsh', 'blockjob', 'web-1', 'vdb', '--info')).toMatchObject({ code: 0, stdout: 'No current block job for vdb\n' });
    expect(sim('virsh', 'qemu-monitor-command', 'web-1', '{"execute":"query-block-jobs"}').stdout).toMatch(/^\{"return": \[\], "id": "libvirt-\d+"\}\n$/);
    expect(sim('virsh', 'dumpxml', 'web-1').stdout).toContain("<alias name='virtio-disk1'/>");
    expect(sim('virsh', 'dumpxml', 'nope')).toMatchObject({ code: 1, stderr: "ERROR (libvirtError): failed to get domain 'nope'\n" });
    expect(sim('virsh', 'blockjob', 'batch-1', 'vdb')).toMatchObject({ code: 1, stderr: 'ERROR (libvirtError): Requested operation is not valid: domain is not running\n' });
    expect(sim('virsh', 'qemu-monitor-command', 'web-1', '{nope')).toMatchObject({ code: 1 });
    const bad = sim('virsh', 'frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("Usage: nova-sim virsh [options] [command]\nerror: unknown command 'frobnicate'\nTry 'nova-sim virsh --help' for more information.\n");
  });

  it('from a second terminal while nova volume-update runs: the <mirror>, the job, its progress', async () => {
    const child = spawn(process.execPath, [NOVA, '--state', w.state, 'volume-update', 'web-1', 'web-data', 'new-web-data'], {
      env: w.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' }),
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const run = (args: string[]) =>
      new Promise<{ out: string; err: string }>((res) => {
        const c = spawn(process.execPath, [NOVA_SIM, ...args, '--state', w.state], { env: w.env() });
        let out = '';
        let err = '';
        c.stdout.on('data', (x: Buffer) => (out += x.toString()));
        c.stderr.on('data', (x: Buffer) => (err += x.toString()));
        c.on('close', () => res({ out, err }));
      });
    // READY reaches the state file at once; the pivot waits for the driver's next 0.5 s
    // poll. Once the state shows a ready mirror, the host process is frozen (SIGSTOP) so a
    // loaded test machine cannot let the pivot overtake the second terminal's commands.
    const t0 = Date.now();
    let ready = false;
    while (!ready && Date.now() - t0 < 20_000) {
      try {
        ready = JSON.parse(readFileSync(w.state, 'utf8')).libvirt.domains.find((d: { name: string }) => d.name === 'instance-00000001').mirrors.vdb?.ready === true;
      } catch {
        // a read racing the atomic rename: try again
      }
      if (!ready) await new Promise((r) => setTimeout(r, 2));
    }
    expect(ready).toBe(true);
    await freezeOutsideLock(child, w.state);
    let xml, job, info, other, saved;
    try {
      // what the state holds while the process is frozen: the mirror record and the journal
      const st = JSON.parse(readFileSync(w.state, 'utf8'));
      saved = {
        mirror: st.libvirt.domains.find((d: { name: string }) => d.name === 'instance-00000001').mirrors.vdb,
        op: st.operations.find((o: { pid: number }) => o.pid === child.pid),
      };
      [xml, job, info, other] = await Promise.all([
        run(['virsh', 'dumpxml', 'web-1']),
        run(['virsh', 'qemu-monitor-command', 'web-1', '{"execute":"query-block-jobs"}']),
        run(['virsh', 'blockjob', 'web-1', 'vdb', '--info']),
        run(['virsh', 'qemu-monitor-command', 'web-1', '{"execute":"query-block"}']),
      ]);
    } finally {
      child.kill('SIGCONT');
    }
    expect(await closed).toBe(0);
    const { mirror, op } = saved;
    expect(mirror).toMatchObject({ ready: true, ownerPid: child.pid });
    expect(op).toMatchObject({ kind: 'swap', pid: child.pid });
    expect(xml.out).toMatch(/<mirror type='file' file='[^']*volume-e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01' format='raw' job='copy' ready='yes'>/);
    // the job is another process's: only what it saved, under QEMU's names, and whose it is —
    // nothing of what only its QEMU knows (busy, paused, status, io-status)
    const reply = JSON.parse(job.out);
    expect(reply.return).toEqual([{ device: 'drive-virtio-disk1', len: mirror.end, offset: mirror.cur, speed: mirror.bandwidth, ready: true, type: 'mirror' }]);
    expect(job.out).not.toMatch(/busy|paused|io-status|status/);
    const note =
      `Note: the block job on vdb of instance-00000001 is run by process ${child.pid} (swap ${op.id}, step ${op.step}); ` +
      `shown as that process last saved it at ${mirror.updatedAt} (cur ${mirror.cur}, end ${mirror.end}, ready yes, bandwidth ${mirror.bandwidth} B/s)\n`;
    expect(job.err).toBe(note);
    expect(info.err).toBe(`\rBlock Copy: [100 %]${note}`);
    expect(info.out).toBe('\n');
    // any other command needs the QEMU, which only the host process has
    expect(other.out).toBe('');
    expect(other.err).toBe(
      `ERROR (libvirtError): Requested operation is not valid: the QEMU of instance-00000001 runs in process ${child.pid}; ` +
        'from another process only query-block-jobs is answered (from the persisted job snapshot)\n',
    );
  });
});

describe('nova-sim guest-load', () => {
  it('set, run, verify; a corrupted byte is named; bad input is one line', async () => {
    const set = sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '20MiB/s', '--seed', '7');
    expect(set.stdout).toBe('web-1 vdb: on, seed 7, 20 MiB/s, blocks 4K,16K,64K, region 0:1024M; 0 writes in 1 segment\n');
    const run = sim('guest-load', 'web-1', '--run', '0.5');
    expect(run.code).toBe(0);
    const n = Number(/vdb: (\d+) writes/.exec(run.stdout)![1]);
    expect(n).toBeGreaterThan(50);
    const ok = sim('guest-load', 'web-1', '--verify');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`web-1 vdb: ${n} writes`);

    // swap under the guest load, then verify against the new volume
    const swap = w.admin(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    expect(swap.code).toBe(0);
    const after = sim('guest-load', 'web-1', '--verify');
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/volume-e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01 holds the last write of every block/);

    // corrupt one byte of a written block of the new volume
    const path = sim('volume-path', 'new-web-data').stdout.trim();
    const { planWrite } = await import('../../src/qemu/guest-workload.js');
    const { readFileSync, openSync, writeSync, closeSync } = await import('node:fs');
    const seg = JSON.parse(readFileSync(w.state, 'utf8')).guestLoads[0].segments[0];
    const last = planWrite(seg, 0, seg.writes - 1);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, last.offset + 4);
    closeSync(fd);
    const bad = sim('guest-load', 'web-1', '--verify');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `ERROR (GuestDataMismatch): web-1 vdb: ${path} differs at offset ${last.offset + 4}: expected write ${seg.writes - 1} of segment 0 (seed 7), found other data\n`,
    );

    expect(sim('guest-load', 'web-1', '--off').stdout).toMatch(/^web-1 vdb: off, seed 7/);
    const usage = sim('guest-load', 'web-1', '--rate', 'fast');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("\nerror: option '--rate <bytes/s>' argument 'fast' is invalid. Expected a positive size per second, e.g. 20MiB/s.\n");
    expect(sim('guest-load', 'web-1', '--off', '--verify').code).toBe(2);
    expect(sim('guest-load', 'nope', '--verify')).toMatchObject({ code: 1, stderr: "ERROR (CommandError): No server with a name or ID of 'nope' exists.\n" });
    expect(sim('guest-load', 'batch-1', '--seed', '1', '--run', '1').code).toBe(2);
    sim('guest-load', 'batch-1', '--seed', '1');
    expect(sim('guest-load', 'batch-1', '--run', '1')).toMatchObject({ code: 1, stderr: 'ERROR (CommandError): Server batch-1 is not running (domain instance-00000003 is shut off)\n' });
  });
});
