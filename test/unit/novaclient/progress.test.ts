// volume-update's follow of the compute side (novasim): plain lines off a TTY, the
// success line with the job's real bytes and time, compute errors, and Ctrl-C.
import { describe, expect, it } from 'vitest';
import { NovaShell } from '../../../src/novaclient/shell.js';
import { copyingText, humanBytes } from '../../../src/novaclient/progress.js';
import type { ComputeEvent } from '../../../src/cloud/types.js';
import { captureIO, connectorFor, FakeCloud, VOL1, VOL2, WEB } from './fake_cloud.js';

const base = { method: 'swap_volume', requestId: 'req-00000000-0000-0000-0000-000000000000', instance: WEB };
const disk = { domain: 'instance-00000001', disk: 'vdb' };

/** the 202 carries the request id the compute events are tagged with */
function accepting(cloud: FakeCloud): FakeCloud {
  cloud.transport.onSwap = () => ({ status: 202, headers: { 'Content-Length': '0', 'x-compute-request-id': base.requestId }, body: '' });
  return cloud;
}

async function swap(cloud: FakeCloud, env: NodeJS.ProcessEnv = {}, tty = false) {
  accepting(cloud);
  const io = captureIO(env, tty);
  const code = await new NovaShell(io, connectorFor(cloud)).main(['volume-update', 'web', 'data1', 'data2']);
  return { code, io };
}

describe('volume-update follows nova-compute', () => {
  it('plain lines per phase, then the bytes really copied and the job time', async () => {
    const cloud = new FakeCloud();
    cloud.script = async (c) => {
      c.emit({ type: 'compute-start', ...base });
      for (const cur of [0, 512, 1024]) c.emit({ type: 'job', phase: 'copying', ...disk, cur: cur * 1024 * 1024, end: 1024 ** 3, bytesCopied: cur * 1024 * 1024, elapsedMs: 1000 });
      c.emit({ type: 'job', phase: 'ready', ...disk, cur: 1024 ** 3, end: 1024 ** 3, bytesCopied: 1024 ** 3, elapsedMs: 2000 });
      c.emit({ type: 'job', phase: 'pivot', ...disk });
      c.emit({ type: 'job', phase: 'done', ...disk, bytesCopied: 1073741824, elapsedMs: 2345 });
      const done: ComputeEvent = { type: 'compute-done', ...base };
      c.emit(done);
      return { handled: [done] };
    };
    const { code, io } = await swap(cloud);
    expect(code).toBe(0);
    expect(io.stdout).toBe('');
    expect(io.stderr).toBe(
      'volume-update: started: nova-compute is swapping data1 -> data2 on web\n' +
        'volume-update: copying: data1 -> data2 on web, 0 B/1.0 GiB (0%), 0 B/s\n' +
        'volume-update: copying: data1 -> data2 on web, 512.0 MiB/1.0 GiB (50%), 512.0 MiB/s\n' +
        'volume-update: copying: data1 -> data2 on web, 1.0 GiB/1.0 GiB (100%), 1.0 GiB/s\n' +
        'volume-update: ready: mirror of vdb in sync, 1.0 GiB copied\n' +
        'volume-update: pivot: switching vdb of web to data2\n' +
        'volume-update: done: 1.0 GiB copied\n' +
        'Swapped volume data1 -> data2 on web: copied 1.0 GiB (1073741824 bytes) in 2.35 s\n',
    );
  });

  it('a compute-side error: its class and message, the hint, exit 1', async () => {
    const cloud = new FakeCloud();
    cloud.script = async (c) => {
      const err: ComputeEvent = { type: 'compute-error', ...base, errorClass: 'libvirtError', message: "Domain not found: no domain with matching uuid '…'" };
      c.emit(err);
      return { handled: [err] };
    };
    const { code, io } = await swap(cloud, { NO_COLOR: '1' }, true);
    expect(code).toBe(1);
    expect(io.stderr).toBe(
      "ERROR (libvirtError): Domain not found: no domain with matching uuid '…'\n" +
        "nova-compute failed the swap after the API had answered 202; real Nova would have failed silently (see nova-compute's log: nova-sim logs --request-id req-00000000-0000-0000-0000-000000000000, or rerun with --debug).\n",
    );
  });

  it('off a TTY a long copy prints a copying line every 10 % or every 2 s of the job, whichever comes first', async () => {
    const cloud = new FakeCloud();
    const MiB = 1024 * 1024;
    // polls every 0.5 s: 1 % a poll for 6 s (the 2 s pace wins), then 7 % a poll (the 10 % steps win)
    const polls: [number, number][] = [];
    let pct = 0;
    for (let t = 0; t <= 11000; t += 500) {
      polls.push([t, pct]);
      pct = Math.min(100, pct + (t < 6000 ? 1 : 7));
    }
    cloud.script = async (c) => {
      c.emit({ type: 'compute-start', ...base });
      for (const [t, p] of polls) c.emit({ type: 'job', phase: 'copying', ...disk, cur: p * 10 * MiB, end: 1000 * MiB, bytesCopied: p * 10 * MiB, elapsedMs: t });
      const done: ComputeEvent = { type: 'compute-done', ...base };
      c.emit(done);
      return { handled: [done] };
    };
    const { io } = await swap(cloud);
    const printed = io.stderr
      .split('\n')
      .filter((l) => l.startsWith('volume-update: copying: '))
      .map((l) => Number(/\((\d+)%\)/.exec(l)![1]));
    const expected: number[] = [];
    let last: [number, number] | null = null;
    for (const [t, p] of polls) {
      if (!last || t - last[0] >= 2000 || Math.floor(p / 10) > Math.floor(last[1] / 10)) {
        expected.push(p);
        last = [t, p];
      }
    }
    expect(printed).toEqual(expected);
    // 0 %, then every 2 s while slow (4, 8 %), then a line per 10 % step
    expect(printed.slice(0, 4)).toEqual([0, 4, 8, 10]);
    expect(printed.length).toBeGreaterThan(10);
  });

  it('errors of other requests are not ours', async () => {
    const cloud = new FakeCloud();
    cloud.script = async () => ({ handled: [{ type: 'compute-error', ...base, requestId: 'req-other', errorClass: 'X', message: 'y' }] });
    const { code, io } = await swap(cloud);
    expect(code).toBe(0);
    expect(io.stderr).toBe('');
  });

  it('Ctrl-C: interrupt the cloud once, keep waiting for the rollback, exit 130', async () => {
    const cloud = new FakeCloud();
    let io!: ReturnType<typeof captureIO>;
    accepting(cloud);
    let first = true;
    cloud.script = async (c) => {
      if (!first) return { handled: [] };
      first = false;
      c.emit({ type: 'job', phase: 'copying', ...disk, cur: 1, end: 10, bytesCopied: 1, elapsedMs: 1 });
      io.interruptHandler?.();
      io.interruptHandler?.();
      c.emit({ type: 'job', phase: 'cancelled', ...disk, cur: 1, end: 10 });
      const err: ComputeEvent = { type: 'compute-error', ...base, errorClass: 'libvirtError', message: 'cancelled' };
      return { handled: [err] };
    };
    io = captureIO();
    const code = await new NovaShell(io, connectorFor(cloud)).main(['volume-update', WEB, VOL1, VOL2]);
    expect(code).toBe(130);
    expect(cloud.interrupted).toBe(1);
    expect(io.stderr).toContain('volume-update: still rolling back the swap, please wait\n');
    expect(io.stderr.endsWith('... terminating nova client\n')).toBe(true);
  });

  it('Ctrl-C during another command: the services finish, the client stops, exit 130', async () => {
    const cloud = new FakeCloud();
    const io = captureIO();
    const orig = cloud.transport.request.bind(cloud.transport);
    cloud.transport.request = async (req) => {
      if (req.url.includes('name=')) io.interruptHandler?.();
      return orig(req);
    };
    const code = await new NovaShell(io, connectorFor(cloud)).main(['show', 'web']);
    expect(code).toBe(130);
    expect(io.stdout).toBe('');
    expect(io.stderr).toBe('... terminating nova client\n');
    expect(cloud.closed).toBe(true);
  });

  it('human-readable sizes and rates', () => {
    expect(humanBytes(0)).toBe('0 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(copyingText(512 * 1024 ** 2, 1024 ** 3, 512 * 1024 ** 2, 2000)).toBe('512.0 MiB/1.0 GiB (50%), 256.0 MiB/s');
  });
});
