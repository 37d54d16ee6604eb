// novaclient.v2.hosts: HostManager.list(zone=None)
import { Resource, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class HostManager {
  constructor(private readonly api: SessionClient) {}

  async list(zone: string | null = null): Promise<Resource[]> {
    const { body } = await this.api.get('compute', `/os-hosts${zone ? `?zone=${zone}` : ''}`);
    return ((body as { hosts?: Info[] }).hosts ?? []).map((h) => new Resource(h, true));
  }
}
