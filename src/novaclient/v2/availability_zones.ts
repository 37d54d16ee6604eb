// novaclient.v2.availability_zones: AvailabilityZoneManager.list(detailed=True)
import { Resource, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class AvailabilityZoneManager {
  constructor(private readonly api: SessionClient) {}

  async list(detailed = true): Promise<Resource[]> {
    const { body } = await this.api.get('compute', `/os-availability-zone${detailed ? '/detail' : ''}`);
    return ((body as { availabilityZoneInfo?: Info[] }).availabilityZoneInfo ?? []).map((z) => new Resource(z, true));
  }
}
