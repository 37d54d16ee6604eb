// Every exception the compute API (and Nova's view of Cinder) can raise into a nova-api
// controller, and the answer Mitaka-eol's controller gives for it: the status and
// e.format_message() where it catches it, @expected_errors' 500 where it does not
// (issue 12 §4: "no 500 where Mitaka gives a 4xx"). The controllers are driven with a
// fake compute API whose methods raise what the row says.
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import { HttpFault } from '../../../src/http/wsgi.js';
import type { Action } from '../../../src/nova/api/controller.js';
import { serversController } from '../../../src/nova/api/servers.js';
import { volumeAttachmentController } from '../../../src/nova/api/volumes.js';
import type { API } from '../../../src/nova/compute/api.js';
import {
  DevicePathInUse,
  InstanceInvalidState,
  InstanceIsLocked,
  InstanceNotFound,
  InvalidDevicePath,
  InvalidInput,
  InvalidVolume,
  NotImplementedErrorPy,
  VolumeNotFound,
  VolumeUnattached,
} from '../../../src/nova/exception.js';
import type { NovaVolume } from '../../../src/nova/volume/cinder.js';
import type { StateStore } from '../../../src/state/store.js';
import type { Bdm, State } from '../../../src/state/types.js';

const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const VOL = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';
const UNEXPECTED = 'Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n';
const ctx: RequestContext = { requestId: 'req-1', userId: 'u', userName: 'admin', projectId: 'p', projectName: 'demo', roles: ['admin'], isAdmin: true };

const CINDER_400 = "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach. (HTTP 400) (Request-ID: req-2)";

function bdm(volumeId: string | null, id: number, bootIndex: number | null): Bdm {
  return { id, instanceUuid: SERVER, deviceName: volumeId ? '/dev/vdb' : '/dev/vda', volumeId, bootIndex } as unknown as Bdm;
}

function volume(id: string): NovaVolume {
  return { id, status: 'in-use', size: 1, availability_zone: 'nova', display_name: null, attach_status: 'attached', attachments: {}, migration_status: null, volume_type: 'lvmdriver-1' };
}

/** a compute API whose `method` raises `err` */
function controllers(method: string, err: unknown, bdms: Bdm[] = [bdm(null, 1, 0), bdm(VOL, 2, null)]) {
  const raise = async () => {
    throw err;
  };
  const compute = new Proxy(
    {
      volumeApi: { get: async (_c: RequestContext, id: string) => (method === `volume_api.get ${id}` ? raise() : volume(id)) },
      get: (_c: RequestContext, id: string) => {
        if (method === 'get') throw err;
        return { uuid: id };
      },
    } as Record<string, unknown>,
    { get: (t, k: string) => (k in t ? t[k] : k === method ? raise : async () => 'ok') },
  );
  const state = { nova: { bdms } } as unknown as State;
  const store = { read: () => structuredClone(state) } as unknown as StateStore;
  return { servers: serversController(store, compute as unknown as API), atts: volumeAttachmentController(store, compute as unknown as API) };
}

async function answer(action: Action, params: Record<string, string>, body: unknown = null): Promise<[number, string]> {
  try {
    const res = await action({ ctx, params, query: new URLSearchParams(), body, base: 'http://x/v2.1', version: { major: 2, minor: 25 } });
    return [res.status, ''];
  } catch (e) {
    if (e instanceof HttpFault) return [e.status, e.explanation];
    throw e;
  }
}

const locked = new InstanceIsLocked(SERVER);
const state = (m: string) => new InstanceInvalidState(SERVER, 'vm_state', 'stopped', m);
const invalidState = (m: string) => `Cannot '${m}' instance ${SERVER} while it is in vm_state stopped`;

type Row = [string, string, unknown, number, string];

// [request, compute method that raises, exception, Mitaka's status, Mitaka's message]
const ATTACHMENTS: Row[] = [
  // VolumeAttachmentController.create (attach)
  ['attach', 'attach_volume', new VolumeNotFound(NEW), 404, `Volume ${NEW} could not be found.`],
  ['attach', 'attach_volume', locked, 409, locked.message],
  ['attach', 'attach_volume', new DevicePathInUse('/dev/vdb'), 409, 'The supplied device path (/dev/vdb) is in use.'],
  ['attach', 'attach_volume', state('attach_volume'), 409, invalidState('attach_volume')],
  ['attach', 'attach_volume', new InvalidVolume(`volume '${NEW}' status must be 'available'. Currently in 'in-use'`), 400, `Invalid volume: volume '${NEW}' status must be 'available'. Currently in 'in-use'`],
  ['attach', 'attach_volume', new InvalidDevicePath('vdb'), 400, 'The supplied device path (vdb) is invalid.'],
  ['attach', 'get', new InstanceNotFound(SERVER), 404, `Instance ${SERVER} could not be found.`],
  // VolumeAttachmentController.update (swap)
  ['swap', 'swap_volume', new VolumeUnattached(VOL), 404, 'The volume was either invalid or not attached to the instance.'],
  ['swap', 'swap_volume', new InvalidVolume('New volume must be detached in order to swap.'), 400, 'Invalid volume: New volume must be detached in order to swap.'],
  ['swap', 'swap_volume', locked, 409, locked.message],
  ['swap', 'swap_volume', state('swap_volume'), 409, invalidState('swap_volume')],
  ['swap', `volume_api.get ${VOL}`, new VolumeNotFound(VOL), 404, `Volume ${VOL} could not be found.`],
  ['swap', `volume_api.get ${NEW}`, new VolumeNotFound(NEW), 400, `Volume ${NEW} could not be found.`],
  ['swap', 'get', new InstanceNotFound(SERVER), 404, `Instance ${SERVER} could not be found.`],
  // Mitaka's update() does not catch InvalidInput: a 500 (novasim's compute API turns
  // Cinder's 400s into InvalidVolume before it gets here, as Pike does)
  ['swap', 'swap_volume', new InvalidInput(CINDER_400), 500, `${UNEXPECTED}<class 'nova.exception.InvalidInput'>`],
  // VolumeAttachmentController.delete (detach): InvalidInput and InvalidVolume are 400s
  ['detach', 'detach_volume', new InvalidInput(CINDER_400), 400, `Invalid input received: ${CINDER_400}`],
  ['detach', 'detach_volume', new InvalidVolume(`volume ${VOL} already detached`), 400, `Invalid volume: volume ${VOL} already detached`],
  ['detach', 'detach_volume', new VolumeUnattached(VOL), 404, `volume_id not found: ${VOL}`],
  ['detach', 'detach_volume', locked, 409, locked.message],
  ['detach', 'detach_volume', state('detach_volume'), 409, invalidState('detach_volume')],
  ['detach', `volume_api.get ${VOL}`, new VolumeNotFound(VOL), 404, `Volume ${VOL} could not be found.`],
  ['detach', 'get', new InstanceNotFound(SERVER), 404, `Instance ${SERVER} could not be found.`],
];

const SERVERS: Row[] = [
  ['delete', 'delete', locked, 409, locked.message],
  ['delete', 'delete', state('delete'), 409, invalidState('delete')],
  // the instance went between the lookup and the delete's save
  ['delete', 'delete', new InstanceNotFound(SERVER), 404, 'Instance could not be found'],
  ['delete', 'get', new InstanceNotFound(SERVER), 404, `Instance ${SERVER} could not be found.`],
  ...(['stop', 'start', 'pause', 'unpause', 'suspend', 'resume'] as const).flatMap((m): Row[] => [
    [m, m, locked, 409, locked.message],
    [m, m, state(m), 409, invalidState(m)],
    [m, 'get', new InstanceNotFound(SERVER), 404, `Instance ${SERVER} could not be found.`],
  ]),
  ['pause', 'pause', new NotImplementedErrorPy('pause'), 501, 'The requested functionality is not supported.'],
  ['unpause', 'unpause', new NotImplementedErrorPy('unpause'), 501, 'The requested functionality is not supported.'],
  ['pause', 'pause', new InstanceNotFound(SERVER), 404, `Instance ${SERVER} could not be found.`],
];

const ACTION_KEYS: Record<string, string> = { stop: 'os-stop', start: 'os-start', pause: 'pause', unpause: 'unpause', suspend: 'suspend', resume: 'resume' };

describe('os-volume_attachments: each exception, as Mitaka answers it', () => {
  it.each(ATTACHMENTS)('%s: %s raises %o → %i', async (request, method, err, status, message) => {
    const { atts } = controllers(method, err);
    const params = { server_id: SERVER, id: VOL };
    const got =
      request === 'attach'
        ? await answer(atts.create, { server_id: SERVER }, { volumeAttachment: { volumeId: NEW } })
        : request === 'swap'
          ? await answer(atts.update, params, { volumeAttachment: { volumeId: NEW } })
          : await answer(atts.delete, params);
    expect(got).toEqual([status, message]);
  });

  it("detach of the root volume: 403 Can't detach root device volume", async () => {
    const { atts } = controllers('none', null, [bdm(VOL, 1, 0)]);
    expect(await answer(atts.delete, { server_id: SERVER, id: VOL })).toEqual([403, "Can't detach root device volume"]);
  });

  it.each([
    ['show', 'a volume the server does not have', 404, `volume_id not found: ${NEW}`, [bdm(null, 1, 0)]],
    ['show', 'a server without any block device', 404, `Instance ${SERVER} is not attached.`, []],
    ['detach', 'a server without any block device', 404, `Instance ${SERVER} is not attached.`, []],
  ] as [string, string, number, string, Bdm[]][])('%s of %s: %i %s', async (request, _what, status, message, bdms) => {
    const { atts } = controllers('none', null, bdms);
    const params = { server_id: SERVER, id: request === 'show' ? NEW : VOL };
    expect(await answer(request === 'show' ? atts.show : atts.delete, params)).toEqual([status, message]);
  });
});

describe('servers and their actions: each exception, as Mitaka answers it', () => {
  it.each(SERVERS)('%s: %s raises %o → %i', async (request, method, err, status, message) => {
    const { servers } = controllers(method, err);
    const got =
      request === 'delete'
        ? await answer(servers.delete, { id: SERVER })
        : await answer(servers.action, { id: SERVER }, { [ACTION_KEYS[request]]: null });
    expect(got).toEqual([status, message]);
  });

  it.each([
    ['an action Nova does not know', 400, 'There is no such action: reboot_me', { reboot_me: null }],
    ['no action at all', 400, 'Malformed request body', {}],
    ['two actions in one body', 400, 'Malformed request body', { pause: null, unpause: null }],
  ] as [string, number, string, unknown][])('%s: %i %s (wsgi.Resource._process_stack)', async (_what, status, message, body) => {
    const { servers } = controllers('none', null);
    expect(await answer(servers.action, { id: SERVER }, body)).toEqual([status, message]);
  });
});
