// novaclient.v2.services: ServiceManager.list(host=None, binary=None)
import { Resource, type Info } from '../base.js';
import type { SessionClient } from '../client.js';
import { urlencode } from '../pyfmt.js';

export class ServiceManager {
  constructor(private readonly api: SessionClient) {}

  async list(host: string | null = null, binary: string | null = null): Promise<Resource[]> {
    const filters: [string, unknown][] = [];
    if (host) filters.push(['host', host]);
    if (binary) filters.push(['binary', binary]);
    const query = filters.length ? `?${urlencode(filters)}` : '';
    const { body } = await this.api.get('compute', `/os-services${query}`);
    return ((body as { services?: Info[] }).services ?? []).map((s) => new Resource(s, true));
  }
}
