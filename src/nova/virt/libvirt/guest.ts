// nova/virt/libvirt/guest.py (Mitaka): Guest wraps a libvirt domain, BlockDevice one of
// its disks. The flag arithmetic is upstream's.
import { VIR_DOMAIN_AFFECT, VIR_DOMAIN_BLOCK_JOB_ABORT, VIR_DOMAIN_BLOCK_REBASE, VIR_DOMAIN_UNDEFINE, VIR_DOMAIN_XML } from '../../../libvirt/flags.js';
import { LibvirtError } from '../../../libvirt/errors.js';
import type { VirDomain } from '../../../libvirt/connection.js';
import { formatDomainXml, parseDisks } from '../../../libvirt/xml.js';
import type { DomainDisk } from '../../../state/types.js';
import { getLogger } from '../../../common/log.js';
import { decodeFlags } from '../../../libvirt/flags.js';
import { instrument } from '../../../trace/tracer.js';

const LOG = getLogger('nova.virt.libvirt.guest', 'nova-compute');

export interface BlockDeviceJobInfo {
  job: number;
  bandwidth: number;
  cur: number;
  end: number;
}

export class Guest {
  constructor(readonly _domain: VirDomain) {}

  get uuid(): string {
    return this._domain.UUIDString();
  }

  /** Guest.get_disk: the <disk> whose target is `device`, or null */
  get_disk(device: string): DomainDisk | null {
    return parseDisks(this._domain.XMLDesc(0)).find((d) => d.targetDev === device) ?? null;
  }

  get_block_device(disk: string): BlockDevice {
    return new BlockDevice(this, disk);
  }

  get_xml_desc(dumpInactive = false, dumpSensitive = false): string {
    let flags = dumpInactive ? VIR_DOMAIN_XML.INACTIVE : 0;
    flags |= dumpSensitive ? VIR_DOMAIN_XML.SECURE : 0;
    return this._domain.XMLDesc(flags);
  }

  has_persistent_configuration(): boolean {
    return this._domain.isPersistent();
  }

  /** Guest.delete_configuration: undefine, dropping a managed-save image with it */
  async delete_configuration(): Promise<void> {
    try {
      await this._domain.undefineFlags(VIR_DOMAIN_UNDEFINE.MANAGED_SAVE);
    } catch (err) {
      if (!(err instanceof LibvirtError)) throw err;
      LOG.debug(`Error from libvirt during undefineFlags. Retrying with undefine`);
      await this._domain.undefine();
    }
  }

  is_active(): boolean {
    return this._domain.isActive();
  }

  /** Guest.id: the domain's id (-1 when not running) */
  get id(): number {
    return this._domain.ID();
  }

  /** Guest.shutdown: ask the guest OS to power off */
  async shutdown(): Promise<void> {
    await this._domain.shutdown();
  }

  /** Guest.attach_device(conf, persistent, live) */
  async attach_device(disk: DomainDisk, persistent: boolean, live: boolean): Promise<void> {
    let flags = persistent ? VIR_DOMAIN_AFFECT.CONFIG : 0;
    flags |= live ? VIR_DOMAIN_AFFECT.LIVE : 0;
    await this._domain.attachDeviceFlags(diskToXml(disk), flags);
  }

  async detach_device(disk: DomainDisk, persistent: boolean, live: boolean): Promise<void> {
    let flags = persistent ? VIR_DOMAIN_AFFECT.CONFIG : 0;
    flags |= live ? VIR_DOMAIN_AFFECT.LIVE : 0;
    await this._domain.detachDeviceFlags(diskToXml(disk), flags);
  }
}

function diskToXml(disk: DomainDisk): string {
  const xml = formatDomainXml({ name: 'x', uuid: 'x', memoryKiB: 0, vcpus: 0, disks: [disk] });
  const m = xml.match(/<disk[\s\S]*<\/disk>/);
  return m ? m[0] : '';
}

export class BlockDevice {
  static readonly REBASE_DEFAULT_BANDWIDTH = 0;

  constructor(
    private readonly _guest: Guest,
    readonly _disk: string,
  ) {}

  /** BlockDevice.abort_job(async=False, pivot=False) */
  async abort_job(async_ = false, pivot = false): Promise<void> {
    let flags = async_ ? VIR_DOMAIN_BLOCK_JOB_ABORT.ASYNC : 0;
    flags |= pivot ? VIR_DOMAIN_BLOCK_JOB_ABORT.PIVOT : 0;
    await this._guest._domain.blockJobAbort(this._disk, flags);
  }

  /** BlockDevice.get_job_info: libvirt's {} for "no job" reads as all zeros */
  async get_job_info(): Promise<BlockDeviceJobInfo> {
    const status = await this._guest._domain.blockJobInfo(this._disk, 0);
    return { job: status.type ?? 0, bandwidth: status.bandwidth ?? 0, cur: status.cur ?? 0, end: status.end ?? 0 };
  }

  /** BlockDevice.rebase */
  async rebase(base: string, opts: { shallow?: boolean; reuseExt?: boolean; copy?: boolean; relative?: boolean } = {}): Promise<number> {
    let flags = opts.shallow ? VIR_DOMAIN_BLOCK_REBASE.SHALLOW : 0;
    flags |= opts.reuseExt ? VIR_DOMAIN_BLOCK_REBASE.REUSE_EXT : 0;
    flags |= opts.copy ? VIR_DOMAIN_BLOCK_REBASE.COPY : 0;
    flags |= opts.relative ? VIR_DOMAIN_BLOCK_REBASE.RELATIVE : 0;
    return this._guest._domain.blockRebase(this._disk, base, BlockDevice.REBASE_DEFAULT_BANDWIDTH, flags);
  }

  /** BlockDevice.resize(size_kb) */
  async resize(sizeKb: number): Promise<void> {
    await this._guest._domain.blockResize(this._disk, sizeKb, 0);
  }

  /** BlockDevice.wait_for_job (Mitaka): done when cur == end — which can be before the
   * mirror is ready; Ocata added the readiness check. */
  async wait_for_job(abortOnError = false, waitForJobClean = false): Promise<boolean> {
    const status = await this.get_job_info();
    if (!status && abortOnError) throw new Error('libvirt error while requesting blockjob info.');
    const jobEnded = waitForJobClean ? status.job === 0 : status.cur === status.end;
    return !jobEnded;
  }
}

// --trace: the Guest and BlockDevice wrappers the driver's swap calls
const GUEST = { location: 'nova/virt/libvirt/guest.py', layer: 'nova', service: 'nova-compute' } as const;
instrument(Guest.prototype, 'get_xml_desc', { name: 'Guest.get_xml_desc()', ...GUEST }, (dumpInactive = false, dumpSensitive = false) => ({ dump_inactive: dumpInactive, dump_sensitive: dumpSensitive }), (xml: string) => `${xml.length} chars`);
instrument(Guest.prototype, 'has_persistent_configuration', { name: 'Guest.has_persistent_configuration()', ...GUEST });
instrument(Guest.prototype, 'delete_configuration', { name: 'Guest.delete_configuration()', ...GUEST });
instrument(BlockDevice.prototype, 'rebase', { name: 'BlockDevice.rebase()', ...GUEST }, function (this: BlockDevice, base: string, opts: Record<string, boolean | undefined> = {}) {
  return { disk: this._disk, base, shallow: !!opts.shallow, reuse_ext: !!opts.reuseExt, copy: !!opts.copy, relative: !!opts.relative };
});
instrument(BlockDevice.prototype, 'wait_for_job', { name: 'BlockDevice.wait_for_job()', ...GUEST }, function (this: BlockDevice, abortOnError = false, waitForJobClean = false) {
  return { disk: this._disk, abort_on_error: abortOnError, wait_for_job_clean: waitForJobClean };
});
instrument(BlockDevice.prototype, 'abort_job', { name: 'BlockDevice.abort_job()', ...GUEST }, function (this: BlockDevice, async_ = false, pivot = false) {
  return { disk: this._disk, async: async_, pivot, flags: decodeFlags(VIR_DOMAIN_BLOCK_JOB_ABORT, (async_ ? 1 : 0) | (pivot ? 2 : 0)) };
});
instrument(BlockDevice.prototype, 'resize', { name: 'BlockDevice.resize()', ...GUEST }, function (this: BlockDevice, sizeKb: number) {
  return { disk: this._disk, size_kb: sizeKb };
});
