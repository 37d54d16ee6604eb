// novaclient.v2.volumes: the deprecated Cinder proxy (VolumeManager, which talks to the
// volumev2 endpoint) and the server's os-volume_attachments.
import { Resource, type Findable, type Info } from '../base.js';
import type { SessionClient } from '../client.js';
import { urlencode } from '../pyfmt.js';
import { instrument, traced } from '../../trace/tracer.js';

export class Volume extends Resource {
  /** NAME_ATTR is display_name; Cinder v2 only returns name, so fall back to it */
  get displayName(): unknown {
    return this.has('display_name') ? this.info.display_name : this.info.name;
  }
}

export class VolumeManager implements Findable<Volume> {
  readonly resourceName = 'volume';
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Volume> {
    const { body } = await this.api.get('volumev2', `/volumes/${id}`);
    return new Volume((body as { volume: Info }).volume, true);
  }

  async list(searchOpts: Record<string, unknown> = {}): Promise<Volume[]> {
    const q = Object.entries(searchOpts).filter(([, v]) => v);
    const query = q.length ? `?${urlencode(q)}` : '';
    const { body } = await this.api.get('volumev2', `/volumes/detail${query}`);
    return ((body as { volumes?: Info[] }).volumes ?? []).map((v) => new Volume(v, true));
  }

  async findByName(value: string): Promise<Volume[]> {
    const all = await this.list();
    return all.filter((v) => v.info.display_name === value || v.info.name === value);
  }

  async create(size: number, o: { snapshotId?: string | null; displayName?: string | null; displayDescription?: string | null; volumeType?: string | null; availabilityZone?: string | null; imageRef?: string | null }): Promise<Volume> {
    // Mitaka sends the v1 key names; Cinder v2 accepts display_name/display_description
    const volume = {
      size,
      snapshot_id: o.snapshotId ?? null,
      display_name: o.displayName ?? null,
      display_description: o.displayDescription ?? null,
      volume_type: o.volumeType ?? null,
      availability_zone: o.availabilityZone ?? null,
      imageRef: o.imageRef ?? null,
    };
    const { body } = await this.api.post('volumev2', '/volumes', { volume });
    return new Volume((body as { volume: Info }).volume, true);
  }

  async delete(id: string): Promise<void> {
    await this.api.delete('volumev2', `/volumes/${id}`);
  }
}

export class ServerVolumeManager {
  constructor(private readonly api: SessionClient) {}

  async createServerVolume(serverId: string, volumeId: string, device: string | null): Promise<Resource> {
    const att: Info = { volumeId };
    if (device !== null) att.device = device;
    const { body } = await this.api.post('compute', `/servers/${serverId}/os-volume_attachments`, { volumeAttachment: att });
    return new Resource((body as { volumeAttachment: Info }).volumeAttachment, true);
  }

  /** update_server_volume: PUT …/os-volume_attachments/<attachment> → 202, empty body */
  async updateServerVolume(serverId: string, attachmentId: string, newVolumeId: string): Promise<{ requestId?: string }> {
    const url = `/servers/${serverId}/os-volume_attachments/${attachmentId}`;
    const body = { volumeAttachment: { volumeId: newVolumeId } };
    // Manager._update(url, body, "volumeAttachment"): PUT through the session client
    const { resp } = await traced(MANAGER_UPDATE, () => this.api.put('compute', url, body), () => ({ url, body, response_key: 'volumeAttachment' }), (r) => `StrWithMeta('', resp=<${r.resp.status}>)`);
    const rid = Object.entries(resp.headers).find(([k]) => k.toLowerCase() === 'x-compute-request-id')?.[1];
    return { requestId: rid };
  }

  async getServerVolumes(serverId: string): Promise<Resource[]> {
    const { body } = await this.api.get('compute', `/servers/${serverId}/os-volume_attachments`);
    return ((body as { volumeAttachments?: Info[] }).volumeAttachments ?? []).map((a) => new Resource(a, true));
  }

  async deleteServerVolume(serverId: string, attachmentId: string): Promise<void> {
    await this.api.delete('compute', `/servers/${serverId}/os-volume_attachments/${attachmentId}`);
  }
}

// --trace: novaclient's side of `nova volume-update`, as the seed walks it
const MANAGER_UPDATE = { name: 'Manager._update()', location: 'novaclient/base.py', layer: 'novaclient', service: 'novaclient' } as const;
instrument(
  ServerVolumeManager.prototype,
  'updateServerVolume',
  { name: 'VolumeManager.update_server_volume()', location: 'novaclient/v2/volumes.py', layer: 'novaclient', service: 'novaclient' },
  (serverId: string, attachmentId: string, newVolumeId: string) => ({ server_id: serverId, attachment_id: attachmentId, new_volume_id: newVolumeId }),
);
