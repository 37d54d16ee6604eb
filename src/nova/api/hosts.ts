// nova/api/openstack/compute/hosts.py: HostController.index (os_compute_api:os-hosts, admin
// only): one row per enabled service that is not an API service, ?zone= filters.
import { jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import { API_SERVICES, type HostAPI } from '../compute/host_api.js';
import type { Action } from './controller.js';
import { authorizeAdmin } from './policy.js';

export function hostsController(store: StateStore, hostApi: HostAPI): Record<string, Action> {
  const index: Action = async (c) => {
    authorizeAdmin(c.ctx, 'os_compute_api:os-hosts');
    const zone = c.query.get('zone');
    const services = hostApi.service_get_all(store.read(), { disabled: false, ...(zone ? { availabilityZone: zone } : {}) });
    const hosts = services
      .filter((s) => !API_SERVICES.includes(s.binary))
      .map((s) => ({ host_name: s.host, service: s.topic, zone: s.availabilityZone }));
    return jsonResponse(200, { hosts });
  };
  return { index };
}
