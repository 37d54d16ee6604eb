// nova/compute/api.py HostAPI and nova/availability_zones.py: the services table and the
// compute nodes as nova-api reads them.
//
// novasim keeps no services or compute_nodes rows in the state: both are derived, when
// asked, from what the embedded cloud really runs. Its nova-api and its one nova-compute
// serve the state's host (the RPC bus delivers compute.<host> to the process that hosts the
// cloud); the compute node's usage is what the resource tracker would have saved from the
// instances on that host (resource_tracker.ts).
import { isoMicros } from '../../common/time.js';
import type { State } from '../../state/types.js';
import type { ServiceGroupAPI } from '../servicegroup.js';

/** CONF.default_availability_zone / CONF.internal_service_availability_zone */
export const DEFAULT_AVAILABILITY_ZONE = 'nova';
export const INTERNAL_SERVICE_AVAILABILITY_ZONE = 'internal';
/** the API services the os-services, os-hosts and AZ listings skip */
export const API_SERVICES = ['nova-osapi_compute', 'nova-ec2', 'nova-metadata'];

/** nova.objects.Service, with the availability zone set_availability_zones adds */
export interface Service {
  id: number;
  binary: string;
  host: string;
  topic: string | null;
  disabled: boolean;
  disabledReason: string | null;
  forcedDown: boolean;
  createdAt: string;
  /** the last report (heartbeat), null when the service never reported */
  updatedAt: string | null;
  availabilityZone: string;
}

export class HostAPI {
  constructor(readonly servicegroup: ServiceGroupAPI) {}

  /** HostAPI.service_get_all(context, filters, set_zones=True) */
  service_get_all(state: State, filters: { disabled?: boolean; availabilityZone?: string } = {}): Service[] {
    const rows: Omit<Service, 'availabilityZone' | 'updatedAt'>[] = [
      // what the embedded cloud runs: nova-api and one nova-compute, on the state's host
      { id: 1, binary: 'nova-osapi_compute', host: state.host, topic: null, disabled: false, disabledReason: null, forcedDown: false, createdAt: state.createdAt },
      { id: 2, binary: 'nova-compute', host: state.host, topic: 'compute', disabled: false, disabledReason: null, forcedDown: false, createdAt: state.createdAt },
    ];
    const services = rows.map((r) => {
      const beat = this.servicegroup.lastHeartbeat(r);
      return { ...r, updatedAt: beat ? isoMicros(beat) : null, availabilityZone: setAvailabilityZone(r.topic) };
    });
    return services.filter(
      (s) =>
        (filters.disabled === undefined || s.disabled === filters.disabled) &&
        (filters.availabilityZone === undefined || s.availabilityZone === filters.availabilityZone),
    );
  }

  /** HostAPI.service_get_by_compute_host */
  service_get_by_compute_host(state: State, host: string): Service | undefined {
    return this.service_get_all(state).find((s) => s.binary === 'nova-compute' && s.host === host);
  }
}

/** availability_zones.set_availability_zones: compute services sit in the default zone (no
 * host aggregates here), every other service in the internal one */
function setAvailabilityZone(topic: string | null): string {
  return topic === 'compute' ? DEFAULT_AVAILABILITY_ZONE : INTERNAL_SERVICE_AVAILABILITY_ZONE;
}

/** availability_zones.get_availability_zones: zones of enabled services are available; zones
 * that only disabled services are in are not */
export function getAvailabilityZones(services: Service[]): { available: string[]; notAvailable: string[] } {
  const available = [...new Set(services.filter((s) => !s.disabled).map((s) => s.availabilityZone))];
  const notAvailable = [...new Set(services.filter((s) => s.disabled && !available.includes(s.availabilityZone)).map((s) => s.availabilityZone))];
  return { available, notAvailable };
}
