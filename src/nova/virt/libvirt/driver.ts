// nova/virt/libvirt/driver.py (Mitaka): LibvirtDriver, the parts the swap path and the
// instance lifecycle use.
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RequestContext } from '../../../common/context.js';
import { getLogger } from '../../../common/log.js';
import { sleep } from '../../../common/time.js';
import type { StateStore } from '../../../state/store.js';
import { imagesDir, instanceDiskPath } from '../../../state/paths.js';
import { DISK_CACHE_MODES, type DiskCacheMode, type DomainDef, type DomainDisk, type Instance } from '../../../state/types.js';
import { bdmByVolumeAndInstance, bdmsByInstance, instanceName } from '../../db.js';
import { DiskNotFound, InstanceNotFound, NotImplementedErrorPy } from '../../exception.js';
import { power_state } from '../../vm-states.js';
import type { Connector } from '../../volume/cinder.js';
import { get_disk_bus_for_disk_dev } from './blockinfo.js';
import type { Guest } from './guest.js';
import type { Host } from './host.js';
import { connectVolume, disconnectVolume, diskXml, getVolumeConfig, type ConnectionInfo, type DiskInfo } from './volume.js';
import { formatDomainXml } from '../../../libvirt/xml.js';
import { LibvirtError } from '../../../libvirt/errors.js';
import { instrument, traceEvent } from '../../../trace/tracer.js';
import { journalStep } from '../../../state/journal.js';

const LOG = getLogger('nova.virt.libvirt.driver', 'nova-compute');

const GiB = 1024 ** 3;

export interface DriverConfig {
  /** CONF.libvirt.virt_type */
  virtType: string;
  /** the swap loop's time.sleep(0.5) */
  blockJobPollMs: number;
  /** CONF.libvirt.disk_cachemodes, e.g. ["block=unsafe"] */
  diskCachemodes?: string[];
}

/** LibvirtDriver.valid_cachemodes */
const VALID_CACHEMODES: readonly string[] = DISK_CACHE_MODES;

/** CONF.libvirt.wait_soft_reboot_seconds */
const WAIT_SOFT_REBOOT_SECONDS = 120;

export class LibvirtDriver {
  /** source type → cache mode, from CONF.libvirt.disk_cachemodes */
  readonly disk_cachemodes = new Map<string, DiskCacheMode>();
  private _disk_cachemode: DiskCacheMode | null = null;

  constructor(
    readonly _host: Host,
    private readonly store: StateStore,
    private readonly conf: DriverConfig = { virtType: 'kvm', blockJobPollMs: 500 },
  ) {
    // __init__: an invalid item is warned about and skipped
    for (const modeStr of conf.diskCachemodes ?? []) {
      const sep = modeStr.indexOf('=');
      const diskType = sep < 0 ? modeStr : modeStr.slice(0, sep);
      const cacheMode = sep < 0 ? '' : modeStr.slice(sep + 1);
      if (!VALID_CACHEMODES.includes(cacheMode)) {
        LOG.warning(`Invalid cachemode ${cacheMode} specified for disk type ${diskType}.`);
        continue;
      }
      this.disk_cachemodes.set(diskType, cacheMode as DiskCacheMode);
    }
  }

  /** disk_cachemode: 'none' where CONF.instances_path takes O_DIRECT, else 'writethrough' */
  get disk_cachemode(): DiskCacheMode {
    if (this._disk_cachemode === null) {
      this._disk_cachemode = 'none';
      if (!LibvirtDriver._supports_direct_io(join(imagesDir(this.store.path), 'instances'))) this._disk_cachemode = 'writethrough';
    }
    return this._disk_cachemode;
  }

  /** _supports_direct_io: can a file in dirpath be opened with O_DIRECT? */
  static _supports_direct_io(dirpath: string): boolean {
    const testfile = join(dirpath, '.directio.test');
    let fd = -1;
    try {
      mkdirSync(dirpath, { recursive: true });
      fd = openSync(testfile, constants.O_CREAT | constants.O_WRONLY | constants.O_DIRECT);
      LOG.debug(`Path '${dirpath}' supports direct I/O`);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      LOG.debug(`Path '${dirpath}' does not support direct I/O: '${(e as Error).message}'`);
      return false;
    } finally {
      if (fd >= 0) closeSync(fd);
      rmSync(testfile, { force: true });
    }
  }

  /** _set_cache_mode: CONF.libvirt.disk_cachemodes overrides the disk's cache by source type */
  _set_cache_mode(conf: { sourceType: string; driverCache: DiskCacheMode }): void {
    conf.driverCache = this.disk_cachemodes.get(conf.sourceType) ?? conf.driverCache;
  }

  /** get_volume_connector: what Cinder needs to export a volume to this host */
  get_volume_connector(instance: Instance): Connector {
    return {
      ip: '127.0.0.1',
      host: instance.host,
      initiator: `iqn.1994-05.com.redhat:${instance.host}`,
      multipath: false,
      platform: 'x86_64',
      os_type: 'linux2',
    };
  }

  _connect_volume(info: ConnectionInfo, disk: DiskInfo): void {
    connectVolume(info);
    void disk;
  }

  _disconnect_volume(info: ConnectionInfo, dev: string): void {
    disconnectVolume(info, dev);
  }

  /** LibvirtDriver.swap_volume (seed) */
  async swap_volume(
    ctx: RequestContext,
    oldConnectionInfo: ConnectionInfo,
    newConnectionInfo: ConnectionInfo,
    instance: Instance,
    mountpoint: string,
    resizeTo: number,
  ): Promise<void> {
    const guest = this._host.get_guest(instance);
    const diskDev = mountpoint.slice(mountpoint.lastIndexOf('/') + 1);
    if (!guest.get_disk(diskDev)) throw new DiskNotFound(diskDev);
    const diskInfo: DiskInfo = { dev: diskDev, bus: get_disk_bus_for_disk_dev(this.conf.virtType, diskDev), type: 'disk' };
    this._connect_volume(newConnectionInfo, diskInfo);
    const conf = getVolumeConfig(newConnectionInfo, diskInfo);
    if (!conf.sourcePath) {
      this._disconnect_volume(newConnectionInfo, diskDev);
      throw new NotImplementedErrorPy('Swap only supports host devices');
    }
    // Save updates made in connection_info when connect_volume was called. The BDM is
    // found by the serial, which _init_volume_connection copied from the old volume.
    const volumeId = newConnectionInfo.serial ?? '';
    await this.store.update((s) => {
      const bdm = bdmByVolumeAndInstance(s, volumeId, instance.uuid);
      bdm.connectionInfo = JSON.stringify(newConnectionInfo);
      journalStep(s, { kind: 'swap', instance: instance.uuid, device: mountpoint }, 'nova.bdm-connection');
    });
    await this._swap_volume(guest, diskDev, conf.sourcePath, resizeTo);
    this._disconnect_volume(oldConnectionInfo, diskDev);
    void ctx;
  }

  /** LibvirtDriver._swap_volume (seed) */
  async _swap_volume(guest: Guest, diskPath: string, newPath: string, resizeTo: number): Promise<void> {
    const dev = guest.get_block_device(diskPath);
    // novasim: the swap's journal entry hears of each step the domain took
    const step = (name: string) => this.store.update((s) => journalStep(s, { kind: 'swap', instance: guest.uuid, device: `/dev/${diskPath}` }, name));
    // Save a copy of the domain's persistent XML file
    const xml = guest.get_xml_desc(true, true);
    // Abort is an idempotent operation, so make sure any block jobs which may have
    // failed are ended.
    try {
      await dev.abort_job();
    } catch (err) {
      // ignored, as upstream does
      traceEvent('except Exception: pass', () => ({ ignored: err instanceof Error ? err.message : String(err) }));
    }
    try {
      // NOTE: blockRebase cannot be executed on persistent domains, so we need to
      // temporarily undefine it. If any part of this block fails, the domain is
      // re-defined regardless.
      if (guest.has_persistent_configuration()) {
        await guest.delete_configuration();
        await step('libvirt.undefined');
      }
      // Start copy with VIR_DOMAIN_REBASE_REUSE_EXT flag to allow writing to existing
      // external volume file
      await dev.rebase(newPath, { copy: true, reuseExt: true });
      // the journal hears of the copy while the first poll runs at once, as Mitaka's does:
      // a save awaited here would move the first poll later into the job's timeline
      const mirroring = step('libvirt.mirroring');
      try {
        while (await dev.wait_for_job()) await sleep(this.conf.blockJobPollMs);
      } finally {
        // (a step that could not be saved fails the saves that follow it too)
        await mirroring.catch(() => undefined);
      }
      await dev.abort_job(false, true);
      await step('libvirt.pivoted');
      if (resizeTo) {
        // NOTE: domain.blockJobAbort isn't a sync call in every libvirt (bug #1119173),
        // so wait for the pivot to finish.
        while (await dev.wait_for_job(false, true)) await sleep(this.conf.blockJobPollMs);
        await dev.resize((resizeTo * GiB) / 1024);
      }
    } finally {
      traceEvent('finally: write_instance_config(saved xml)', () => ({ redefine: 'the persistent XML saved before the swap' }));
      await this._host.write_instance_config(xml);
      await step('libvirt.redefined');
    }
  }

  /** attach_volume: connect, build the disk config, attach to config and (if running) live */
  async attach_volume(ctx: RequestContext, connectionInfo: ConnectionInfo, instance: Instance, mountpoint: string): Promise<void> {
    const guest = this._host.get_guest(instance);
    const diskDev = mountpoint.slice(mountpoint.lastIndexOf('/') + 1);
    const diskInfo: DiskInfo = { dev: diskDev, bus: get_disk_bus_for_disk_dev(this.conf.virtType, diskDev), type: 'disk' };
    this._connect_volume(connectionInfo, diskInfo);
    const conf = getVolumeConfig(connectionInfo, diskInfo);
    this._set_cache_mode(conf);
    await guest.attach_device(diskXml(conf), true, guest.is_active());
    void ctx;
  }

  /** detach_volume */
  async detach_volume(connectionInfo: ConnectionInfo, instance: Instance, mountpoint: string): Promise<void> {
    const diskDev = mountpoint.slice(mountpoint.lastIndexOf('/') + 1);
    let guest: Guest;
    try {
      guest = this._host.get_guest(instance);
    } catch (err) {
      if (!(err instanceof InstanceNotFound)) throw err;
      LOG.warning('During detach_volume, instance disappeared.', { instance: instance.uuid });
      return;
    }
    const disk = guest.get_disk(diskDev);
    if (!disk) throw new DiskNotFound(diskDev);
    await guest.detach_device(disk, guest.has_persistent_configuration(), guest.is_active());
    this._disconnect_volume(connectionInfo, diskDev);
  }

  /** spawn: the root disk from the image (a sparse file here), the domain, boot */
  async spawn(instance: Instance, rootGb: number, memoryMb: number, vcpus: number): Promise<void> {
    const statePath = this.store.path;
    const disk = instanceDiskPath(statePath, instance.uuid);
    mkdirSync(dirname(disk), { recursive: true });
    // a new instance's disk: created here, never an existing file or a link planted in its place
    const fd = openSync(disk, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      ftruncateSync(fd, Math.max(1, rootGb) * GiB);
    } finally {
      closeSync(fd);
    }
    // the image backend's libvirt_info takes disk_cachemode, then _set_cache_mode applies
    const root = { sourceType: 'file', driverCache: this.disk_cachemode };
    this._set_cache_mode(root);
    const def: DomainDef = {
      name: instanceName(instance),
      uuid: instance.uuid,
      memoryKiB: memoryMb * 1024,
      vcpus,
      disks: [
        { type: 'file', device: 'disk', driverType: 'raw', source: disk, targetDev: 'vda', targetBus: 'virtio', serial: null, alias: null, cache: root.driverCache },
      ],
    };
    const guest = await this._host.write_instance_config(formatDomainXml(def));
    await guest._domain.create();
  }

  /** destroy + cleanup: the domain goes, and so does the instance directory */
  async destroy(instance: Instance): Promise<void> {
    const gone = (err: unknown): boolean => err instanceof InstanceNotFound;
    // _destroy: power the guest off (a transient domain, e.g. one a swap undefined, is gone
    // with it)
    try {
      const guest = this._host.get_guest(instance);
      if (guest.is_active()) await guest._domain.destroy();
    } catch (err) {
      if (!gone(err)) throw err;
    }
    // cleanup → _undefine_domain: the domain is looked up again; one that is gone is done
    try {
      const guest = this._host.get_guest(instance);
      if (guest.has_persistent_configuration()) await guest.delete_configuration();
    } catch (err) {
      if (!gone(err)) throw err;
    }
    rmSync(dirname(instanceDiskPath(this.store.path, instance.uuid)), { recursive: true, force: true });
  }

  async power_off(instance: Instance): Promise<void> {
    const g = this._host.get_guest(instance);
    if (g.is_active()) await g._domain.destroy();
  }

  async power_on(instance: Instance): Promise<void> {
    await this._host.get_guest(instance)._domain.create();
  }

  async pause(instance: Instance): Promise<void> {
    await this._host.get_guest(instance)._domain.suspend();
  }

  async unpause(instance: Instance): Promise<void> {
    await this._host.get_guest(instance)._domain.resume();
  }

  /** suspend: the guest's memory goes to a managed-save image */
  async suspend(instance: Instance): Promise<void> {
    await this._host.get_guest(instance)._domain.managedSave();
  }

  /** resume: the domain is started again from its managed-save image */
  async resume(instance: Instance): Promise<void> {
    await this._host.get_guest(instance)._domain.create();
  }

  /** LibvirtDriver.reboot: a soft reboot that fails falls back to a hard one */
  async reboot(context: RequestContext, instance: Instance, rebootType: 'SOFT' | 'HARD'): Promise<void> {
    if (rebootType === 'SOFT') {
      let ok: boolean;
      try {
        ok = await this._soft_reboot(instance);
      } catch (err) {
        if (!(err instanceof LibvirtError)) throw err;
        LOG.debug(`Instance soft reboot failed: ${err.message}`, { instance: instance.uuid });
        ok = false;
      }
      if (ok) {
        LOG.info('Instance soft rebooted successfully.', { instance: instance.uuid });
        return;
      }
      LOG.warning('Failed to soft reboot instance. Trying hard reboot.', { instance: instance.uuid });
    }
    await this._hard_reboot(context, instance);
  }

  /** LibvirtDriver._soft_reboot: shutdown, wait (1 s at a time, wait_soft_reboot_seconds)
   * for the domain to come down with a new id, then create it again */
  async _soft_reboot(instance: Instance): Promise<boolean> {
    let guest = this._host.get_guest(instance);
    const oldDomId = guest.id;
    if (this.get_power_state(instance) === power_state.RUNNING) await guest.shutdown();
    for (let x = 0; x < WAIT_SOFT_REBOOT_SECONDS; x++) {
      guest = this._host.get_guest(instance);
      const state = this.get_power_state(instance);
      if (oldDomId !== guest.id) {
        if (state === power_state.SHUTDOWN || state === power_state.CRASHED) {
          LOG.info('Instance shutdown successfully.', { instance: instance.uuid });
          await guest._domain.create();
          return true;
        }
        LOG.info('Instance may have been rebooted during soft reboot, so return now.', { instance: instance.uuid });
        return true;
      }
      await sleep(1000);
    }
    return false;
  }

  /** LibvirtDriver._hard_reboot: destroy, regenerate the XML from Nova's records, define
   * and create the domain (so a domain libvirt lost is defined again) */
  async _hard_reboot(context: RequestContext, instance: Instance): Promise<void> {
    void context;
    // _destroy: a domain that is not there is nothing to destroy
    try {
      const guest = this._host.get_guest(instance);
      if (guest.is_active()) await guest._domain.destroy();
    } catch (err) {
      if (!(err instanceof InstanceNotFound)) throw err;
    }
    const xml = this._get_guest_xml(instance);
    const fresh = await this._host.write_instance_config(xml);
    await fresh._domain.create();
    if (this.get_power_state(instance) === power_state.RUNNING) LOG.info('Instance rebooted successfully.', { instance: instance.uuid });
  }

  /** _get_guest_xml from the instance, its flavor and its block device mappings: the root
   * disk in the instance directory, then each volume by its connection_info (connected
   * again, as _create_domain_and_network does) with today's cache modes */
  _get_guest_xml(instance: Instance): string {
    const s = this.store.read();
    const flavor = s.flavors.find((f) => f.id === instance.flavorId);
    const root = { sourceType: 'file', driverCache: this.disk_cachemode };
    this._set_cache_mode(root);
    const disks: DomainDisk[] = [
      {
        type: 'file',
        device: 'disk',
        driverType: 'raw',
        source: instanceDiskPath(this.store.path, instance.uuid),
        targetDev: 'vda',
        targetBus: 'virtio',
        serial: null,
        alias: null,
        cache: root.driverCache,
      },
    ];
    const volumes = bdmsByInstance(s, instance.uuid)
      .filter((b) => b.destinationType === 'volume' && b.volumeId && b.connectionInfo)
      .sort((a, b) => (a.deviceName < b.deviceName ? -1 : a.deviceName > b.deviceName ? 1 : 0));
    for (const bdm of volumes) {
      const info = JSON.parse(bdm.connectionInfo as string) as ConnectionInfo;
      const dev = bdm.deviceName.slice(bdm.deviceName.lastIndexOf('/') + 1);
      const diskInfo: DiskInfo = { dev, bus: get_disk_bus_for_disk_dev(this.conf.virtType, dev), type: 'disk' };
      this._connect_volume(info, diskInfo);
      const conf = getVolumeConfig(info, diskInfo);
      this._set_cache_mode(conf);
      disks.push(diskXml(conf));
    }
    return formatDomainXml({ name: instanceName(instance), uuid: instance.uuid, memoryKiB: (flavor?.ram ?? 512) * 1024, vcpus: flavor?.vcpus ?? 1, disks });
  }

  /** get_info(instance).state, as _get_power_state reads it */
  get_power_state(instance: Instance): number {
    try {
      const [state] = this._host.get_guest(instance)._domain.state();
      // virDomainState → nova power_state
      return { 1: power_state.RUNNING, 3: power_state.PAUSED, 5: power_state.SHUTDOWN, 7: power_state.SUSPENDED }[state] ?? power_state.NOSTATE;
    } catch (err) {
      // ComputeManager._get_power_state: an instance libvirt does not know has no state
      if (!(err instanceof InstanceNotFound)) throw err;
      return power_state.NOSTATE;
    }
  }
}

// --trace: Nova's libvirt driver on the swap path
const DRIVER = { location: 'nova/virt/libvirt/driver.py', layer: 'nova', service: 'nova-compute' } as const;
instrument(
  LibvirtDriver.prototype,
  'swap_volume',
  { name: 'LibvirtDriver.swap_volume()', ...DRIVER },
  (_c: RequestContext, oldInfo: ConnectionInfo, newInfo: ConnectionInfo, instance: Instance, mountpoint: string, resizeTo: number) => ({
    instance: instance.uuid,
    mountpoint,
    resize_to: resizeTo,
    old_device_path: oldInfo?.data?.device_path,
    new_device_path: newInfo?.data?.device_path,
  }),
);
instrument(LibvirtDriver.prototype, '_swap_volume', { name: 'LibvirtDriver._swap_volume()', ...DRIVER }, (guest: Guest, diskPath: string, newPath: string, resizeTo: number) => ({
  domain: guest._domain.name(),
  disk_path: diskPath,
  new_path: newPath,
  resize_to: resizeTo,
}));
instrument(LibvirtDriver.prototype, 'get_volume_connector', { name: 'LibvirtDriver.get_volume_connector()', ...DRIVER }, (i: Instance) => ({ instance: i.uuid }), (c: Connector) => ({
  host: c.host,
  initiator: c.initiator,
}));
instrument(LibvirtDriver.prototype, '_connect_volume', { name: 'LibvirtDriver._connect_volume()', ...DRIVER }, (info: ConnectionInfo, disk: DiskInfo) => ({
  driver_volume_type: info.driver_volume_type,
  dev: disk.dev,
  bus: disk.bus,
}));
instrument(LibvirtDriver.prototype, '_disconnect_volume', { name: 'LibvirtDriver._disconnect_volume()', ...DRIVER }, (info: ConnectionInfo, dev: string) => ({
  driver_volume_type: info.driver_volume_type,
  dev,
}));
