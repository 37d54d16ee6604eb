// libvirtd's block-job tracker (src/qemu/qemu_blockjob.c): what it keeps in memory about a
// block job it started, how QEMU's BLOCK_JOB_* events move that job on (the pivot that
// changes the disk's source, the end that drops disk->mirror), and, beyond libvirt, the
// progress a host process shows and the bounded-rate saves of that progress to the state.
import { byKey } from '../state/collections.js';
import { getLogger } from '../common/log.js';
import { isoMicros } from '../common/time.js';
import type { QmpEvent } from '../qemu/types.js';
import type { StateStore } from '../state/store.js';
import type { DiskMirror, Domain } from '../state/types.js';
import type { QemuHost } from './qemu-host.js';

const LOG = getLogger('libvirt.qemu.qemu_driver', 'libvirtd');

/** Progress of a block job, as the QEMU job reports it (real bytes): what the host process
 * that runs the job shows (`nova volume-update --poll`, the tracer, tests). */
export type JobProgressEvent =
  | { type: 'job'; phase: 'copying'; domain: string; disk: string; cur: number; end: number; bytesCopied: number; elapsedMs: number }
  | { type: 'job'; phase: 'ready'; domain: string; disk: string; cur: number; end: number; bytesCopied: number; elapsedMs: number }
  | { type: 'job'; phase: 'pivot'; domain: string; disk: string }
  | { type: 'job'; phase: 'done'; domain: string; disk: string; bytesCopied: number; elapsedMs: number }
  | { type: 'job'; phase: 'cancelled'; domain: string; disk: string; cur: number; end: number }
  /** BLOCK_JOB_COMPLETED with an error: the job ended on an I/O error (on-*-error report) */
  | { type: 'job'; phase: 'failed'; domain: string; disk: string; cur: number; end: number; error: string };

export type JobEnd = 'completed' | 'cancelled' | 'failed';

/** What libvirtd keeps in memory about a block job it started (disk->mirror + mirrorState). */
export interface LiveJob {
  domainUuid: string;
  domainName: string;
  dev: string;
  device: string;
  target: string;
  ready: boolean;
  pivoting: boolean;
  ended: Promise<JobEnd>;
  end: (how: JobEnd) => void;
  /** the progress timer, set once the job has started (qemuBlockJobStarted) */
  timer?: NodeJS.Timeout;
  /** QEMU events that arrived while the command that started the job was still under way */
  queued: QmpEvent[] | null;
  /** settles once the job's status (disk->mirror) is saved, or failed to be */
  saved?: Promise<void>;
  lastPersist: number;
  startedAt: number;
}

export interface BlockJobOptions {
  notify?: (ev: JobProgressEvent) => void;
  /** how often the job's progress reaches the state file (bounded rate), ms */
  persistIntervalMs?: number;
  /** how often progress events reach the host's display, ms */
  progressIntervalMs?: number;
}

/** The block jobs one host process runs, keyed by domain and disk. */
export class BlockJobs {
  private jobs = new Map<string, LiveJob>();
  private interrupted = false;
  private readonly persistIntervalMs: number;
  private readonly progressIntervalMs: number;
  /** State writes that QEMU's events cause (libvirtd's status XML): tracked so that
   * settled() does not return while one is still under way. */
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly store: StateStore,
    private readonly qemu: QemuHost,
    private readonly opts: BlockJobOptions = {},
  ) {
    this.persistIntervalMs = opts.persistIntervalMs ?? 250;
    this.progressIntervalMs = opts.progressIntervalMs ?? 100;
  }

  notify(ev: JobProgressEvent): void {
    this.opts.notify?.(ev);
  }

  private key(uuid: string, dev: string): string {
    return `${uuid}:${dev}`;
  }

  /** the job this host runs on a domain's disk, if any */
  get(uuid: string, dev: string): LiveJob | undefined {
    return this.jobs.get(this.key(uuid, dev));
  }

  /** the bytes the mirror of a job this process runs has written so far (null: no such job) */
  bytesCopied(uuid: string, dev: string): number | null {
    const job = this.get(uuid, dev);
    return job ? this.snapshot(job).bytesCopied : null;
  }

  /** qemuProcessHandleBlockJob / qemuBlockJobEventProcess */
  handleQemuEvent(uuid: string, ev: QmpEvent): void {
    if (!ev.event.startsWith('BLOCK_JOB_')) return;
    const device = String(ev.data.device ?? '');
    const job = [...this.jobs.values()].find((j) => j.domainUuid === uuid && j.device === device);
    if (!job) return;
    // libvirt processes a job's events only after the API call that started it lets go of
    // the domain: a job that fails at once is still known, and ends, after the call returns
    if (job.queued) {
      job.queued.push(ev);
      return;
    }
    const len = Number(ev.data.len ?? 0);
    const offset = Number(ev.data.offset ?? 0);
    switch (ev.event) {
      case 'BLOCK_JOB_READY': {
        job.ready = true;
        const snap = this.snapshot(job);
        this.notify({ type: 'job', phase: 'ready', domain: job.domainName, disk: job.dev, cur: offset, end: len, bytesCopied: snap.bytesCopied, elapsedMs: snap.elapsedMs });
        this.background(this.persistMirror(job, { ready: true, cur: offset, end: len }));
        break;
      }
      case 'BLOCK_JOB_COMPLETED': {
        const failed = typeof ev.data.error === 'string';
        const pivoted = job.pivoting && !failed;
        this.background(this.finishJob(job, pivoted ? 'completed' : failed ? 'failed' : 'cancelled', pivoted, failed ? String(ev.data.error) : undefined));
        break;
      }
      case 'BLOCK_JOB_CANCELLED':
        this.background(this.finishJob(job, 'cancelled', false));
        break;
      default:
        break;
    }
  }

  private snapshot(job: LiveJob): { cur: number; end: number; bytesCopied: number; elapsedMs: number } {
    const s = this.qemu.peek(job.domainUuid)?.jobSnapshot(job.device);
    if (!s) return { cur: 0, end: 0, bytesCopied: 0, elapsedMs: Date.now() - job.startedAt };
    return { cur: s.offset, end: s.len, bytesCopied: s.bytesCopied, elapsedMs: s.elapsedMs };
  }

  /** qemuBlockJobEventProcess for a job that ended: disk->mirror goes, and on a pivot the
   * disk's source becomes the mirror */
  private async finishJob(job: LiveJob, how: JobEnd, pivoted: boolean, error?: string): Promise<void> {
    clearInterval(job.timer);
    const snap = this.snapshot(job);
    this.jobs.delete(this.key(job.domainUuid, job.dev));
    try {
      await this.store.update((s) => {
        const d = byKey(s, 'domains', job.domainUuid);
        if (!d) return;
        delete d.mirrors[job.dev];
        if (pivoted) {
          const disk = d.def.disks.find((x) => x.targetDev === job.dev);
          if (disk) {
            disk.source = job.target;
            disk.type = 'block';
          }
        }
      });
    } finally {
      if (pivoted) this.notify({ type: 'job', phase: 'done', domain: job.domainName, disk: job.dev, bytesCopied: snap.bytesCopied, elapsedMs: snap.elapsedMs });
      else if (error !== undefined) this.notify({ type: 'job', phase: 'failed', domain: job.domainName, disk: job.dev, cur: snap.cur, end: snap.end, error });
      else this.notify({ type: 'job', phase: 'cancelled', domain: job.domainName, disk: job.dev, cur: snap.cur, end: snap.end });
      job.end(how);
    }
  }

  private async persistMirror(job: LiveJob, patch: Partial<DiskMirror>): Promise<void> {
    job.lastPersist = Date.now();
    await this.store.update((s) => {
      const d = byKey(s, 'domains', job.domainUuid);
      const m = d?.mirrors[job.dev];
      if (m) Object.assign(m, patch, { updatedAt: isoMicros() });
    });
  }

  /** qemuBlockJobDiskNew: the job's record exists before the monitor command that starts
   * it, so no event of the job can be lost; events that come while the command is still
   * under way wait until startedJob(). */
  newJob(domain: Domain, dev: string, device: string, target: string): LiveJob {
    let end!: LiveJob['end'];
    const ended = new Promise<JobEnd>((r) => (end = r));
    const job: LiveJob = {
      domainUuid: domain.uuid,
      domainName: domain.name,
      dev,
      device,
      target,
      ready: false,
      pivoting: false,
      ended,
      end,
      queued: [],
      lastPersist: Date.now(),
      startedAt: Date.now(),
    };
    this.jobs.set(this.key(domain.uuid, dev), job);
    return job;
  }

  /** the save of a just-started job's status: waited for by settled(), logged if it fails */
  jobSaved(job: LiveJob, saved: Promise<void>): void {
    job.saved = saved.catch(() => undefined);
    this.background(saved);
  }

  /** resolves once the status of the job this host runs on the disk is saved (or failed) */
  async jobStatusSaved(uuid: string, dev: string): Promise<void> {
    await this.get(uuid, dev)?.saved;
  }

  /** qemuBlockJobStartupFinalize of a job whose command failed: forget it */
  discardJob(job: LiveJob): void {
    if (this.get(job.domainUuid, job.dev) === job) this.jobs.delete(this.key(job.domainUuid, job.dev));
  }

  /** qemuBlockJobStarted: the job runs; show its progress, persist it at a bounded rate, and
   * handle the events that came in meanwhile, in their order. */
  startedJob(job: LiveJob): void {
    const queued = job.queued ?? [];
    job.queued = null;
    job.timer = setInterval(() => {
      const snap = this.snapshot(job);
      if (!job.ready) {
        this.notify({ type: 'job', phase: 'copying', domain: job.domainName, disk: job.dev, cur: snap.cur, end: snap.end, bytesCopied: snap.bytesCopied, elapsedMs: snap.elapsedMs });
      }
      if (Date.now() - job.lastPersist >= this.persistIntervalMs) this.background(this.persistMirror(job, { cur: snap.cur, end: snap.end }));
    }, this.progressIntervalMs);
    // the first progress report goes out at once: a small copy can be READY before the timer fires
    const first = this.snapshot(job);
    this.notify({ type: 'job', phase: 'copying', domain: job.domainName, disk: job.dev, cur: first.cur, end: first.end, bytesCopied: first.bytesCopied, elapsedMs: first.elapsedMs });
    for (const ev of queued) this.handleQemuEvent(job.domainUuid, ev);
    if (this.interrupted && this.get(job.domainUuid, job.dev) === job) void this.cancelJob(job);
  }

  /** Ctrl-C in the host: cancel every block job it runs, and any it starts from now on
   * (virsh blockjob --abort). A job already pivoting is left to finish. */
  async cancelAll(): Promise<void> {
    this.interrupted = true;
    await Promise.all([...this.jobs.values()].map((job) => this.cancelJob(job)));
  }

  private async cancelJob(job: LiveJob): Promise<void> {
    if (job.pivoting) return;
    const proc = this.qemu.peek(job.domainUuid);
    if (!proc) return;
    LOG.info(`cancelling block job on ${job.domainName} disk ${job.dev} (interrupted)`);
    await proc.qmp({ execute: 'block-job-cancel', arguments: { device: job.device, force: true } });
  }

  private background(p: Promise<unknown>): void {
    const tracked = p.catch((err) => LOG.warning(`saving the job status failed: ${err instanceof Error ? err.message : String(err)}`));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** the host is closing: no more progress reports */
  stopTimers(): void {
    for (const j of this.jobs.values()) clearInterval(j.timer);
  }

  /** resolves once every state write the jobs' events caused is done */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
