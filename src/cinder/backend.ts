// The LVM-like backend of cinder-volume: one raw sparse image file per volume, and the
// connection_info its driver hands to Nova (driver_volume_type "local": a host path the
// hypervisor opens directly, so swap's "host devices only" rule is met).
import { mkdirSync, openSync, closeSync, ftruncateSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { volumeImagePath } from '../state/paths.js';

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

  /** lvcreate in miniature: a sparse file of the volume's size */
  createImage(volumeId: string, sizeGiB: number): string {
    const path = this.imagePath(volumeId);
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, sizeGiB * GiB);
    } finally {
      closeSync(fd);
    }
    return path;
  }

  deleteImage(volumeId: string): void {
    rmSync(this.imagePath(volumeId), { force: true });
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
