// A guest-visible drive: block/block-backend.c (the BlockBackend named by -drive id) over
// its root node. The guest's I/O path runs through here: requests are tracked so a job can
// drain them (bdrv_drained_begin/end), and completed writes notify dirty-bitmap owners as
// bdrv_co_write_req_finish → bdrv_set_dirty does.
import { QemuError, strerror } from './errors.js';
import type { RawImage } from './image.js';

export type WriteNotifier = (offset: number, bytes: number) => void;

/** blkdebug's rule events a breakpoint can be set on (the job's I/O to its target) */
export type BlkdebugEvent = 'write_aio' | 'flush_to_disk';

/** a blkdebug "break": the next request at the event suspends until resumed */
export interface Breakpoint {
  /** resolves when a request has reached the breakpoint and is suspended there */
  hit: Promise<void>;
  resume(): void;
}

/** blkdebug-style injected failures for the block job's I/O on this drive */
interface Faults {
  read: number;
  write: number;
  errno: 'EIO' | 'ENOSPC';
}

export class BlockBackend {
  readonly id: string;
  readonly nodeName: string;
  private img: RawImage;
  private inFlight = 0;
  private quiesceCounter = 0;
  private quiesceWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private notifiers = new Set<WriteNotifier>();
  private faults: Faults = { read: 0, write: 0, errno: 'EIO' };
  private breakpoints = new Map<BlkdebugEvent, { hit: () => void; released: Promise<void> }>();
  /** the job that holds this drive as its source (one at a time: "Need a root block node") */
  jobId: string | null = null;

  constructor(id: string, nodeName: string, image: RawImage) {
    this.id = id;
    this.nodeName = nodeName;
    this.img = image;
  }

  /** the image the guest currently reads and writes */
  get image(): RawImage {
    return this.img;
  }

  /** blk_co_pwritev from the guest: lands in the current image, then marks bitmaps dirty */
  async guestWrite(offset: number, data: Buffer): Promise<void> {
    await this.waitWhileQuiesced();
    this.inFlight++;
    try {
      const img = this.img;
      checkRequest(img, offset, data.length);
      await img.pwrite(data, data.length, offset);
      // write-through (cache=writethrough/directsync): the write is a FUA write, which a
      // raw file completes with a flush before the request finishes
      if (!img.cache.writeback) await img.flush();
      // NOTE: the dirty bit is set only once the data is in the image: a mirror operation
      // that read the range before this point is then repeated, so the target never keeps
      // stale data (bdrv_co_write_req_finish order).
      for (const n of this.notifiers) n(offset, data.length);
    } finally {
      this.requestDone();
    }
  }

  /** blk_co_preadv from the guest */
  async guestRead(offset: number, length: number): Promise<Buffer> {
    await this.waitWhileQuiesced();
    this.inFlight++;
    try {
      const img = this.img;
      checkRequest(img, offset, length);
      const buf = Buffer.alloc(length);
      await img.pread(buf, length, offset);
      return buf;
    } finally {
      this.requestDone();
    }
  }

  addWriteNotifier(fn: WriteNotifier): () => void {
    this.notifiers.add(fn);
    return () => this.notifiers.delete(fn);
  }

  /** bdrv_drained_begin: stop new guest requests and wait for those in flight */
  drainedBegin(): Promise<void> {
    this.quiesceCounter++;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** bdrv_drained_end: let queued guest requests run (against the image current by then) */
  drainedEnd(): void {
    if (this.quiesceCounter === 0) return;
    if (--this.quiesceCounter > 0) return;
    const waiters = this.quiesceWaiters;
    this.quiesceWaiters = [];
    for (const w of waiters) w();
  }

  /** bdrv_replace_node on pivot: the guest's device now reads `next`; the old image is closed */
  switchImage(next: RawImage): void {
    const old = this.img;
    next.relock('drive');
    this.img = next;
    old.close();
  }

  injectFault(op: 'read' | 'write', count: number, errno: 'EIO' | 'ENOSPC' = 'EIO'): void {
    this.faults[op] += count;
    this.faults.errno = errno;
  }

  /**
   * blkdebug's break/resume (what qemu-iotests use to make races deterministic): the
   * job's next request at `event` suspends there until resume() — the request itself is
   * real and runs unchanged once resumed.
   */
  setBreakpoint(event: BlkdebugEvent): Breakpoint {
    let hit!: () => void;
    let resume!: () => void;
    const hitP = new Promise<void>((r) => (hit = r));
    const released = new Promise<void>((r) => (resume = r));
    this.breakpoints.set(event, { hit, released });
    return { hit: hitP, resume };
  }

  /** a request of the job reaches `event`: suspend if a breakpoint is set there (one-shot) */
  async suspendAt(event: BlkdebugEvent): Promise<void> {
    const b = this.breakpoints.get(event);
    if (!b) return;
    this.breakpoints.delete(event);
    b.hit();
    await b.released;
  }

  /** the errno an injected fault gives the job's next `op`, or null */
  consumeFault(op: 'read' | 'write'): string | null {
    if (this.faults[op] <= 0) return null;
    this.faults[op]--;
    this.onFault?.(op, this.faults.errno);
    return this.faults.errno;
  }

  /** told each time an injected fault is handed to the job (blkdebug's rule firing) */
  onFault: ((op: 'read' | 'write', errno: string) => void) | null = null;

  private async waitWhileQuiesced(): Promise<void> {
    // a drained section may begin again before a released request runs: check each time
    while (this.quiesceCounter > 0) await new Promise<void>((resolve) => this.quiesceWaiters.push(resolve));
    if (this.img.closed) throw new QemuError(`drive '${this.id}' has no medium`, 'ENOMEDIUM');
  }

  private requestDone(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** blk_check_byte_request: a request past the end of the image is EIO */
function checkRequest(img: RawImage, offset: number, bytes: number): void {
  if (!Number.isInteger(offset) || offset < 0 || bytes < 0 || offset > img.size || img.size - offset < bytes) {
    throw new QemuError(strerror('EIO'), 'EIO');
  }
}
