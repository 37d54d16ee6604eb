// nova-sim blkdebug: the rules' parsing and checks (src/novasim/blkdebug.ts), their shape
// in the state file (src/state/validate.ts), and what they do to a QEMU that libvirt's
// QEMU host starts with them (armDomainBlkdebug / QemuHost in src/libvirt/qemu-host.ts, src/qemu/blkdebug.ts): a
// delay holds the job's requests at a blkdebug event, an error fails its I/O, every firing
// is logged, and a QEMU started without rules is left exactly as it was.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addLogSink, type LogRecord } from '../../../src/common/log.js';
import { armDomainBlkdebug, QemuHost } from '../../../src/libvirt/qemu-host.js';
import { QemuProcess } from '../../../src/qemu/process.js';
import type { QmpEvent } from '../../../src/qemu/types.js';
import { describeRule, parseCount, parseDelay, parseOptions, type BlkdebugOptions } from '../../../src/novasim/blkdebug.js';
import { initWorld, loadFixture, materialize } from '../../../src/novasim/world.js';
import { StateFileError, StateStore } from '../../../src/state/store.js';
import type { BlkdebugRule, Domain, State } from '../../../src/state/types.js';
import { validateState } from '../../../src/state/validate.js';
import { MiB, makeImage, mirrorArgs, sleep, tempDir, until } from '../qemu/helpers.js';

const UUID = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const VDB = 'drive-virtio-disk1';

const none: Omit<BlkdebugOptions, 'server'> = { disk: 'vdb', delay: null, injectError: null, errno: null, count: null, clear: false };
const opts = (o: Partial<typeof none>) => parseOptions({ ...none, ...o });
/** the CommandError message a call throws */
function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect((e as { kind?: string }).kind).toBe('CommandError');
    return (e as Error).message;
  }
  throw new Error('not refused');
}

describe('parsing the options', () => {
  it('--delay EVENT=MS: a known event and whole milliseconds up to 60 s', () => {
    expect(parseDelay('flush_to_disk=700')).toEqual({ event: 'flush_to_disk', ms: 700 });
    expect(parseDelay('write_aio=0')).toEqual({ event: 'write_aio', ms: 0 });
    expect(parseDelay('write_aio=60000')).toEqual({ event: 'write_aio', ms: 60000 });
    expect(refused(() => parseDelay('flush_to_disk'))).toBe("Invalid --delay 'flush_to_disk': expected EVENT=MS, e.g. flush_to_disk=700");
    expect(refused(() => parseDelay('read_aio=5'))).toBe("Invalid --delay 'read_aio=5': unknown event 'read_aio' (choose from write_aio, flush_to_disk)");
    for (const ms of ['', '-1', '1.5', '7e2', 'abc', '60001', ' 5']) {
      expect(refused(() => parseDelay(`flush_to_disk=${ms}`))).toBe(`Invalid --delay 'flush_to_disk=${ms}': '${ms}' is not a number of milliseconds from 0 to 60000`);
    }
  });

  it('--count N: a positive whole number', () => {
    expect(parseCount('1')).toBe(1);
    expect(parseCount('25')).toBe(25);
    for (const bad of ['0', '-2', '1.5', 'x', '', '99999999999999999999']) {
      expect(refused(() => parseCount(bad))).toBe(`Invalid --count '${bad}': expected a positive whole number`);
    }
  });

  it('one action per command: list, clear or a rule (with --count, and EIO by default)', () => {
    expect(opts({})).toEqual({ kind: 'list' });
    expect(opts({ disk: null })).toEqual({ kind: 'list' });
    expect(opts({ clear: true })).toEqual({ kind: 'clear' });
    expect(opts({ delay: 'flush_to_disk=700' })).toEqual({ kind: 'set', spec: { action: 'delay', event: 'flush_to_disk', ms: 700, count: null } });
    expect(opts({ delay: 'write_aio=20', count: '3' })).toEqual({ kind: 'set', spec: { action: 'delay', event: 'write_aio', ms: 20, count: 3 } });
    expect(opts({ injectError: 'write', count: '1' })).toEqual({ kind: 'set', spec: { action: 'error', op: 'write', errno: 'EIO', count: 1 } });
    expect(opts({ injectError: 'read', errno: 'ENOSPC' })).toEqual({ kind: 'set', spec: { action: 'error', op: 'read', errno: 'ENOSPC', count: null } });
  });

  it('conflicting or dangling options, and bad values, are refused', () => {
    expect(refused(() => opts({ clear: true, delay: 'flush_to_disk=1' }))).toBe('--clear cannot be combined with --delay');
    expect(refused(() => opts({ clear: true, count: '2' }))).toBe('--clear cannot be combined with --count');
    expect(refused(() => opts({ delay: 'flush_to_disk=1', injectError: 'write' }))).toBe('--delay and --inject-error make two rules: give one of them per command');
    expect(refused(() => opts({ errno: 'EIO' }))).toBe('--errno needs --inject-error');
    expect(refused(() => opts({ delay: 'flush_to_disk=1', errno: 'EIO' }))).toBe('--errno needs --inject-error');
    expect(refused(() => opts({ count: '2' }))).toBe('--count needs --delay or --inject-error');
    expect(refused(() => opts({ injectError: 'flush' }))).toBe("Invalid --inject-error 'flush' (choose from read, write)");
    expect(refused(() => opts({ injectError: 'write', errno: 'EPERM' }))).toBe("Invalid --errno 'EPERM' (choose from EIO, ENOSPC)");
    expect(refused(() => opts({ injectError: 'write', count: '0' }))).toBe("Invalid --count '0': expected a positive whole number");
  });

  it('a rule reads as one line', () => {
    const base = { server: UUID, disk: 'vdb' };
    expect(describeRule({ ...base, action: 'delay', event: 'flush_to_disk', ms: 700, count: null }, 'web-1')).toBe(
      "web-1 vdb: delay flush_to_disk by 700 ms (the job's flushes of the target), every time",
    );
    expect(describeRule({ ...base, action: 'delay', event: 'write_aio', ms: 5, count: 3 }, 'web-1')).toBe(
      "web-1 vdb: delay write_aio by 5 ms (the job's writes to the target), the first 3 times",
    );
    expect(describeRule({ ...base, action: 'error', op: 'write', errno: 'ENOSPC', count: 1 }, 'web-1')).toBe(
      "web-1 vdb: inject-error write ENOSPC (the job's writes to the target fail: No space left on device), once",
    );
  });
});

describe('the rules in the state file', () => {
  let world: State;
  beforeAll(() => {
    const d = tempDir();
    world = materialize(path.join(d, 'x.json'), loadFixture('empty'));
    fs.rmSync(d, { recursive: true, force: true });
  });
  const delay = { server: UUID, disk: 'vdb', action: 'delay', event: 'flush_to_disk', ms: 700, count: null };
  const error = { server: UUID, disk: 'vdb', action: 'error', op: 'write', errno: 'EIO', count: 1 };
  const withRules = (rules: unknown): unknown => ({ ...structuredClone(world), blkdebug: rules });

  it('optional: a file without rules is valid, and so are well-formed rules', () => {
    expect('blkdebug' in world).toBe(false);
    expect(validateState(world)).toBeNull();
    expect(validateState(withRules([]))).toBeNull();
    expect(validateState(withRules([delay, error, { ...error, op: 'read', count: null }]))).toBeNull();
  });

  it.each<[string, unknown, string]>([
    ['not a list', { ...delay }, 'state.blkdebug must be an array'],
    ['a rule that is not an object', ['x'], 'state.blkdebug[0] must be an object'],
    ['no action', [(({ action: _a, ...r }) => r)(delay)], 'state.blkdebug[0].action is missing'],
    ['an unknown action', [delay, { ...error, action: 'corrupt' }], 'state.blkdebug[1].action must be one of "delay", "error"'],
    ['an unknown event', [{ ...delay, event: 'read_aio' }], 'state.blkdebug[0].event must be one of "write_aio", "flush_to_disk"'],
    ['a negative delay', [{ ...delay, ms: -1 }], 'state.blkdebug[0].ms must not be negative'],
    ['a delay that is not whole', [{ ...delay, ms: 1.5 }], 'state.blkdebug[0].ms must be an integer'],
    ['an error rule without errno', [error, (({ errno: _e, ...r }) => r)(error)], 'state.blkdebug[1].errno is missing'],
    ['an unknown errno', [{ ...error, errno: 'EPERM' }], 'state.blkdebug[0].errno must be one of "EIO", "ENOSPC"'],
    ['an unknown operation', [{ ...error, op: 'flush' }], 'state.blkdebug[0].op must be one of "read", "write"'],
    ['a zero count', [{ ...error, count: 0 }], 'state.blkdebug[0].count must be positive'],
    ['a count that is a string', [{ ...error, count: '1' }], 'state.blkdebug[0].count must be an integer or null'],
    ['a server that is not a string', [{ ...delay, server: 1 }], 'state.blkdebug[0].server must be a string'],
  ])('refused: %s', (_name, rules, problem) => {
    expect(validateState(withRules(rules))).toBe(problem);
  });

  it('a state file with a bad rule is refused on read, naming the file and the field, and left as it is', async () => {
    const dir = tempDir();
    try {
      const statePath = path.join(dir, 'state.json');
      await initWorld(statePath, 'empty', false);
      const doc = JSON.parse(fs.readFileSync(statePath, 'utf8')) as Record<string, unknown>;
      doc.blkdebug = [{ ...delay, ms: 'soon' }];
      const text = JSON.stringify(doc);
      fs.writeFileSync(statePath, text);
      let err: unknown;
      try {
        new StateStore(statePath).read();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StateFileError);
      expect((err as Error).message).toContain(statePath);
      expect((err as Error).message).toContain('state.blkdebug[0].ms must be an integer');
      expect(fs.readFileSync(statePath, 'utf8')).toBe(text);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a QEMU started with the rules (armDomainBlkdebug, QemuHost)', () => {
  let dir: string;
  let src: string;
  let dst: string;
  const procs: QemuProcess[] = [];
  const logs: LogRecord[] = [];
  let removeSink: (() => void) | null = null;

  function setup(): void {
    dir = tempDir();
    src = path.join(dir, 'src.raw');
    dst = path.join(dir, 'dst.raw');
    makeImage(src, 8 * MiB, [[0, MiB], [4 * MiB, MiB]]);
    makeImage(dst, 8 * MiB);
    logs.length = 0;
    removeSink = addLogSink((r) => logs.push(r));
  }
  afterEach(async () => {
    removeSink?.();
    removeSink = null;
    for (const p of procs.splice(0)) await p.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const domain = (): Domain => {
    const disk = { type: 'block' as const, device: 'disk' as const, driverType: 'raw' as const, source: src, targetBus: 'virtio', serial: null };
    const def = { name: 'instance-00000001', uuid: UUID, memoryKiB: 65536, vcpus: 1, disks: [{ ...disk, targetDev: 'vdb', alias: 'virtio-disk1' }] };
    return { name: def.name, uuid: UUID, id: 1, state: 'running', def, persistentDef: null, managedSave: false, mirrors: {} };
  };
  function start(rules: BlkdebugRule[]): QemuProcess {
    const proc = new QemuProcess({ name: 'instance-00000001', drives: [{ id: VDB, file: src, format: 'raw' }] });
    procs.push(proc);
    armDomainBlkdebug(domain(), proc, rules);
    return proc;
  }
  const delayRule = (ms: number, count: number | null): BlkdebugRule => ({ server: UUID, disk: 'vdb', action: 'delay', event: 'flush_to_disk', ms, count });
  const blkdebugLines = () => logs.filter((r) => r.logger === 'qemu.blkdebug').map((r) => `${r.level} ${r.message}`);

  /** a mirror of vdb to READY then completed; returns the events with their times */
  async function mirror(proc: QemuProcess): Promise<Array<{ ev: QmpEvent; at: number }>> {
    const events: Array<{ ev: QmpEvent; at: number }> = [];
    proc.onEvent((ev) => events.push({ ev, at: performance.now() }));
    await proc.qmp({ execute: 'qmp_capabilities' });
    expect(await proc.qmp({ execute: 'drive-mirror', arguments: mirrorArgs(dst, { device: VDB }) })).toEqual({ return: {} });
    await until(() => events.some((e) => e.ev.event === 'BLOCK_JOB_READY' || e.ev.event === 'BLOCK_JOB_COMPLETED'));
    if (events.some((e) => e.ev.event === 'BLOCK_JOB_READY')) {
      expect(await proc.qmp({ execute: 'block-job-complete', arguments: { device: VDB } })).toEqual({ return: {} });
    }
    await proc.jobFinished(VDB);
    return events;
  }

  it('--delay flush_to_disk=300: the flush before READY is held 300 ms with offset == len and ready false; every flush, each logged', async () => {
    setup();
    const proc = start([delayRule(300, null)]);
    const run = mirror(proc);
    await until(() => logs.some((r) => r.message.includes('#1 held')));
    const heldAt = performance.now();
    await sleep(150);
    // the window Mitaka's poll lands in: copied, not READY
    expect(proc.jobSnapshot(VDB)).toMatchObject({ ready: false, offset: 8 * MiB, len: 8 * MiB });
    const timed = await run;
    const ready = timed.find((e) => e.ev.event === 'BLOCK_JOB_READY')!;
    expect(ready.at - heldAt).toBeGreaterThanOrEqual(290);
    expect(timed.find((e) => e.ev.event === 'BLOCK_JOB_COMPLETED')!.ev.data.error).toBeUndefined();
    expect(proc.currentFile(VDB)).toBe(dst);
    expect(blkdebugLines()).toEqual([
      'INFO instance-00000001: blkdebug: vdb (drive-virtio-disk1): armed: delay flush_to_disk by 300 ms, every time',
      'INFO instance-00000001: blkdebug: vdb (drive-virtio-disk1): flush_to_disk #1 held for 300 ms',
      'INFO instance-00000001: blkdebug: vdb (drive-virtio-disk1): flush_to_disk #2 held for 300 ms',
    ]);
    expect(logs.find((r) => r.logger === 'qemu.blkdebug')).toMatchObject({ service: 'qemu', instance: UUID });
  });

  it('--count 1 holds only the first request', async () => {
    setup();
    const proc = start([delayRule(50, 1)]);
    await mirror(proc);
    expect(blkdebugLines().filter((l) => l.includes('held'))).toEqual(['INFO instance-00000001: blkdebug: vdb (drive-virtio-disk1): flush_to_disk #1 held for 50 ms']);
  });

  it.each([
    ['write', 'EIO', 'Input/output error'],
    ['write', 'ENOSPC', 'No space left on device'],
    ['read', 'EIO', 'Input/output error'],
  ] as const)('--inject-error %s --errno %s --count 1: BLOCK_JOB_COMPLETED with "%s", the disk stays on its image', async (op, errno, text) => {
    setup();
    const proc = start([{ server: UUID, disk: 'vdb', action: 'error', op, errno, count: 1 }]);
    const timed = await mirror(proc);
    const names = timed.map((e) => e.ev.event);
    expect(names).toContain('BLOCK_JOB_ERROR');
    expect(names).not.toContain('BLOCK_JOB_READY');
    expect(timed.find((e) => e.ev.event === 'BLOCK_JOB_ERROR')!.ev.data).toEqual({ device: VDB, operation: op, action: 'report' });
    expect(timed.find((e) => e.ev.event === 'BLOCK_JOB_COMPLETED')!.ev.data.error).toBe(text);
    expect(proc.currentFile(VDB)).toBe(src);
    const what = op === 'read' ? 'source read' : 'target write';
    expect(blkdebugLines()).toEqual([
      `INFO instance-00000001: blkdebug: vdb (drive-virtio-disk1): armed: the block job's ${what}s fail with ${errno}, once`,
      `WARNING instance-00000001: blkdebug: vdb (drive-virtio-disk1): block job ${what} #1 fails with ${errno} (${text})`,
    ]);
  });

  it('a rule for a disk the domain has no drive for is skipped, with a warning', () => {
    setup();
    const proc = start([{ ...delayRule(10, null), disk: 'vdc' }]);
    expect(blkdebugLines()).toEqual(['WARNING instance-00000001: blkdebug: no drive for disk vdc: rule skipped']);
    expect(Object.hasOwn(proc.drives.get(VDB)!, 'consumeFault')).toBe(false);
  });

  it("QemuHost arms the rules its source gives for the domain it starts; with none the QEMU is untouched", async () => {
    setup();
    const seen: string[] = [];
    const withRules = new QemuHost(() => undefined, undefined, (d) => (seen.push(d.uuid), [{ server: d.uuid, disk: 'vdb', action: 'error', op: 'write', errno: 'ENOSPC', count: null }]));
    const m = await withRules.get(domain());
    expect(seen).toEqual([UUID]);
    expect(m.proc.drives.get(VDB)!.onFault).not.toBeNull();
    const timed = await mirror(m.proc);
    expect(timed.find((e) => e.ev.event === 'BLOCK_JOB_COMPLETED')!.ev.data.error).toBe('No space left on device');
    await withRules.stopAll();

    logs.length = 0;
    const without = new QemuHost(() => undefined, undefined, () => []);
    const m2 = await without.get(domain());
    const bb = m2.proc.drives.get(VDB)!;
    expect(bb.onFault).toBeNull();
    expect((bb as unknown as { breakpoints: Map<string, unknown> }).breakpoints.size).toBe(0);
    expect(blkdebugLines()).toEqual([]);
    await mirror(m2.proc);
    expect(m2.proc.currentFile(VDB)).toBe(dst);
    await without.stopAll();
  });
});
