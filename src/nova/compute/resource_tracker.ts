// nova/compute/resource_tracker.py (Mitaka) with LibvirtDriver.get_available_resource: the
// compute node row of a host. The driver reports the machine (libvirt's node info, the
// instances directory's filesystem); the tracker adds up the instances on the host, as
// _update_usage does for each one: vcpus, memory_mb (+ reserved_host_memory_mb), root and
// ephemeral disk, and the stats (running_vms, current_workload).
import { statSync, statfsSync } from 'node:fs';
import { connectGetType, connectGetVersion, hostCpu, nodeGetInfo } from '../../libvirt/node.js';
import { imagesDir, instanceDiskPath } from '../../state/paths.js';
import type { State } from '../../state/types.js';
import { vm_states } from '../vm-states.js';

const GiB = 1024 ** 3;
/** CONF.reserved_host_memory_mb (Mitaka's default) */
export const RESERVED_HOST_MEMORY_MB = 512;
/** CONF.reserved_host_disk_mb */
export const RESERVED_HOST_DISK_MB = 0;
/** CONF.my_ip of the embedded host (the volume connector's ip) */
export const HOST_IP = '127.0.0.1';

/** nova.objects.ComputeNode (the fields os-hypervisors shows) */
export interface ComputeNode {
  id: number;
  host: string;
  hypervisor_hostname: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  vcpus_used: number;
  memory_mb_used: number;
  local_gb_used: number;
  hypervisor_type: string;
  hypervisor_version: number;
  free_ram_mb: number;
  free_disk_gb: number;
  current_workload: number;
  running_vms: number;
  /** JSON text, as the driver stores it */
  cpu_info: string;
  disk_available_least: number;
  host_ip: string;
}

/** the instances the tracker counts on a host (vm_states.ALLOW_RESOURCE_REMOVAL are not) */
export function trackedInstances(state: State, host: string) {
  return state.nova.instances.filter(
    (i) => !i.deleted && i.host === host && i.vmState !== vm_states.DELETED && i.vmState !== vm_states.SHELVED_OFFLOADED,
  );
}

/** LibvirtDriver._get_disk_over_committed_size_total: what sparse instance disks may still take */
function diskOverCommitted(statePath: string, uuids: string[]): number {
  let total = 0;
  for (const uuid of uuids) {
    try {
      const st = statSync(instanceDiskPath(statePath, uuid));
      total += Math.max(0, st.size - st.blocks * 512);
    } catch {
      // a disk that is not there takes nothing
    }
  }
  return total;
}

/** ResourceTracker.update_available_resource for the state's host, read when asked */
export function computeNode(state: State, statePath: string): ComputeNode {
  const node = nodeGetInfo();
  // the instances directory's filesystem (LibvirtDriver._get_local_gb_info)
  let totalBytes = 0;
  let freeBytes = 0;
  try {
    const fs = statfsSync(imagesDir(statePath));
    totalBytes = fs.blocks * fs.bsize;
    freeBytes = fs.bavail * fs.bsize;
  } catch {
    // an images folder not made yet: no disk to report
  }
  const instances = trackedInstances(state, state.host);
  let vcpusUsed = 0;
  let memoryUsed = RESERVED_HOST_MEMORY_MB;
  let diskUsed = RESERVED_HOST_DISK_MB / 1024;
  for (const inst of instances) {
    const flavor = state.flavors.find((f) => f.id === inst.flavorId);
    if (!flavor) continue;
    vcpusUsed += flavor.vcpus;
    memoryUsed += flavor.ram;
    diskUsed += flavor.disk + flavor.ephemeral;
  }
  const localGb = Math.floor(totalBytes / GiB);
  const cpu = hostCpu();
  return {
    id: 1,
    host: state.host,
    hypervisor_hostname: state.host,
    vcpus: node.cpus,
    memory_mb: node.memoryMiB,
    local_gb: localGb,
    vcpus_used: vcpusUsed,
    memory_mb_used: memoryUsed,
    local_gb_used: diskUsed,
    hypervisor_type: connectGetType(),
    hypervisor_version: connectGetVersion(),
    free_ram_mb: node.memoryMiB - memoryUsed,
    free_disk_gb: localGb - diskUsed,
    // stats.calculate_workload: instances with a task in progress
    current_workload: instances.filter((i) => i.taskState !== null).length,
    running_vms: instances.length,
    cpu_info: JSON.stringify({ vendor: cpu.vendor, model: cpu.model, arch: cpu.arch, features: [], topology: cpu.topology }),
    disk_available_least: Math.floor((freeBytes - diskOverCommitted(statePath, instances.map((i) => i.uuid))) / GiB),
    host_ip: HOST_IP,
  };
}
