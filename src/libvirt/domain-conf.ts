// Helpers over a domain object as libvirt's conf/domain_conf.c and qemu_domain.c keep them,
// shared by the public entry points (domain.ts) and the QEMU driver's block calls.
import type { Domain, DomainDef, DomainDisk } from '../state/types.js';
import { LibvirtError, VIR_ERR } from './errors.js';

/** virDomainObjIsActive: running or paused (a QEMU process exists) */
export function isActive(d: Domain): boolean {
  return d.state === 'running' || d.state === 'paused';
}

/** qemuDomainDiskByName: a target name (vda) or a source path */
export function findDisk(def: DomainDef, path: string): DomainDisk {
  const disk = def.disks.find((d) => d.targetDev === path || d.source === path);
  if (!disk) throw new LibvirtError(VIR_ERR.INVALID_ARG, `disk '${path}' not found in domain`);
  return disk;
}
