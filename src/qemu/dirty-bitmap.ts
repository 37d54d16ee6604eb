// BdrvDirtyBitmap over an HBitmap (util/hbitmap.c): one bit per `granularity` bytes of the
// disk, kept as a flat bitset. A 100 GiB disk at 64 KiB is 1.6 M bits = 200 KB, so the
// memory a job needs does not depend on how much of the disk holds data.

const WORD = 32;

export class DirtyBitmap {
  readonly granularity: number;
  private length: number;
  private nbits: number;
  private words: Uint32Array;
  private setCount = 0;

  constructor(lengthBytes: number, granularity: number) {
    if (granularity <= 0 || (granularity & (granularity - 1)) !== 0) throw new RangeError('granularity must be a power of 2');
    this.granularity = granularity;
    this.length = lengthBytes;
    this.nbits = Math.ceil(lengthBytes / granularity);
    this.words = new Uint32Array(Math.ceil(this.nbits / WORD) || 1);
  }

  /** bytes covered */
  get size(): number {
    return this.length;
  }

  /** number of set bits (hbitmap_count) */
  get count(): number {
    return this.setCount;
  }

  /** bdrv_get_dirty_count, but exact for a disk whose length is not a multiple of the granularity */
  get dirtyBytes(): number {
    if (this.setCount === 0) return 0;
    let bytes = this.setCount * this.granularity;
    const last = this.nbits - 1;
    if (this.testBit(last)) bytes -= this.nbits * this.granularity - this.length;
    return bytes;
  }

  private testBit(bit: number): boolean {
    return (this.words[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** bit range [first, end) covering byte range [offset, offset+bytes) */
  private bits(offset: number, bytes: number): [number, number] {
    const first = Math.floor(Math.max(0, offset) / this.granularity);
    const end = Math.min(this.nbits, Math.ceil(Math.min(this.length, offset + bytes) / this.granularity));
    return [first, end];
  }

  /** is the chunk holding `offset` dirty (bdrv_dirty_bitmap_get) */
  get(offset: number): boolean {
    if (offset < 0 || offset >= this.length) return false;
    return this.testBit(Math.floor(offset / this.granularity));
  }

  /** bdrv_set_dirty_bitmap: every chunk touched by the byte range becomes dirty */
  set(offset: number, bytes: number): void {
    const [first, end] = this.bits(offset, bytes);
    this.fill(first, end, true);
  }

  /** bdrv_reset_dirty_bitmap */
  reset(offset: number, bytes: number): void {
    const [first, end] = this.bits(offset, bytes);
    this.fill(first, end, false);
  }

  setAll(): void {
    this.fill(0, this.nbits, true);
  }

  clear(): void {
    this.words.fill(0);
    this.setCount = 0;
  }

  /** true when every chunk of the range is set */
  allSet(offset: number, bytes: number): boolean {
    const [first, end] = this.bits(offset, bytes);
    if (first >= end) return true;
    return this.nextClearBit(first, end) === -1;
  }

  /** true when any chunk of the range is set */
  anySet(offset: number, bytes: number): boolean {
    const [first, end] = this.bits(offset, bytes);
    if (first >= end) return false;
    const b = this.nextSetBit(first, end);
    return b !== -1;
  }

  /** bdrv_dirty_iter_next: byte offset of the first dirty chunk at or after `offset`, or -1 */
  nextDirty(offset: number, limit = this.length): number {
    const first = Math.floor(Math.max(0, offset) / this.granularity);
    const end = Math.min(this.nbits, Math.ceil(limit / this.granularity));
    const b = this.nextSetBit(first, end);
    return b === -1 ? -1 : b * this.granularity;
  }

  /** byte offset of the first clean chunk at or after `offset` (or `limit` when none) */
  nextClean(offset: number, limit = this.length): number {
    const first = Math.floor(Math.max(0, offset) / this.granularity);
    const end = Math.min(this.nbits, Math.ceil(limit / this.granularity));
    const b = this.nextClearBit(first, end);
    return b === -1 ? Math.min(limit, end * this.granularity) : b * this.granularity;
  }

  private nextSetBit(first: number, end: number): number {
    if (first >= end) return -1;
    let w = first >>> 5;
    let word = this.words[w]! & (~0 << (first & 31));
    const lastWord = (end - 1) >>> 5;
    for (;;) {
      if (word !== 0) {
        const bit = (w << 5) + (31 - Math.clz32(word & -word));
        return bit < end ? bit : -1;
      }
      if (++w > lastWord) return -1;
      word = this.words[w]!;
    }
  }

  private nextClearBit(first: number, end: number): number {
    if (first >= end) return -1;
    let w = first >>> 5;
    let word = ~this.words[w]! & (~0 << (first & 31));
    const lastWord = (end - 1) >>> 5;
    for (;;) {
      if (word !== 0) {
        const bit = (w << 5) + (31 - Math.clz32(word & -word));
        return bit < end ? bit : -1;
      }
      if (++w > lastWord) return -1;
      word = ~this.words[w]!;
    }
  }

  private fill(first: number, end: number, value: boolean): void {
    for (let bit = first; bit < end; ) {
      const w = bit >>> 5;
      const lo = bit & 31;
      const hi = Math.min(32, lo + (end - bit));
      const mask = hi - lo === 32 ? 0xffffffff : (((1 << (hi - lo)) - 1) << lo) >>> 0;
      const old = this.words[w]!;
      const next = value ? (old | mask) >>> 0 : (old & ~mask) >>> 0;
      if (next !== old) {
        this.setCount += popcount(next) - popcount(old);
        this.words[w] = next;
      }
      bit += hi - lo;
    }
  }
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
