// The guest keeps writing while drive-mirror runs (spec 03 Algorithm 3; the transcript
// qemu-7.2-mirror-speed-and-guest-writes.log): dirty tracking, len growth, copying again
// after READY, and writes racing in-flight copy operations.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { DISK, KiB, MiB, type Harness, allocated, makeImage, mirrorArgs, sleep, startQemu, tempDir, until } from './helpers.js';

let dir: string;
let h: Harness | undefined;

afterEach(async () => {
  await h?.qemu.shutdown();
  h = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** a small deterministic PRNG (mulberry32) so a failing seed can be replayed */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('guest writes during drive-mirror', () => {
  test('len grows when the guest dirties an already-copied range, not an uncopied one', async () => {
    dir = tempDir();
    const src = path.join(dir, 'src.raw');
    const dst = path.join(dir, 'dst.raw');
    makeImage(src, 32 * MiB, [[0, 32 * MiB, 0x11]]);
    makeImage(dst, 32 * MiB);
    h = await startQemu({ [DISK]: src });
    // 1 B/s: the first 8 MiB buffer is copied, then the job sleeps
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 1, 'buf-size': 8 * MiB }));
    await until(async () => (await h!.job())!.offset === 8 * MiB);
    await h.qemu.guestWrite(DISK, 20 * MiB, Buffer.alloc(4 * MiB, 0xcd));
    expect(await h.job()).toMatchObject({ len: 32 * MiB, offset: 8 * MiB });
    await h.qemu.guestWrite(DISK, 0, Buffer.alloc(2 * MiB, 0xce));
    expect(await h.job()).toMatchObject({ len: 34 * MiB, offset: 8 * MiB });
    // a write inside one 64 KiB chunk dirties the whole chunk
    await h.qemu.guestWrite(DISK, 4 * MiB + 10, Buffer.alloc(10, 0xcf));
    expect((await h.job())!.len).toBe(34 * MiB + 64 * KiB);

    await h.ok('block-job-set-speed', { device: DISK, speed: 0 });
    const ready = await h.waitEvent('BLOCK_JOB_READY');
    expect(ready.data).toMatchObject({ len: 34 * MiB + 64 * KiB, offset: 34 * MiB + 64 * KiB });

    // after READY the job keeps mirroring: len and offset grow together, ready stays true
    await h.qemu.guestWrite(DISK, 10 * MiB, Buffer.alloc(MiB, 0xd0));
    const j = (await h.job())!;
    expect(j.len).toBe(35 * MiB + 64 * KiB);
    expect(j.ready).toBe(true);
    await until(async () => (await h!.job())!.offset === 35 * MiB + 64 * KiB);
    expect(h.trace().filter((t) => t === 'BLOCK_JOB_READY')).toHaveLength(1);

    await h.ok('block-job-complete', { device: DISK });
    await h.qemu.jobFinished(DISK);
    const expected = Buffer.alloc(32 * MiB, 0x11);
    expected.fill(0xcd, 20 * MiB, 24 * MiB);
    expected.fill(0xce, 0, 2 * MiB);
    expected.fill(0xcf, 4 * MiB + 10, 4 * MiB + 20);
    expected.fill(0xd0, 10 * MiB, 11 * MiB);
    expect(fs.readFileSync(dst).equals(expected)).toBe(true);
    expect(fs.readFileSync(src).equals(expected)).toBe(true);
  });

  test('writes issued while complete drains land on the target after the pivot', async () => {
    dir = tempDir();
    const src = path.join(dir, 'src.raw');
    const dst = path.join(dir, 'dst.raw');
    makeImage(src, 8 * MiB, [[0, MiB, 1]]);
    makeImage(dst, 8 * MiB);
    h = await startQemu({ [DISK]: src });
    await h.ok('drive-mirror', mirrorArgs(dst));
    await h.waitEvent('BLOCK_JOB_READY');
    await h.ok('block-job-complete', { device: DISK });
    const writes = [0, 1, 2, 3].map((i) => h!.qemu.guestWrite(DISK, i * MiB, Buffer.alloc(4096, 0x70 + i)));
    await Promise.all(writes);
    await h.qemu.jobFinished(DISK);
    const d = fs.readFileSync(dst);
    for (let i = 0; i < 4; i++) expect(d.subarray(i * MiB, i * MiB + 4096).equals(Buffer.alloc(4096, 0x70 + i))).toBe(true);
    expect(h.qemu.currentFile(DISK)).toBe(dst);
  });

  test('a write racing the in-flight copy of its own range still reaches the target', async () => {
    dir = tempDir();
    const src = path.join(dir, 'src.raw');
    const dst = path.join(dir, 'dst.raw');
    makeImage(src, 4 * MiB, [[0, 4 * MiB, 0x01]]);
    makeImage(dst, 4 * MiB);
    h = await startQemu({ [DISK]: src });
    await h.ok('drive-mirror', mirrorArgs(dst, { granularity: 4096, 'buf-size': 64 * KiB }));
    // hammer the first chunks while the job's first operations copy them
    for (let i = 0; i < 64; i++) await h.qemu.guestWrite(DISK, (i % 16) * 4096, Buffer.alloc(4096, 0x80 + i));
    await h.waitEvent('BLOCK_JOB_READY');
    await h.ok('block-job-complete', { device: DISK });
    await h.qemu.jobFinished(DISK);
    expect(fs.readFileSync(dst).equals(fs.readFileSync(src))).toBe(true);
    expect(fs.readFileSync(dst)[15 * 4096]).toBe(0x80 + 63);
  });

  test('property: random guest writes before, during and after READY, then complete → target is the written image', async () => {
    dir = tempDir();
    const SEEDS = 24;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed);
      const size = (2 + Math.floor(r() * 6)) * MiB + (r() < 0.3 ? Math.floor(r() * 65536) : 0);
      const src = path.join(dir, `src${seed}.raw`);
      const dst = path.join(dir, `dst${seed}.raw`);
      const extents: Array<[number, number]> = [];
      for (let i = 0; i < 4; i++) {
        const off = Math.floor(r() * size);
        extents.push([off, Math.min(size - off, Math.floor(r() * 512 * KiB) + 1)]);
      }
      makeImage(src, size, extents);
      makeImage(dst, size, r() < 0.3 ? [[0, size, 0xee]] : []);
      const expected = fs.readFileSync(src);
      const gran = [4096, 65536, 512 * KiB][Math.floor(r() * 3)]!;
      const speed = r() < 0.3 ? 20 * MiB : 0;
      h = await startQemu({ [DISK]: src });

      // a write anywhere on the disk, or within [lo, hi)
      const write = async (lo = 0, hi = size) => {
        const len = 1 + Math.floor(r() * Math.min(hi - lo - 1, r() < 0.5 ? 512 : 200 * KiB));
        const off = lo + Math.floor(r() * (hi - lo - len));
        const data = Buffer.alloc(len, Math.floor(r() * 256));
        data[0] = seed;
        data.copy(expected, off);
        await h!.qemu.guestWrite(DISK, off, data);
      };

      for (let i = 0; i < 3; i++) await write();
      await h.ok('drive-mirror', mirrorArgs(dst, { granularity: gran, 'buf-size': gran * (1 + Math.floor(r() * 8)), speed }));
      // during the copy: serialized writes interleaved with the job's operations
      let ready = false;
      void h.waitEvent('BLOCK_JOB_READY').then(() => (ready = true));
      for (let i = 0; i < 20 && !ready; i++) {
        await write();
        if (r() < 0.5) await sleep(1);
      }
      if (speed) await h.ok('block-job-set-speed', { device: DISK, speed: 0 });
      await until(() => ready, 10000);
      for (let i = 0; i < 5; i++) await write();
      await h.ok('block-job-complete', { device: DISK });
      // and a few racing the completion itself: concurrent, so on disjoint ranges (two
      // overlapping writes in flight at once have no defined order, on a real disk too)
      await Promise.all([write(0, size >> 1), write(size >> 1, size)]);
      await h.qemu.jobFinished(DISK);

      expect(h.qemu.currentFile(DISK), `seed ${seed}`).toBe(dst);
      const got = fs.readFileSync(dst);
      expect(got.length, `seed ${seed}`).toBe(size);
      expect(got.equals(expected), `seed ${seed}: target differs from the written image`).toBe(true);
      expect((await h.qemu.guestRead(DISK, 0, size)).equals(expected), `seed ${seed}`).toBe(true);
      await h.qemu.shutdown();
      h = undefined;
    }
  });

  test('the target stays sparse: holes of the source are never written', async () => {
    dir = tempDir();
    const src = path.join(dir, 'src.raw');
    const dst = path.join(dir, 'dst.raw');
    makeImage(src, 64 * MiB, [[MiB, 2 * MiB], [30 * MiB, MiB], [63 * MiB, MiB]]);
    makeImage(dst, 64 * MiB);
    h = await startQemu({ [DISK]: src });
    await h.ok('drive-mirror', mirrorArgs(dst));
    await h.waitEvent('BLOCK_JOB_READY');
    expect(h.qemu.jobSnapshot(DISK)!.bytesCopied).toBe(4 * MiB);
    await h.ok('block-job-complete', { device: DISK });
    await h.qemu.jobFinished(DISK);
    expect(allocated(dst)).toBeLessThanOrEqual(allocated(src));
    expect(allocated(dst)).toBeGreaterThanOrEqual(4 * MiB);
    expect(fs.readFileSync(dst).equals(fs.readFileSync(src))).toBe(true);
  });
});
