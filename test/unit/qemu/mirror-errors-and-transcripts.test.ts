// drive-mirror I/O error policies (on-source-error / on-target-error, iotests 041's
// error cases) and the shapes of the QEMU 7.2 reference transcripts (spec 03).
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
  sha,
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

describe('I/O errors: on-source-error / on-target-error', () => {
  for (const op of ['read', 'write'] as const) {
    const param = op === 'read' ? 'on-source-error' : 'on-target-error';

    test(`${op} error, report: BLOCK_JOB_ERROR then BLOCK_JOB_COMPLETED with "Input/output error"`, async () => {
      const { src, h } = await setup();
      const dst = path.join(dir, 'dst.raw');
      h.qemu.injectIoError({ device: DISK, op, count: 1 });
      await h.ok('drive-mirror', mirrorArgs(dst, { [param]: 'report' }));
      await until(() => h.trace().includes('null'));
      expect(h.trace()).toEqual(['created', 'running', 'BLOCK_JOB_ERROR', 'aborting', 'BLOCK_JOB_COMPLETED', 'concluded', 'null']);
      expect(h.events[2]!.data).toEqual({ device: DISK, operation: op, action: 'report' });
      expect(h.events[4]!.data).toMatchObject({ error: 'Input/output error' });
      expect(h.qemu.currentFile(DISK)).toBe(src);
    });

    test(`${op} error, ignore: the range is retried and the copy completes`, async () => {
      const { src, dst, h } = await setup();
      h.qemu.injectIoError({ device: DISK, op, count: 3 });
      await h.ok('drive-mirror', mirrorArgs(dst, { [param]: 'ignore' }));
      await completeJob(h);
      const errors = h.events.filter((e) => e.event === 'BLOCK_JOB_ERROR');
      expect(errors).toHaveLength(3);
      expect(errors[0]!.data).toEqual({ device: DISK, operation: op, action: 'ignore' });
      expect(sameBytes(src, dst)).toBe(true);
    });

    test(`${op} error, stop: paused with io-status failed; resume retries`, async () => {
      const { src, dst, h } = await setup();
      h.qemu.injectIoError({ device: DISK, op, count: 1 });
      await h.ok('drive-mirror', mirrorArgs(dst, { [param]: 'stop' }));
      await h.waitEvent('BLOCK_JOB_ERROR');
      await until(async () => (await h.job())!.status === 'paused');
      expect(await h.job()).toMatchObject({ 'io-status': 'failed', paused: true });
      expect(h.trace().slice(0, 4)).toEqual(['created', 'running', 'BLOCK_JOB_ERROR', 'paused']);
      await sleep(50);
      expect((await h.job())!.ready).toBe(false);
      await h.ok('block-job-resume', { device: DISK });
      expect((await h.job())!['io-status']).toBe('ok');
      await completeJob(h);
      expect(sameBytes(src, dst)).toBe(true);
    });
  }
});

describe('QEMU 7.2 transcript shapes', () => {
  test('event order of a complete run (qemu-7.2-drive-mirror-transcript.log)', async () => {
    const { src, dst, h } = await setup(64 * MiB, [[0, MiB], [12 * MiB, MiB], [30 * MiB, MiB], [60 * MiB, MiB]]);
    const r = h.qemu.qmp({ execute: 'drive-mirror', arguments: mirrorArgs(dst), id: 'libvirt-11' });
    // the job's first two status changes are on the wire before the reply
    expect(h.trace()).toEqual(['created', 'running']);
    expect(await r).toEqual({ return: {}, id: 'libvirt-11' });
    const first = await h.job();
    expect(Object.keys(first!)).toEqual([
      'auto-finalize', 'io-status', 'device', 'auto-dismiss', 'busy', 'len', 'offset', 'status', 'paused', 'speed', 'ready', 'type',
    ]);
    expect(first).toMatchObject({ 'auto-finalize': true, 'io-status': 'ok', device: DISK, 'auto-dismiss': true, len: 64 * MiB, status: 'running', paused: false, speed: 0, ready: false, type: 'mirror' });
    const ready = await h.waitEvent('BLOCK_JOB_READY');
    expect(ready.data).toEqual({ device: DISK, len: 64 * MiB, offset: 64 * MiB, speed: 0, type: 'mirror' });
    expect(Object.keys(ready.data)).toEqual(['device', 'len', 'offset', 'speed', 'type']);
    expect(await h.job()).toMatchObject({ status: 'ready', ready: true, busy: false, offset: 64 * MiB, len: 64 * MiB });
    const c = await h.qemu.qmp({ execute: 'block-job-complete', arguments: { device: DISK }, id: 'libvirt-99' });
    expect(c).toEqual({ return: {}, id: 'libvirt-99' });
    expect(h.trace().at(-1)).toBe('BLOCK_JOB_READY'); // waiting comes after the reply
    await h.qemu.jobFinished(DISK);
    expect(h.trace()).toEqual(['created', 'running', 'ready', 'BLOCK_JOB_READY', 'waiting', 'pending', 'BLOCK_JOB_COMPLETED', 'concluded', 'null']);
    const done = h.events.find((e) => e.event === 'BLOCK_JOB_COMPLETED')!;
    expect(done.data).toEqual({ device: DISK, len: 64 * MiB, offset: 64 * MiB, speed: 0, type: 'mirror' });
    for (const e of h.events.filter((e) => e.event === 'JOB_STATUS_CHANGE')) expect(Object.keys(e.data)).toEqual(['status', 'id']);
    expect(sha(src)).toBe(sha(dst));
    expect(allocated(dst)).toBeLessThanOrEqual(allocated(src));
  });

  test('offset == len while ready is false: the window before READY is real (target flush)', async () => {
    const { dst, h } = await setup(32 * MiB, [[0, 24 * MiB]]);
    const samples: Array<{ offset: number; len: number; ready: boolean }> = [];
    let polling = true;
    const poll = () => {
      const s = h.qemu.jobSnapshot(DISK);
      if (s) samples.push(s);
      if (polling) setImmediate(poll);
    };
    await h.ok('drive-mirror', mirrorArgs(dst));
    poll();
    await h.waitEvent('BLOCK_JOB_READY');
    polling = false;
    expect(samples.some((s) => s.offset === s.len && !s.ready)).toBe(true);
    // offset only grows
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.offset).toBeGreaterThanOrEqual(samples[i - 1]!.offset);
    const snap = h.qemu.jobSnapshot(DISK)!;
    expect(snap).toMatchObject({ status: 'ready', ready: true, offset: 32 * MiB, len: 32 * MiB });
    expect(snap.bytesCopied).toBe(24 * MiB);
  });

  test('a 100 GiB sparse volume holding 10 MiB copies in well under 3 s without reading its holes', async () => {
    const GiB = 2 ** 30;
    const size = 100 * GiB;
    const { src, dst, h } = await setup(size, Array.from({ length: 10 }, (_, i) => [i * 10 * GiB + 5 * MiB, MiB] as [number, number]));
    const t0 = performance.now();
    await h.ok('drive-mirror', mirrorArgs(dst));
    await completeJob(h);
    expect(performance.now() - t0).toBeLessThan(3000);
    const snap = h.events.find((e) => e.event === 'BLOCK_JOB_COMPLETED')!.data;
    expect(snap).toMatchObject({ len: size, offset: size });
    // (a file whose extents are spread over 100 GiB may need one more extent-tree block)
    expect(allocated(dst)).toBeLessThanOrEqual(allocated(src) + 64 * KiB);
    // compare the data extents (reading 100 GiB of holes would take minutes)
    const a = fs.openSync(src, 'r');
    const b = fs.openSync(dst, 'r');
    const ba = Buffer.alloc(2 * MiB);
    const bb = Buffer.alloc(2 * MiB);
    for (let i = 0; i < 10; i++) {
      fs.readSync(a, ba, 0, ba.length, i * 10 * GiB + 4 * MiB);
      fs.readSync(b, bb, 0, bb.length, i * 10 * GiB + 4 * MiB);
      expect(ba.equals(bb)).toBe(true);
    }
    fs.closeSync(a);
    fs.closeSync(b);
  });
});
