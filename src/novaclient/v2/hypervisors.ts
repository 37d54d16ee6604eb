// novaclient.v2.hypervisors: HypervisorManager (NAME_ATTR hypervisor_hostname, ids need not
// be UUIDs) and its list, search and get.
import { Resource, responseKey, type Findable, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class Hypervisor extends Resource {
  override get name(): string {
    return String(this.info.hypervisor_hostname ?? '');
  }
}

/** parse.quote(value, safe='') */
function quote(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class HypervisorManager implements Findable<Hypervisor> {
  readonly resourceName = 'hypervisor';
  readonly alphanumIdAllowed = true;
  constructor(private readonly api: SessionClient) {}

  async list(detailed = true): Promise<Hypervisor[]> {
    const { body } = await this.api.get('compute', `/os-hypervisors${detailed ? '/detail' : ''}`);
    return ((body as { hypervisors?: Info[] }).hypervisors ?? []).map((h) => new Hypervisor(h, detailed));
  }

  /** search(hypervisor_match, servers=False) */
  async search(match: string, servers = false): Promise<Hypervisor[]> {
    const { body } = await this.api.get('compute', `/os-hypervisors/${quote(match)}/${servers ? 'servers' : 'search'}`);
    return ((body as { hypervisors?: Info[] }).hypervisors ?? []).map((h) => new Hypervisor(h, false));
  }

  async get(id: string): Promise<Hypervisor> {
    const { body } = await this.api.get('compute', `/os-hypervisors/${id}`);
    return new Hypervisor(responseKey(body, 'hypervisor'), true);
  }

  async findByName(value: string): Promise<Hypervisor[]> {
    return (await this.list()).filter((h) => h.info.hypervisor_hostname === value);
  }
}
