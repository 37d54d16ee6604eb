// Issue 3: the mirror's memory is bounded by buf-size plus a constant, whatever the disk
// size. The job's buffers and bitmaps are ArrayBuffers, so process.memoryUsage().arrayBuffers
// sampled while the job runs shows what it holds; a 100 GiB disk must need no more than a
// 1 GiB one holding the same data.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_MIRROR_BUF_SIZE } from '../../../src/qemu/mirror.js';
import { sameBytes } from '../../support/world.js';
import { DISK, MiB, makeImage, mirrorArgs, startQemu, tempDir } from './helpers.js';

const GiB = 1024 * MiB;
let dir: string;

beforeEach(() => {
  dir = tempDir();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** mirror src onto a fresh sparse target of the same size; the peak growth of arrayBuffers */
async function peakDuringMirror(size: number, extents: Array<[number, number]>): Promise<number> {
  const src = path.join(dir, `src-${size}.raw`);
  const dst = path.join(dir, `dst-${size}.raw`);
  makeImage(src, size, extents);
  makeImage(dst, size);
  const h = await startQemu({ [DISK]: src });
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)), 1);
  try {
    await h.ok('drive-mirror', mirrorArgs(dst));
    await h.waitEvent('BLOCK_JOB_READY', 60000);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    await h.ok('block-job-complete', { device: DISK });
    await h.waitEvent('BLOCK_JOB_COMPLETED', 60000);
  } finally {
    clearInterval(sample);
    await h.qemu.shutdown();
  }
  expect(sameBytes(src, dst)).toBe(true);
  return peak;
}

describe('mirror memory', () => {
  test('bounded by buf-size plus a constant: 100 GiB needs what 1 GiB needs', async () => {
    // 64 MiB of data in 16 extents of 4 MiB, spread over the disk
    const spread = (size: number): Array<[number, number]> => Array.from({ length: 16 }, (_, i) => [Math.floor((i * size) / 16 / MiB) * MiB + MiB, 4 * MiB]);
    const small = await peakDuringMirror(GiB, spread(GiB));
    const huge = await peakDuringMirror(100 * GiB, spread(100 * GiB));
    // buffers (at most buf-size) + three bitmaps of a 100 GiB disk at 64 KiB (200 KB each)
    const bound = DEFAULT_MIRROR_BUF_SIZE + 2 * MiB;
    expect(small).toBeLessThanOrEqual(bound);
    expect(huge).toBeLessThanOrEqual(bound);
    expect(huge - small).toBeLessThan(2 * MiB);
  }, 60000);
});
