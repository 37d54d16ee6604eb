// nova/api/openstack/compute/services.py: ServiceController.index (os_compute_api:os-services,
// admin only), filtered by ?host= and ?binary=; the API services are never listed.
import { jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import { API_SERVICES, type HostAPI, type Service } from '../compute/host_api.js';
import type { Action } from './controller.js';
import { authorizeAdmin } from './policy.js';
import { cmpVersion, parseVersion, type ApiVersion } from './wsgi.js';

export function servicesController(store: StateStore, hostApi: HostAPI): Record<string, Action> {
  /** _get_service_detail (forced_down from 2.11) */
  function detail(svc: Service, version: ApiVersion): Record<string, unknown> {
    const out: Record<string, unknown> = {
      binary: svc.binary,
      host: svc.host,
      id: svc.id,
      zone: svc.availabilityZone,
      status: svc.disabled ? 'disabled' : 'enabled',
      state: hostApi.servicegroup.service_is_up(svc) ? 'up' : 'down',
      updated_at: svc.updatedAt,
      disabled_reason: svc.disabledReason,
    };
    if (cmpVersion(version, parseVersion('2.11') as ApiVersion) >= 0) out.forced_down = svc.forcedDown;
    return out;
  }

  const index: Action = async (c) => {
    authorizeAdmin(c.ctx, 'os_compute_api:os-services');
    let services = hostApi.service_get_all(store.read()).filter((s) => !API_SERVICES.includes(s.binary));
    const host = c.query.get('host');
    const binary = c.query.get('binary');
    // an empty value filters nothing, as `if host:` does
    if (host) services = services.filter((s) => s.host === host);
    if (binary) services = services.filter((s) => s.binary === binary);
    return jsonResponse(200, { services: services.map((s) => detail(s, c.version)) });
  };

  return { index };
}
