// novaclient.v2.versions: VersionManager.list() asks the endpoint's root ("scheme://netloc/")
import { Resource, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class VersionManager {
  constructor(private readonly api: SessionClient) {}

  async list(): Promise<Resource[]> {
    const u = new URL(this.api.endpoints.compute);
    const { body } = await this.api.request('compute', 'GET', `${u.protocol}//${u.host}/`, undefined, { absolute: true });
    return ((body as { versions?: Info[] }).versions ?? []).map((v) => new Resource(v, true));
  }
}
