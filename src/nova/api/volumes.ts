// nova/api/openstack/compute/volumes.py (Mitaka-eol): VolumeAttachmentController.
import { HttpFault, emptyResponse, jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { API } from '../compute/api.js';
import { bdmsByInstance } from '../db.js';
import {
  DevicePathInUse,
  InstanceInvalidState,
  InstanceIsLocked,
  InstanceNotFound,
  InvalidDevicePath,
  InvalidInput,
  InvalidVolume,
  NotFound,
  VolumeNotFound,
  VolumeUnattached,
} from '../exception.js';
import type { ApiCall, Action } from './controller.js';
import { create_volume_attachment, update_volume_attachment, validate } from './schemas.js';
import { conflictForInvalidState, expectedErrors } from './wsgi.js';
import { traced } from '../../trace/tracer.js';

const UPDATE = { name: 'VolumeAttachmentController.update()', location: 'nova/api/openstack/compute/volumes.py', layer: 'nova', service: 'nova-api' } as const;

function attachmentView(volumeId: string, instanceUuid: string, device: string): Record<string, string> {
  return { id: volumeId, serverId: instanceUuid, volumeId, device };
}

/** common.get_instance: 404 with the InstanceNotFound message */
function getInstance(compute: API, c: ApiCall, serverId: string) {
  try {
    return compute.get(c.ctx, serverId);
  } catch (err) {
    if (err instanceof NotFound) throw new HttpFault(404, err.message);
    throw err;
  }
}

export function volumeAttachmentController(store: StateStore, compute: API): Record<string, Action> {
  const volumeApi = compute.volumeApi;

  /** index: GET /servers/{id}/os-volume_attachments */
  const index: Action = (c) =>
    expectedErrors([404], c.ctx, async () => {
      const inst = getInstance(compute, c, c.params.server_id);
      const atts = bdmsByInstance(store.read(), inst.uuid)
        .filter((b) => b.volumeId)
        .map((b) => attachmentView(b.volumeId as string, inst.uuid, b.deviceName));
      return jsonResponse(200, { volumeAttachments: atts });
    });

  /** show: GET …/os-volume_attachments/{volume_id} */
  const show: Action = (c) =>
    expectedErrors([404], c.ctx, async () => {
      const inst = getInstance(compute, c, c.params.server_id);
      const bdms = bdmsByInstance(store.read(), inst.uuid);
      if (!bdms.length) throw new HttpFault(404, `Instance ${c.params.server_id} is not attached.`);
      const bdm = bdms.find((b) => b.volumeId === c.params.id);
      if (!bdm) throw new HttpFault(404, `volume_id not found: ${c.params.id}`);
      return jsonResponse(200, { volumeAttachment: attachmentView(c.params.id, inst.uuid, bdm.deviceName) });
    });

  /** create: POST …/os-volume_attachments */
  const create: Action = async (c) => {
    await validate(create_volume_attachment, c.body);
    return expectedErrors([400, 404, 409], c.ctx, async () => {
      const att = (c.body as { volumeAttachment: { volumeId: string; device?: string | null } }).volumeAttachment;
      const inst = getInstance(compute, c, c.params.server_id);
      let device: string;
      try {
        device = await compute.attach_volume(c.ctx, inst, att.volumeId, att.device ?? null);
      } catch (err) {
        if (err instanceof VolumeNotFound || err instanceof InstanceNotFound) throw new HttpFault(404, err.message);
        if (err instanceof InstanceIsLocked) throw new HttpFault(409, err.message);
        if (err instanceof InstanceInvalidState) throw conflictForInvalidState(err, 'attach_volume', c.params.server_id);
        // InvalidInput (Cinder's 400 to reserve): Ocata's fix for bug 1632513, a 500 in Mitaka
        if (err instanceof InvalidVolume || err instanceof InvalidDevicePath || err instanceof InvalidInput) throw new HttpFault(400, err.message);
        if (err instanceof DevicePathInUse) throw new HttpFault(409, err.message);
        throw err;
      }
      return jsonResponse(200, { volumeAttachment: attachmentView(att.volumeId, inst.uuid, device) });
    });
  };

  /** update: PUT …/os-volume_attachments/{volume_id} — swap the volume */
  const update: Action = async (c) => {
    await validate(update_volume_attachment, c.body);
    return expectedErrors([400, 404, 409], c.ctx, async () => {
      const oldVolumeId = c.params.id;
      let oldVolume;
      try {
        oldVolume = await volumeApi.get(c.ctx, oldVolumeId);
      } catch (err) {
        if (err instanceof VolumeNotFound) throw new HttpFault(404, err.message);
        throw err;
      }
      const newVolumeId = (c.body as { volumeAttachment: { volumeId: string } }).volumeAttachment.volumeId;
      let newVolume;
      try {
        newVolume = await volumeApi.get(c.ctx, newVolumeId);
      } catch (err) {
        // NOTE: the new volume is named in the body, not the URI, so the API-WG
        // guideline makes this a 400 where the old volume's is a 404.
        if (err instanceof VolumeNotFound) throw new HttpFault(400, err.message);
        throw err;
      }
      const instance = getInstance(compute, c, c.params.server_id);
      const bdms = bdmsByInstance(store.read(), instance.uuid);
      let found = false;
      try {
        for (const bdm of bdms) {
          if (bdm.volumeId !== oldVolumeId) continue;
          try {
            await compute.swap_volume(c.ctx, instance, oldVolume, newVolume);
            found = true;
            break;
          } catch (err) {
            // The volume is not attached. Treat it as NotFound by falling through.
            if (err instanceof VolumeUnattached) continue;
            if (err instanceof InvalidVolume) throw new HttpFault(400, err.message);
            throw err;
          }
        }
      } catch (err) {
        if (err instanceof InstanceIsLocked) throw new HttpFault(409, err.message);
        if (err instanceof InstanceInvalidState) throw conflictForInvalidState(err, 'swap_volume', c.params.server_id);
        throw err;
      }
      if (!found) throw new HttpFault(404, 'The volume was either invalid or not attached to the instance.');
      return emptyResponse(202);
    });
  };

  /** delete: DELETE …/os-volume_attachments/{volume_id} — detach */
  const remove: Action = (c) =>
    expectedErrors([400, 403, 404, 409], c.ctx, async () => {
      const volumeId = c.params.id;
      const instance = getInstance(compute, c, c.params.server_id);
      let volume;
      try {
        volume = await volumeApi.get(c.ctx, volumeId);
      } catch (err) {
        if (err instanceof VolumeNotFound) throw new HttpFault(404, err.message);
        throw err;
      }
      const bdms = bdmsByInstance(store.read(), instance.uuid);
      if (!bdms.length) throw new HttpFault(404, `Instance ${c.params.server_id} is not attached.`);
      let found = false;
      try {
        for (const bdm of bdms) {
          if (bdm.volumeId !== volumeId) continue;
          if (bdm.bootIndex === 0) throw new HttpFault(403, "Can't detach root device volume");
          try {
            await compute.detach_volume(c.ctx, instance, volume);
            found = true;
            break;
          } catch (err) {
            if (err instanceof VolumeUnattached) continue;
            // InvalidInput: Cinder refused begin_detaching (bug 1515637, fixed in Mitaka)
            if (err instanceof InvalidVolume || err instanceof InvalidInput) throw new HttpFault(400, err.message);
            throw err;
          }
        }
      } catch (err) {
        if (err instanceof InstanceIsLocked) throw new HttpFault(409, err.message);
        if (err instanceof InstanceInvalidState) throw conflictForInvalidState(err, 'detach_volume', c.params.server_id);
        throw err;
      }
      if (!found) throw new HttpFault(404, `volume_id not found: ${volumeId}`);
      return emptyResponse(202);
    });

  return {
    index,
    show,
    create,
    // --trace: the seed's os-volume-attachment-update entry point
    update: (c) => traced(UPDATE, () => update(c), () => ({ server_id: c.params.server_id, id: c.params.id, body: c.body }), (r) => r.status),
    delete: remove,
  };
}
