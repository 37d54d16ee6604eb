// The embedded cloud with the world around it: the simulator's hooks into the cloud's
// layers (src/cloud/embedded.ts knows none of this). A missing state file becomes the
// default world; operations a process never ended are reported as `nova-sim doctor` sees
// them; the guests of the domains a host starts run their workloads; a QEMU starts with
// the blkdebug rules of its drives; a deleted instance's guest loads and rules go in the
// save that deletes it.
import { openEmbeddedCloud, type EmbeddedOptions, type SimulatorHooks } from '../cloud/embedded.js';
import type { EmbeddedCloud } from '../cloud/types.js';
import { blkdebugRulesFrom, dropRecordsOfDeletedInstances } from './host-records.js';
import { ensureWorld } from './world.js';

export const simulatorHooks: SimulatorHooks = {
  ensureState: ensureWorld,
  async interruptedNotices(initial, reread) {
    const { confirmedInterruptedNotices } = await import('./doctor.js');
    return confirmedInterruptedNotices(initial, reread);
  },
  async guestStarter(store) {
    const { guestStarter } = await import('./guest-load.js');
    return guestStarter(store);
  },
  blkdebugRules: blkdebugRulesFrom,
  beforeSave: dropRecordsOfDeletedInstances,
};

/** openEmbeddedCloud with the simulator's hooks: what `nova` and the tests open */
export function openSimulatedCloud(opts: Omit<EmbeddedOptions, 'simulator'>): Promise<EmbeddedCloud> {
  return openEmbeddedCloud({ ...opts, simulator: simulatorHooks });
}
