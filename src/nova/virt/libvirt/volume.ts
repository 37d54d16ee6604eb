// nova/virt/libvirt/volume/: the volume drivers, chosen by connection_info's
// driver_volume_type. 'local' (LibvirtVolumeDriver) is a host block path; network
// types (rbd …) have no source_path, which swap refuses.
import { SimError } from '../../../common/errors.js';
import { faultAt } from '../../../common/faults.js';
import type { DiskCacheMode, DomainDisk } from '../../../state/types.js';

export interface ConnectionInfo {
  driver_volume_type: string;
  data: Record<string, unknown>;
  serial?: string;
  [k: string]: unknown;
}

export interface DiskInfo {
  dev: string;
  bus: string;
  type: string;
}

/** LibvirtConfigGuestDisk, reduced to what the driver uses */
export interface GuestDiskConfig {
  sourceType: 'block' | 'file' | 'network';
  sourcePath: string | null;
  sourceName: string | null;
  targetDev: string;
  targetBus: string;
  serial: string | null;
  driverFormat: 'raw';
  /** conf.driver_cache: "none" from get_config, then _set_cache_mode's override */
  driverCache: DiskCacheMode;
}

/** LibvirtBaseVolumeDriver.get_config + the type-specific part */
export function getVolumeConfig(info: ConnectionInfo, disk: DiskInfo): GuestDiskConfig {
  const base = { targetDev: disk.dev, targetBus: disk.bus, serial: info.serial ?? null, driverFormat: 'raw' as const, driverCache: 'none' as const };
  if (info.driver_volume_type === 'rbd') {
    return { ...base, sourceType: 'network', sourcePath: null, sourceName: String(info.data.name ?? '') };
  }
  return { ...base, sourceType: 'block', sourcePath: String(info.data.device_path ?? ''), sourceName: null };
}

/** os_brick.exception.BrickException: what a connector lets out of connect_volume */
export class BrickException extends SimError {
  constructor(message: string, kind = 'BrickException') {
    super(kind, message);
  }
}

/** os_brick.exception.VolumeDeviceNotFound: the device never showed up on the host */
export class VolumeDeviceNotFound extends BrickException {
  constructor(device: string) {
    super(`Volume device not found at ${device}.`, 'VolumeDeviceNotFound');
  }
}

/** connect_volume: a local path needs nothing; the hook exists for the other types. A
 * `nova-sim fault add driver.connect_volume` fails it as an iSCSI or FC connector fails
 * (VolumeDeviceNotFound, or BrickException with the --error text). */
export function connectVolume(info: ConnectionInfo): void {
  const rule = faultAt('driver.connect_volume');
  if (rule) throw rule.error === null ? new VolumeDeviceNotFound(String(info.data?.device_path ?? '')) : new BrickException(rule.error);
}

export function disconnectVolume(info: ConnectionInfo, dev: string): void {
  void info;
  void dev;
}

export function diskXml(conf: GuestDiskConfig): DomainDisk {
  return {
    type: conf.sourceType,
    device: 'disk',
    driverType: conf.driverFormat,
    source: conf.sourceType === 'network' ? `rbd:${conf.sourceName}` : (conf.sourcePath ?? ''),
    targetDev: conf.targetDev,
    targetBus: conf.targetBus,
    serial: conf.serial,
    alias: null,
    cache: conf.driverCache,
  };
}
