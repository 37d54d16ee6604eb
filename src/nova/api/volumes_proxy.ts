// nova/api/openstack/compute/volumes.py (Mitaka-eol): VolumeController, the os-volumes proxy
// to Cinder (index, detail, show, create, delete) with its own view of a volume
// (_translate_volume_detail_view over what nova/volume/cinder.py _untranslate_volume_summary_view
// makes of Cinder's answer). Every user may call it (os_compute_api:os-volumes is "").
import { HttpFault, emptyResponse, jsonResponse } from '../../http/wsgi.js';
import type { API } from '../compute/api.js';
import { CinderClientError } from '../volume/cinder.js';
import type { Action, ApiCall } from './controller.js';
import { intParam } from './policy.js';
import { expectedErrors } from './wsgi.js';

type CinderVolume = Record<string, unknown> & { id: string; attachments?: { server_id: string; device: string }[] };

/** _translate_volume_detail_view (detail and summary are the same in Mitaka) */
function volumeView(v: CinderVolume): Record<string, unknown> {
  const att = v.attachments?.[0];
  const metadata = v.metadata && typeof v.metadata === 'object' && Object.keys(v.metadata).length ? v.metadata : {};
  return {
    id: v.id,
    status: v.status,
    size: v.size,
    availabilityZone: v.availability_zone,
    createdAt: v.created_at,
    // _translate_attachment_detail_view of the first attachment, or [{}]
    attachments: att ? [{ id: v.id, volumeId: v.id, serverId: att.server_id, device: att.device }] : [{}],
    displayName: v.name ?? null,
    displayDescription: v.description ?? null,
    volumeType: v.volume_type ?? null,
    snapshotId: v.snapshot_id ?? null,
    metadata,
  };
}

/** nova.exception's messages for Cinder's answers (translate_volume_exception and friends) */
function asFault(err: unknown, volumeId?: string): never {
  if (err instanceof CinderClientError) {
    if (err.status === 404 && volumeId) throw new HttpFault(404, `Volume ${volumeId} could not be found.`);
    if (err.status === 400) throw new HttpFault(400, `Invalid input received: ${err.message}`);
    if (err.status === 413) throw new HttpFault(413, err.message);
  }
  throw err;
}

export function volumesProxyController(compute: API): Record<string, Action> {
  const cinder = compute.volumeApi;
  const list = (c: ApiCall, detail: boolean) =>
    expectedErrors([], c.ctx, async () => {
      const body = (await cinder.request(c.ctx, 'GET', '/volumes/detail').catch((e: unknown) => asFault(e))) as { volumes: CinderVolume[] };
      // common.limited: offset and limit
      const offset = intParam(c.query, 'offset') ?? 0;
      const limit = intParam(c.query, 'limit');
      const page = body.volumes.slice(offset, limit ? offset + limit : undefined);
      void detail; // the summary view is the detail view in Mitaka
      return jsonResponse(200, { volumes: page.map(volumeView) });
    });
  return {
    index: (c) => list(c, false),
    detail: (c) => list(c, true),
    show: (c) =>
      expectedErrors([404], c.ctx, async () => {
        const body = (await cinder.request(c.ctx, 'GET', `/volumes/${encodeURIComponent(c.params.id)}`).catch((e: unknown) => asFault(e, c.params.id))) as { volume: CinderVolume };
        return jsonResponse(200, { volume: volumeView(body.volume) });
      }),
    create: (c) =>
      expectedErrors([400, 403, 404], c.ctx, async () => {
        const vol = (c.body as { volume?: Record<string, unknown> } | null)?.volume;
        if (!vol || typeof vol !== 'object') throw new HttpFault(400, "Invalid input for field/attribute volume. Value: None. None is not of type 'object'");
        const size = vol.size;
        if (size === undefined || !(Number.isInteger(size) || (typeof size === 'string' && /^[0-9]+$/.test(size)))) {
          throw new HttpFault(400, `Invalid input for field/attribute size. Value: ${String(size)}. ${size === undefined ? "'size' is a required property" : `${JSON.stringify(size)} does not match '^[0-9]+$'`}`);
        }
        const request: Record<string, unknown> = { size: Number(size) };
        if (vol.display_name !== undefined) request.name = vol.display_name;
        if (vol.display_description !== undefined) request.description = vol.display_description;
        if (vol.volume_type !== undefined) request.volume_type = vol.volume_type;
        if (vol.availability_zone !== undefined) request.availability_zone = vol.availability_zone;
        if (vol.metadata !== undefined) request.metadata = vol.metadata;
        const body = (await cinder.request(c.ctx, 'POST', '/volumes', { volume: request }).catch((e: unknown) => asFault(e))) as { volume: CinderVolume };
        return jsonResponse(200, { volume: volumeView(body.volume) });
      }),
    delete: (c) =>
      expectedErrors([404], c.ctx, async () => {
        await cinder.request(c.ctx, 'DELETE', `/volumes/${encodeURIComponent(c.params.id)}`).catch((e: unknown) => asFault(e, c.params.id));
        return emptyResponse(202);
      }),
  };
}
