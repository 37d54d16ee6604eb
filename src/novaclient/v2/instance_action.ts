// novaclient/v2/contrib/instance_action.py (Mitaka): InstanceActionManager, the
// os-instance-actions resource of a server.
import { Resource, type Info } from '../base.js';
import type { SessionClient } from '../client.js';

export class InstanceActionManager {
  constructor(private readonly api: SessionClient) {}

  /** InstanceActionManager.get: one action (with its events, when the API shows them) */
  async get(server: string, requestId: string): Promise<Resource> {
    const { body } = await this.api.get('compute', `/servers/${server}/os-instance-actions/${requestId}`);
    return new Resource((body as { instanceAction: Info }).instanceAction, true);
  }

  /** InstanceActionManager.list: the actions performed on a server */
  async list(server: string): Promise<Resource[]> {
    const { body } = await this.api.get('compute', `/servers/${server}/os-instance-actions`);
    return ((body as { instanceActions?: Info[] }).instanceActions ?? []).map((a) => new Resource(a, true));
  }
}
