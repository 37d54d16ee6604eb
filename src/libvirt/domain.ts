// python-libvirt's virDomain and the public entry points of src/libvirt-domain.c behind
// it: lookups of state and XML, the lifecycle (create, destroy, suspend, managed save,
// undefine), disk hotplug, and the argument checks of the block calls before they reach the
// QEMU driver (qemu-driver-block.ts). The lifecycle calls are the QEMU driver's too
// (qemuDomainCreate, qemuDomainDestroy …): they only change the domain object in the state
// and start or stop its QEMU process.
import { remove } from '../state/collections.js';
import type { Domain } from '../state/types.js';
import type { LibvirtConnection } from './connection.js';
import { findDisk, isActive } from './domain-conf.js';
import { LibvirtError, VIR_ERR } from './errors.js';
import { libvirtFault } from './faults.js';
import { VIR_DOMAIN_AFFECT, VIR_DOMAIN_BLOCK_JOB_ABORT, VIR_DOMAIN_BLOCK_REBASE, VIR_DOMAIN_STATE, VIR_DOMAIN_UNDEFINE, VIR_DOMAIN_XML } from './flags.js';
import { qemuDriver } from './qemu-driver-block.js';
import { formatDomainXml, parseDisks } from './xml.js';

/** python-libvirt's blockJobInfo() result: {} when there is no job */
export interface BlockJobInfo {
  type?: number;
  bandwidth?: number;
  cur?: number;
  end?: number;
}

/** python-libvirt's virDomain */
export class VirDomain {
  constructor(
    private readonly conn: LibvirtConnection,
    readonly uuid: string,
    readonly domName: string,
  ) {}

  /** virDomainGetConnect: the connection this domain object came from */
  connect(): LibvirtConnection {
    return this.conn;
  }

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
      else remove(s, 'domains', [d]);
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
      if (!d.persistentDef) remove(s, 'domains', [d]);
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

  /** virDomain.blockRebase (libvirt.py): the binding calls the C entry point (libvirtmod),
   * which raises libvirtError when it fails */
  async blockRebase(disk: string, base: string | null, bandwidth: number, flags: number): Promise<number> {
    return this.virDomainBlockRebase(disk, base, bandwidth, flags);
  }

  /** virDomainBlockRebase (src/libvirt-domain.c): the public API's argument checks, then the
   * driver's domainBlockRebase (qemuDomainBlockRebase) */
  async virDomainBlockRebase(disk: string, base: string | null, bandwidth: number, flags: number): Promise<number> {
    libvirtFault('libvirt.blockRebase', { domain: this.domName, disk, path: base });
    const F = VIR_DOMAIN_BLOCK_REBASE;
    if (!disk) throw new LibvirtError(VIR_ERR.INVALID_ARG, 'disk in virDomainBlockRebase must not be NULL');
    if (flags & F.COPY) {
      if (!base) throw new LibvirtError(VIR_ERR.INVALID_ARG, 'base in virDomainBlockRebase must not be NULL');
    } else if (flags & (F.SHALLOW | F.REUSE_EXT | F.COPY_RAW | F.COPY_DEV)) {
      throw new LibvirtError(VIR_ERR.INVALID_ARG, 'use of flags requires a copy job');
    }
    return qemuDriver.qemuDomainBlockRebase(this, disk, base, bandwidth, flags);
  }

  /** virDomainGetBlockJobInfo → qemuDomainGetBlockJobInfo */
  async blockJobInfo(path: string, flags = 0): Promise<BlockJobInfo> {
    return qemuDriver.qemuDomainGetBlockJobInfo(this, path, flags);
  }

  /** virDomainBlockJobAbort → qemuDomainBlockJobAbort */
  async blockJobAbort(path: string, flags = 0): Promise<number> {
    if (flags & VIR_DOMAIN_BLOCK_JOB_ABORT.PIVOT) libvirtFault('libvirt.blockJobAbort.pivot', { domain: this.domName, disk: path });
    return qemuDriver.qemuDomainBlockJobAbort(this, path, flags);
  }

  /** virDomainBlockResize → qemuDomainBlockResize (size in KiB unless BYTES) */
  async blockResize(path: string, size: number, flags = 0): Promise<number> {
    libvirtFault('libvirt.blockResize', { domain: this.domName, disk: path });
    return qemuDriver.qemuDomainBlockResize(this, path, size, flags);
  }
}
