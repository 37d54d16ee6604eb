// util/hbitmap.c semantics the mirror relies on.
import { describe, expect, test } from 'vitest';
import { DirtyBitmap } from '../../../src/qemu/dirty-bitmap.js';

describe('DirtyBitmap (BdrvDirtyBitmap)', () => {
  test('set marks every granularity chunk the byte range touches', () => {
    const b = new DirtyBitmap(1 << 20, 65536);
    b.set(65535, 2);
    expect(b.count).toBe(2);
    expect(b.get(0)).toBe(true);
    expect(b.get(65536)).toBe(true);
    expect(b.get(131072)).toBe(false);
    expect(b.dirtyBytes).toBe(131072);
  });

  test('dirty count of an unaligned disk is exact in bytes', () => {
    const b = new DirtyBitmap(65536 * 3 + 100, 65536);
    b.setAll();
    expect(b.count).toBe(4);
    expect(b.dirtyBytes).toBe(65536 * 3 + 100);
  });

  test('nextDirty / nextClean walk runs across word boundaries', () => {
    const b = new DirtyBitmap(4096 * 200, 4096);
    b.set(4096 * 31, 4096 * 40);
    expect(b.nextDirty(0)).toBe(4096 * 31);
    expect(b.nextClean(4096 * 31)).toBe(4096 * 71);
    expect(b.nextDirty(4096 * 71)).toBe(-1);
    b.reset(4096 * 40, 4096);
    expect(b.nextClean(4096 * 31)).toBe(4096 * 40);
    expect(b.count).toBe(39);
    expect(b.allSet(4096 * 31, 4096 * 9)).toBe(true);
    expect(b.allSet(4096 * 31, 4096 * 10)).toBe(false);
    expect(b.anySet(4096 * 100, 4096 * 100)).toBe(false);
  });

  test('a 100 GiB disk at 64 KiB costs a 200 KB bitset', () => {
    const b = new DirtyBitmap(100 * 2 ** 30, 65536);
    b.setAll();
    expect(b.count).toBe(1638400);
    b.reset(0, 100 * 2 ** 30 - 65536);
    expect(b.nextDirty(0)).toBe(100 * 2 ** 30 - 65536);
  });
});
