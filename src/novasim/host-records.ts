// What the simulator keeps about an instance on the host besides Nova's, Cinder's and
// libvirt's records: the workloads of its guest (`nova-sim guest-load`) and the blkdebug
// rules of its drives (`nova-sim blkdebug`). The cloud's layers never read or drop these
// themselves; the simulator hands them in (the rules a QEMU starts with) and keeps them in
// step (a deleted instance's records go in the save that deletes it).
import type { BlkdebugRules } from '../libvirt/qemu-host.js';
import type { StateStore } from '../state/store.js';
import type { State } from '../state/types.js';

/** the blkdebug rules a domain's QEMU is started with: the state's, as they are then */
export function blkdebugRulesFrom(store: StateStore): BlkdebugRules {
  return (domain) => (store.read().blkdebug ?? []).filter((r) => r.server === domain.uuid);
}

/** drops the guest loads and blkdebug rules of one instance */
export function dropInstanceRecords(s: State, instanceUuid: string): void {
  if (s.guestLoads) s.guestLoads = s.guestLoads.filter((l) => l.server !== instanceUuid);
  if (s.blkdebug) s.blkdebug = s.blkdebug.filter((r) => r.server !== instanceUuid);
}

/** before each save of the cloud's state: what the host kept for an instance that is now
 * deleted (its guest's workloads, the blkdebug rules of its drives) goes with it */
export function dropRecordsOfDeletedInstances(s: State): void {
  if (!s.guestLoads?.length && !s.blkdebug?.length) return;
  for (const inst of s.nova.instances) if (inst.deleted) dropInstanceRecords(s, inst.uuid);
}
