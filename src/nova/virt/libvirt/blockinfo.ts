// nova/virt/libvirt/blockinfo.py: which bus a device name implies.
import { NovaGeneric } from '../../exception.js';

/** get_disk_bus_for_disk_dev */
export function get_disk_bus_for_disk_dev(virtType: string, diskDev: string): string {
  if (diskDev.startsWith('hd')) return 'ide';
  if (diskDev.startsWith('sd')) return virtType === 'xen' ? 'xen' : 'scsi';
  if (diskDev.startsWith('vd')) return 'virtio';
  if (diskDev.startsWith('fd')) return 'fdc';
  if (diskDev.startsWith('xvd')) return 'xen';
  if (diskDev.startsWith('ubd')) return 'uml';
  // upstream formats only the first character of the name here
  throw new NovaGeneric(`Unable to determine disk bus for '${diskDev.slice(0, 1)}'`);
}
