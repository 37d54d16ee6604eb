// The QEMU processes of the running domains, as libvirtd holds their monitors. A domain
// that is running in the state but has no process in this host process (it was started by
// an earlier command) gets one rebuilt from its live definition: the guest's disks are
// files, so nothing of the guest is lost by that. Every QMP exchange is written to the
// qemu-monitor log, as libvirtd's monitor debug log records it.
import { getLogger } from '../common/log.js';
import type { BlkdebugRule, Domain } from '../state/types.js';
import { QemuProcess } from '../qemu/process.js';
import { armBlkdebug, type BlkdebugLog, type DriveRule } from '../qemu/blkdebug.js';
import type { DriveSpec, QmpCommand, QmpEvent, QmpReply } from '../qemu/types.js';
import { instrument, tracer, type SpanSpec } from '../trace/tracer.js';

const QMP_LOG = getLogger('libvirt.qemu.qemu_monitor', 'qemu-monitor');
const BLKDEBUG_LOG = getLogger('qemu.blkdebug', 'qemu');

// --trace: a QMP command is a span in QEMU named after the handler that runs it; an event
// is an instant under whatever libvirt is doing when it arrives
const QMP_HANDLERS: Record<string, string> = { qmp_capabilities: 'monitor.c', 'drive-mirror': 'blockdev.c', 'query-block-jobs': 'blockdev.c', 'block-job-complete': 'blockdev.c', 'block-job-cancel': 'blockdev.c', block_resize: 'blockdev.c' };
const qmpSpan = (cmd: QmpCommand): SpanSpec => {
  const handler = cmd.execute === 'qmp_capabilities' ? 'qmp_capabilities' : `qmp_${cmd.execute.replace(/-/g, '_')}`;
  return { name: `${handler}()`, location: QMP_HANDLERS[cmd.execute] ?? 'qmp.c', layer: 'qemu', service: 'qemu', kind: 'qmp' };
};

export function driveId(alias: string): string {
  return `drive-${alias}`;
}

export function drivesOf(domain: Domain): DriveSpec[] {
  return domain.def.disks
    .filter((d) => d.alias && d.type !== 'network')
    .map((d) => ({
      id: driveId(d.alias as string),
      file: d.source,
      format: 'raw' as const,
      // qemuBuildDriveStr: cache=… unless libvirt's 'default' (QEMU's own default, writeback)
      ...(d.cache && d.cache !== 'default' ? { cache: d.cache } : {}),
    }));
}

/** the blkdebug rules (`nova-sim blkdebug`) a domain's QEMU is started with */
export type BlkdebugRules = (domain: Domain) => readonly BlkdebugRule[];

/** a rule of the state names a disk (vdb); QEMU's blkdebug config names the drive */
function blkdebugRulesOf(domain: Domain, rules: readonly BlkdebugRule[]): DriveRule[] {
  const out: DriveRule[] = [];
  for (const rule of rules) {
    const disk = domain.def.disks.find((d) => d.targetDev === rule.disk && d.alias && d.type !== 'network');
    if (!disk) {
      blkdebugLog(domain).warning(`no drive for disk ${rule.disk}: rule skipped`);
      continue;
    }
    const device = driveId(disk.alias as string);
    out.push({ ...rule, device, label: `${rule.disk} (${device})` });
  }
  return out;
}

/** arms the state's rules for a domain on its just-started QEMU; firings go to qemu.log */
export function armDomainBlkdebug(domain: Domain, proc: QemuProcess, rules: readonly BlkdebugRule[]): void {
  armBlkdebug(proc, blkdebugRulesOf(domain, rules), blkdebugLog(domain));
}

function blkdebugLog(domain: Domain): BlkdebugLog {
  const extra = { instance: domain.uuid };
  return {
    info: (msg) => BLKDEBUG_LOG.info(`${domain.name}: blkdebug: ${msg}`, extra),
    warning: (msg) => BLKDEBUG_LOG.warning(`${domain.name}: blkdebug: ${msg}`, extra),
  };
}

/** libvirt's handle on one QEMU monitor */
export class QemuMonitor {
  private nextId = 1;
  constructor(
    readonly domainName: string,
    readonly proc: QemuProcess,
  ) {}

  async qmp(cmd: QmpCommand): Promise<QmpReply> {
    const sent = { ...cmd, id: `libvirt-${this.nextId++}` };
    QMP_LOG.debug(`${this.domainName}: -> ${JSON.stringify(sent)}`);
    const reply = await this.proc.qmp(sent);
    QMP_LOG.debug(`${this.domainName}: <- ${JSON.stringify(reply)}`);
    return reply;
  }

  jobSnapshot(device: string) {
    return this.proc.jobSnapshot(device);
  }
}

/** What runs inside a domain's QEMU besides the block layer (the guest); returns its stop.
 * It may take a while (a guest another process hosts is handed over first) and may fail. */
export type GuestStopper = () => Promise<void>;
export type GuestStarter = (domain: Domain, proc: QemuProcess) => GuestStopper | null | Promise<GuestStopper | null>;

export class QemuHost {
  private procs = new Map<string, QemuMonitor>();
  private starting = new Map<string, Promise<QemuMonitor>>();
  /** domains whose guest could not be started here: their QEMU is refused to every caller */
  private failed = new Map<string, Error>();
  private guests = new Map<string, GuestStopper>();

  constructor(
    private readonly onEvent: (domainUuid: string, ev: QmpEvent) => void,
    private readonly startGuest?: GuestStarter,
    /** the `nova-sim blkdebug` rules to arm on a domain's QEMU when it starts */
    private readonly blkdebugRules?: BlkdebugRules,
  ) {}

  /** the monitor of a running domain (qemuDomainObjEnterMonitor); a new monitor
   * connection negotiates capabilities first, as libvirt's qemuMonitorOpen does. Nobody
   * gets the monitor before the domain's guest runs in this process: a block job must not
   * start while another process still writes to the disks. */
  async get(domain: Domain): Promise<QemuMonitor> {
    const failure = this.failed.get(domain.uuid);
    if (failure) throw failure;
    const m = this.procs.get(domain.uuid);
    if (m) return m;
    let start = this.starting.get(domain.uuid);
    if (!start) {
      start = this.start(domain).finally(() => this.starting.delete(domain.uuid));
      this.starting.set(domain.uuid, start);
    }
    return start;
  }

  private async start(domain: Domain): Promise<QemuMonitor> {
    const proc = new QemuProcess({ name: domain.name, drives: drivesOf(domain) });
    const m = new QemuMonitor(domain.name, proc);
    proc.onEvent((ev) => {
      QMP_LOG.debug(`${domain.name}: <- ${JSON.stringify(ev)}`);
      if (tracer.active) tracer.instant({ name: `QMP event ${ev.event}`, location: 'qapi/block-core.json', layer: 'qemu', service: 'qemu' }, { event: JSON.stringify(ev) });
      this.onEvent(domain.uuid, ev);
    });
    try {
      const rules = this.blkdebugRules?.(domain) ?? [];
      if (rules.length) armDomainBlkdebug(domain, proc, rules);
      await m.qmp({ execute: 'qmp_capabilities' });
      // the guest runs (and writes to its disks) for as long as this process hosts it
      const stopGuest = domain.state === 'running' ? await this.startGuest?.(domain, proc) : null;
      if (stopGuest) this.guests.set(domain.uuid, stopGuest);
    } catch (e) {
      await proc.shutdown();
      const err = e instanceof Error ? e : new Error(String(e));
      this.failed.set(domain.uuid, err);
      throw err;
    }
    this.procs.set(domain.uuid, m);
    return m;
  }

  /** the monitor if this host runs the process, without starting one */
  peek(uuid: string): QemuMonitor | undefined {
    return this.procs.get(uuid);
  }

  async stop(uuid: string): Promise<void> {
    const m = this.procs.get(uuid);
    if (!m) return;
    this.procs.delete(uuid);
    // the guest stops writing before its disks are closed
    const stopGuest = this.guests.get(uuid);
    this.guests.delete(uuid);
    await stopGuest?.();
    await m.proc.shutdown();
  }

  async stopAll(): Promise<void> {
    // a start still under way finishes (or fails) before its QEMU is stopped
    await Promise.all([...this.starting.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.procs.keys()].map((u) => this.stop(u)));
  }
}

instrument(
  QemuMonitor.prototype,
  'qmp',
  qmpSpan,
  function (this: QemuMonitor, cmd: QmpCommand) {
    return { domain: this.domainName, command: JSON.stringify({ ...cmd, id: `libvirt-${(this as unknown as { nextId: number }).nextId}` }) };
  },
  (reply: QmpReply) => JSON.stringify(reply),
);
