// The seeded guest workload (src/qemu/guest-workload.ts) and its replay: write i is a pure
// function of (seed, segment, i); the replay finds every write, and fails on any loss.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GuestWorkload, describeSector, planWrite, specProblem, verifyImage, writeData, type WorkloadSpec } from '../../../src/qemu/guest-workload.js';
import { QemuProcess } from '../../../src/qemu/process.js';
import { validateState } from '../../../src/state/validate.js';

const MiB = 1 << 20;
const DISK = 'drive-virtio-disk0';
const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({ seed: 7, rate: 50 * MiB, blockSizes: [4096, 16384, 65536], region: { offset: 0, length: 8 * MiB }, limit: null, ...over });

let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

function image(size: number): string {
  dir = mkdtempSync(join(tmpdir(), 'novasim-gw-'));
  const p = join(dir, 'disk.raw');
  closeSync(openSync(p, 'w'));
  truncateSync(p, size);
  return p;
}

describe('the write plan', () => {
  it('is a pure function of (seed, segment, index): aligned, inside the region, sizes from the list', () => {
    const s = spec({ region: { offset: MiB, length: 4 * MiB } });
    for (let i = 0; i < 500; i++) {
      const w = planWrite(s, 0, i);
      expect(w).toEqual(planWrite(s, 0, i));
      expect(w.offset % 4096).toBe(0);
      expect(w.offset).toBeGreaterThanOrEqual(MiB);
      expect(w.offset + w.size).toBeLessThanOrEqual(5 * MiB);
      expect(s.blockSizes).toContain(w.size);
    }
    expect(writeData(s, 0, 3).equals(writeData(s, 0, 3))).toBe(true);
    expect(writeData(s, 0, 3).equals(writeData(spec({ seed: 8, region: s.region }), 0, 3))).toBe(false);
  });

  it('every sector says which write it is', () => {
    const s = spec();
    const w = planWrite(s, 2, 41);
    const data = writeData(s, 2, 41, w);
    expect(describeSector(data.subarray(512, 1024))).toEqual({ seed: 7, segment: 2, index: 41, offset: w.offset + 512 });
    expect(describeSector(Buffer.alloc(512))).toBeNull();
  });

  it('rejects bad settings in words', () => {
    expect(specProblem(spec({ blockSizes: [1000] }))).toBe('block size 1000 is not a positive multiple of 4096');
    expect(specProblem(spec({ rate: 0 }))).toBe('the rate must be positive');
    expect(specProblem(spec({ region: { offset: 0, length: 4096 } }))).toBe('the largest block size does not fit in the region');
  });
});

describe('a workload through the QEMU guest path, and its replay', () => {
  it('writes in plan order at its rate, stops at its budget, and the replay finds every write', async () => {
    const p = image(8 * MiB);
    const qemu = new QemuProcess({ name: 'gw', drives: [{ id: DISK, file: p, format: 'raw' }] });
    const s = spec({ limit: 200 });
    const wl = new GuestWorkload({ spec: s, segment: 0, startIndex: 0, write: (o, d) => qemu.guestWrite(DISK, o, d) });
    wl.start();
    await wl.finished;
    expect(wl.writes).toBe(200);
    await qemu.shutdown();
    const r = verifyImage(p, [{ ...s, writes: 200 }]);
    expect(r).toMatchObject({ ok: true, writes: 200 });
  });

  it('a lost write is named: the block holds an older write (or zeroes) instead of the last one', async () => {
    const p = image(8 * MiB);
    const qemu = new QemuProcess({ name: 'gw', drives: [{ id: DISK, file: p, format: 'raw' }] });
    const s = spec();
    // land writes 0..99, then claim 101 landed: write 100 is "lost"
    for (let i = 0; i < 100; i++) {
      const w = planWrite(s, 0, i);
      await qemu.guestWrite(DISK, w.offset, writeData(s, 0, i, w));
    }
    await qemu.shutdown();
    const r = verifyImage(p, [{ ...s, writes: 101 }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lost = planWrite(s, 0, 100);
    expect(r.offset).toBeGreaterThanOrEqual(lost.offset);
    expect(r.offset).toBeLessThan(lost.offset + lost.size);
    expect(r.expected).toEqual({ segment: 0, index: 100, seed: 7 });
    expect(r.found === 'zeroes' || (typeof r.found === 'object' && r.found.index < 100)).toBe(true);
  });

  it('one corrupted byte is found at its offset', async () => {
    const p = image(8 * MiB);
    const qemu = new QemuProcess({ name: 'gw', drives: [{ id: DISK, file: p, format: 'raw' }] });
    const s = spec();
    for (let i = 0; i < 50; i++) {
      const w = planWrite(s, 0, i);
      await qemu.guestWrite(DISK, w.offset, writeData(s, 0, i, w));
    }
    await qemu.shutdown();
    const w = planWrite(s, 0, 49);
    const fd = openSync(p, 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, w.offset + 777);
    closeSync(fd);
    expect(verifyImage(p, [{ ...s, writes: 50 }])).toMatchObject({ ok: false, offset: w.offset + 777, expected: { index: 49 } });
  });
});

describe('the state file keeps reading old files', () => {
  it('a state without guestLoads is valid; a malformed one is refused with the path of the bad field', async () => {
    const { initWorld } = await import('../../../src/novasim/world.js');
    dir = mkdtempSync(join(tmpdir(), 'novasim-gw-'));
    const path = join(dir, 'state.json');
    await initWorld(path, 'empty', false);
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    expect(doc.guestLoads).toBeUndefined();
    expect(validateState(doc)).toBeNull();
    doc.guestLoads = [{ server: 'x', disk: 'vdb', active: true, runnerPid: null, segments: [{ seed: 1, rate: 1, blockSizes: [4096], region: { offset: 0, length: 4096 }, limit: null, writes: 'many' }] }];
    expect(validateState(doc)).toBe('state.guestLoads[0].segments[0].writes must be an integer');
  });
});
