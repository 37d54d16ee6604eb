// nova/volume/cinder.py (Mitaka): Nova's view of Cinder. It talks to cinder-api over the
// same HTTP-shaped transport the client uses, with the caller's token, and translates
// Cinder's faults the way translate_volume_exception does (404 → VolumeNotFound, 400 →
// InvalidInput, which the API does not expect and therefore turns into a 500).
import { tokenFor } from '../../common/auth.js';
import type { RequestContext } from '../../common/context.js';
import type { Transport } from '../../http/types.js';
import { InvalidInput, InvalidVolume, NovaException, VolumeNotFound } from '../exception.js';
import { instrument } from '../../trace/tracer.js';


/** The dict _untranslate_volume_summary_view builds */
export interface NovaVolume {
  id: string;
  status: string;
  size: number;
  availability_zone: string;
  display_name: string | null;
  attach_status: 'attached' | 'detached';
  attachments: Record<string, { attachment_id: string; mountpoint: string }>;
  migration_status: string | null;
  volume_type: string;
}

/** cinderclient's ClientException as Nova sees it */
export class CinderClientError extends NovaException {
  constructor(readonly status: number, message: string, readonly requestId: string) {
    // cinderclient.exceptions.<Class>: str() carries the status and request id
    const cls = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict' }[status] ?? 'ClientException';
    super(cls, `${message} (HTTP ${status}) (Request-ID: ${requestId})`, status);
  }
}

export interface Connector {
  ip: string;
  host: string;
  initiator: string;
  multipath: boolean;
  platform: string;
  os_type: string;
}

export class CinderAPI {
  constructor(
    private readonly transport: Transport,
    private readonly endpoint: string,
  ) {}

  /** HTTPClient.request: every call above goes through here (public only so --trace can wrap it) */
  async request(ctx: RequestContext, method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.endpoint}/v2/${ctx.projectId}${path}`;
    const res = await this.transport.request({
      method,
      url,
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        'User-Agent': 'python-cinderclient',
        'X-Auth-Token': tokenFor(ctx),
        'X-OpenStack-Request-ID': ctx.requestId,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed: unknown = res.body ? JSON.parse(res.body) : null;
    if (res.status >= 400) {
      const fault = parsed && typeof parsed === 'object' ? Object.values(parsed as Record<string, { message?: string }>)[0] : undefined;
      throw new CinderClientError(res.status, fault?.message ?? `HTTP ${res.status}`, res.headers['x-openstack-request-id'] ?? '');
    }
    return parsed;
  }

  /** translate_volume_exception */
  private async translated<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CinderClientError) {
        if (err.status === 404) throw new VolumeNotFound(volumeId);
        if (err.status === 400) throw new InvalidInput(err.message);
      }
      throw err;
    }
  }

  private action(ctx: RequestContext, volumeId: string, name: string, args: unknown = null): Promise<unknown> {
    return this.translated(volumeId, () => this.request(ctx, 'POST', `/volumes/${encodeURIComponent(volumeId)}/action`, { [name]: args }));
  }

  /** API.get → _untranslate_volume_summary_view */
  async get(ctx: RequestContext, volumeId: string): Promise<NovaVolume> {
    const body = (await this.translated(volumeId, () => this.request(ctx, 'GET', `/volumes/${encodeURIComponent(volumeId)}`))) as {
      volume: Record<string, unknown>;
    };
    const v = body.volume;
    const atts = (v.attachments as { server_id: string; attachment_id: string; device: string }[]) ?? [];
    const attachments: NovaVolume['attachments'] = {};
    for (const a of atts) attachments[a.server_id] = { attachment_id: a.attachment_id, mountpoint: a.device };
    return {
      id: String(v.id),
      status: String(v.status),
      size: Number(v.size),
      availability_zone: String(v.availability_zone),
      display_name: (v.name as string | null) ?? null,
      attach_status: atts.length ? 'attached' : 'detached',
      attachments,
      migration_status: (v.migration_status as string | null | undefined) ?? null,
      volume_type: String(v.volume_type),
    };
  }

  /** API.check_attach */
  check_attach(volume: NovaVolume, instance?: { uuid: string; availabilityZone: string }, crossAzAttach = true): void {
    if (volume.status !== 'available') {
      throw new InvalidVolume(`volume '${volume.id}' status must be 'available'. Currently in '${volume.status}'`);
    }
    if (volume.attach_status === 'attached') throw new InvalidVolume(`volume ${volume.id} already attached`);
    if (instance && !crossAzAttach && instance.availabilityZone !== volume.availability_zone) {
      throw new InvalidVolume(
        `Instance ${instance.uuid} and volume ${volume.id} are not in the same availability_zone. Instance is in ${instance.availabilityZone}. Volume is in ${volume.availability_zone}`,
      );
    }
  }

  /** API.check_detach */
  check_detach(volume: NovaVolume): void {
    if (volume.status === 'available') throw new InvalidVolume(`volume ${volume.id} already detached`);
    if (volume.attach_status === 'detached') throw new InvalidVolume('Volume must be attached in order to detach.');
  }

  reserve_volume(ctx: RequestContext, volumeId: string): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-reserve');
  }
  unreserve_volume(ctx: RequestContext, volumeId: string): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-unreserve');
  }
  begin_detaching(ctx: RequestContext, volumeId: string): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-begin_detaching');
  }
  roll_detaching(ctx: RequestContext, volumeId: string): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-roll_detaching');
  }
  attach(ctx: RequestContext, volumeId: string, instanceUuid: string, mountpoint: string, hostName: string): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-attach', { instance_uuid: instanceUuid, mountpoint, mode: 'rw', host_name: hostName });
  }
  detach(ctx: RequestContext, volumeId: string, attachmentId: string | null): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-detach', { attachment_id: attachmentId });
  }

  async initialize_connection(ctx: RequestContext, volumeId: string, connector: Connector): Promise<Record<string, unknown>> {
    const body = (await this.action(ctx, volumeId, 'os-initialize_connection', { connector })) as {
      connection_info: Record<string, unknown>;
    };
    // Nova keeps the connector it used in the connection_info it stores
    const info = { ...body.connection_info, connector };
    return info;
  }

  terminate_connection(ctx: RequestContext, volumeId: string, connector: Connector): Promise<unknown> {
    return this.action(ctx, volumeId, 'os-terminate_connection', { connector });
  }

  async migrate_volume_completion(ctx: RequestContext, oldVolumeId: string, newVolumeId: string, error: boolean): Promise<{ save_volume_id: string }> {
    const body = (await this.action(ctx, oldVolumeId, 'os-migrate_volume_completion', {
      new_volume: newVolumeId,
      error,
    })) as { save_volume_id: string };
    return body;
  }
}

// --trace: every call Nova makes to Cinder, and the HTTP request each one sends
const NOVA_CINDER = { location: 'nova/volume/cinder.py', layer: 'nova' } as const;
instrument(
  CinderAPI.prototype,
  'request',
  { name: 'HTTPClient.request()', location: 'cinderclient/client.py', layer: 'cinderclient', kind: 'http-client' },
  function (this: CinderAPI, ctx: RequestContext, method: string, path: string, body?: unknown) {
    return { method, url: `${(this as unknown as { endpoint: string }).endpoint}/v2/${ctx.projectId}${path}`, ...(body !== undefined ? { body } : {}) };
  },
  () => undefined,
);
instrument(CinderAPI.prototype, 'get', { name: 'API.get()', ...NOVA_CINDER }, (_c: RequestContext, volumeId: string) => ({ volume_id: volumeId }), (v: NovaVolume) => ({
  status: v.status,
  attach_status: v.attach_status,
  size: v.size,
}));
const volumeOf = (v: NovaVolume) => ({ volume_id: v.id, status: v.status, attach_status: v.attach_status });
instrument(CinderAPI.prototype, 'check_attach', { name: 'API.check_attach()', ...NOVA_CINDER }, (v: NovaVolume, instance?: { uuid: string }) => ({
  ...volumeOf(v),
  ...(instance ? { instance: instance.uuid } : {}),
}));
instrument(CinderAPI.prototype, 'check_detach', { name: 'API.check_detach()', ...NOVA_CINDER }, (v: NovaVolume) => volumeOf(v));
/** the attributes of a span of one of the volume actions: the volume, and what identifies the call */
const actionAttrs =
  (method: string) =>
  (_c: RequestContext, volumeId: string, ...rest: unknown[]) => ({
    volume_id: volumeId,
    ...(method === 'attach' ? { instance_uuid: rest[0], mountpoint: rest[1] } : {}),
    ...(method === 'initialize_connection' || method === 'terminate_connection' ? { connector_host: (rest[0] as Connector).host } : {}),
  });
for (const method of ['reserve_volume', 'unreserve_volume', 'begin_detaching', 'roll_detaching', 'attach', 'detach', 'terminate_connection'] as const) {
  instrument(CinderAPI.prototype, method, { name: `API.${method}()`, ...NOVA_CINDER }, actionAttrs(method), () => undefined);
}
instrument(CinderAPI.prototype, 'initialize_connection', { name: 'API.initialize_connection()', ...NOVA_CINDER }, actionAttrs('initialize_connection'), (info) => ({
  driver_volume_type: info.driver_volume_type,
  device_path: (info.data as { device_path?: string } | undefined)?.device_path,
}));
instrument(
  CinderAPI.prototype,
  'migrate_volume_completion',
  { name: 'API.migrate_volume_completion()', ...NOVA_CINDER },
  (_c: RequestContext, oldVolumeId: string, newVolumeId: string, error: boolean) => ({ old_volume_id: oldVolumeId, new_volume_id: newVolumeId, error }),
);
