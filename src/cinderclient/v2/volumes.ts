// cinderclient.v2.volumes: the Volume resource and VolumeManager (the calls the shell's
// volume commands make against Cinder's v2 API).
import { Resource, type Info } from '../../novaclient/base.js';
import type { SessionClient } from '../../novaclient/client.js';
import { urlencode } from '../../novaclient/pyfmt.js';
import type { Findable } from '../utils.js';

export class Volume extends Resource {}

export interface VolumeCreateOptions {
  name?: string | null;
  description?: string | null;
  volumeType?: string | null;
  availabilityZone?: string | null;
  imageRef?: string | null;
  metadata?: Record<string, string> | null;
}

export class VolumeManager implements Findable<Volume> {
  readonly resourceName = 'volume';
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Volume> {
    const { body } = await this.api.get('volumev2', `/volumes/${encodeURIComponent(id)}`);
    return new Volume((body as { volume: Info }).volume, true);
  }

  /** list(detailed=True, search_opts): _build_list_url keeps the truthy options, sorted by key */
  async list(searchOpts: Record<string, unknown> = {}): Promise<Volume[]> {
    const q = Object.entries(searchOpts)
      .filter(([, v]) => v !== null && v !== undefined && v !== '' && v !== 0 && v !== false)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const query = q.length ? `?${urlencode(q)}` : '';
    const { body } = await this.api.get('volumev2', `/volumes/detail${query}`);
    return ((body as { volumes?: Info[] }).volumes ?? []).map((v) => new Volume(v, true));
  }

  /** ManagerWithFind.findall(name=value): the server filters on name, the client checks it */
  async findByName(value: string): Promise<Volume[]> {
    return (await this.list({ all_tenants: 1, name: value })).filter((v) => v.info.name === value);
  }

  /** findall(human_id=value): Volume has no HUMAN_ID, so its human_id is None and never matches */
  async findByHumanId(): Promise<Volume[]> {
    await this.list({ all_tenants: 1 });
    return [];
  }

  async create(size: number, o: VolumeCreateOptions): Promise<Volume> {
    const volume = {
      size,
      consistencygroup_id: null,
      snapshot_id: null,
      name: o.name ?? null,
      description: o.description ?? null,
      volume_type: o.volumeType ?? null,
      user_id: null,
      project_id: null,
      availability_zone: o.availabilityZone ?? null,
      status: 'creating',
      attach_status: 'detached',
      metadata: o.metadata ?? {},
      imageRef: o.imageRef ?? null,
      source_volid: null,
      source_replica: null,
      multiattach: false,
    };
    const { body } = await this.api.post('volumev2', '/volumes', { volume });
    return new Volume((body as { volume: Info }).volume, true);
  }

  async delete(id: string): Promise<void> {
    await this.api.delete('volumev2', `/volumes/${encodeURIComponent(id)}`);
  }

  /** _action(action, volume, info): POST /volumes/<id>/action {action: info} */
  private async action(id: string, action: string, info: unknown): Promise<void> {
    await this.api.post('volumev2', `/volumes/${encodeURIComponent(id)}/action`, { [action]: info });
  }

  forceDelete(id: string): Promise<void> {
    return this.action(id, 'os-force_delete', null);
  }

  /** reset_state: the status always, the attach and migration statuses when given */
  resetState(id: string, state: string, attachStatus: string | null, migrationStatus: string | null): Promise<void> {
    const body: Record<string, string> = { status: state };
    if (attachStatus) body.attach_status = attachStatus;
    if (migrationStatus) body.migration_status = migrationStatus;
    return this.action(id, 'os-reset_status', body);
  }
}
