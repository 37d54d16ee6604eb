// One QEMU process of a running domain: its drives, its QMP monitor, its block jobs and
// the guest's I/O to its disks. libvirt talks to it only through qmp() and onEvent().
import { cacheFlags } from './cache.js';
import { BlockBackend, type BlkdebugEvent, type Breakpoint } from './block-backend.js';
import { QemuError, QmpError } from './errors.js';
import { RawImage } from './image.js';
import { QmpMonitor, type MonitorHost } from './monitor.js';
import type { MirrorBlockJob } from './mirror.js';
import type { DriveSpec, IoErrorInjection, JobSnapshot, QemuProfile, QmpCommand, QmpEvent, QmpReply } from './types.js';

/** RHEL 7.3's qemu-kvm-rhev, the QEMU under Mitaka */
export const QEMU_2_6 = { major: 2, minor: 6, micro: 0, package: ' (qemu-kvm-rhev-2.6.0-28.el7_3.6)' };
/** the QEMU the reference transcripts were recorded with */
export const QEMU_7_2 = { major: 7, minor: 2, micro: 22, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' };

export interface QemuProcessOptions {
  name: string;
  drives: DriveSpec[];
  profile?: QemuProfile;
}

let nodeCounter = 100;

export class QemuProcess implements MonitorHost {
  readonly name: string;
  readonly profile: MonitorHost['profile'];
  readonly drives = new Map<string, BlockBackend>();
  readonly jobs = new Map<string, MirrorBlockJob>();
  private readonly monitor: QmpMonitor;
  private readonly listeners = new Set<(ev: QmpEvent) => void>();
  private running = true;

  /** opens (and locks) every drive's image, as QEMU does at start-up */
  constructor(opts: QemuProcessOptions) {
    this.name = opts.name;
    const reject = opts.profile?.rejectSizeMismatch ?? false;
    this.profile = { rejectSizeMismatch: reject, version: opts.profile?.version ?? (reject ? QEMU_7_2 : QEMU_2_6) };
    try {
      for (const spec of opts.drives) {
        if (spec.format !== 'raw') throw new QemuError(`-drive ${spec.id}: Unknown driver '${spec.format}'`);
        let img: RawImage;
        try {
          img = RawImage.open(spec.file, cacheFlags(spec.cache));
          img.lock('drive');
        } catch (e) {
          throw new QemuError(`-drive file=${spec.file},format=raw,id=${spec.id}: ${(e as Error).message}`);
        }
        this.drives.set(spec.id, new BlockBackend(spec.id, `#block${nodeCounter++}`, img));
      }
    } catch (e) {
      for (const d of this.drives.values()) d.image.close();
      throw e;
    }
    this.monitor = new QmpMonitor(this);
  }

  /** the {"QMP": …} greeting a client reads on connect */
  greeting(): Record<string, unknown> {
    return this.monitor.greeting();
  }

  /**
   * Execute one QMP command. Events the command causes synchronously (JOB_STATUS_CHANGE
   * created/running, paused …) reach listeners before the reply resolves, as on the wire.
   */
  async qmp(cmd: QmpCommand): Promise<QmpReply> {
    if (!this.running) throw new QemuError('QEMU monitor is closed (the process has exited)');
    const withId = <T extends object>(r: T): T & { id?: string } => (cmd.id !== undefined ? { ...r, id: cmd.id } : r);
    try {
      const ret = await this.monitor.dispatch(cmd);
      return withId({ return: ret });
    } catch (e) {
      if (e instanceof QmpError) return withId({ error: { class: e.errorClass, desc: e.message } });
      throw e;
    }
  }

  /** subscribe to QMP events; returns the unsubscribe function */
  onEvent(listener: (ev: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: string, data: Record<string, unknown>): void {
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const ev: QmpEvent = { timestamp: { seconds: Math.floor(us / 1e6), microseconds: us % 1e6 }, event, data };
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (e) {
        // a listener's bug must not stop the job that emitted the event
        process.emitWarning(`QMP event listener threw: ${(e as Error).message}`);
      }
    }
  }

  /** the guest writes to its disk (through the block layer: dirty tracking, drains) */
  guestWrite(device: string, offset: number, data: Buffer): Promise<void> {
    return this.drive(device).guestWrite(offset, data);
  }

  /** the guest reads its disk */
  guestRead(device: string, offset: number, length: number): Promise<Buffer> {
    return this.drive(device).guestRead(offset, length);
  }

  /** a progress read of the device's block job without QMP traffic; null when there is none */
  jobSnapshot(device: string): JobSnapshot | null {
    return this.jobs.get(device)?.snapshot() ?? null;
  }

  /** resolves when the device's current job (if any) has reached the null state */
  async jobFinished(device: string): Promise<void> {
    await this.jobs.get(device)?.finished;
  }

  /** the image file the guest's device currently uses */
  currentFile(device: string): string {
    return this.drive(device).image.path;
  }

  /** make the next `count` reads of the source (op 'read') or writes to the target (op 'write') of the device's mirror fail */
  injectIoError(inj: IoErrorInjection): void {
    this.drive(inj.device).injectFault(inj.op, inj.count, inj.errno ?? 'EIO');
  }

  /** blkdebug break on the device's block job I/O (see BlockBackend.setBreakpoint) */
  setBreakpoint(device: string, event: BlkdebugEvent): Breakpoint {
    return this.drive(device).setBreakpoint(event);
  }

  /** quit: force-cancel the jobs, SHUTDOWN, close the images */
  async quit(): Promise<void> {
    await this.shutdown();
    this.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
  }

  /** stop the process: jobs are cancelled (their events are emitted), images closed */
  async shutdown(): Promise<void> {
    if (!this.running) return;
    const jobs = [...this.jobs.values()];
    for (const job of jobs) {
      try {
        job.cancel(true);
      } catch {
        // a job already finishing is waited for below
      }
    }
    await Promise.all(jobs.map((j) => j.finished));
    this.running = false;
    for (const d of this.drives.values()) d.image.close();
  }

  private drive(device: string): BlockBackend {
    const d = this.drives.get(device);
    if (!d) throw new QemuError(`no drive '${device}' in ${this.name}`);
    if (!this.running) throw new QemuError('QEMU process has exited');
    return d;
  }
}
