// The QMP monitor: negotiation, reply shapes and every exact QEMU 7.2 error string of
// spec 03 (reference/qemu-7.2-mirror-errors-and-cancel.log).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { QemuProcess } from '../../../src/qemu/process.js';
import { DISK, MiB, type Harness, makeImage, mirrorArgs, startQemu, tempDir, until } from './helpers.js';

let dir: string;
let src: string;
let dst: string;
let h: Harness;

beforeEach(async () => {
  dir = tempDir();
  src = path.join(dir, 'src.raw');
  dst = path.join(dir, 'dst.raw');
  makeImage(src, 64 * MiB, [[0, 2 * MiB]]);
  makeImage(dst, 64 * MiB);
  h = await startQemu({ [DISK]: src });
});

afterEach(async () => {
  await h.qemu.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

const err = (r: unknown) => (r as { error: { class: string; desc: string } }).error;

describe('QMP monitor', () => {
  test('commands before qmp_capabilities are refused', async () => {
    const q = new QemuProcess({ name: 'x', drives: [] });
    expect(q.greeting()).toEqual({ QMP: { version: { qemu: { micro: 0, minor: 6, major: 2 }, package: expect.any(String) }, capabilities: ['oob'] } });
    expect(err(await q.qmp({ execute: 'query-block-jobs' }))).toEqual({
      class: 'CommandNotFound',
      desc: "Expecting capabilities negotiation with 'qmp_capabilities'",
    });
    expect(await q.qmp({ execute: 'qmp_capabilities' })).toEqual({ return: {} });
    await q.shutdown();
  });

  test('the id of a command is echoed after the return', async () => {
    const r = await h.qemu.qmp({ execute: 'query-block-jobs', id: 'libvirt-12' });
    expect(r).toEqual({ return: [], id: 'libvirt-12' });
    expect(Object.keys(r)).toEqual(['return', 'id']);
    const e = await h.qemu.qmp({ execute: 'block-job-complete', arguments: { device: DISK }, id: 'libvirt-99' });
    expect(e).toEqual({ error: { class: 'DeviceNotActive', desc: `Block job '${DISK}' not found` }, id: 'libvirt-99' });
  });

  test('query-version reports the profile: QEMU 2.6 by default, 7.2 with rejectSizeMismatch', async () => {
    expect(await h.ok('query-version')).toMatchObject({ qemu: { major: 2, minor: 6 } });
    const q = await startQemu({}, { rejectSizeMismatch: true });
    expect(await q.ok('query-version')).toEqual({ qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' });
    await q.qemu.shutdown();
  });

  test('query-block shows the device file, virtual-size and format', async () => {
    const [b] = (await h.ok('query-block')) as Array<Record<string, any>>;
    expect(b!.device).toBe(DISK);
    expect(b!.inserted.file).toBe(src);
    expect(b!.inserted.image).toMatchObject({ 'virtual-size': 64 * MiB, filename: src, format: 'raw' });
    expect(b!.inserted.image['actual-size']).toBeGreaterThanOrEqual(2 * MiB);
  });

  test('unknown command', async () => {
    expect(err(await h.cmd('frobnicate'))).toEqual({ class: 'CommandNotFound', desc: 'The command frobnicate has not been found' });
  });
});

describe('drive-mirror argument and state errors (QEMU 7.2 strings)', () => {
  test("nonexistent device: Cannot find device='…' nor node-name='…'", async () => {
    const r = await h.cmd('drive-mirror', { ...mirrorArgs(dst), device: 'drive-virtio-disk9' });
    expect(err(r)).toEqual({ class: 'GenericError', desc: "Cannot find device='drive-virtio-disk9' nor node-name='drive-virtio-disk9'" });
    expect(h.events).toEqual([]);
  });

  test("missing target with mode existing: Could not open '…': No such file or directory", async () => {
    const missing = path.join(dir, 'does-not-exist.raw');
    expect(err(await h.cmd('drive-mirror', mirrorArgs(missing))).desc).toBe(`Could not open '${missing}': No such file or directory`);
    const { format: _f, ...noFormat } = mirrorArgs(missing);
    expect(err(await h.cmd('drive-mirror', noFormat)).desc).toBe(`Could not open '${missing}': No such file or directory`);
  });

  test("missing sync: Parameter 'sync' is missing", async () => {
    const { sync: _s, ...args } = mirrorArgs(dst);
    expect(err(await h.cmd('drive-mirror', args))).toEqual({ class: 'GenericError', desc: "Parameter 'sync' is missing" });
  });

  test('bad argument types and enum values are rejected by the QAPI visitor', async () => {
    expect(err(await h.cmd('drive-mirror', mirrorArgs(dst, { sync: 'most' }))).desc).toBe("Parameter 'sync' does not accept value 'most'");
    expect(err(await h.cmd('drive-mirror', mirrorArgs(dst, { speed: '1' }))).desc).toBe("Invalid parameter type for 'speed', expected: integer");
    expect(err(await h.cmd('drive-mirror', mirrorArgs(dst, { bogus: 1 }))).desc).toBe("Parameter 'bogus' is unexpected");
  });

  test('negative speed: the job is created, then dropped (created, null)', async () => {
    const r = await h.cmd('drive-mirror', mirrorArgs(dst, { speed: -1 }));
    expect(err(r)).toEqual({ class: 'GenericError', desc: "Parameter 'speed' expects a non-negative value" });
    expect(h.trace()).toEqual(['created', 'null']);
    expect(await h.ok('query-block-jobs')).toEqual([]);
  });

  test('granularity must be a power of 2 within [512B, 64MB]', async () => {
    expect(err(await h.cmd('drive-mirror', mirrorArgs(dst, { granularity: 1000 }))).desc).toBe("Parameter 'granularity' expects a power of 2");
    expect(err(await h.cmd('drive-mirror', mirrorArgs(dst, { granularity: 256 }))).desc).toBe(
      "Parameter 'granularity' expects a value in range [512B, 64MB]",
    );
    expect(err(await h.cmd('drive-mirror', mirrorArgs(dst, { granularity: 128 * MiB }))).desc).toBe(
      "Parameter 'granularity' expects a value in range [512B, 64MB]",
    );
    expect(h.events).toEqual([]);
  });

  test("no job: complete / cancel / set-speed give DeviceNotActive Block job '…' not found", async () => {
    for (const c of ['block-job-complete', 'block-job-cancel', 'block-job-pause', 'block-job-resume']) {
      expect(err(await h.cmd(c, { device: DISK }))).toEqual({ class: 'DeviceNotActive', desc: `Block job '${DISK}' not found` });
    }
    expect(err(await h.cmd('block-job-set-speed', { device: DISK, speed: 0 }))).toEqual({
      class: 'DeviceNotActive',
      desc: `Block job '${DISK}' not found`,
    });
  });

  test('a second mirror of one device: Need a root block node; state verbs refused while running', async () => {
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 1 }));
    const other = path.join(dir, 'other.raw');
    makeImage(other, 64 * MiB);
    expect(err(await h.cmd('drive-mirror', mirrorArgs(other))).desc).toBe('Need a root block node');
    expect(err(await h.cmd('block-job-complete', { device: DISK })).desc).toBe(
      `Job '${DISK}' in state 'running' cannot accept command verb 'complete'`,
    );
    expect(err(await h.cmd('block-job-set-speed', { device: DISK, speed: -5 })).desc).toBe("Parameter 'speed' expects a non-negative value");
    expect(err(await h.cmd('block-job-resume', { device: DISK })).desc).toBe("Can't resume a job that was not paused");
    await h.ok('block-job-pause', { device: DISK });
    expect(err(await h.cmd('block-job-pause', { device: DISK })).desc).toBe('Job is already paused');
    expect(err(await h.cmd('block-job-cancel', { device: DISK })).desc).toBe(`The block job for device '${DISK}' is currently paused`);
    expect(err(await h.cmd('block_resize', { device: DISK, size: 128 * MiB })).desc).toBe(`Device '${DISK}' is in use`);
    await h.ok('block-job-cancel', { device: DISK, force: true });
    await h.qemu.jobFinished(DISK);
  });

  test('image locking: a target in use by another job, or the running source itself', async () => {
    const src2 = path.join(dir, 'src2.raw');
    makeImage(src2, 64 * MiB);
    const h2 = await startQemu({ [DISK]: src, 'drive-virtio-disk1': src2 }).catch((e: Error) => e);
    // the same image cannot back two QEMU processes
    expect(h2).toBeInstanceOf(Error);
    expect((h2 as Error).message).toContain('Failed to get "write" lock');
    await h.qemu.shutdown();

    h = await startQemu({ [DISK]: src, 'drive-virtio-disk1': src2 });
    await h.ok('drive-mirror', mirrorArgs(dst, { speed: 1 }));
    const r = await h.cmd('drive-mirror', { ...mirrorArgs(dst), device: 'drive-virtio-disk1' });
    expect(err(r).desc).toBe('Failed to get "write" lock');
    await h.ok('block-job-cancel', { device: DISK, force: true });
    await h.qemu.jobFinished(DISK);
    h.events.length = 0;
    const self = await h.cmd('drive-mirror', mirrorArgs(src));
    expect(err(self).desc).toBe('Failed to get shared "consistent read" lock');
    expect(h.trace()).toEqual(['created', 'null']);
    // nothing was truncated
    expect(fs.statSync(src).blocks).toBeGreaterThan(0);
  });

  test('block_resize grows the device; negative sizes and unknown devices are refused', async () => {
    await h.ok('block_resize', { device: DISK, size: 128 * MiB });
    const [b] = (await h.ok('query-block')) as Array<Record<string, any>>;
    expect(b!.inserted.image['virtual-size']).toBe(128 * MiB);
    expect(fs.statSync(src).size).toBe(128 * MiB);
    expect(err(await h.cmd('block_resize', { device: DISK, size: -1 })).desc).toBe("Parameter 'size' expects a >0 size");
    expect(err(await h.cmd('block_resize', { device: 'nope', size: 1 })).desc).toBe("Cannot find device='nope' nor node-name=''");
  });

  test('target size differs (QEMU >= 5): the job fails with len 0, offset 0', async () => {
    await h.qemu.shutdown();
    h = await startQemu({ [DISK]: src }, { rejectSizeMismatch: true });
    for (const size of [32 * MiB, 128 * MiB]) {
      const t = path.join(dir, `t${size}.raw`);
      makeImage(t, size);
      h.events.length = 0;
      await h.ok('drive-mirror', mirrorArgs(t));
      await until(() => h.trace().includes('null'));
      expect(h.trace()).toEqual(['created', 'running', 'aborting', 'BLOCK_JOB_COMPLETED', 'concluded', 'null']);
      expect(h.events[3]!.data).toEqual({
        device: DISK,
        len: 0,
        offset: 0,
        speed: 0,
        type: 'mirror',
        error: 'Source and target image have different sizes',
      });
      expect(h.qemu.currentFile(DISK)).toBe(src);
    }
  });
});
