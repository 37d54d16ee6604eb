// novaclient.v2.contrib.list_extensions: ListExtManager.show_all and the resource's summary
import { Resource, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class ListExtResource extends Resource {
  /** ListExtResource.summary: the description's first line, "..." if there are more */
  get summary(): string {
    const descr = String(this.info.description ?? '').trim();
    if (!descr) return '??';
    const lines = descr.split('\n');
    return lines.length === 1 ? lines[0] : `${lines[0]}...`;
  }
}

export class ListExtManager {
  constructor(private readonly api: SessionClient) {}

  async showAll(): Promise<ListExtResource[]> {
    const { body } = await this.api.get('compute', '/extensions');
    return ((body as { extensions?: Info[] }).extensions ?? []).map((e) => new ListExtResource(e, true));
  }
}
