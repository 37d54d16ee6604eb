// cinderclient.v2.volume_types: VolumeTypeManager.list (GET /types)
import { Resource, type Info } from '../../novaclient/base.js';
import type { SessionClient } from '../../novaclient/client.js';

export class VolumeType extends Resource {
  /** VolumeType.is_public: the os-volume-type-access:is_public key of older APIs, else is_public */
  get isPublic(): unknown {
    return this.info['os-volume-type-access:is_public'] ?? this.info.is_public ?? 'N/A';
  }
}

export class VolumeTypeManager {
  constructor(private readonly api: SessionClient) {}

  /** list(is_public=None): Mitaka puts the None in the query string, and Cinder reads it as unset */
  async list(): Promise<VolumeType[]> {
    const { body } = await this.api.get('volumev2', '/types?is_public=None');
    return ((body as { volume_types?: Info[] }).volume_types ?? []).map((t) => new VolumeType(t, true));
  }
}
