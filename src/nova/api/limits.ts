// nova/api/openstack/compute/limits.py (LimitsController.index) with used_limits.py: the
// absolute limits of the project's quotas and what the project uses of them. The embedded
// Nova keeps no quota table, so the limits are nova.conf's Mitaka defaults (quota_instances
// 10, quota_cores 20, quota_ram 51200, …); the usage is counted from the state's instances.
// v2.1 has no rate limits: "rate" is always [].
import { jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { Action } from './controller.js';

/** nova/quota.py's quota_opts defaults (Mitaka) */
export const DEFAULT_QUOTAS = {
  instances: 10,
  cores: 20,
  ram: 51200,
  floating_ips: 10,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  security_groups: 10,
  security_group_rules: 20,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
} as const;

/** views/limits.py ViewBuilder.limit_names */
const LIMIT_NAMES: Record<keyof typeof DEFAULT_QUOTAS, string[]> = {
  ram: ['maxTotalRAMSize'],
  instances: ['maxTotalInstances'],
  cores: ['maxTotalCores'],
  key_pairs: ['maxTotalKeypairs'],
  floating_ips: ['maxTotalFloatingIps'],
  metadata_items: ['maxServerMeta', 'maxImageMeta'],
  injected_files: ['maxPersonality'],
  injected_file_content_bytes: ['maxPersonalitySize'],
  security_groups: ['maxSecurityGroups'],
  security_group_rules: ['maxSecurityGroupRules'],
  server_groups: ['maxServerGroups'],
  server_group_members: ['maxServerGroupMembers'],
};

export function limitsController(store: StateStore): Record<string, Action> {
  return {
    /** GET /limits (the used limits extension adds total*Used) */
    index: async (c) => {
      const s = store.read();
      const absolute: Record<string, number> = {};
      for (const [quota, names] of Object.entries(LIMIT_NAMES)) {
        for (const name of names) absolute[name] = DEFAULT_QUOTAS[quota as keyof typeof DEFAULT_QUOTAS];
      }
      let instances = 0;
      let cores = 0;
      let ram = 0;
      for (const i of s.nova.instances) {
        if (i.deleted || i.projectId !== c.ctx.projectId) continue;
        const flavor = s.flavors.find((f) => f.id === i.flavorId);
        instances++;
        cores += flavor?.vcpus ?? 0;
        ram += flavor?.ram ?? 0;
      }
      // used_limits.UsedLimitsController: the project's usages
      Object.assign(absolute, {
        totalRAMUsed: ram,
        totalCoresUsed: cores,
        totalInstancesUsed: instances,
        totalFloatingIpsUsed: 0,
        // every project has its "default" security group
        totalSecurityGroupsUsed: 1,
        totalServerGroupsUsed: 0,
      });
      return jsonResponse(200, { limits: { rate: [], absolute } });
    },
  };
}
