// The QEMU processes of the running domains, as libvirtd holds their monitors. A domain
// that is running in the state but has no process in this host process (it was started by
// an earlier command) gets one rebuilt from its live definition: the guest's disks are
// files, so nothing of the guest is lost by that.
import type { Domain } from '../state/types.js';
import { QemuProcess } from '../qemu/process.js';
import type { DriveSpec, QmpEvent } from '../qemu/types.js';

export function driveId(alias: string): string {
  return `drive-${alias}`;
}

export function drivesOf(domain: Domain): DriveSpec[] {
  return domain.def.disks
    .filter((d) => d.alias && d.type !== 'network')
    .map((d) => ({ id: driveId(d.alias as string), file: d.source, format: 'raw' as const }));
}

export class QemuHost {
  private procs = new Map<string, QemuProcess>();

  constructor(private readonly onEvent: (domainUuid: string, ev: QmpEvent) => void) {}

  /** the monitor of a running domain (qemuDomainObjEnterMonitor); a new monitor
   * connection negotiates capabilities first, as libvirt's qemuMonitorOpen does */
  async get(domain: Domain): Promise<QemuProcess> {
    let p = this.procs.get(domain.uuid);
    if (!p) {
      p = new QemuProcess({ name: domain.name, drives: drivesOf(domain) });
      p.onEvent((ev) => this.onEvent(domain.uuid, ev));
      this.procs.set(domain.uuid, p);
      await p.qmp({ execute: 'qmp_capabilities' });
    }
    return p;
  }

  /** the process if this host runs it, without starting one */
  peek(uuid: string): QemuProcess | undefined {
    return this.procs.get(uuid);
  }

  has(uuid: string): boolean {
    return this.procs.has(uuid);
  }

  async stop(uuid: string): Promise<void> {
    const p = this.procs.get(uuid);
    if (!p) return;
    this.procs.delete(uuid);
    await p.shutdown();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((u) => this.stop(u)));
  }
}
