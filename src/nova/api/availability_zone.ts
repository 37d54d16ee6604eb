// nova/api/openstack/compute/availability_zone.py: AvailabilityZoneController.index (the
// summary any user may list) and .detail (admin only: each zone's hosts and services).
import { jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import { API_SERVICES, INTERNAL_SERVICE_AVAILABILITY_ZONE, getAvailabilityZones, type HostAPI } from '../compute/host_api.js';
import type { Action } from './controller.js';
import { authorizeAdmin } from './policy.js';

interface ZoneInfo {
  zoneName: string;
  zoneState: { available: boolean };
  hosts: Record<string, Record<string, { available: boolean; active: boolean; updated_at: string | null }>> | null;
}

export function availabilityZoneController(store: StateStore, hostApi: HostAPI): Record<string, Action> {
  /** _describe_availability_zones: the internal zone is hidden */
  const index: Action = async () => {
    const { available, notAvailable } = getAvailabilityZones(hostApi.service_get_all(store.read()));
    const zones = (names: string[], isAvailable: boolean): ZoneInfo[] =>
      names.filter((z) => z !== INTERNAL_SERVICE_AVAILABILITY_ZONE).map((z) => ({ zoneName: z, zoneState: { available: isAvailable }, hosts: null }));
    return jsonResponse(200, { availabilityZoneInfo: [...zones(available, true), ...zones(notAvailable, false)] });
  };

  /** _describe_availability_zones_verbose */
  const detail: Action = async (c) => {
    authorizeAdmin(c.ctx, 'os_compute_api:os-availability-zone:detail');
    const services = hostApi.service_get_all(store.read());
    const { available, notAvailable } = getAvailabilityZones(services);
    const enabled = services.filter((s) => !s.disabled && !API_SERVICES.includes(s.binary));
    const result: ZoneInfo[] = available.map((zone) => {
      const hosts: NonNullable<ZoneInfo['hosts']> = {};
      for (const svc of enabled.filter((s) => s.availabilityZone === zone)) {
        hosts[svc.host] ??= {};
        hosts[svc.host][svc.binary] = { available: hostApi.servicegroup.service_is_up(svc), active: !svc.disabled, updated_at: svc.updatedAt };
      }
      return { zoneName: zone, zoneState: { available: true }, hosts };
    });
    for (const zone of notAvailable) result.push({ zoneName: zone, zoneState: { available: false }, hosts: null });
    return jsonResponse(200, { availabilityZoneInfo: result });
  };

  return { index, detail };
}
