// block/mirror.c: the drive-mirror block job. It copies the source drive to the target
// image through a dirty bitmap, keeps copying what the guest dirties, reports READY once
// both are in sync (after flushing the target), and on completion pivots the drive to
// the target. Every byte of progress is a real read from the source and write to the
// target; holes found with SEEK_DATA/SEEK_HOLE are accounted without being read.
import { DirtyBitmap } from './dirty-bitmap.js';
import { QmpError, msg, strerror } from './errors.js';
import type { RawImage } from './image.js';
import { Job } from './job.js';
import { RateLimit, SLICE_MS } from './ratelimit.js';
import type { BlockBackend } from './block-backend.js';
import type { BlockdevOnError, BlockJobInfo, JobSnapshot, JobStatus, MirrorSyncMode } from './types.js';

export const MAX_IN_FLIGHT = 16;
export const MAX_IO_BYTES = 1 << 20;
export const DEFAULT_MIRROR_BUF_SIZE = 16 << 20;
/** bdrv_get_default_bitmap_granularity for a raw file */
export const DEFAULT_GRANULARITY = 64 << 10;
/** the block size at which zero data is left unwritten on a known-zero target */
const ZERO_BLOCK = 4096;
const ZEROES = Buffer.alloc(ZERO_BLOCK);
const MAX_TIMER_MS = 2 ** 31 - 1;
const YIELD_MS = 4;
/**
 * How many operations copy at the same instant. QEMU's job keeps up to MAX_IN_FLIGHT
 * operations in flight; file-posix runs them on its I/O threads. Here they run on libuv's
 * pool (4 threads): a few more copies than threads keep every thread busy without a trip
 * through the event loop between a read and the next request, while all 16 at once only
 * interleave worse (buffered writes to one file serialise on its inode). Measured on
 * 512 MiB (2 vCPU, interleaved runs, median): 143 ms with 8 at a time, 157 with 6, 160 with
 * 12, about 190 with 4 or 16; cp 126 ms. The others wait their turn, still in flight as
 * far as the job's accounting (len, buf-size) goes.
 */
const IO_SLOTS = 8;
/**
 * The operations' 1 MiB buffers, kept from one operation (and one job) to the next: a
 * fresh buffer costs a page fault per 4 KiB the first time the kernel copies into it,
 * which on this kind of VM costs more than the copy itself.
 */
const sharedBuffers: Buffer[] = [];
/** written bytes after which writeback of the target is started in the background */
const WRITEBACK_AHEAD = 4 << 20;

export interface MirrorOptions {
  source: BlockBackend;
  target: RawImage;
  sync: MirrorSyncMode;
  /** 0 = default */
  granularity: number;
  /** 0 = default */
  bufSize: number;
  speed: number;
  onSourceError: BlockdevOnError;
  onTargetError: BlockdevOnError;
  unmap: boolean;
  /** the target was just created by QEMU (mode absolute-paths): it already reads as zeroes */
  targetIsNew: boolean;
  /** QEMU >= 5: fail when the target's size differs from the source's */
  rejectSizeMismatch: boolean;
  emit: (event: string, data: Record<string, unknown>) => void;
  onStatus: (id: string, status: JobStatus) => void;
}

type ErrorAction = 'report' | 'ignore' | 'stop';

/** An I/O failure of the job, remembered as s->ret */
class JobIoError extends Error {
  constructor(readonly errno: string) {
    super(strerror(errno));
  }
}

/** A parked coroutine: woken by job_enter (commands) or, when idle, by new dirty data. */
interface Sleeper {
  wake: () => void;
  onDirty: boolean;
}

export class MirrorBlockJob extends Job {
  readonly device: string;
  private readonly source: BlockBackend;
  private readonly sourceImage: RawImage;
  private readonly target: RawImage;
  private readonly granularity: number;
  private readonly bufSize: number;
  private readonly maxIoBytes: number;
  private readonly onSourceError: BlockdevOnError;
  private readonly onTargetError: BlockdevOnError;
  private readonly emit: MirrorOptions['emit'];
  private readonly limit = new RateLimit();
  private speedValue = 0;

  private bdevLength = 0;
  private dirty!: DirtyBitmap;
  /** chunks with an operation (or a claimed, not yet dispatched run) in flight */
  private inFlightMap!: DirtyBitmap;
  /** chunks of the target known to read as zeroes (pre-zeroed, not written since) */
  private targetZero!: DirtyBitmap;

  private progressCurrent = 0;
  private bytesInFlight = 0;
  /** bytes of the current run whose dirty bits are cleared but not yet dispatched */
  private bytesClaimed = 0;
  private opsInFlight = 0;
  private bytesWritten = 0;
  private unflushed = 0;
  private writeback: Promise<void> | null = null;
  private cursor = 0;
  private readonly startedAt = performance.now();

  /** buffers of a job whose operations are smaller than MAX_IO_BYTES (a small buf-size) */
  private buffers: Buffer[] = [];
  private ioBusy = 0;
  private ioWaiters: Array<() => void> = [];
  private opWaiters: Array<() => void> = [];
  private sleeper: Sleeper | null = null;
  private busyFlag = true;
  private lastYield = 0;
  /** [from, dataAt) is a hole of the source (dataAt -1: up to the end) */
  private knownHole: { from: number; dataAt: number } | null = null;

  private ret: JobIoError | null = null;
  private readyFlag = false;
  private shouldComplete = false;
  private cancelRequested = false;
  private forceCancel = false;
  private userPaused = false;
  private pauseCount = 0;
  private ioStatus: BlockJobInfo['io-status'] = 'ok';
  private inDrain = false;
  private startFailure: string | null = null;
  private removeNotifier: (() => void) | null = null;
  private finishedResolve!: () => void;
  /** resolves once the job has reached the null state */
  readonly finished: Promise<void>;

  /** mirror_start_job + block_job_create: emits "created"; throws on a bad speed */
  constructor(readonly opts: MirrorOptions) {
    super(opts.source.id, opts.onStatus);
    this.device = opts.source.id;
    this.source = opts.source;
    this.sourceImage = opts.source.image;
    this.target = opts.target;
    this.granularity = opts.granularity || DEFAULT_GRANULARITY;
    // a buffer smaller than a chunk is rounded up to one ("small buffer" in iotests 041)
    const buf = opts.bufSize || DEFAULT_MIRROR_BUF_SIZE;
    this.bufSize = Math.ceil(buf / this.granularity) * this.granularity;
    this.maxIoBytes = Math.min(this.bufSize, Math.max(Math.floor(this.bufSize / MAX_IN_FLIGHT), MAX_IO_BYTES));
    this.onSourceError = opts.onSourceError;
    this.onTargetError = opts.onTargetError;
    this.emit = opts.emit;
    this.finished = new Promise((resolve) => (this.finishedResolve = resolve));
    this.transition('created');
    if (opts.speed < 0) {
      this.transition('null');
      throw new QmpError(msg.speedNegative);
    }
    this.speedValue = opts.speed;
    this.limit.setSpeed(opts.speed);
  }

  /** block_job_create failing once the job exists (a permission conflict): created → null */
  abandon(): void {
    this.transition('null');
    this.finishedResolve();
  }

  /** job_start: "running"; mirror_run's synchronous prologue; the copy loop goes on asynchronously */
  start(): void {
    this.transition('running');
    this.bdevLength = this.sourceImage.size;
    const len = this.bdevLength;
    this.dirty = new DirtyBitmap(len, this.granularity);
    this.inFlightMap = new DirtyBitmap(len, this.granularity);
    this.targetZero = new DirtyBitmap(len, this.granularity);
    if (this.opts.rejectSizeMismatch && this.target.size !== len) {
      this.startFailure = msg.sizeMismatch;
    } else {
      this.removeNotifier = this.source.addWriteNotifier((offset, bytes) => this.onGuestWrite(offset, bytes));
      this.dirtyInit();
    }
    setImmediate(() => void this.runAndExit());
  }

  /** mirror_dirty_init: zero the target, then mark the whole disk dirty for sync=full */
  private dirtyInit(): void {
    if (this.opts.sync !== 'none') {
      // QEMU 2.6 grows a smaller raw target as it writes; do it up front so the copy
      // covers the source's length (a larger target keeps its size: Nova resizes later)
      if (this.target.size < this.bdevLength) this.target.truncate(this.bdevLength);
      // NOTE: zeroing is what lets holes be skipped: a hole of the source is a hole of
      // the target. A new image is zero already; an existing one is emptied (not progress).
      if (!this.opts.targetIsNew) this.target.makeZero();
      this.targetZero.setAll();
      this.dirty.setAll();
    }
  }

  // ---------------------------------------------------------------- QMP-facing state

  get ready(): boolean {
    return this.readyFlag;
  }

  get speed(): number {
    return this.speedValue;
  }

  get offset(): number {
    return this.progressCurrent;
  }

  /** job->progress.total: offset + dirty + in flight */
  get len(): number {
    if (!this.dirty) return 0;
    return this.progressCurrent + this.dirty.dirtyBytes + this.bytesInFlight + this.bytesClaimed;
  }

  /** qmp_query_block_jobs entry (block_job_query) */
  info(): BlockJobInfo {
    return {
      'auto-finalize': true,
      'io-status': this.ioStatus,
      device: this.device,
      'auto-dismiss': true,
      busy: this.busyFlag && this.pauseCount === 0,
      len: this.len,
      offset: this.offset,
      status: this.status,
      paused: this.pauseCount > 0,
      speed: this.speedValue,
      ready: this.readyFlag,
      type: 'mirror',
    };
  }

  snapshot(): JobSnapshot {
    return {
      status: this.status,
      offset: this.offset,
      len: this.len,
      ready: this.readyFlag,
      speed: this.speedValue,
      paused: this.pauseCount > 0,
      bytesCopied: this.bytesWritten,
      elapsedMs: performance.now() - this.startedAt,
    };
  }

  private eventData(): Record<string, unknown> {
    return { device: this.device, len: this.len, offset: this.offset, speed: this.speedValue, type: 'mirror' };
  }

  // ---------------------------------------------------------------- QMP verbs

  /** block_job_set_speed */
  setSpeed(speed: number): void {
    this.applyVerb('set-speed');
    if (speed < 0) throw new QmpError(msg.speedNegative);
    this.speedValue = speed;
    this.limit.setSpeed(speed);
    this.enter();
  }

  /** job_user_pause */
  pause(): void {
    this.applyVerb('pause');
    if (this.userPaused) throw new QmpError(msg.alreadyPaused);
    this.requestPause();
  }

  /**
   * job_pause: a parked job is entered at once and stops at its pause point (so the
   * "paused" event precedes the reply); a busy one stops at its next pause point, and
   * until then reads as status running with paused true.
   */
  private requestPause(): void {
    this.userPaused = true;
    this.pauseCount++;
    if (this.sleeper) {
      this.enterPausedState();
      this.wake(false);
    }
  }

  private enterPausedState(): void {
    if (this.status === 'running') this.transition('paused');
    else if (this.status === 'ready') this.transition('standby');
  }

  private leavePausedState(): void {
    if (this.status === 'paused') this.transition('running');
    else if (this.status === 'standby') this.transition('ready');
  }

  /** job_user_resume (qmp_block_job_resume also resets the I/O status) */
  resume(): void {
    if (!this.userPaused) throw new QmpError(msg.notPaused);
    this.applyVerb('resume');
    this.ioStatus = 'ok';
    this.unpause();
  }

  /** the job is entered and leaves its pause point before the reply */
  private unpause(): void {
    this.userPaused = false;
    this.pauseCount--;
    if (this.pauseCount === 0) this.leavePausedState();
    this.wake(false);
  }

  /** job_complete → mirror_complete: converge, then pivot the drive to the target */
  complete(): void {
    this.applyVerb('complete');
    if (this.cancelRequested || this.pauseCount > 0 || !this.readyFlag) throw new QmpError(msg.cannotComplete(this.id));
    this.shouldComplete = true;
    this.enter();
  }

  /**
   * job_user_cancel → mirror_cancel: before READY (or forced) the job stops where it is;
   * after READY a soft cancel converges and finishes like a completion without the pivot.
   */
  cancel(force: boolean): void {
    if (this.userPaused && !force) throw new QmpError(msg.cancelPaused(this.device));
    this.applyVerb('cancel');
    if (this.status === 'aborting' || this.status === 'waiting' || this.status === 'pending') return;
    if (!this.cancelRequested) {
      this.cancelRequested = true;
      this.forceCancel = force || !this.readyFlag;
    } else if (force) {
      this.forceCancel = true;
    }
    if (this.userPaused) this.unpause();
    this.enter();
  }

  // ---------------------------------------------------------------- the coroutine

  /** job_enter: wake the job from a sleep (commands); runs after the reply is sent */
  private enter(): void {
    setImmediate(() => this.wake(false));
  }

  private wake(fromDirty: boolean): void {
    const s = this.sleeper;
    if (s && (!fromDirty || s.onDirty)) s.wake();
  }

  /** job_sleep_ns / job_yield: busy=false while parked */
  private sleep(ms: number, onDirty: boolean): Promise<void> {
    if (ms <= 0) {
      // yield to the event loop (guest I/O, QMP) every few ms rather than every pass:
      // a pass over a hole of a zeroed target does no I/O at all
      const now = performance.now();
      if (now - this.lastYield < YIELD_MS) return Promise.resolve();
      this.lastYield = now;
      return new Promise((resolve) => setImmediate(resolve));
    }
    this.busyFlag = false;
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => s.wake(), Math.min(ms, MAX_TIMER_MS)) : null;
      const s: Sleeper = {
        onDirty,
        wake: () => {
          if (timer) clearTimeout(timer);
          if (this.sleeper === s) this.sleeper = null;
          this.busyFlag = true;
          resolve();
        },
      };
      this.sleeper = s;
    });
  }

  /** job_pause_point */
  private async pausePoint(): Promise<void> {
    if (this.pauseCount === 0 || this.isCancelled()) return;
    this.enterPausedState();
    while (this.pauseCount > 0 && !this.isCancelled()) await this.sleep(Infinity, false);
    this.leavePausedState();
  }

  /** job_is_cancelled: a cancel that abandons the copy (forced, or before READY) */
  private isCancelled(): boolean {
    return this.cancelRequested && this.forceCancel;
  }

  /** the bdrv_set_dirty hook: a guest write finished on the source */
  private onGuestWrite(offset: number, bytes: number): void {
    this.knownHole = null;
    this.dirty.set(offset, bytes);
    this.wake(true);
  }

  private async runAndExit(): Promise<void> {
    let ret: JobIoError | string | null;
    try {
      ret = this.startFailure ?? (await this.run());
    } catch (e) {
      ret = new JobIoError((e as NodeJS.ErrnoException).code ?? 'EIO');
    }
    await this.exit(ret);
  }

  /** mirror_run's main loop; null when the job finished (in sync, or cancelled) */
  private async run(): Promise<JobIoError | null> {
    for (;;) {
      if (this.ret) return this.ret;
      if (this.pauseCount > 0) await this.pausePoint();
      if (this.isCancelled()) return null;

      let cnt = this.dirty.dirtyBytes;
      let delayMs = 0;
      if (this.ioStatus === 'ok') {
        if (this.opsInFlight >= MAX_IN_FLIGHT || this.bytesInFlight >= this.bufSize || (cnt === 0 && this.opsInFlight > 0)) {
          await this.waitForAnyOp();
          continue;
        } else if (cnt !== 0) {
          delayMs = await this.iteration();
        }
      }

      let shouldComplete = false;
      if (this.opsInFlight === 0 && cnt === 0) {
        if (!this.readyFlag) {
          // NOTE: offset == len here while ready is still false, for as long as the flush
          // takes: a poller that treats cur == end as done pivots too early (the race
          // libvirt's "not ready for pivot yet" check exists for).
          if (!(await this.flushTarget())) continue;
          this.readyFlag = true;
          this.transition('ready');
          this.emit('BLOCK_JOB_READY', this.eventData());
        }
        shouldComplete = this.shouldComplete || this.cancelRequested;
        cnt = this.dirty.dirtyBytes;
      }

      if (cnt === 0 && shouldComplete) {
        // stop the guest, and check once more that nothing came in before switching
        this.inDrain = true;
        await this.source.drainedBegin();
        cnt = this.dirty.dirtyBytes;
        if (cnt > 0 || this.opsInFlight > 0 || !(await this.flushTarget())) {
          this.source.drainedEnd();
          this.inDrain = false;
          continue;
        }
        return null;
      }

      let onDirty = false;
      if (this.readyFlag && !shouldComplete && this.opsInFlight === 0 && cnt === 0) {
        // in sync: idle until the guest dirties something (or a command arrives)
        delayMs = Math.max(delayMs, SLICE_MS);
        onDirty = true;
      }
      await this.sleep(delayMs, onDirty);
      if (this.isCancelled()) return null;
    }
  }

  /**
   * mirror_iteration: copy the next dirty run (up to buf-size); returns the rate-limit
   * delay. Runs that turn out to be holes of a zeroed target cost no I/O, so without a
   * rate limit the next run is taken at once (for a few ms) instead of going round the
   * main loop once per buf-size of hole.
   */
  private async iteration(): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      const r = await this.iterationRun();
      if (r.delayMs > 0 || r.dispatched || this.limit.enabled || this.dirty.count === 0) return r.delayMs;
      if (this.ret || this.cancelRequested || this.pauseCount > 0 || performance.now() - t0 > YIELD_MS) return 0;
    }
  }

  private async iterationRun(): Promise<{ delayMs: number; dispatched: boolean }> {
    const none = { delayMs: 0, dispatched: false };
    let dispatched = false;
    let offset = this.dirty.nextDirty(this.cursor);
    if (offset < 0) offset = this.dirty.nextDirty(0);
    if (offset < 0) return none;
    const g = this.granularity;

    // mirror_wait_on_conflicts: an operation on this chunk must finish before it is copied again
    if (this.inFlightMap.get(offset)) {
      while (this.inFlightMap.get(offset)) await this.waitForAnyOp();
      dispatched = true;
    }
    if (this.ret || this.isCancelled()) return none;

    // the run of consecutive dirty chunks not in flight, at most buf-size long
    const limit = Math.min(offset + this.bufSize, this.bdevLength);
    let end = this.dirty.nextClean(offset, limit);
    const busy = this.inFlightMap.nextDirty(offset, end);
    if (busy >= 0) end = busy;
    end = Math.min(this.bdevLength, Math.max(end, offset + g));

    // clear the dirty bits before looking at the data: a write landing meanwhile re-dirties
    this.dirty.reset(offset, end - offset);
    this.inFlightMap.set(offset, end - offset);
    this.bytesClaimed += end - offset;
    let charged = 0;

    while (offset < end) {
      // bdrv_block_status_above for a raw file: SEEK_DATA / SEEK_HOLE
      const dataAt = this.nextDataAt(offset);
      let ioBytes: number;
      let hole: boolean;
      if (dataAt < 0 || dataAt >= end) {
        hole = true;
        ioBytes = end - offset;
      } else if (dataAt - offset >= g) {
        hole = true;
        ioBytes = dataAt - offset;
      } else {
        hole = false;
        ioBytes = Math.min(this.sourceImage.seekHole(Math.max(offset, dataAt)) - offset, this.maxIoBytes);
      }
      ioBytes -= ioBytes % g;
      if (ioBytes < g) ioBytes = g;
      ioBytes = Math.min(ioBytes, end - offset);

      if (hole && this.targetZero.allSet(offset, ioBytes)) {
        // MIRROR_METHOD_ZERO on a zeroed target: nothing to write, the hole is done
        this.bytesClaimed -= ioBytes;
        this.inFlightMap.reset(offset, ioBytes);
        this.progressCurrent += ioBytes;
      } else {
        if (hole) ioBytes = Math.min(ioBytes, this.maxIoBytes);
        while (this.opsInFlight >= MAX_IN_FLIGHT || (this.opsInFlight > 0 && this.bytesInFlight + ioBytes > this.bufSize)) {
          await this.waitForAnyOp();
        }
        if (this.ret || this.isCancelled()) {
          // give the undispatched rest of the run back to the bitmap
          this.dirty.set(offset, end - offset);
          this.inFlightMap.reset(offset, end - offset);
          this.bytesClaimed -= end - offset;
          return none;
        }
        this.bytesClaimed -= ioBytes;
        void this.copyOp(offset, ioBytes);
        dispatched = true;
      }
      charged += ioBytes;
      offset += ioBytes;
    }
    this.cursor = end >= this.bdevLength ? 0 : end;
    // bytes are charged once dispatched; the job then sleeps off any excess
    return { delayMs: this.limit.calculateDelay(charged), dispatched };
  }

  /**
   * SEEK_DATA with a memory of the last hole seen: a 100 GiB hole is crossed buf-size by
   * buf-size, and one lseek answers for all of it. Any guest write may fill a hole, so it
   * forgets the hole (the write also re-dirties its range, so it is copied either way).
   */
  private nextDataAt(offset: number): number {
    const h = this.knownHole;
    if (h && offset >= h.from && (h.dataAt < 0 || offset < h.dataAt)) return h.dataAt;
    const dataAt = this.sourceImage.seekData(offset);
    this.knownHole = dataAt === offset ? null : { from: offset, dataAt };
    return dataAt;
  }

  /** mirror_co_read + mirror_write_complete: one ≤ max-io operation */
  private async copyOp(offset: number, bytes: number): Promise<void> {
    this.opsInFlight++;
    this.bytesInFlight += bytes;
    const wasZero = this.targetZero.allSet(offset, bytes);
    this.targetZero.reset(offset, bytes);
    let done = false;
    await this.ioSlot();
    // a buffer only for an operation that copies now: at most IO_SLOTS of them
    const buf = this.takeBuffer();
    try {
      let errno = this.source.consumeFault('read');
      if (!errno) {
        try {
          await this.sourceImage.pread(buf, bytes, offset);
        } catch (e) {
          errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
        }
      }
      if (errno) {
        this.dirty.set(offset, bytes);
        this.handleError(true, errno);
        return;
      }
      errno = this.source.consumeFault('write');
      if (!errno) {
        await this.source.suspendAt('write_aio');
        try {
          const n = await writeData(this.target, buf, bytes, offset, wasZero);
          this.bytesWritten += n;
          this.startWriteback(n);
        } catch (e) {
          errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
        }
      }
      if (errno) {
        this.dirty.set(offset, bytes);
        this.handleError(false, errno);
        return;
      }
      done = true;
    } finally {
      this.giveBuffer(buf);
      this.ioSlotDone();
      this.opsInFlight--;
      this.bytesInFlight -= bytes;
      this.inFlightMap.reset(offset, bytes);
      // job_progress_update: only finished operations count
      if (done) this.progressCurrent += bytes;
      const waiters = this.opWaiters;
      this.opWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Start writing the target's dirty pages back while the copy goes on, so the flush
   * before READY only waits for the tail (the role sync_file_range plays for dd/cp-like
   * tools). The flush that READY depends on is still a full fdatasync after the last write;
   * an error here is left for that flush to report.
   */
  private startWriteback(n: number): void {
    if (!this.target.flushes) return;
    this.unflushed += n;
    if (this.unflushed < WRITEBACK_AHEAD || this.writeback) return;
    this.unflushed = 0;
    this.writeback = this.target
      .flush()
      .catch(() => undefined)
      .finally(() => (this.writeback = null));
  }

  /** wait for one of the IO_SLOTS */
  private ioSlot(): Promise<void> {
    if (this.ioBusy < IO_SLOTS) {
      this.ioBusy++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.ioWaiters.push(resolve));
  }

  /** hand the slot to the next waiting operation */
  private ioSlotDone(): void {
    const next = this.ioWaiters.shift();
    if (next) next();
    else this.ioBusy--;
  }

  private takeBuffer(): Buffer {
    if (this.maxIoBytes === MAX_IO_BYTES) return sharedBuffers.pop() ?? Buffer.allocUnsafeSlow(MAX_IO_BYTES);
    return this.buffers.pop() ?? Buffer.allocUnsafeSlow(this.maxIoBytes);
  }

  private giveBuffer(buf: Buffer): void {
    if (buf.length === MAX_IO_BYTES && sharedBuffers.length < IO_SLOTS) sharedBuffers.push(buf);
    else if (buf.length !== MAX_IO_BYTES) this.buffers.push(buf);
  }


  /** mirror_wait_for_any_operation */
  private waitForAnyOp(): Promise<void> {
    if (this.opsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.opWaiters.push(resolve));
  }

  /** mirror_flush: a failed flush is a target write error */
  private async flushTarget(): Promise<boolean> {
    try {
      this.unflushed = 0;
      // cache=unsafe: bdrv_co_flush returns before the flush_to_disk event and the fdatasync
      if (!this.target.flushes) return true;
      await this.source.suspendAt('flush_to_disk');
      await this.target.flush();
      return true;
    } catch (e) {
      this.handleError(false, (e as NodeJS.ErrnoException).code ?? 'EIO');
      return false;
    }
  }

  /** mirror_error_action → block_job_error_action */
  private handleError(isRead: boolean, errno: string): ErrorAction {
    const policy = isRead ? this.onSourceError : this.onTargetError;
    const action: ErrorAction = policy === 'enospc' ? (errno === 'ENOSPC' ? 'stop' : 'report') : policy;
    if (action === 'stop') this.ioStatus = errno === 'ENOSPC' ? 'nospace' : 'failed';
    this.emit('BLOCK_JOB_ERROR', { device: this.device, operation: isRead ? 'read' : 'write', action });
    // the pause is made user-visible: block-job-resume retries
    if (action === 'stop' && !this.userPaused) this.requestPause();
    if (action === 'report' && !this.ret) {
      this.ret = new JobIoError(errno);
      this.enter();
    }
    return action;
  }

  /** mirror_exit_common + job_completed: pivot or not, then the closing events */
  private async exit(ret: JobIoError | string | null): Promise<void> {
    // immediate_exit: let every operation in flight finish before touching the images
    while (this.opsInFlight > 0) await this.waitForAnyOp();
    // the fd must outlive a background writeback that is still running
    await this.writeback;
    this.removeNotifier?.();
    this.source.jobId = null;
    if (ret !== null) {
      this.transition('aborting');
      this.target.close();
      this.endDrain();
      this.emit('BLOCK_JOB_COMPLETED', { ...this.eventData(), error: typeof ret === 'string' ? ret : ret.message });
    } else if (this.isCancelled()) {
      this.transition('aborting');
      this.target.close();
      this.endDrain();
      this.emit('BLOCK_JOB_CANCELLED', this.eventData());
    } else {
      this.transition('waiting');
      this.transition('pending');
      if (this.shouldComplete && !this.cancelRequested) {
        // mirror_exit_common → bdrv_replace_node: the guest now uses the target
        this.source.switchImage(this.target);
      } else {
        this.target.close();
      }
      this.endDrain();
      this.emit('BLOCK_JOB_COMPLETED', this.eventData());
    }
    this.buffers = [];
    this.transition('concluded');
    this.transition('null');
    this.finishedResolve();
  }

  private endDrain(): void {
    if (this.inDrain) {
      this.inDrain = false;
      this.source.drainedEnd();
    }
  }
}

/**
 * Write an operation's data to the target. On a range known to be zero the zero blocks
 * are skipped so the target stays as sparse as the source; returns the bytes written.
 */
async function writeData(target: RawImage, buf: Buffer, bytes: number, offset: number, targetZero: boolean): Promise<number> {
  if (!targetZero) {
    await target.pwrite(buf, bytes, offset);
    return bytes;
  }
  const runs = dataRuns(buf, bytes);
  let written = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i]!;
    const end = runs[i + 1]!;
    await target.pwrite(buf, end - start, offset + start, start);
    written += end - start;
  }
  return written;
}

/**
 * The runs of buf[0, bytes) that are not all-zero ZERO_BLOCKs, as [start, end, start, end …].
 * Synchronous and over one kind of array, so V8 compiles the loop to plain loads; most data
 * blocks are told apart by their first or last byte, without a memcmp.
 */
function dataRuns(buf: Uint8Array, bytes: number): number[] {
  const runs: number[] = [];
  let runStart = -1;
  for (let p = 0; p < bytes; p += ZERO_BLOCK) {
    const n = Math.min(ZERO_BLOCK, bytes - p);
    const zero = buf[p] === 0 && buf[p + n - 1] === 0 && Buffer.compare(buf.subarray(p, p + n), ZEROES.subarray(0, n)) === 0;
    if (!zero) {
      if (runStart < 0) runStart = p;
    } else if (runStart >= 0) {
      runs.push(runStart, p);
      runStart = -1;
    }
  }
  if (runStart >= 0) runs.push(runStart, bytes);
  return runs;
}
