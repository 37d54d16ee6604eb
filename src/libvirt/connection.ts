// The simulated libvirtd with its QEMU driver (src/libvirt-domain.c public entry points
// and src/qemu/qemu_driver.c), reached the way python-libvirt reaches it: a connection
// that hands out domain objects. Domain definitions live in the state; the QEMU
// processes (and their block jobs) live in the host process that runs them.
import { pidAlive } from '../common/process.js';
import { statSync } from 'node:fs';
import type { JobProgressEvent } from '../cloud/types.js';
import { getLogger } from '../common/log.js';
import { isoMicros } from '../common/time.js';
import type { QmpEvent, QmpReply } from '../qemu/types.js';
import type { StateStore } from '../state/store.js';
import type { DiskMirror, Domain, DomainDef, DomainDisk, State } from '../state/types.js';
import { LibvirtError, VIR_ERR, systemError } from './errors.js';
import { libvirtFault } from './faults.js';
import {
  VIR_DOMAIN_AFFECT,
  VIR_DOMAIN_BLOCK_JOB_ABORT,
  VIR_DOMAIN_BLOCK_JOB_TYPE,
  VIR_DOMAIN_BLOCK_REBASE,
  VIR_DOMAIN_BLOCK_RESIZE,
  VIR_DOMAIN_STATE,
  VIR_DOMAIN_UNDEFINE,
  VIR_DOMAIN_XML,
} from './flags.js';
import { QemuHost, driveId, type GuestStarter, type QemuMonitor } from './qemu-host.js';
import { formatDomainXml, parseDisks, parseDomainXml } from './xml.js';
import { decodeFlags } from './flags.js';
import { instrument, type SpanSpec } from '../trace/tracer.js';

const LOG = getLogger('libvirt.qemu.qemu_driver', 'libvirtd');

const LLONG_MAX = 2n ** 63n - 1n;
const MiB = 1024 * 1024;

/** python-libvirt's blockJobInfo() result: {} when there is no job */
export interface BlockJobInfo {
  type?: number;
  bandwidth?: number;
  cur?: number;
  end?: number;
}

/** What libvirtd keeps in memory about a block job it started (disk->mirror + mirrorState). */
interface LiveJob {
  domainUuid: string;
  domainName: string;
  dev: string;
  device: string;
  target: string;
  ready: boolean;
  pivoting: boolean;
  ended: Promise<'completed' | 'cancelled' | 'failed'>;
  end: (how: 'completed' | 'cancelled' | 'failed') => void;
  /** the progress timer, set once the job has started (qemuBlockJobStarted) */
  timer?: NodeJS.Timeout;
  /** QEMU events that arrived while the command that started the job was still under way */
  queued: QmpEvent[] | null;
  /** settles once the job's status (disk->mirror) is saved, or failed to be */
  saved?: Promise<void>;
  lastPersist: number;
  startedAt: number;
}

export interface LibvirtOptions {
  notify?: (ev: JobProgressEvent) => void;
  /** how often the job's progress reaches the state file (bounded rate), ms */
  persistIntervalMs?: number;
  /** how often progress events reach the host's display, ms */
  progressIntervalMs?: number;
  /** starts the guest of a domain whose QEMU this host process starts (its disk I/O) */
  startGuest?: GuestStarter;
}


function qmpOk(reply: QmpReply): unknown {
  if ('error' in reply) throw new QmpError(reply.error.class, reply.error.desc);
  return reply.return;
}

class QmpError extends Error {
  constructor(readonly klass: string, readonly desc: string) {
    super(desc);
  }
}

export class LibvirtConnection {
  readonly qemu: QemuHost;
  private jobs = new Map<string, LiveJob>();
  private interrupted = false;
  private readonly persistIntervalMs: number;
  private readonly progressIntervalMs: number;

  constructor(
    readonly store: StateStore,
    private readonly opts: LibvirtOptions = {},
  ) {
    // a QEMU is started with the domain's `nova-sim blkdebug` rules as the state holds them then
    this.qemu = new QemuHost((uuid, ev) => this.handleQemuEvent(uuid, ev), opts.startGuest, (d) => (this.store.read().blkdebug ?? []).filter((r) => r.server === d.uuid));
    this.persistIntervalMs = opts.persistIntervalMs ?? 250;
    this.progressIntervalMs = opts.progressIntervalMs ?? 100;
  }

  // ---- connection-level calls -------------------------------------------------------

  /** virDomainLookupByUUIDString */
  lookupByUUIDString(uuid: string): VirDomain {
    const d = this.store.read().libvirt.domains.find((x) => x.uuid === uuid);
    if (!d) throw new LibvirtError(VIR_ERR.NO_DOMAIN, `no domain with matching uuid '${uuid}'`);
    return new VirDomain(this, d.uuid, d.name);
  }

  /** virDomainLookupByName */
  lookupByName(name: string): VirDomain {
    const d = this.store.read().libvirt.domains.find((x) => x.name === name);
    if (!d) throw new LibvirtError(VIR_ERR.NO_DOMAIN, `no domain with matching name '${name}'`);
    return new VirDomain(this, d.uuid, d.name);
  }

  listAllDomains(): Domain[] {
    return this.store.read().libvirt.domains;
  }

  /** virDomainDefineXML: a new persistent domain, or the next-boot config of an existing one */
  async defineXML(xml: string): Promise<VirDomain> {
    const def = parseDomainXml(xml);
    libvirtFault('libvirt.defineXML', { domain: def.name });
    await this.store.update((s) => {
      const existing = s.libvirt.domains.find((d) => d.uuid === def.uuid);
      if (existing) {
        if (existing.name !== def.name) {
          throw new LibvirtError(VIR_ERR.OPERATION_FAILED, `domain '${existing.name}' already exists with uuid ${def.uuid}`);
        }
        existing.persistentDef = def;
        // an inactive domain's only definition is the persistent one
        if (existing.state === 'shutoff') existing.def = structuredClone(def);
        return;
      }
      s.libvirt.domains.push({
        name: def.name,
        uuid: def.uuid,
        id: null,
        state: 'shutoff',
        def: structuredClone(def),
        persistentDef: def,
        managedSave: false,
        mirrors: {},
      });
    });
    LOG.debug(`defined domain ${def.name} (${def.uuid})`);
    return new VirDomain(this, def.uuid, def.name);
  }

  // ---- helpers the domain object uses --------------------------------------------------

  /** qemuDomObjFromDomain: the domain as the driver sees it now */
  domainObj(uuid: string, name: string, s: State = this.store.read()): Domain {
    const d = s.libvirt.domains.find((x) => x.uuid === uuid);
    if (!d) throw new LibvirtError(VIR_ERR.NO_DOMAIN, `no domain with matching uuid '${uuid}' (${name})`);
    this.reapStaleMirrors(d);
    return d;
  }

  /** A mirror recorded by a host process that no longer exists died with that process's
   * QEMU job: the disk stayed on its source, so the record is dropped. */
  private reapStaleMirrors(d: Domain): void {
    for (const [dev, m] of Object.entries(d.mirrors)) {
      if (!pidAlive(m.ownerPid)) delete d.mirrors[dev];
    }
  }

  notify(ev: JobProgressEvent): void {
    this.opts.notify?.(ev);
  }

  jobKey(uuid: string, dev: string): string {
    return `${uuid}:${dev}`;
  }

  liveJob(uuid: string, dev: string): LiveJob | undefined {
    return this.jobs.get(this.jobKey(uuid, dev));
  }

  /** qemuProcessHandleBlockJob / qemuBlockJobEventProcess */
  private handleQemuEvent(uuid: string, ev: QmpEvent): void {
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
        this.opts.notify?.({ type: 'job', phase: 'ready', domain: job.domainName, disk: job.dev, cur: offset, end: len, bytesCopied: snap.bytesCopied, elapsedMs: snap.elapsedMs });
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

  private async finishJob(job: LiveJob, how: 'completed' | 'cancelled' | 'failed', pivoted: boolean, error?: string): Promise<void> {
    clearInterval(job.timer);
    const snap = this.snapshot(job);
    this.jobs.delete(this.jobKey(job.domainUuid, job.dev));
    try {
      await this.store.update((s) => {
        const d = s.libvirt.domains.find((x) => x.uuid === job.domainUuid);
        if (!d) return;
        delete d.mirrors[job.dev];
        if (pivoted) {
          // qemuBlockJobEventProcess: on a pivot the disk's source becomes the mirror
          const disk = d.def.disks.find((x) => x.targetDev === job.dev);
          if (disk) {
            disk.source = job.target;
            disk.type = 'block';
          }
        }
      });
    } finally {
      if (pivoted) this.opts.notify?.({ type: 'job', phase: 'done', domain: job.domainName, disk: job.dev, bytesCopied: snap.bytesCopied, elapsedMs: snap.elapsedMs });
      else if (error !== undefined) this.opts.notify?.({ type: 'job', phase: 'failed', domain: job.domainName, disk: job.dev, cur: snap.cur, end: snap.end, error });
      else this.opts.notify?.({ type: 'job', phase: 'cancelled', domain: job.domainName, disk: job.dev, cur: snap.cur, end: snap.end });
      job.end(how);
    }
  }

  private async persistMirror(job: LiveJob, patch: Partial<DiskMirror>): Promise<void> {
    job.lastPersist = Date.now();
    await this.store.update((s) => {
      const d = s.libvirt.domains.find((x) => x.uuid === job.domainUuid);
      const m = d?.mirrors[job.dev];
      if (m) Object.assign(m, patch, { updatedAt: isoMicros() });
    });
  }

  /** qemuBlockJobDiskNew: the job's record exists before the monitor command that starts
   * it, so no event of the job can be lost; events that come while the command is still
   * under way wait until startedJob(). */
  newJob(domain: Domain, dev: string, device: string, target: string): LiveJob {
    let end!: LiveJob['end'];
    const ended = new Promise<'completed' | 'cancelled' | 'failed'>((r) => (end = r));
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
    this.jobs.set(this.jobKey(domain.uuid, dev), job);
    return job;
  }

  /** the save of a just-started job's status: waited for by close(), logged if it fails */
  jobSaved(job: LiveJob, saved: Promise<void>): void {
    job.saved = saved.catch(() => undefined);
    this.background(saved);
  }

  /** resolves once the status of the job this host runs on the disk is saved (or failed) */
  async jobStatusSaved(uuid: string, dev: string): Promise<void> {
    await this.jobs.get(this.jobKey(uuid, dev))?.saved;
  }

  /** qemuBlockJobStartupFinalize of a job whose command failed: forget it */
  discardJob(job: LiveJob): void {
    if (this.jobs.get(this.jobKey(job.domainUuid, job.dev)) === job) this.jobs.delete(this.jobKey(job.domainUuid, job.dev));
  }

  /** qemuBlockJobStarted: the job runs; show its progress, persist it at a bounded rate, and
   * handle the events that came in meanwhile, in their order. */
  startedJob(job: LiveJob): void {
    const queued = job.queued ?? [];
    job.queued = null;
    job.timer = setInterval(() => {
      const snap = this.snapshot(job);
      if (!job.ready) {
        this.opts.notify?.({ type: 'job', phase: 'copying', domain: job.domainName, disk: job.dev, cur: snap.cur, end: snap.end, bytesCopied: snap.bytesCopied, elapsedMs: snap.elapsedMs });
      }
      if (Date.now() - job.lastPersist >= this.persistIntervalMs) this.background(this.persistMirror(job, { cur: snap.cur, end: snap.end }));
    }, this.progressIntervalMs);
    // the first progress report goes out at once: a small copy can be READY before the timer fires
    const first = this.snapshot(job);
    this.notify({ type: 'job', phase: 'copying', domain: job.domainName, disk: job.dev, cur: first.cur, end: first.end, bytesCopied: first.bytesCopied, elapsedMs: first.elapsedMs });
    for (const ev of queued) this.handleQemuEvent(job.domainUuid, ev);
    if (this.interrupted && this.jobs.get(this.jobKey(job.domainUuid, job.dev)) === job) void this.cancelJob(job);
  }

  /** Ctrl-C in the host: cancel every block job it runs, and any it starts from now on
   * (virsh blockjob --abort). A job already pivoting is left to finish. */
  async cancelAllJobs(): Promise<void> {
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

  /** State writes that QEMU's events cause (libvirtd's status XML): tracked so that
   * close() does not return while one is still under way. */
  private pending = new Set<Promise<unknown>>();

  private background(p: Promise<unknown>): void {
    const tracked = p.catch((err) => LOG.warning(`saving the job status failed: ${err instanceof Error ? err.message : String(err)}`));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  async close(): Promise<void> {
    for (const j of this.jobs.values()) clearInterval(j.timer);
    // stopping QEMU cancels its jobs; their events write the state one last time
    await this.qemu.stopAll();
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}

function findDisk(def: DomainDef, path: string): DomainDisk {
  // qemuDomainDiskByName: a target name (vda) or a source path
  const disk = def.disks.find((d) => d.targetDev === path || d.source === path);
  if (!disk) throw new LibvirtError(VIR_ERR.INVALID_ARG, `disk '${path}' not found in domain`);
  return disk;
}

function isActive(d: Domain): boolean {
  return d.state === 'running' || d.state === 'paused';
}

/** python-libvirt's virDomain */
export class VirDomain {
  constructor(
    private readonly conn: LibvirtConnection,
    readonly uuid: string,
    readonly domName: string,
  ) {}

  name(): string {
    return this.domName;
  }

  UUIDString(): string {
    return this.uuid;
  }

  private obj(): Domain {
    return this.conn.domainObj(this.uuid, this.domName);
  }

  isActive(): boolean {
    return isActive(this.obj());
  }

  isPersistent(): boolean {
    return this.obj().persistentDef !== null;
  }

  /** virDomainGetState → [state, reason] */
  state(): [number, number] {
    const s = this.obj().state;
    const map = { running: VIR_DOMAIN_STATE.RUNNING, paused: VIR_DOMAIN_STATE.PAUSED, shutoff: VIR_DOMAIN_STATE.SHUTOFF, pmsuspended: VIR_DOMAIN_STATE.PMSUSPENDED };
    return [map[s], 1];
  }

  /** virDomainGetXMLDesc */
  XMLDesc(flags = 0): string {
    const d = this.obj();
    if (flags & VIR_DOMAIN_XML.INACTIVE) return formatDomainXml(d.persistentDef ?? d.def);
    return formatDomainXml(d.def, { live: isActive(d), id: d.id, mirrors: d.mirrors });
  }

  /** virDomainUndefineFlags: an inactive domain disappears, an active one becomes transient */
  async undefineFlags(flags = 0): Promise<void> {
    libvirtFault('libvirt.undefine', { domain: this.domName });
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (!d.persistentDef) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'cannot undefine transient domain');
      if (d.managedSave) {
        if (!(flags & VIR_DOMAIN_UNDEFINE.MANAGED_SAVE)) {
          throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'Refusing to undefine while domain managed save image exists');
        }
        // the saved guest memory image is deleted with the definition
        d.managedSave = false;
      }
      if (isActive(d)) d.persistentDef = null;
      else s.libvirt.domains = s.libvirt.domains.filter((x) => x !== d);
    });
  }

  undefine(): Promise<void> {
    return this.undefineFlags(0);
  }

  /** virDomainCreate: boot (or restore a managed-save image) */
  async create(): Promise<void> {
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (isActive(d)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is already running');
      d.state = 'running';
      d.managedSave = false;
      d.id = s.libvirt.nextDomainId++;
      d.def.disks.forEach((disk, i) => {
        disk.alias = disk.alias ?? `${disk.targetBus}-disk${i}`;
      });
    });
  }

  /** virDomainGetID: the running domain's id, -1 when it is not running */
  ID(): number {
    return this.obj().id ?? -1;
  }

  /** virDomainShutdown: an ACPI power-button request. The embedded guest OS honours it at
   * once, so the domain shuts off as on a destroy (a transient one disappears) */
  async shutdown(): Promise<void> {
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (d.state !== 'running') throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
    });
    await this.destroy();
  }

  /** virDomainDestroy: the QEMU process ends; a transient domain disappears */
  async destroy(): Promise<void> {
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (!isActive(d)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
      d.state = 'shutoff';
      d.id = null;
      d.mirrors = {};
      if (!d.persistentDef) s.libvirt.domains = s.libvirt.domains.filter((x) => x !== d);
      else d.def = structuredClone(d.persistentDef);
    });
    await this.conn.qemu.stop(this.uuid);
  }

  /** virDomainSuspend (pause the vCPUs) */
  async suspend(): Promise<void> {
    await this.setState('running', 'paused', 'domain is not running');
  }

  /** virDomainResume */
  async resume(): Promise<void> {
    await this.setState('paused', 'running', 'domain is not paused');
  }

  private async setState(from: Domain['state'], to: Domain['state'], err: string): Promise<void> {
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (d.state !== from) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, err);
      d.state = to;
    });
  }

  /** virDomainManagedSave: guest memory to disk, domain shut off */
  async managedSave(): Promise<void> {
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (!isActive(d)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
      if (!d.persistentDef) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'cannot do managed save for transient domain');
      d.state = 'shutoff';
      d.id = null;
      d.managedSave = true;
    });
    await this.conn.qemu.stop(this.uuid);
  }

  hasManagedSaveImage(): boolean {
    return this.obj().managedSave;
  }

  /** virDomainAttachDeviceFlags for a <disk> */
  async attachDeviceFlags(xml: string, flags: number): Promise<void> {
    const [disk] = parseDisks(xml);
    if (!disk) throw new LibvirtError(VIR_ERR.XML_ERROR, 'unknown device type');
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      const live = flags & VIR_DOMAIN_AFFECT.LIVE && isActive(d);
      if (live) {
        if (d.def.disks.some((x) => x.targetDev === disk.targetDev)) {
          throw new LibvirtError(VIR_ERR.OPERATION_FAILED, `target ${disk.targetDev} already exists`);
        }
        const idx = Math.max(-1, ...d.def.disks.map((x) => Number(x.alias?.match(/disk(\d+)$/)?.[1] ?? -1))) + 1;
        d.def.disks.push({ ...disk, alias: `${disk.targetBus}-disk${idx}` });
      }
      if (flags & VIR_DOMAIN_AFFECT.CONFIG && d.persistentDef) {
        if (!d.persistentDef.disks.some((x) => x.targetDev === disk.targetDev)) d.persistentDef.disks.push({ ...disk, alias: null });
      }
      if (!isActive(d) && d.persistentDef) d.def = structuredClone(d.persistentDef);
    });
    // the running QEMU gets the drive on its next start in this host (hotplug)
    await this.conn.qemu.stop(this.uuid);
  }

  /** virDomainDetachDeviceFlags for a <disk> */
  async detachDeviceFlags(xml: string, flags: number): Promise<void> {
    const [disk] = parseDisks(xml);
    if (!disk) throw new LibvirtError(VIR_ERR.XML_ERROR, 'unknown device type');
    await this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      if (flags & VIR_DOMAIN_AFFECT.LIVE && isActive(d)) {
        if (d.mirrors[disk.targetDev]) {
          throw new LibvirtError(VIR_ERR.BLOCK_COPY_ACTIVE, `disk '${disk.targetDev}' already in active block job`);
        }
        findDisk(d.def, disk.targetDev);
        d.def.disks = d.def.disks.filter((x) => x.targetDev !== disk.targetDev);
      }
      if (flags & VIR_DOMAIN_AFFECT.CONFIG && d.persistentDef) {
        d.persistentDef.disks = d.persistentDef.disks.filter((x) => x.targetDev !== disk.targetDev);
      }
      if (!isActive(d) && d.persistentDef) d.def = structuredClone(d.persistentDef);
    });
    await this.conn.qemu.stop(this.uuid);
  }

  /** virDomainBlockRebase (src/libvirt-domain.c) → qemuDomainBlockRebase */
  /** virDomain.blockRebase (libvirt.py): the binding calls the C entry point (libvirtmod),
   * which raises libvirtError when it fails */
  async blockRebase(disk: string, base: string | null, bandwidth: number, flags: number): Promise<number> {
    return this.virDomainBlockRebase(disk, base, bandwidth, flags);
  }

  /** virDomainBlockRebase (src/libvirt-domain.c): the public API's argument checks, then the
   * driver's domainBlockRebase */
  private async virDomainBlockRebase(disk: string, base: string | null, bandwidth: number, flags: number): Promise<number> {
    libvirtFault('libvirt.blockRebase', { domain: this.domName, disk, path: base });
    const F = VIR_DOMAIN_BLOCK_REBASE;
    if (!disk) throw new LibvirtError(VIR_ERR.INVALID_ARG, 'disk in virDomainBlockRebase must not be NULL');
    if (flags & F.COPY) {
      if (!base) throw new LibvirtError(VIR_ERR.INVALID_ARG, 'base in virDomainBlockRebase must not be NULL');
    } else if (flags & (F.SHALLOW | F.REUSE_EXT | F.COPY_RAW | F.COPY_DEV)) {
      throw new LibvirtError(VIR_ERR.INVALID_ARG, 'use of flags requires a copy job');
    }
    return this.qemuDomainBlockRebase(disk, base, bandwidth, flags);
  }

  /** qemuDomainBlockRebase: the COPY branch (block pull is not modelled) */
  private async qemuDomainBlockRebase(path: string, base: string | null, bandwidth: number, flags: number): Promise<number> {
    const F = VIR_DOMAIN_BLOCK_REBASE;
    const known = F.SHALLOW | F.REUSE_EXT | F.COPY | F.COPY_RAW | F.RELATIVE | F.COPY_DEV | F.BANDWIDTH_BYTES;
    if (flags & ~known) throw new LibvirtError(VIR_ERR.INVALID_ARG, `unsupported flags (0x${(flags & ~known).toString(16)}) in function qemuDomainBlockRebase`);
    this.obj(); // qemuDomObjFromDomain
    if (!(flags & F.COPY)) {
      throw new LibvirtError(VIR_ERR.ARGUMENT_UNSUPPORTED, 'block pull is not supported by novasim');
    }
    const destType: 'file' | 'block' = flags & F.COPY_DEV ? 'block' : 'file';
    const destFormat = flags & F.COPY_RAW ? 'raw' : null;
    let speed = BigInt(Math.trunc(bandwidth));
    if (!(flags & F.BANDWIDTH_BYTES)) {
      if (speed > LLONG_MAX >> 20n) {
        throw new LibvirtError(VIR_ERR.OVERFLOW, `bandwidth must be less than ${LLONG_MAX >> 20n}`);
      }
      speed <<= 20n;
    }
    if (flags & F.RELATIVE) {
      throw new LibvirtError(VIR_ERR.ARGUMENT_UNSUPPORTED, 'Relative backing during copy not supported yet');
    }
    return this.qemuDomainBlockCopyCommon(path, base as string, destType, destFormat, Number(speed), 0, 0, flags & (F.SHALLOW | F.REUSE_EXT));
  }

  /** qemuDomainBlockCopyCommon: the checks in libvirt's order, then drive-mirror */
  private async qemuDomainBlockCopyCommon(
    path: string,
    mirrorPath: string,
    destType: 'file' | 'block',
    destFormat: string | null,
    bandwidth: number,
    granularity: number,
    bufSize: number,
    flags: number,
  ): Promise<number> {
    const F = VIR_DOMAIN_BLOCK_REBASE;
    const vm = this.obj();
    if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
    const disk = findDisk(vm.def, path);
    const device = driveId(disk.alias ?? '');
    if (vm.mirrors[disk.targetDev] || this.conn.liveJob(vm.uuid, disk.targetDev)) {
      throw new LibvirtError(VIR_ERR.BLOCK_COPY_ACTIVE, `disk '${disk.targetDev}' already in active block job`);
    }
    if (vm.persistentDef) {
      // qemu can't yet restart a domain with a mirror running, and libvirt-guests may
      // managed-save a persistent one, so block copy needs a transient domain
      throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not transient');
    }
    // only one layer here, so SHALLOW is cleared, and a raw destination is fine
    flags &= ~F.SHALLOW;
    let st: ReturnType<typeof statSync> | null = null;
    try {
      st = statSync(mirrorPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'ENOENT') throw systemError(`unable to stat for disk ${disk.targetDev}: ${mirrorPath}`, code);
      if (flags & F.REUSE_EXT || destType === 'block') {
        throw systemError(`missing destination file for disk ${disk.targetDev}: ${mirrorPath}`, code);
      }
    }
    if (st && !st.isBlockDevice()) {
      if (st.size && !(flags & F.REUSE_EXT)) {
        throw new LibvirtError(
          VIR_ERR.CONFIG_UNSUPPORTED,
          `external destination file for disk ${disk.targetDev} already exists and is not a block device: ${mirrorPath}`,
        );
      }
      if (destType === 'block') {
        throw new LibvirtError(VIR_ERR.INVALID_ARG, `blockdev flag requested for disk ${disk.targetDev}, but file '${mirrorPath}' is not a block device`);
      }
    }
    // the format is probed from a reused file (all our images are raw) or copied from the source
    const format = destFormat ?? (flags & F.REUSE_EXT ? 'raw' : disk.driverType);
    const mon = await this.conn.qemu.get(vm);
    const job = this.conn.newJob(vm, disk.targetDev, device, mirrorPath);
    let reply: QmpReply;
    try {
      reply = await this.qemuMonitorDriveMirror(mon, device, mirrorPath, format, bandwidth, granularity, bufSize, flags);
    } catch (err) {
      this.conn.discardJob(job);
      throw err;
    }
    if ('error' in reply) {
      this.conn.discardJob(job);
      throw new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'drive-mirror': ${reply.error.desc}`);
    }
    // disk->mirror is recorded and the status saved (virDomainSaveStatus). libvirtd writes
    // its status XML to tmpfs (/run/libvirt/qemu), and its caller polls the job a millisecond
    // after QEMU answered; here the status is the durable state file (an fsync, ~10 ms), so
    // the save goes on beside the caller's first poll instead of in front of it. The job's
    // own state changes (finishJob, persistMirror) queue behind it in the store.
    const saved = this.conn.store.update((s) => {
      const d = this.conn.domainObj(this.uuid, this.domName, s);
      d.mirrors[disk.targetDev] = {
        dev: disk.targetDev,
        type: destType,
        source: mirrorPath,
        format,
        job: 'copy',
        ready: false,
        cur: 0,
        end: 0,
        bandwidth,
        ownerPid: process.pid,
        updatedAt: isoMicros(),
      };
    });
    // qemuBlockJobStarted: the API call ends here, and the job's events (any that came in
    // while drive-mirror ran) are handled from now on
    this.conn.startedJob(job);
    this.conn.jobSaved(
      job,
      saved.catch(async (err: unknown) => {
        // a job whose record could not be saved must not go on copying unseen: stop it
        if (this.conn.liveJob(vm.uuid, disk.targetDev) === job) {
          await mon.qmp({ execute: 'block-job-cancel', arguments: { device, force: true } }).catch(() => undefined);
        }
        throw err;
      }),
    );
    return 0;
  }

  /** qemuMonitorDriveMirror (src/qemu/qemu_monitor.c): the monitor's entry point logs the
   * request and hands it to the JSON monitor */
  private qemuMonitorDriveMirror(
    mon: QemuMonitor,
    device: string,
    file: string,
    format: string,
    bandwidth: number,
    granularity: number,
    bufSize: number,
    flags: number,
  ): Promise<QmpReply> {
    LOG.debug(`qemuMonitorDriveMirror: device=${device}, file=${file}, format=${format}, bandwidth=${bandwidth}, granularity=0x${granularity.toString(16)}, buf_size=${bufSize}, flags=${flags.toString(16)}`);
    return this.qemuMonitorJSONDriveMirror(mon, device, file, format, bandwidth, granularity, bufSize, flags);
  }

  /** qemuMonitorJSONDriveMirror (src/qemu/qemu_monitor_json.c): builds the drive-mirror
   * command (sync full, mode existing when the target is reused) and sends it */
  private qemuMonitorJSONDriveMirror(
    mon: QemuMonitor,
    device: string,
    file: string,
    format: string,
    bandwidth: number,
    granularity: number,
    bufSize: number,
    flags: number,
  ): Promise<QmpReply> {
    const args: Record<string, unknown> = { device, target: file, speed: bandwidth };
    if (granularity) args.granularity = granularity;
    if (bufSize) args['buf-size'] = bufSize;
    args.sync = 'full';
    args.mode = flags & VIR_DOMAIN_BLOCK_REBASE.REUSE_EXT ? 'existing' : 'absolute-paths';
    args.format = format;
    return mon.qmp({ execute: 'drive-mirror', arguments: args });
  }

  /** virDomainGetBlockJobInfo → qemuDomainGetBlockJobInfo */
  async blockJobInfo(path: string, flags = 0): Promise<BlockJobInfo> {
    void flags;
    const vm = this.obj();
    if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
    const disk = findDisk(vm.def, path);
    const device = driveId(disk.alias ?? '');
    const stored = vm.mirrors[disk.targetDev];
    let raw: { type: string; speed: number; offset: number; len: number; ready: boolean } | undefined;
    if (stored && stored.ownerPid !== process.pid) {
      // the job runs in another host process: answer from what it last reported
      raw = { type: 'mirror', speed: stored.bandwidth, offset: stored.cur, len: stored.end, ready: stored.ready };
    } else {
      const jobs = qmpOk(await (await this.conn.qemu.get(vm)).qmp({ execute: 'query-block-jobs' })) as {
        device: string;
        type: string;
        speed: number;
        offset: number;
        len: number;
        ready: boolean;
      }[];
      raw = jobs.find((j) => j.device === device);
    }
    if (!raw) return {};
    let cur = raw.offset;
    let end = raw.len;
    // a job that has not started reports 0/0; libvirt makes that read as "not done"
    if (cur === 0 && end === 0) {
      end = 1;
      if (raw.ready) cur = 1;
    }
    return {
      type: raw.type === 'mirror' ? VIR_DOMAIN_BLOCK_JOB_TYPE.COPY : VIR_DOMAIN_BLOCK_JOB_TYPE.UNKNOWN,
      bandwidth: Math.ceil(raw.speed / MiB),
      cur,
      end,
    };
  }

  /** virDomainBlockJobAbort → qemuDomainBlockJobAbort */
  async blockJobAbort(path: string, flags = 0): Promise<number> {
    if (flags & VIR_DOMAIN_BLOCK_JOB_ABORT.PIVOT) libvirtFault('libvirt.blockJobAbort.pivot', { domain: this.domName, disk: path });
    const vm = this.obj();
    if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
    const disk = findDisk(vm.def, path);
    const device = driveId(disk.alias ?? '');
    const pivot = Boolean(flags & VIR_DOMAIN_BLOCK_JOB_ABORT.PIVOT);
    const job = this.conn.liveJob(vm.uuid, disk.targetDev);
    const stored = vm.mirrors[disk.targetDev];
    // (a mirror this process recorded without a live job is one whose end is being saved)
    if (stored && !job && stored.ownerPid !== process.pid) {
      throw new LibvirtError(VIR_ERR.OPERATION_INVALID, `disk '${disk.targetDev}' has a block job run by process ${stored.ownerPid}`);
    }
    const mon = await this.conn.qemu.get(vm);
    if (pivot) {
      if (!job) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, `pivot of disk '${disk.targetDev}' requires an active copy job`);
      if (!job.ready) throw new LibvirtError(VIR_ERR.BLOCK_COPY_ACTIVE, `disk '${disk.targetDev}' not ready for pivot yet`);
      job.pivoting = true;
      this.conn.notify({ type: 'job', phase: 'pivot', domain: vm.name, disk: disk.targetDev });
      const reply = await mon.qmp({ execute: 'block-job-complete', arguments: { device } });
      if ('error' in reply) {
        job.pivoting = false;
        throw qmpBlockJobError(reply.error.class, reply.error.desc, device, 'block-job-complete');
      }
    } else {
      const reply = await mon.qmp({ execute: 'block-job-cancel', arguments: { device } });
      if ('error' in reply) throw qmpBlockJobError(reply.error.class, reply.error.desc, device, 'block-job-cancel');
    }
    if (job && !(flags & VIR_DOMAIN_BLOCK_JOB_ABORT.ASYNC)) {
      const how = await job.ended;
      if (pivot && how !== 'completed') {
        throw new LibvirtError(VIR_ERR.OPERATION_FAILED, `failed to pivot job for disk ${disk.targetDev}`);
      }
    }
    return 0;
  }

  /** virDomainBlockResize → qemuDomainBlockResize (size in KiB unless BYTES) */
  async blockResize(path: string, size: number, flags = 0): Promise<number> {
    libvirtFault('libvirt.blockResize', { domain: this.domName, disk: path });
    const vm = this.obj();
    if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not active');
    const disk = findDisk(vm.def, path);
    const bytes = flags & VIR_DOMAIN_BLOCK_RESIZE.BYTES ? size : size * 1024;
    const reply = await (await this.conn.qemu.get(vm)).qmp({ execute: 'block_resize', arguments: { device: driveId(disk.alias ?? ''), size: bytes } });
    if ('error' in reply) throw new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'block_resize': ${reply.error.desc}`);
    return 0;
  }
}

/** qemuMonitorJSONBlockJobError: how libvirt words QEMU's block-job errors */
function qmpBlockJobError(klass: string, desc: string, device: string, cmd: string): LibvirtError {
  if (klass === 'DeviceNotActive') return new LibvirtError(VIR_ERR.OPERATION_INVALID, `No active operation on device: ${device}`);
  return new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command '${cmd}': ${desc}`);
}

// --trace: python-libvirt's virDomain methods, the public C entry points and the QEMU
// driver functions behind them
const PY = { location: 'libvirt.py', layer: 'libvirt-python', service: 'nova-compute' } as const;
const C = (name: string, location = 'src/qemu/qemu_driver.c'): SpanSpec => ({ name, location, layer: 'libvirt', service: 'libvirtd' });
const rebaseAttrs = function (this: VirDomain, disk: string, base: string | null, bandwidth: number, flags: number) {
  return { domain: this.domName, disk, base, bandwidth, flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags) };
};
instrument(VirDomain.prototype, 'blockRebase', { name: 'virDomain.blockRebase()', ...PY }, rebaseAttrs);
instrument(VirDomain.prototype, 'virDomainBlockRebase', C('virDomainBlockRebase()', 'src/libvirt-domain.c'), rebaseAttrs);
// the drive-mirror command as the two monitor layers see it
const mirrorAttrs = (_mon: QemuMonitor, device: string, file: string, format: string, bandwidth: number, granularity: number, bufSize: number, flags: number) => ({
  device,
  target: file,
  speed: bandwidth,
  ...(granularity ? { granularity } : {}),
  ...(bufSize ? { 'buf-size': bufSize } : {}),
  sync: 'full',
  mode: flags & VIR_DOMAIN_BLOCK_REBASE.REUSE_EXT ? 'existing' : 'absolute-paths',
  format,
  flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags),
});
instrument(VirDomain.prototype, 'qemuMonitorDriveMirror', C('qemuMonitorDriveMirror()', 'src/qemu/qemu_monitor.c'), mirrorAttrs);
instrument(VirDomain.prototype, 'qemuMonitorJSONDriveMirror', C('qemuMonitorJSONDriveMirror()', 'src/qemu/qemu_monitor_json.c'), mirrorAttrs);
instrument(VirDomain.prototype, 'qemuDomainBlockRebase', C('qemuDomainBlockRebase()'), function (this: VirDomain, path: string, base: string | null, bandwidth: number, flags: number) {
  return { disk: path, base, bandwidth, flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags) };
});
instrument(
  VirDomain.prototype,
  'qemuDomainBlockCopyCommon',
  C('qemuDomainBlockCopyCommon()'),
  (path: string, mirror: string, destType: string, destFormat: string | null, bandwidth: number, granularity: number, bufSize: number, flags: number) => ({
    disk: path,
    mirror,
    dest_type: destType,
    format: destFormat,
    bandwidth,
    granularity,
    buf_size: bufSize,
    flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags),
  }),
);
instrument(VirDomain.prototype, 'blockJobInfo', [{ name: 'virDomain.blockJobInfo()', ...PY }, C('qemuDomainGetBlockJobInfo()')], function (this: VirDomain, disk: string, flags = 0) {
  return { domain: this.domName, disk, flags };
});
instrument(VirDomain.prototype, 'blockJobAbort', [{ name: 'virDomain.blockJobAbort()', ...PY }, C('qemuDomainBlockJobAbort()')], function (this: VirDomain, disk: string, flags = 0) {
  return { domain: this.domName, disk, flags: decodeFlags(VIR_DOMAIN_BLOCK_JOB_ABORT, flags) };
});
instrument(VirDomain.prototype, 'blockResize', [{ name: 'virDomain.blockResize()', ...PY }, C('qemuDomainBlockResize()')], function (this: VirDomain, disk: string, size: number, flags = 0) {
  return { domain: this.domName, disk, size, flags: decodeFlags(VIR_DOMAIN_BLOCK_RESIZE, flags) };
});
instrument(VirDomain.prototype, 'undefineFlags', [{ name: 'virDomain.undefineFlags()', ...PY }, C('qemuDomainUndefineFlags()')], function (this: VirDomain, flags = 0) {
  return { domain: this.domName, flags: decodeFlags(VIR_DOMAIN_UNDEFINE, flags) };
});
instrument(VirDomain.prototype, 'XMLDesc', { name: 'virDomain.XMLDesc()', ...PY }, function (this: VirDomain, flags = 0) {
  return { domain: this.domName, flags: decodeFlags(VIR_DOMAIN_XML, flags) };
}, (xml: string) => `${xml.length} chars`);
instrument(VirDomain.prototype, 'isPersistent', { name: 'virDomain.isPersistent()', ...PY }, function (this: VirDomain) {
  return { domain: this.domName };
});
instrument(LibvirtConnection.prototype, 'defineXML', [{ name: 'virConnect.defineXML()', ...PY }, C('qemuDomainDefineXMLFlags()')], (xml: string) => ({
  name: /<name>([^<]*)<\/name>/.exec(xml)?.[1],
  xml: `${xml.length} chars`,
}), (d: VirDomain) => d.domName);
