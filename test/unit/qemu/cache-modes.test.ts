// -drive cache=…: bdrv_parse_cache_mode's three flags, shown by query-block, inherited by
// a mirror target, and what they change: cache=unsafe never flushes (the pre-READY flush
// and its flush_to_disk event are skipped), write-through flushes every guest write.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CACHE_MODES, cacheFlags, type CacheMode } from '../../../src/qemu/cache.js';
import { RawImage } from '../../../src/qemu/image.js';
import { QemuProcess } from '../../../src/qemu/process.js';
import { DISK, MiB, makeImage, mirrorArgs, sameBytes, tempDir, until } from './helpers.js';

let dir: string;
let src: string;
let dst: string;
let procs: QemuProcess[] = [];

beforeEach(() => {
  dir = tempDir();
  src = path.join(dir, 'src.raw');
  dst = path.join(dir, 'dst.raw');
  makeImage(src, 16 * MiB, [[0, 2 * MiB], [8 * MiB, MiB]]);
  makeImage(dst, 16 * MiB);
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const p of procs) await p.shutdown();
  procs = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(cache?: CacheMode): Promise<QemuProcess> {
  const q = new QemuProcess({ name: 'instance-00000001', drives: [{ id: DISK, file: src, format: 'raw', ...(cache ? { cache } : {}) }] });
  procs.push(q);
  await q.qmp({ execute: 'qmp_capabilities' });
  return q;
}

async function queryCache(q: QemuProcess): Promise<unknown> {
  const r = (await q.qmp({ execute: 'query-block' })) as { return: Array<{ inserted: { cache: unknown; file: string } }> };
  return r.return[0]!.inserted.cache;
}

/** run a mirror to READY, complete it; returns whether a flush_to_disk breakpoint was reached */
async function mirrorAndPivot(q: QemuProcess): Promise<boolean> {
  const bp = q.setBreakpoint(DISK, 'flush_to_disk');
  let flushed = false;
  void bp.hit.then(() => {
    flushed = true;
    bp.resume();
  });
  const ready = new Promise<void>((resolve) => q.onEvent((e) => e.event === 'BLOCK_JOB_READY' && resolve()));
  const r = await q.qmp({ execute: 'drive-mirror', arguments: mirrorArgs(dst) });
  expect(r).toEqual({ return: {} });
  await ready;
  // the event handler of a hit runs on the next tick
  await new Promise((r) => setImmediate(r));
  const sawFlush = flushed;
  bp.resume();
  expect(await q.qmp({ execute: 'block-job-complete', arguments: { device: DISK } })).toEqual({ return: {} });
  await q.jobFinished(DISK);
  expect(q.currentFile(DISK)).toBe(dst);
  return sawFlush;
}

describe('cache modes (bdrv_parse_cache_mode)', () => {
  test('each mode gives QEMU 7.2\'s flags; no cache= is writeback', () => {
    expect(Object.fromEntries(CACHE_MODES.map((m) => [m, cacheFlags(m)]))).toEqual({
      none: { writeback: true, direct: true, 'no-flush': false },
      writeback: { writeback: true, direct: false, 'no-flush': false },
      writethrough: { writeback: false, direct: false, 'no-flush': false },
      directsync: { writeback: false, direct: true, 'no-flush': false },
      unsafe: { writeback: true, direct: false, 'no-flush': true },
    });
    expect(cacheFlags()).toEqual(cacheFlags('writeback'));
  });

  test.each(CACHE_MODES)('query-block shows cache=%s, and the target keeps it after the pivot', async (mode) => {
    const q = await start(mode);
    expect(await queryCache(q)).toEqual(cacheFlags(mode));
    await mirrorAndPivot(q);
    expect(await queryCache(q)).toEqual(cacheFlags(mode));
  });

  test('cache=none flushes the target before READY (flush_to_disk reached); cache=unsafe does not', async () => {
    const flushCalls = vi.spyOn(fs, 'fdatasync');
    const first = await start('none');
    expect(await mirrorAndPivot(first)).toBe(true);
    expect(flushCalls.mock.calls.length).toBeGreaterThan(0);
    expect(sameBytes(src, dst)).toBe(true);
    await first.shutdown();
    procs = [];

    makeImage(dst, 16 * MiB);
    flushCalls.mockClear();
    expect(await mirrorAndPivot(await start('unsafe'))).toBe(false);
    expect(flushCalls).not.toHaveBeenCalled();
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('write-through modes flush every guest write; write-back modes do not', async () => {
    const flush = vi.spyOn(RawImage.prototype, 'flush');
    for (const [mode, perWrite] of [
      ['writethrough', true],
      ['directsync', true],
      ['none', false],
      ['unsafe', false],
    ] as const) {
      const q = await start(mode);
      flush.mockClear();
      for (let i = 0; i < 3; i++) await q.guestWrite(DISK, i * 4096, Buffer.alloc(4096, i + 1));
      expect(flush.mock.calls.length, mode).toBe(perWrite ? 3 : 0);
      await q.shutdown();
      procs = procs.filter((p) => p !== q);
    }
  });

  test('guest writes during an unsafe mirror still reach the target (the flush is all that is skipped)', async () => {
    const q = await start('unsafe');
    const ready = new Promise<void>((resolve) => q.onEvent((e) => e.event === 'BLOCK_JOB_READY' && resolve()));
    await q.qmp({ execute: 'drive-mirror', arguments: mirrorArgs(dst) });
    await ready;
    await q.guestWrite(DISK, 12 * MiB, Buffer.alloc(64 * 1024, 0xab));
    await until(async () => {
      const r = (await q.qmp({ execute: 'query-block-jobs' })) as { return: Array<{ offset: number; len: number }> };
      return r.return[0]!.offset === r.return[0]!.len;
    });
    await q.qmp({ execute: 'block-job-complete', arguments: { device: DISK } });
    await q.jobFinished(DISK);
    expect(sameBytes(src, dst)).toBe(true);
  });
});
