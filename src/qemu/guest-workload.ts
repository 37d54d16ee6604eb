// A guest that writes to its disk: a seeded, replayable workload. Write i of a plan is a
// pure function of (seed, segment, i) — where it lands, how long it is and every byte of
// it — so the image a disk must hold can be computed again from the settings and the
// number of writes that landed. Every 512-byte sector of a write says which write it
// belongs to, so a check can name what it found where the expected write is missing.
//
// The workload writes through the QEMU process's guest path (QemuProcess.guestWrite),
// one request at a time: a block job's dirty bitmap sees every write, and writes land in
// issue order (so the last write covering a block is the one that must be there).
import fs from 'node:fs';

export const GUEST_BLOCK = 4096;
const SECTOR = 512;
/** "NSGW" little-endian: a sector written by this workload */
const MAGIC = 0x5747534e;
const HEADER_WORDS = 6;

/** The settings of one segment of a workload (src/state GuestLoadSegment). */
export interface WorkloadSpec {
  seed: number;
  /** bytes per second */
  rate: number;
  blockSizes: number[];
  region: { offset: number; length: number };
  /** stop after this many writes of the segment (null: write until stopped) */
  limit: number | null;
}

export interface PlannedWrite {
  offset: number;
  size: number;
}

/** murmur3's finaliser: a good 32-bit mix */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash(a: number, b: number, c: number, d: number): number {
  let h = mix((a ^ 0x9e3779b9) >>> 0);
  h = mix((h ^ b) >>> 0);
  h = mix((h ^ Math.imul(c, 0x27d4eb2d)) >>> 0);
  return mix((h ^ d) >>> 0);
}

/** Checks a spec; returns the problem in words, or null. */
export function specProblem(spec: WorkloadSpec): string | null {
  if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff) return 'the seed must be an integer in [0, 4294967295]';
  if (!(spec.rate > 0)) return 'the rate must be positive';
  if (spec.blockSizes.length === 0) return 'at least one block size is needed';
  for (const s of spec.blockSizes) {
    if (!Number.isInteger(s) || s <= 0 || s % GUEST_BLOCK !== 0) return `block size ${s} is not a positive multiple of 4096`;
    if (s > 4 << 20) return `block size ${s} is larger than 4 MiB`;
  }
  const { offset, length } = spec.region;
  if (offset % GUEST_BLOCK !== 0 || length % GUEST_BLOCK !== 0 || offset < 0 || length <= 0) {
    return 'the region must be 4096-aligned and not empty';
  }
  if (spec.blockSizes.reduce((m, b) => Math.max(m, b), 0) > length) return 'the largest block size does not fit in the region';
  if (spec.limit !== null && (!Number.isInteger(spec.limit) || spec.limit < 0)) return 'the write count must be a non-negative integer';
  return null;
}

/** Where write `index` of segment `segment` lands and how long it is. */
export function planWrite(spec: WorkloadSpec, segment: number, index: number): PlannedWrite {
  const size = spec.blockSizes[hash(spec.seed, segment, index, 1) % spec.blockSizes.length];
  const slots = Math.floor((spec.region.length - size) / GUEST_BLOCK) + 1;
  // 53 bits of choice: enough for any region
  const r = (hash(spec.seed, segment, index, 2) % 0x200000) * 0x100000000 + hash(spec.seed, segment, index, 3);
  return { offset: spec.region.offset + GUEST_BLOCK * (r % slots), size };
}

/** Fills `out` (a multiple of 512 long) with sectors `firstSector`… of write `index`. */
export function fillSectors(out: Buffer, spec: WorkloadSpec, segment: number, index: number, write: PlannedWrite, firstSector: number): void {
  const sectors = out.length / SECTOR;
  for (let s = 0; s < sectors; s++) {
    const sector = firstSector + s;
    const base = s * SECTOR;
    const at = write.offset + sector * SECTOR;
    out.writeUInt32LE(MAGIC, base);
    out.writeUInt32LE(spec.seed >>> 0, base + 4);
    out.writeUInt32LE(segment >>> 0, base + 8);
    out.writeUInt32LE(index >>> 0, base + 12);
    out.writeUInt32LE(at % 0x100000000, base + 16);
    out.writeUInt32LE(Math.floor(at / 0x100000000), base + 20);
    // xorshift32 from the sector's own seed: any sector can be computed on its own
    let x = hash(spec.seed, segment, index, sector + 16) || 1;
    for (let p = base + HEADER_WORDS * 4; p < base + SECTOR; p += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out.writeUInt32LE(x >>> 0, p);
    }
  }
}

/** The bytes of write `index` */
export function writeData(spec: WorkloadSpec, segment: number, index: number, write = planWrite(spec, segment, index)): Buffer {
  const buf = Buffer.alloc(write.size);
  fillSectors(buf, spec, segment, index, write, 0);
  return buf;
}

/** What a sector says about itself: the write it belongs to, or null if it is not one */
export function describeSector(sector: Buffer): { seed: number; segment: number; index: number; offset: number } | null {
  if (sector.length < HEADER_WORDS * 4 || sector.readUInt32LE(0) !== MAGIC) return null;
  return {
    seed: sector.readUInt32LE(4),
    segment: sector.readUInt32LE(8),
    index: sector.readUInt32LE(12),
    offset: sector.readUInt32LE(16) + sector.readUInt32LE(20) * 0x100000000,
  };
}

export interface GuestWorkloadOptions {
  spec: WorkloadSpec;
  /** the segment's number (part of every write's identity) */
  segment: number;
  /** writes of the segment that already landed: the workload goes on from there */
  startIndex: number;
  /** the guest's write path (QemuProcess.guestWrite bound to the drive) */
  write: (offset: number, data: Buffer) => Promise<void>;
  /** called after every landed write */
  onWrite?: (writes: number) => void;
}

/**
 * The guest's writer: writes in plan order, one at a time, paced to the spec's rate
 * (bytes per second since the start of this run). A write that fails (the drive went
 * away) stops the workload and is not counted.
 */
export class GuestWorkload {
  private next: number;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wakeSleep: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private bytes = 0;
  private t0 = 0;
  error: Error | null = null;

  constructor(private readonly opts: GuestWorkloadOptions) {
    this.next = opts.startIndex;
  }

  /** writes of the segment that have landed */
  get writes(): number {
    return this.next;
  }

  /** the segment's write budget is used up */
  get done(): boolean {
    return this.opts.spec.limit !== null && this.next >= this.opts.spec.limit;
  }

  start(): void {
    if (this.loop) return;
    this.t0 = performance.now();
    this.loop = this.run();
  }

  /** resolves when the workload has ended (stopped, failed or its budget used up) */
  get finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** stop issuing writes; resolves once the write in flight (if any) has landed */
  async stop(): Promise<number> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeSleep?.();
    await this.loop;
    return this.next;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async run(): Promise<void> {
    const { spec, segment } = this.opts;
    while (!this.stopped && !this.done) {
      const due = this.t0 + (this.bytes * 1000) / spec.rate;
      const wait = due - performance.now();
      if (wait >= 1) {
        await this.sleep(wait);
        continue;
      }
      const w = planWrite(spec, segment, this.next);
      try {
        await this.opts.write(w.offset, writeData(spec, segment, this.next, w));
      } catch (e) {
        this.error = e as Error;
        break;
      }
      this.next++;
      this.bytes += w.size;
      this.opts.onWrite?.(this.next);
    }
  }
}

export interface VerifySegment extends WorkloadSpec {
  writes: number;
}

export type VerifyResult =
  | { ok: true; writes: number; bytes: number; blocks: number }
  | {
      ok: false;
      writes: number;
      /** the first byte of the image that differs from the replay */
      offset: number;
      expected: { segment: number; index: number; seed: number };
      /** what the differing sector holds */
      found: { segment: number; index: number; seed: number } | 'zeroes' | 'other data' | 'end of image';
    };

/**
 * Replays the segments (every write that landed, in order) and compares every block a
 * write covered with the image: the block must hold the last write that covered it.
 */
export function verifyImage(path: string, segments: VerifySegment[]): VerifyResult {
  // block number → the last write covering it, as (segment, index)
  const lastSeg = new Map<number, number>();
  const lastIdx = new Map<number, number>();
  let writes = 0;
  let bytes = 0;
  segments.forEach((seg, s) => {
    for (let i = 0; i < seg.writes; i++) {
      const w = planWrite(seg, s, i);
      for (let b = w.offset / GUEST_BLOCK; b < (w.offset + w.size) / GUEST_BLOCK; b++) {
        lastSeg.set(b, s);
        lastIdx.set(b, i);
      }
      writes++;
      bytes += w.size;
    }
  });
  const blocks = [...lastSeg.keys()].sort((a, b) => a - b);
  const fd = fs.openSync(path, 'r');
  const size = fs.fstatSync(fd).size;
  const RUN = 256; // blocks read at once (1 MiB)
  const got = Buffer.alloc(RUN * GUEST_BLOCK);
  const want = Buffer.alloc(GUEST_BLOCK);
  try {
    for (let k = 0; k < blocks.length; ) {
      // a run of consecutive written blocks, read with one pread
      let n = 1;
      while (k + n < blocks.length && n < RUN && blocks[k + n] === blocks[k] + n) n++;
      const start = blocks[k] * GUEST_BLOCK;
      const read = fs.readSync(fd, got, 0, n * GUEST_BLOCK, start);
      for (let j = 0; j < n; j++) {
        const b = blocks[k + j];
        const s = lastSeg.get(b)!;
        const i = lastIdx.get(b)!;
        const seg = segments[s];
        const w = planWrite(seg, s, i);
        fillSectors(want, seg, s, i, w, (b * GUEST_BLOCK - w.offset) / SECTOR);
        const at = j * GUEST_BLOCK;
        const avail = Math.max(0, Math.min(GUEST_BLOCK, read - at));
        const same = avail === GUEST_BLOCK && got.compare(want, 0, GUEST_BLOCK, at, at + GUEST_BLOCK) === 0;
        if (same) continue;
        let d = 0;
        while (d < avail && got[at + d] === want[d]) d++;
        const offset = b * GUEST_BLOCK + d;
        let found: Extract<VerifyResult, { ok: false }>['found'];
        if (offset >= size || d >= avail) {
          found = 'end of image';
        } else {
          const secAt = at + d - (d % SECTOR);
          const sector = got.subarray(secAt, secAt + SECTOR);
          const desc = intactSector(sector, segments);
          found = desc ? { segment: desc.segment, index: desc.index, seed: desc.seed } : sector.every((x) => x === 0) ? 'zeroes' : 'other data';
        }
        return { ok: false, writes, offset, expected: { segment: s, index: i, seed: seg.seed }, found };
      }
      k += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { ok: true, writes, bytes, blocks: blocks.length };
}

/** the write a sector holds, if the whole sector is exactly that write's (not a damaged one) */
function intactSector(sector: Buffer, segments: VerifySegment[]): ReturnType<typeof describeSector> {
  const desc = describeSector(sector);
  const seg = desc ? segments[desc.segment] : undefined;
  if (!desc || !seg || seg.seed !== desc.seed) return null;
  const w = planWrite(seg, desc.segment, desc.index);
  const rel = desc.offset - w.offset;
  if (rel < 0 || rel >= w.size || rel % SECTOR !== 0) return null;
  const want = Buffer.alloc(SECTOR);
  fillSectors(want, seg, desc.segment, desc.index, w, rel / SECTOR);
  return want.equals(sector) ? desc : null;
}
