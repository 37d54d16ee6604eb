// nova/virt/libvirt/volume/: the volume drivers, chosen by connection_info's
// driver_volume_type. 'local' (LibvirtVolumeDriver) is a host block path; network
// types (rbd …) have no source_path, which swap refuses.
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

/** connect_volume: a local path needs nothing; the hook exists for the other types */
export function connectVolume(info: ConnectionInfo): void {
  void info;
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
