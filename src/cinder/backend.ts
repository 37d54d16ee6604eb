// The LVM-like backend of cinder-volume: one raw sparse image file per volume, and the
// connection_info its driver hands to Nova (driver_volume_type "local": a host path the
// hypervisor opens directly, so swap's "host devices only" rule is met).
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { volumeImagePath } from '../state/paths.js';
import type { State } from '../state/types.js';

export const GiB = 1024 ** 3;

export interface ConnectionInfo {
  driver_volume_type: string;
  data: Record<string, unknown>;
  serial?: string;
  connector?: Record<string, unknown>;
}

export class VolumeBackend {
  constructor(readonly statePath: string) {}

  imagePath(volumeId: string): string {
    return volumeImagePath(this.statePath, volumeId);
  }

  /** lvcreate in miniature: a new sparse file of the volume's size. When it fails (EFBIG,
   * ENOSPC…) nothing of it is left behind and the error is thrown. */
  createImage(volumeId: string, sizeGiB: number): string {
    const path = this.imagePath(volumeId);
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': an image is only ever made for a new volume, never over another one's
    // a new volume's image: never an existing file or a link planted in its place
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      ftruncateSync(fd, sizeGiB * GiB);
    } catch (err) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw err;
    }
    closeSync(fd);
    return path;
  }

  /** lvremove: the volume's own image, and nothing else */
  deleteImage(volumeId: string): void {
    rmSync(this.imagePath(volumeId), { force: true });
  }

  /** The domain whose QEMU holds the volume's image open (lvremove's "in use"), if any:
   * a domain that is not shut off with a disk or a block-copy target on that path. */
  openBy(state: State, volumeId: string): string | null {
    const path = this.imagePath(volumeId);
    for (const d of state.libvirt.domains) {
      if (d.state === 'shutoff') continue;
      if (d.def.disks.some((x) => x.source === path) || Object.values(d.mirrors).some((m) => m.source === path)) return d.name;
    }
    return null;
  }

  /** LVMVolumeDriver.initialize_connection (local target) */
  initializeConnection(volumeId: string): ConnectionInfo {
    return {
      driver_volume_type: 'local',
      data: {
        device_path: this.imagePath(volumeId),
        volume_id: volumeId,
        access_mode: 'rw',
        encrypted: false,
        qos_specs: null,
      },
    };
  }
}
