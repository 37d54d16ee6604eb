// nova/api/openstack/compute/hypervisors.py: HypervisorsController (os_compute_api:os-hypervisors,
// admin only): index, detail, show, search and servers, each hypervisor with its service's
// state (up/down) and status (enabled/disabled).
import { HttpFault, jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { State } from '../../state/types.js';
import type { HostAPI } from '../compute/host_api.js';
import { computeNode, trackedInstances, type ComputeNode } from '../compute/resource_tracker.js';
import type { Action } from './controller.js';
import { authorizeAdmin } from './policy.js';

const RULE = 'os_compute_api:os-hypervisors';

const DETAIL_FIELDS = [
  'vcpus',
  'memory_mb',
  'local_gb',
  'vcpus_used',
  'memory_mb_used',
  'local_gb_used',
  'hypervisor_type',
  'hypervisor_version',
  'free_ram_mb',
  'free_disk_gb',
  'current_workload',
  'running_vms',
  'cpu_info',
  'disk_available_least',
  'host_ip',
] as const;

export function hypervisorsController(store: StateStore, hostApi: HostAPI): Record<string, Action> {
  /** HostAPI.compute_node_get_all: one node, the state's host */
  const nodes = (s: State): ComputeNode[] => [computeNode(s, store.path)];

  /** _view_hypervisor */
  function view(s: State, hyp: ComputeNode, detail: boolean, servers?: { name: string; uuid: string }[]): Record<string, unknown> {
    const service = hostApi.service_get_by_compute_host(s, hyp.host);
    const out: Record<string, unknown> = {
      id: hyp.id,
      hypervisor_hostname: hyp.hypervisor_hostname,
      state: service && hostApi.servicegroup.service_is_up(service) ? 'up' : 'down',
      status: service?.disabled ? 'disabled' : 'enabled',
    };
    // Python's truthiness: an empty server list is no list at all
    const hasServers = Boolean(servers?.length);
    if (detail && !hasServers) {
      for (const f of DETAIL_FIELDS) out[f] = hyp[f];
      out.service = { id: service?.id ?? null, host: hyp.host, disabled_reason: service?.disabledReason ?? null };
    }
    if (hasServers) out.servers = servers;
    return out;
  }

  /** compute_node_search_by_hypervisor: a LIKE %match% on the hostname */
  const search = (s: State, match: string): ComputeNode[] => nodes(s).filter((n) => n.hypervisor_hostname.includes(match));

  const noMatch = (id: string) => new HttpFault(404, `No hypervisor matching '${id}' could be found.`);

  return {
    index: async (c) => {
      authorizeAdmin(c.ctx, RULE);
      const s = store.read();
      return jsonResponse(200, { hypervisors: nodes(s).map((h) => view(s, h, false)) });
    },
    detail: async (c) => {
      authorizeAdmin(c.ctx, RULE);
      const s = store.read();
      return jsonResponse(200, { hypervisors: nodes(s).map((h) => view(s, h, true)) });
    },
    show: async (c) => {
      authorizeAdmin(c.ctx, RULE);
      const s = store.read();
      // compute_node_get(int(id)): a non-integer id is a ValueError, the same 404
      const id = c.params.id;
      const hyp = /^\s*[+-]?\d+\s*$/.test(id) ? nodes(s).find((n) => n.id === Number.parseInt(id, 10)) : undefined;
      if (!hyp) throw new HttpFault(404, `Hypervisor with ID '${id}' could not be found.`);
      return jsonResponse(200, { hypervisor: view(s, hyp, true) });
    },
    search: async (c) => {
      authorizeAdmin(c.ctx, RULE);
      const s = store.read();
      const found = search(s, c.params.id);
      if (!found.length) throw noMatch(c.params.id);
      return jsonResponse(200, { hypervisors: found.map((h) => view(s, h, false)) });
    },
    servers: async (c) => {
      authorizeAdmin(c.ctx, RULE);
      const s = store.read();
      const found = search(s, c.params.id);
      if (!found.length) throw noMatch(c.params.id);
      return jsonResponse(200, {
        hypervisors: found.map((h) => view(s, h, false, trackedInstances(s, h.host).map((i) => ({ name: i.name, uuid: i.uuid })))),
      });
    },
  };
}
