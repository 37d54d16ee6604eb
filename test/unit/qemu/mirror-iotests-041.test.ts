// drive-mirror behaviours from QEMU's tests/qemu-iotests/041 that apply to raw files,
// plus the reference transcripts' event order (spec 03).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  DISK,
  KiB,
  MiB,
  type Harness,
  allocated,
  makeImage,
  mirrorArgs,
  sameBytes,
  sleep,
  startQemu,
  tempDir,
  until,
} from './helpers.js';

let dir: string;
let h: Harness | undefined;

afterEach(async () => {
  await h?.qemu.shutdown();
  h = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** a source with four data extents (like the transcript's 64 MiB image) and an empty target */
async function setup(size = 16 * MiB, extents?: Array<[number, number, number?]>) {
  dir = tempDir();
  const src = path.join(dir, 'src.raw');
  const dst = path.join(dir, 'dst.raw');
  makeImage(src, size, extents ?? [[0, MiB], [3 * MiB, 512 * KiB], [8 * MiB + 4096, 1 * MiB], [size - MiB, MiB]].filter(([o]) => o! < size) as Array<[number, number]>);
  makeImage(dst, size);
  h = await startQemu({ [DISK]: src });
  return { src, dst, h };
}

async function completeJob(h: Harness) {
  await h.waitEvent('BLOCK_JOB_READY');
  await h.ok('block-job-complete', { device: DISK });
  await h.qemu.jobFinished(DISK);
}

describe('iotests 041 (raw)', () => {
  test('complete: the target replaces the source and the images are equal', async () => {
    const { src, dst, h } = await setup();
    await h.ok('drive-mirror', mirrorArgs(dst));
    await completeJob(h);
    expect(sameBytes(src, dst)).toBe(true);
    expect(h.qemu.currentFile(DISK)).toBe(dst);
    const [b] = (await h.ok('query-block')) as Array<Record<string, any>>;
    expect(b!.inserted.file).toBe(dst);
    expect(await h.ok('query-block-jobs')).toEqual([]);
    // the guest now writes to the target
    await h.qemu.guestWrite(DISK, 0, Buffer.alloc(4096, 0x5a));
    expect(fs.readFileSync(dst).subarray(0, 4096)).toEqual(Buffer.alloc(4096, 0x5a));
    expect(fs.readFileSync(src).subarray(0, 4096)).not.toEqual(Buffer.alloc(4096, 0x5a));
  });

  test('cancel before ready: BLOCK_JOB_CANCELLED with offset < len, the source is kept', async () => {
    const { src, dst, h } = await setup(32 * MiB, [[0, 8 * MiB, 7], [20 * MiB, MiB, 8]]);
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 1, 'buf-size': 4 * MiB }));
    await until(async () => ((await h.job())!.offset as number) > 0);
    await h.ok('block-job-cancel', { device: DISK });
    const ev = await h.waitEvent('BLOCK_JOB_CANCELLED');
    await h.qemu.jobFinished(DISK);
    expect(h.trace()).toEqual(['created', 'running', 'aborting', 'BLOCK_JOB_CANCELLED', 'concluded', 'null']);
    expect(ev.data.offset as number).toBeLessThan(ev.data.len as number);
    expect(h.qemu.currentFile(DISK)).toBe(src);
    expect(sameBytes(src, dst)).toBe(false);
  });

  test('cancel after ready: BLOCK_JOB_COMPLETED without error, source kept, target equals source', async () => {
    const { src, dst, h } = await setup();
    await h.ok('drive-mirror', mirrorArgs(dst));
    await h.waitEvent('BLOCK_JOB_READY');
    await h.ok('block-job-cancel', { device: DISK });
    await h.qemu.jobFinished(DISK);
    expect(h.trace()).toEqual(['created', 'running', 'ready', 'BLOCK_JOB_READY', 'waiting', 'pending', 'BLOCK_JOB_COMPLETED', 'concluded', 'null']);
    const done = h.events.find((e) => e.event === 'BLOCK_JOB_COMPLETED')!;
    expect(done.data).not.toHaveProperty('error');
    expect(h.qemu.currentFile(DISK)).toBe(src);
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('force cancel after ready: BLOCK_JOB_CANCELLED', async () => {
    const { src, dst, h } = await setup();
    await h.ok('drive-mirror', mirrorArgs(dst));
    await h.waitEvent('BLOCK_JOB_READY');
    await h.ok('block-job-cancel', { device: DISK, force: true });
    await h.qemu.jobFinished(DISK);
    expect(h.trace().slice(-4)).toEqual(['aborting', 'BLOCK_JOB_CANCELLED', 'concluded', 'null']);
    expect(h.qemu.currentFile(DISK)).toBe(src);
  });

  test('pause/resume: offset is frozen while paused', async () => {
    const { src, dst, h } = await setup(16 * MiB, [[0, 16 * MiB, 3]]);
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 20 * MiB, 'buf-size': MiB }));
    await until(async () => ((await h.job())!.offset as number) > 0);
    await h.ok('block-job-pause', { device: DISK });
    // the job stops at its next pause point; operations already in flight still finish
    await until(async () => (await h.job())!.status === 'paused');
    let a = (await h.job())!;
    for (;;) {
      await sleep(40);
      const again = (await h.job())!;
      if (again.offset === a.offset) break;
      a = again;
    }
    expect(a).toMatchObject({ status: 'paused', paused: true, busy: false });
    await sleep(200);
    const b = (await h.job())!;
    expect(b.offset).toBe(a.offset);
    expect(b.offset as number).toBeLessThan(16 * MiB);
    await h.ok('block-job-resume', { device: DISK });
    expect((await h.job())!.status).toBe('running');
    await h.ok('block-job-set-speed', { device: DISK, speed: 0 });
    await completeJob(h);
    expect(h.trace()).toContain('paused');
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('pause after ready is standby; complete is refused until resumed', async () => {
    const { src, dst, h } = await setup();
    await h.ok('drive-mirror', mirrorArgs(dst));
    await h.waitEvent('BLOCK_JOB_READY');
    await h.ok('block-job-pause', { device: DISK });
    expect((await h.job())!.status).toBe('standby');
    const r = await h.cmd('block-job-complete', { device: DISK });
    expect(r).toMatchObject({ error: { desc: `Job '${DISK}' in state 'standby' cannot accept command verb 'complete'` } });
    await h.ok('block-job-resume', { device: DISK });
    await h.ok('block-job-complete', { device: DISK });
    await h.qemu.jobFinished(DISK);
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('small buffer: buf-size below the granularity is rounded up', async () => {
    const { src, dst, h } = await setup();
    await h.ok('drive-mirror', mirrorArgs(dst, { 'buf-size': 4096 }));
    await completeJob(h);
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('granularity 8192: READY is the first job event after running', async () => {
    const { src, dst, h } = await setup(8 * MiB, [[4096, 3 * MiB], [5 * MiB + 512, 100]]);
    await h.ok('drive-mirror', mirrorArgs(dst, { granularity: 8192 }));
    await completeJob(h);
    expect(h.trace().slice(0, 4)).toEqual(['created', 'running', 'ready', 'BLOCK_JOB_READY']);
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('zero-length disk: READY at once, complete pivots', async () => {
    const { src, dst, h } = await setup(0, []);
    await h.ok('drive-mirror', mirrorArgs(dst));
    const ready = await h.waitEvent('BLOCK_JOB_READY');
    expect(ready.data).toMatchObject({ len: 0, offset: 0 });
    await h.ok('block-job-complete', { device: DISK });
    await h.qemu.jobFinished(DISK);
    expect(h.qemu.currentFile(DISK)).toBe(dst);
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('unaligned-length disk: len is the exact size and the tail is copied', async () => {
    const size = 3 * MiB + 12345;
    const { src, dst, h } = await setup(size, [[0, 4096], [size - 7000, 7000]]);
    await h.ok('drive-mirror', mirrorArgs(dst));
    const ready = await h.waitEvent('BLOCK_JOB_READY');
    expect(ready.data).toMatchObject({ len: size, offset: size });
    await h.ok('block-job-complete', { device: DISK });
    await h.qemu.jobFinished(DISK);
    expect(sameBytes(src, dst)).toBe(true);
  });

  test('existing target full of garbage ends identical (and as sparse as the source)', async () => {
    const { src, dst, h } = await setup(16 * MiB);
    makeImage(dst, 16 * MiB, [[0, 16 * MiB, 0xaa]]);
    await h.ok('drive-mirror', mirrorArgs(dst));
    await completeJob(h);
    expect(sameBytes(src, dst)).toBe(true);
    expect(allocated(dst)).toBeLessThanOrEqual(allocated(src) + 64 * KiB);
  });

  test('set-speed is reflected in query-block-jobs; -1 is rejected', async () => {
    const { dst, h } = await setup();
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 1 }));
    expect((await h.job())!.speed).toBe(1);
    await h.ok('block-job-set-speed', { device: DISK, speed: 8 * MiB });
    expect((await h.job())!.speed).toBe(8 * MiB);
    const r = await h.cmd('block-job-set-speed', { device: DISK, speed: -1 });
    expect(r).toEqual({ error: { class: 'GenericError', desc: "Parameter 'speed' expects a non-negative value" } });
    expect((await h.job())!.speed).toBe(8 * MiB);
  });

  test('throttled job never becomes ready (speed 1 B/s: one buffer, then it sleeps)', async () => {
    const { dst, h } = await setup(64 * MiB, [[0, MiB, 1], [40 * MiB, MiB, 2]]);
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 1 }));
    await sleep(300);
    const j = (await h.job())!;
    expect(j).toMatchObject({ ready: false, status: 'running', busy: false, len: 64 * MiB, offset: 16 * MiB });
    expect(h.trace()).not.toContain('BLOCK_JOB_READY');
  });

  test('mode absolute-paths creates the target at the source size', async () => {
    const { src, h } = await setup();
    const fresh = path.join(dir, 'newfile.raw');
    await h.ok('drive-mirror', { device: DISK, target: fresh, speed: 0, sync: 'full' });
    await completeJob(h);
    expect(sameBytes(src, fresh)).toBe(true);
  });

  test('Mitaka QEMU accepts a larger target; the copy covers the source length', async () => {
    const { src, dst, h } = await setup();
    makeImage(dst, 32 * MiB, [[20 * MiB, MiB, 9]]);
    await h.ok('drive-mirror', mirrorArgs(dst));
    await completeJob(h);
    expect(fs.statSync(dst).size).toBe(32 * MiB);
    expect(fs.readFileSync(dst).subarray(0, 16 * MiB).equals(fs.readFileSync(src))).toBe(true);
    const [b] = (await h.ok('query-block')) as Array<Record<string, any>>;
    expect(b!.inserted.image['virtual-size']).toBe(32 * MiB);
  });
});

