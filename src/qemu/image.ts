// A raw image file as block/file-posix.c sees it: positioned I/O on an fd, SEEK_DATA /
// SEEK_HOLE block status, fdatasync for flushes, and QEMU's image locking (which here
// is a registry shared by every simulated QEMU process of this Node process).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { cacheFlags, type CacheFlags } from './cache.js';
import { QmpError, msg, strerror } from './errors.js';

// fs-ext (lseek with SEEK_DATA/SEEK_HOLE) is a native addon: loaded when the first image
// is opened by a QEMU process, not whenever this module is (nova list never needs it).
type SeekFn = (fd: number, offset: number, whence: number) => number;
let seekSyncFn: SeekFn | null = null;
function seekSync(fd: number, offset: number, whence: number): number {
  seekSyncFn ??= (createRequire(import.meta.url)('fs-ext') as { seekSync: SeekFn }).seekSync;
  return seekSyncFn(fd, offset, whence);
}

const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/** Who holds an image open: a guest drive (consistent read + write) or a mirror target (write). */
export type ImageUse = 'drive' | 'mirror-target';

const imageUsers = new Map<string, ImageUse[]>();

function lockKey(path: string): string {
  try {
    return fs.realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * raw_check_perm: the error QEMU reports when `use` conflicts with the current holders of
 * the image, or null. A mirror target needs "write"; a guest's image does not share
 * "consistent read" with a writer it does not know about.
 */
export function imageLockConflict(path: string, use: ImageUse): string | null {
  const users = imageUsers.get(lockKey(path)) ?? [];
  if (users.length === 0) return null;
  if (use === 'mirror-target' && users.includes('drive')) return msg.consistentReadLock;
  return msg.writeLock;
}

export class RawImage {
  readonly path: string;
  private fdNum: number;
  private cachedSize: number;
  private lockedAs: ImageUse | null = null;
  private key: string;
  /** the open flags of the cache mode (a mirror target gets its source's) */
  readonly cache: CacheFlags;

  private constructor(path: string, fd: number, cache: CacheFlags) {
    this.path = path;
    this.fdNum = fd;
    this.cache = cache;
    this.cachedSize = fs.fstatSync(fd).size;
    this.key = lockKey(path);
  }

  /**
   * raw_open: throws the errno as a QMP "Could not open" error. Unlike QEMU, a symbolic
   * link is never followed (O_NOFOLLOW: ELOOP), nor is anything but a file or a block
   * device opened: an image is a file of the state's images folder, and a link or a FIFO
   * planted there must not steer (or hang) the guest's and the mirror's I/O.
   */
  static open(path: string, cache: CacheFlags = cacheFlags()): RawImage {
    let fd = -1;
    try {
      fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      checkImageFd(fd);
      return new RawImage(path, fd, cache);
    } catch (e) {
      if (fd >= 0) fs.closeSync(fd);
      throw new QmpError(msg.couldNotOpen(path, errnoText(e)));
    }
  }

  /** raw_co_create: a new (or truncated) image of `size` zero bytes, all of it a hole */
  static create(path: string, size: number, cache: CacheFlags = cacheFlags()): RawImage {
    let fd = -1;
    try {
      fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, 0o644);
      checkImageFd(fd);
      fs.ftruncateSync(fd, 0);
      fs.ftruncateSync(fd, size);
    } catch (e) {
      if (fd >= 0) fs.closeSync(fd);
      throw new QmpError(msg.couldNotOpen(path, errnoText(e)));
    }
    return new RawImage(path, fd, cache);
  }

  get fd(): number {
    return this.fdNum;
  }

  get closed(): boolean {
    return this.fdNum < 0;
  }

  /** bdrv_getlength */
  get size(): number {
    return this.cachedSize;
  }

  /** bytes the file occupies on disk (stat st_blocks × 512): query-block's actual-size */
  actualSize(): number {
    return fs.fstatSync(this.fdNum).blocks * 512;
  }

  /** take the image lock for `use`, or throw the QMP error QEMU gives */
  lock(use: ImageUse): void {
    const conflict = imageLockConflict(this.path, use);
    if (conflict) throw new QmpError(conflict);
    imageUsers.set(this.key, [...(imageUsers.get(this.key) ?? []), use]);
    this.lockedAs = use;
  }

  /** change what the image is locked as (a mirror target becoming the drive's image) */
  relock(use: ImageUse): void {
    this.unlock();
    imageUsers.set(this.key, [...(imageUsers.get(this.key) ?? []), use]);
    this.lockedAs = use;
  }

  unlock(): void {
    if (!this.lockedAs) return;
    const users = imageUsers.get(this.key) ?? [];
    const i = users.indexOf(this.lockedAs);
    if (i >= 0) users.splice(i, 1);
    if (users.length === 0) imageUsers.delete(this.key);
    this.lockedAs = null;
  }

  pread(buf: Buffer, length: number, position: number, bufOffset = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const fd = this.fdNum;
      let done = 0;
      const step = (): void => {
        fs.read(fd, buf, bufOffset + done, length - done, position + done, (err, n) => {
          if (err) return reject(err);
          done += n;
          // past EOF reads as zeroes, as the block layer's raw driver pads short reads
          if (n === 0) {
            buf.fill(0, bufOffset + done, bufOffset + length);
            return resolve(length);
          }
          if (done < length) return step();
          resolve(length);
        });
      };
      step();
    });
  }

  pwrite(buf: Buffer, length: number, position: number, bufOffset = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      const fd = this.fdNum;
      let done = 0;
      const step = (): void => {
        fs.write(fd, buf, bufOffset + done, length - done, position + done, (err, n) => {
          if (err) return reject(err);
          done += n;
          if (done < length) return step();
          if (position + length > this.cachedSize) this.cachedSize = position + length;
          resolve();
        });
      };
      step();
    });
  }

  /** bdrv_co_flush really reaches the disk (false with cache=unsafe) */
  get flushes(): boolean {
    return !this.cache['no-flush'];
  }

  /** bdrv_co_flush → fdatasync(2), as file-posix does; nothing at all with cache=unsafe */
  flush(): Promise<void> {
    if (!this.flushes) return Promise.resolve();
    return new Promise((resolve, reject) => fs.fdatasync(this.fdNum, (err) => (err ? reject(err) : resolve())));
  }

  /** lseek(SEEK_DATA): the first data byte at or after pos, or -1 when only a hole follows */
  seekData(pos: number): number {
    if (pos >= this.cachedSize) return -1;
    try {
      return seekSync(this.fdNum, pos, SEEK_DATA);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') return -1;
      // no SEEK_DATA support: everything is data (file-posix does the same)
      return pos;
    }
  }

  /** lseek(SEEK_HOLE): the end of the data extent holding pos (the file size at worst) */
  seekHole(pos: number): number {
    try {
      return Math.min(this.cachedSize, seekSync(this.fdNum, pos, SEEK_HOLE));
    } catch {
      return this.cachedSize;
    }
  }

  /** raw_co_truncate: grow or shrink the file (new space reads as zeroes) */
  truncate(size: number): void {
    fs.ftruncateSync(this.fdNum, size);
    this.cachedSize = size;
  }

  /** bdrv_make_zero for a raw file: drop every block, keep the size (a pre-zeroed mirror target) */
  makeZero(): void {
    const size = this.cachedSize;
    // punching holes where there are only holes changes nothing (and leaves nothing for the
    // next flush to commit): a fresh volume stays untouched, as under QEMU's write-zeroes
    if (this.seekData(0) < 0) return;
    fs.ftruncateSync(this.fdNum, 0);
    fs.ftruncateSync(this.fdNum, size);
  }

  close(): void {
    if (this.fdNum < 0) return;
    this.unlock();
    fs.closeSync(this.fdNum);
    this.fdNum = -1;
  }
}

/**
 * An image is a regular file or a block device: anything else is refused (EINVAL). The open
 * took O_NONBLOCK only so that a FIFO cannot hang it; files and block devices ignore it.
 */
function checkImageFd(fd: number): void {
  const st = fs.fstatSync(fd);
  if (!st.isFile() && !st.isBlockDevice()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err && typeof err.code === 'string' ? strerror(err.code) : String(e);
}
