// novaclient.v2.flavors / images (Nova's image proxy): only what `show` and `boot` need.
import { Resource, type Findable, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class FlavorManager implements Findable<Resource> {
  readonly resourceName = 'flavor';
  readonly alphanumIdAllowed = true;
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Resource> {
    const { body } = await this.api.get('compute', `/flavors/${id}`);
    return new Resource((body as { flavor: Info }).flavor, true);
  }

  async findByName(value: string): Promise<Resource[]> {
    const { body } = await this.api.get('compute', '/flavors/detail?is_public=None');
    return ((body as { flavors?: Info[] }).flavors ?? []).filter((f) => f.name === value).map((f) => new Resource(f, true));
  }
}

export class ImageManager implements Findable<Resource> {
  readonly resourceName = 'image';
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Resource> {
    const { body } = await this.api.get('compute', `/images/${id}`);
    return new Resource((body as { image: Info }).image, true);
  }

  async findByName(value: string): Promise<Resource[]> {
    const { body } = await this.api.get('compute', '/images/detail');
    return ((body as { images?: Info[] }).images ?? []).filter((i) => i.name === value).map((i) => new Resource(i, true));
  }
}
