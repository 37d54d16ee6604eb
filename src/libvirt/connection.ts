// The simulated libvirtd with its QEMU driver, reached the way python-libvirt reaches it:
// a connection (virConnect) that looks domains up, defines them and hands out domain
// objects. Domain definitions live in the state; the QEMU processes (and their block jobs)
// live in the host process that runs them. Its neighbours follow libvirt's own files:
// domain.ts (virDomain, src/libvirt-domain.c), qemu-driver-block.ts (qemu_driver.c's
// block-job entry points), blockjob.ts (qemu_blockjob.c), trace.ts (--trace spans).
import { pidAlive } from '../common/process.js';
import { getLogger } from '../common/log.js';
import type { StateStore } from '../state/store.js';
import type { Domain, State } from '../state/types.js';
import { BlockJobs, type BlockJobOptions } from './blockjob.js';
import { VirDomain } from './domain.js';
import { LibvirtError, VIR_ERR } from './errors.js';
import { libvirtFault } from './faults.js';
import { QemuHost, type BlkdebugRules, type GuestStarter } from './qemu-host.js';
import { traceLibvirt } from './trace.js';
import { parseDomainXml } from './xml.js';
import { append, byKey } from '../state/collections.js';

export { VirDomain, type BlockJobInfo } from './domain.js';
export type { JobProgressEvent, LiveJob } from './blockjob.js';

const LOG = getLogger('libvirt.qemu.qemu_driver', 'libvirtd');

export interface LibvirtOptions extends BlockJobOptions {
  /** starts the guest of a domain whose QEMU this host process starts (its disk I/O) */
  startGuest?: GuestStarter;
  /** the blkdebug rules a domain's QEMU is started with (none unless the simulator says) */
  blkdebugRules?: BlkdebugRules;
}

export class LibvirtConnection {
  readonly qemu: QemuHost;
  /** the block jobs this host process runs (qemu_blockjob.c) */
  readonly blockJobs: BlockJobs;

  constructor(
    readonly store: StateStore,
    opts: LibvirtOptions = {},
  ) {
    this.qemu = new QemuHost((uuid, ev) => this.blockJobs.handleQemuEvent(uuid, ev), opts.startGuest, opts.blkdebugRules);
    this.blockJobs = new BlockJobs(store, this.qemu, opts);
  }

  // ---- connection-level calls -------------------------------------------------------

  /** virDomainLookupByUUIDString */
  lookupByUUIDString(uuid: string): VirDomain {
    const d = byKey(this.store.read(), 'domains', uuid);
    if (!d) throw new LibvirtError(VIR_ERR.NO_DOMAIN, `no domain with matching uuid '${uuid}'`);
    return new VirDomain(this, d.uuid, d.name);
  }

  /** virDomainLookupByName */
  lookupByName(name: string): VirDomain {
    const d = byKey(this.store.read(), 'domains', name, 'name');
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
      const existing = byKey(s, 'domains', def.uuid);
      if (existing) {
        if (existing.name !== def.name) {
          throw new LibvirtError(VIR_ERR.OPERATION_FAILED, `domain '${existing.name}' already exists with uuid ${def.uuid}`);
        }
        existing.persistentDef = def;
        // an inactive domain's only definition is the persistent one
        if (existing.state === 'shutoff') existing.def = structuredClone(def);
        return;
      }
      append(s, 'domains', {
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

  // ---- helpers the domain object and the driver use ----------------------------------

  /** qemuDomObjFromDomain: the domain as the driver sees it now */
  domainObj(uuid: string, name: string, s?: State): Domain {
    const d = byKey(s ?? this.store.read(), 'domains', uuid);
    if (!d) throw new LibvirtError(VIR_ERR.NO_DOMAIN, `no domain with matching uuid '${uuid}' (${name})`);
    if (s) {
      this.reapStaleMirrors(d);
      return d;
    }
    // a read outside an update: what a server owning the state reads is shared with every
    // request, so the stale mirrors are left out of what is returned, not deleted from it
    const stale = Object.entries(d.mirrors).filter(([, m]) => !pidAlive(m.ownerPid));
    if (!stale.length) return d;
    const mirrors = { ...d.mirrors };
    for (const [dev] of stale) delete mirrors[dev];
    return { ...d, mirrors };
  }

  /** A mirror recorded by a host process that no longer exists died with that process's
   * QEMU job: the disk stayed on its source, so the record is dropped. */
  private reapStaleMirrors(d: Domain): void {
    for (const [dev, m] of Object.entries(d.mirrors)) {
      if (!pidAlive(m.ownerPid)) delete d.mirrors[dev];
    }
  }

  /** the block job this host process runs on a domain's disk, if any */
  liveJob(uuid: string, dev: string) {
    return this.blockJobs.get(uuid, dev);
  }

  /** bytes the mirror of a job this host runs has written (QEMU's own count, not cur/end) */
  jobBytesCopied(uuid: string, dev: string): number | null {
    return this.blockJobs.bytesCopied(uuid, dev);
  }

  /** resolves once the status of the job this host runs on the disk is saved (or failed) */
  jobStatusSaved(uuid: string, dev: string): Promise<void> {
    return this.blockJobs.jobStatusSaved(uuid, dev);
  }

  /** Ctrl-C in the host: cancel every block job it runs, and any it starts from now on
   * (virsh blockjob --abort). A job already pivoting is left to finish. */
  cancelAllJobs(): Promise<void> {
    return this.blockJobs.cancelAll();
  }

  async close(): Promise<void> {
    this.blockJobs.stopTimers();
    // stopping QEMU cancels its jobs; their events write the state one last time
    await this.qemu.stopAll();
    await this.blockJobs.settled();
  }
}

traceLibvirt(LibvirtConnection.prototype);
