// One default world (nova-sim init) that fuzz cases run against, put back as it was before
// each case. Creating a world costs ~150 ms (26 MiB of image data), so it is made once; a
// case that changed something (a successful command) gets only the files it touched
// restored from a pristine copy: the state file, and any image added, removed or written.
// The world stays at one path, since the state names its images by absolute path.
import { closeSync, ftruncateSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { initWorld } from '../../../src/novasim/world.js';

const require = createRequire(import.meta.url);
type SeekFn = (fd: number, offset: number, whence: number) => number;
let seekSync: SeekFn | null = null;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/** Copies a file keeping its holes (a 1 GiB volume holds a few MiB of data). */
export function sparseCopy(from: string, to: string): void {
  seekSync ??= (require('fs-ext') as { seekSync: SeekFn }).seekSync;
  const size = lstatSync(from).size;
  mkdirSync(dirname(to), { recursive: true });
  const src = openSync(from, 'r');
  const dst = openSync(to, 'w');
  const buf = Buffer.alloc(1 << 20);
  try {
    ftruncateSync(dst, size);
    for (let pos = 0; pos < size; ) {
      let d: number;
      try {
        d = seekSync(src, pos, SEEK_DATA);
      } catch {
        break; // ENXIO: only a hole follows
      }
      if (d >= size) break;
      const h = Math.min(size, seekSync(src, d, SEEK_HOLE));
      for (let off = d; off < h; ) {
        const n = readSync(src, buf, 0, Math.min(buf.length, h - off), off);
        if (n <= 0) break;
        writeSync(dst, buf, 0, n, off);
        off += n;
      }
      pos = h;
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/** [start, end) data extents of an open file (SEEK_DATA / SEEK_HOLE) */
function extents(fd: number, size: number): Array<[number, number]> {
  seekSync ??= (require('fs-ext') as { seekSync: SeekFn }).seekSync;
  const out: Array<[number, number]> = [];
  for (let pos = 0; pos < size; ) {
    let d: number;
    try {
      d = seekSync(fd, pos, SEEK_DATA);
    } catch {
      break;
    }
    if (d >= size) break;
    const h = Math.min(size, seekSync(fd, d, SEEK_HOLE));
    out.push([d, h]);
    pos = h;
  }
  return out;
}

/** how many bytes of `a` differ in `b` (a missing file: all of a's data; holes read as zeroes) */
export function differingBytes(a: string, b: string): number {
  let fa: number;
  try {
    fa = openSync(a, 'r');
  } catch {
    return 0;
  }
  let fb: number | null = null;
  try {
    const sa = lstatSync(a).size;
    const ea = extents(fa, sa);
    try {
      fb = openSync(b, 'r');
    } catch {
      return ea.reduce((n, [s, e]) => n + e - s, 0);
    }
    const sb = lstatSync(b).size;
    const all = [...ea, ...extents(fb, sb)].sort((x, y) => x[0] - y[0]);
    const merged: Array<[number, number]> = [];
    for (const [s, e] of all) {
      const last = merged.at(-1);
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    let diff = Math.max(0, sa - sb);
    for (const [s, e] of merged) {
      for (let off = s; off < Math.min(e, sa); off += ba.length) {
        const n = Math.min(ba.length, Math.min(e, sa) - off);
        ba.fill(0, 0, n);
        bb.fill(0, 0, n);
        readSync(fa, ba, 0, n, off);
        if (off < sb) readSync(fb, bb, 0, Math.min(n, sb - off), off);
        if (ba.compare(bb, 0, n, 0, n) === 0) continue;
        for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) diff++;
      }
    }
    return diff;
  } finally {
    closeSync(fa);
    if (fb !== null) closeSync(fb);
  }
}

/** every file under `root` (but logs/ and lock files) → a size:mtime:ino stamp */
function stamps(root: string, skip: (rel: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      const rel = relative(root, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) walk(p);
      else {
        const st = lstatSync(p, { bigint: true });
        out.set(rel, `${st.size}:${st.mtimeNs}:${st.ino}:${e.isSymbolicLink() ? 'l' : 'f'}`);
      }
    }
  };
  walk(root);
  return out;
}

export class FuzzWorld {
  /** the world: state.json and state.images/ */
  readonly live: string;
  readonly statePath: string;
  private readonly pristine: string;
  private stateBytes!: Buffer;
  private clean!: Map<string, string>;

  private constructor(readonly dir: string) {
    this.live = join(dir, 'w');
    this.pristine = join(dir, 'pristine');
    this.statePath = join(this.live, 'state.json');
  }

  static async create(fixture = 'default'): Promise<FuzzWorld> {
    const w = new FuzzWorld(mkdtempSync(join(tmpdir(), 'novasim-fuzz-')));
    await initWorld(w.statePath, fixture, false);
    w.stateBytes = readFileSync(w.statePath);
    for (const rel of stamps(w.live, FuzzWorld.skip).keys()) sparseCopy(join(w.live, rel), join(w.pristine, rel));
    w.clean = stamps(w.live, FuzzWorld.skip);
    return w;
  }

  private static skip(rel: string): boolean {
    return rel === 'state.json' || rel.endsWith('.lock') || rel === join('state.images', 'logs') || /\.tmp|\.\d+$/.test(rel);
  }

  /** the pristine state file's bytes */
  get initialState(): Buffer {
    return this.stateBytes;
  }

  /** Puts the world back as `create` made it (with `state` as the state file, if given). */
  reset(state: Buffer | string = this.stateBytes): void {
    writeFileSync(this.statePath, state);
    // each case starts with no logs: what `nova-sim logs` prints is its own case's
    rmSync(join(this.live, 'state.images', 'logs'), { recursive: true, force: true });
    const now = stamps(this.live, FuzzWorld.skip);
    for (const [rel, stamp] of now) {
      if (this.clean.get(rel) === stamp) continue;
      rmSync(join(this.live, rel), { force: true });
      if (this.clean.has(rel)) sparseCopy(join(this.pristine, rel), join(this.live, rel));
    }
    for (const rel of this.clean.keys()) if (!now.has(rel)) sparseCopy(join(this.pristine, rel), join(this.live, rel));
    // stray files that are not in the pristine world (a new volume's image, a temp file)
    for (const extra of readdirSync(this.live)) {
      if (extra === 'state.json' || extra === 'state.images' || extra === 'state.json.lock') continue;
      rmSync(join(this.live, extra), { recursive: true, force: true });
    }
    this.clean = stamps(this.live, FuzzWorld.skip);
  }

  /** files of the world (but the state file and logs) added or written since the last reset */
  changedFiles(): string[] {
    const now = stamps(this.live, FuzzWorld.skip);
    return [...now].filter(([rel, stamp]) => this.clean.get(rel) !== stamp).map(([rel]) => join(this.live, rel));
  }

  /**
   * Bytes of the world's images (volumes, instance disks) as `create` made them that are no
   * longer there: changed, or in a file that was removed. A command that failed must lose
   * none (one that succeeded may write: a swap fills the new volume, a guest writes).
   */
  lostBytes(): number {
    let lost = 0;
    const now = stamps(this.live, FuzzWorld.skip);
    for (const [rel, stamp] of this.clean) {
      if (now.get(rel) === stamp) continue;
      lost += differingBytes(join(this.pristine, rel), join(this.live, rel));
    }
    return lost;
  }

  /** the state file's bytes now (null when it is gone) */
  readState(): Buffer | null {
    try {
      return readFileSync(this.statePath);
    } catch {
      return null;
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
