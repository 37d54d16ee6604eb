// novaclient.v2.flavors and novaclient.v2.images (Nova's image proxy).
import { Resource, responseKey, type Findable, type Info } from '../base.js';
import type { SessionClient } from '../client.js';
import { urlencode } from '../pyfmt.js';

/** novaclient.v2.flavors.Flavor: the extension attributes under their short names */
export class Flavor extends Resource {
  /** Flavor.ephemeral */
  get ephemeral(): unknown {
    return this.info['OS-FLV-EXT-DATA:ephemeral'] ?? 'N/A';
  }

  /** Flavor.is_public */
  get isPublic(): unknown {
    return this.info['os-flavor-access:is_public'] ?? 'N/A';
  }
}

export interface FlavorListOptions {
  detailed?: boolean;
  /** ternary: true (default, public only), false (private only), null (all) */
  isPublic?: boolean | null;
  marker?: string | null;
  limit?: number | null;
}

export class FlavorManager implements Findable<Flavor> {
  readonly resourceName = 'flavor';
  readonly alphanumIdAllowed = true;
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Flavor> {
    const { body } = await this.api.get('compute', `/flavors/${id}`);
    return new Flavor(responseKey(body, 'flavor'), true);
  }

  /** FlavorManager.list(detailed, is_public, marker, limit) */
  async list(o: FlavorListOptions = {}): Promise<Flavor[]> {
    const q: [string, unknown][] = [];
    if (o.marker) q.push(['marker', String(o.marker)]);
    if (o.limit) q.push(['limit', o.limit]);
    const isPublic = o.isPublic === undefined ? true : o.isPublic;
    // is_public is ternary: None asks for every flavor
    if (!isPublic) q.push(['is_public', isPublic === null ? 'None' : 'False']);
    q.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const query = q.length ? `?${urlencode(q)}` : '';
    const { body } = await this.api.get('compute', `/flavors${o.detailed === false ? '' : '/detail'}${query}`);
    return ((body as { flavors?: Info[] }).flavors ?? []).map((f) => new Flavor(f, true));
  }

  async findByName(value: string): Promise<Flavor[]> {
    return (await this.list({ isPublic: null })).filter((f) => f.info.name === value);
  }

  /** Flavor.get_keys: GET /flavors/<id>/os-extra_specs */
  async getKeys(id: string): Promise<Record<string, unknown>> {
    const { body } = await this.api.get('compute', `/flavors/${id}/os-extra_specs`);
    return ((body as { extra_specs?: Record<string, unknown> }).extra_specs ?? {}) as Record<string, unknown>;
  }
}

export class ImageManager implements Findable<Resource> {
  readonly resourceName = 'image';
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Resource> {
    const { body } = await this.api.get('compute', `/images/${id}`);
    return new Resource(responseKey(body, 'image'), true);
  }

  /** ImageManager.list(detailed=True, limit=None) */
  async list(limit: string | null = null): Promise<Resource[]> {
    const query = limit ? `?${urlencode([['limit', limit]])}` : '';
    const { body } = await this.api.get('compute', `/images/detail${query}`);
    return ((body as { images?: Info[] }).images ?? []).map((i) => new Resource(i, true));
  }

  async findByName(value: string): Promise<Resource[]> {
    return (await this.list()).filter((i) => i.info.name === value);
  }
}
