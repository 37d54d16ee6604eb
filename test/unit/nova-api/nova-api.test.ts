// src/nova/api/: nova-api for PUT /v2.1/servers/{server_id}/os-volume_attachments/{volume_id}.
// schemas.ts words validation errors like nova.api.validation; volumes.ts is
// VolumeAttachmentController.update (order of checks, HTTP codes); wsgi.ts is
// @expected_errors(400, 404, 409) and the 500 text of anything else.
import { describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import { SimError } from '../../../src/common/errors.js';
import { HttpFault, faultName } from '../../../src/http/wsgi.js';
import { LibvirtError, VIR_ERR } from '../../../src/libvirt/errors.js';
import { createNovaApi } from '../../../src/nova/api/app.js';
import { isUuidLike, update_volume_attachment, validate } from '../../../src/nova/api/schemas.js';
import { volumeAttachmentController } from '../../../src/nova/api/volumes.js';
import { conflictForInvalidState, expectedErrors, pyClassOf } from '../../../src/nova/api/wsgi.js';
import type { API } from '../../../src/nova/compute/api.js';
import {
  InstanceInvalidState,
  InstanceIsLocked,
  InstanceNotFound,
  InvalidInput,
  InvalidVolume,
  PolicyNotAuthorized,
  VolumeNotFound,
  VolumeUnattached,
} from '../../../src/nova/exception.js';
import { CinderClientError, type NovaVolume } from '../../../src/nova/volume/cinder.js';
import { USERS } from '../../../src/novasim/world.js';
import type { StateStore } from '../../../src/state/store.js';
import type { Bdm, State } from '../../../src/state/types.js';

const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const OLD = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';
const MISSING = '00000000-0000-4000-8000-000000000000';
const UNEXPECTED = 'Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n';

const ctx: RequestContext = {
  requestId: 'req-1',
  userId: 'u',
  userName: 'admin',
  projectId: 'p',
  projectName: 'demo',
  roles: ['admin'],
  isAdmin: true,
};

async function faultOf(p: Promise<unknown>): Promise<HttpFault> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpFault) return e;
    throw e;
  }
  throw new Error('expected an HttpFault');
}

describe('schemas: update_volume_attachment, worded like nova.api.validation', () => {
  const cases: [string, unknown, string][] = [
    ['an empty body', null, "None is not of type 'object'"],
    ['a body that is a list', [], "[] is not of type 'object'"],
    ['a body that is a string', 'x', "'x' is not of type 'object'"],
    ['no volumeAttachment', {}, "'volumeAttachment' is a required property"],
    ['an extra top-level property', { volumeAttachment: { volumeId: NEW }, foo: 1 }, "Additional properties are not allowed ('foo' was unexpected)"],
    ['volumeAttachment not an object', { volumeAttachment: 'x' }, "Invalid input for field/attribute volumeAttachment. Value: x. 'x' is not of type 'object'"],
    ['no volumeId', { volumeAttachment: {} }, "Invalid input for field/attribute volumeAttachment. Value: {}. 'volumeId' is a required property"],
    ['volumeId not a uuid', { volumeAttachment: { volumeId: 'abc' } }, "Invalid input for field/attribute volumeId. Value: abc. 'abc' is not a 'uuid'"],
    ['volumeId a number', { volumeAttachment: { volumeId: 5 } }, "Invalid input for field/attribute volumeId. Value: 5. 5 is not of type 'string'"],
    ['volumeId null', { volumeAttachment: { volumeId: null } }, "Invalid input for field/attribute volumeId. Value: None. None is not of type 'string'"],
    [
      'an extra property in volumeAttachment',
      { volumeAttachment: { volumeId: NEW, device: '/dev/vdc' } },
      `Invalid input for field/attribute volumeAttachment. Value: {'volumeId': '${NEW}', 'device': '/dev/vdc'}. Additional properties are not allowed ('device' was unexpected)`,
    ],
  ];
  it.each(cases)('%s is a 400: %s', async (_n, body, message) => {
    const f = await faultOf(validate(update_volume_attachment, body));
    expect(f.status).toBe(400);
    expect(f.explanation).toBe(message);
  });

  // Fixed (was a bug): jsonschema names every unexpected property ("('a', 'b' were unexpected)",
  // _utils.extras_msg); Ajv stops at the first one and schemas.ts words only that one.
  it('several extra properties are all named, with "were" (jsonschema\'s extras_msg)', async () => {
    const f = await faultOf(validate(update_volume_attachment, { volumeAttachment: { volumeId: NEW }, a: 1, b: 2 }));
    expect(f.explanation).toBe("Additional properties are not allowed ('a', 'b' were unexpected)");
  });

  it.each([NEW, NEW.toUpperCase(), NEW.replace(/-/g, ''), `{${NEW}}`, `urn:uuid:${NEW}`])('accepts the uuid spelling %s (is_uuid_like)', async (id) => {
    await expect(validate(update_volume_attachment, { volumeAttachment: { volumeId: id } })).resolves.toBeUndefined();
  });

  it.each(['abc', `${NEW}0`, NEW.slice(1), 'g'.repeat(32), ''])('is_uuid_like refuses %j', (id) => {
    expect(isUuidLike(id)).toBe(false);
  });
});

describe('wsgi: @expected_errors and the fault body', () => {
  it('an HttpFault with an expected code passes through', async () => {
    const f = await faultOf(expectedErrors([400, 404, 409], ctx, async () => {
      throw new HttpFault(409, 'x');
    }));
    expect([f.status, f.explanation]).toEqual([409, 'x']);
  });

  it('an HttpFault with an unexpected code becomes a 500', async () => {
    const f = await faultOf(expectedErrors([404], ctx, async () => {
      throw new HttpFault(400, 'x');
    }));
    expect(f.status).toBe(500);
    expect(f.explanation.startsWith(UNEXPECTED)).toBe(true);
  });

  it('a Forbidden (policy) error is a 403 even when not listed', async () => {
    const f = await faultOf(expectedErrors([400], ctx, async () => {
      throw new PolicyNotAuthorized('os_compute_api:os-volumes');
    }));
    expect([f.status, f.explanation]).toEqual([403, "Policy doesn't allow os_compute_api:os-volumes to be performed."]);
  });

  const classes: [string, unknown, string][] = [
    ['a Nova exception', new InvalidInput('r'), 'nova.exception.InvalidInput'],
    ['a cinderclient BadRequest', new CinderClientError(400, 'm', 'req'), 'cinderclient.exceptions.BadRequest'],
    ['a cinderclient ClientException (500)', new CinderClientError(500, 'm', 'req'), 'cinderclient.exceptions.ClientException'],
    ['a libvirtError', new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running'), 'libvirt.libvirtError'],
    ['a TypeError', new TypeError('x'), 'exceptions.TypeError'],
    ['anything else', new Error('x'), 'exceptions.Exception'],
  ];
  it.each(classes)('%s becomes a 500 naming <class \'%s\'>', async (_n, err, cls) => {
    expect(pyClassOf(err)).toBe(cls);
    const f = await faultOf(expectedErrors([400, 404, 409], ctx, async () => {
      throw err;
    }));
    expect(f.status).toBe(500);
    expect(f.explanation).toBe(`${UNEXPECTED}<class '${cls}'>`);
  });

  it('another SimError kind is named as nova.exception.<kind>', () => {
    expect(pyClassOf(new SimError('NotImplementedError', 'x'))).toBe('nova.exception.NotImplementedError');
  });

  it.each([
    [400, 'badRequest'],
    [403, 'forbidden'],
    [404, 'itemNotFound'],
    [409, 'conflictingRequest'],
    [500, 'computeFault'],
  ])('a %i fault is keyed %s', (code, name) => {
    expect(faultName(code)).toBe(name);
  });

  it('raise_http_conflict_for_instance_invalid_state: with attr and state, and without a state', () => {
    expect(conflictForInvalidState(new InstanceInvalidState(SERVER, 'vm_state', 'error', 'swap_volume'), 'swap_volume', 'the-id').explanation).toBe(
      "Cannot 'swap_volume' instance the-id while it is in vm_state error",
    );
    // check_instance_state passes state=None for launched_at: the generic text
    const f = conflictForInvalidState(new InstanceInvalidState(SERVER, 'launched_at', 'None', 'swap_volume'), 'swap_volume', 'the-id');
    expect([f.status, f.explanation]).toEqual([409, "Instance the-id is in an invalid state for 'swap_volume'"]);
  });
});

// ---- VolumeAttachmentController.update with a fake compute API ----------------------------

function novaVolume(id: string): NovaVolume {
  return { id, status: 'available', size: 1, availability_zone: 'nova', display_name: null, attach_status: 'detached', attachments: {}, migration_status: null, volume_type: 'lvmdriver-1' };
}

function bdm(volumeId: string | null, id = 2): Bdm {
  return {
    id,
    instanceUuid: SERVER,
    deviceName: '/dev/vdb',
    sourceType: 'volume',
    destinationType: 'volume',
    volumeId,
    snapshotId: null,
    imageId: null,
    bootIndex: null,
    deleteOnTermination: false,
    connectionInfo: null,
    volumeSize: 1,
    noDevice: null,
    diskBus: null,
    deviceType: null,
  };
}

function fakeCompute(opts: { volumes?: string[]; instances?: string[]; bdms?: Bdm[] } = {}) {
  const volumes = opts.volumes ?? [OLD, NEW];
  const instances = opts.instances ?? [SERVER];
  const calls: string[] = [];
  const volumeApi = {
    get: vi.fn(async (_c: RequestContext, id: string) => {
      calls.push(`volume_api.get ${id}`);
      if (!volumes.includes(id)) throw new VolumeNotFound(id);
      return novaVolume(id);
    }),
  };
  const compute = {
    volumeApi,
    get: vi.fn((_c: RequestContext, id: string) => {
      calls.push(`compute.get ${id}`);
      if (!instances.includes(id)) throw new InstanceNotFound(id);
      return { uuid: id };
    }),
    swap_volume: vi.fn(async (_c: RequestContext, inst: { uuid: string }, o: NovaVolume, n: NovaVolume) => {
      calls.push(`swap_volume ${inst.uuid} ${o.id} ${n.id}`);
    }),
  };
  const state = { nova: { bdms: opts.bdms ?? [bdm(null, 1), bdm(OLD, 2)] } } as unknown as State;
  const store = { read: () => structuredClone(state) } as unknown as StateStore;
  const controller = volumeAttachmentController(store, compute as unknown as API);
  const update = (body: unknown, serverId = SERVER, volumeId = OLD) =>
    controller.update({ ctx, params: { server_id: serverId, id: volumeId }, query: new URLSearchParams(), body, base: 'http://x/v2.1', version: { major: 2, minor: 1 } });
  return { update, compute, calls, store };
}

const body = (id = NEW) => ({ volumeAttachment: { volumeId: id } });

describe('VolumeAttachmentController.update: order of work and HTTP codes', () => {
  it('success: get old, get new, get instance, swap once for the BDM of the old volume → 202 with an empty body', async () => {
    const { update, calls } = fakeCompute();
    const res = await update(body());
    expect(res.status).toBe(202);
    expect(res.body).toBe('');
    expect(calls).toEqual([`volume_api.get ${OLD}`, `volume_api.get ${NEW}`, `compute.get ${SERVER}`, `swap_volume ${SERVER} ${OLD} ${NEW}`]);
  });

  it('the body is validated before anything is looked up', async () => {
    const { update, calls } = fakeCompute({ volumes: [], instances: [] });
    const f = await faultOf(update({ volumeAttachment: { volumeId: 'abc' } }));
    expect(f.status).toBe(400);
    expect(calls).toEqual([]);
  });

  it('a missing old volume is a 404, before the new volume or the instance is looked at', async () => {
    const { update, calls } = fakeCompute({ volumes: [], instances: [] });
    const f = await faultOf(update(body(), SERVER, MISSING));
    expect([f.status, f.explanation]).toEqual([404, `Volume ${MISSING} could not be found.`]);
    expect(calls).toEqual([`volume_api.get ${MISSING}`]);
  });

  it('the old volume id in the path is not format-checked: "abc" is looked up and is a 404', async () => {
    const { update } = fakeCompute();
    const f = await faultOf(update(body(), SERVER, 'abc'));
    expect([f.status, f.explanation]).toEqual([404, 'Volume abc could not be found.']);
  });

  it('a missing new volume is a 400 (it is named in the body), before the instance is looked at', async () => {
    const { update, calls } = fakeCompute({ volumes: [OLD], instances: [] });
    const f = await faultOf(update(body(MISSING)));
    expect([f.status, f.explanation]).toEqual([400, `Volume ${MISSING} could not be found.`]);
    expect(calls).toEqual([`volume_api.get ${OLD}`, `volume_api.get ${MISSING}`]);
  });

  it('a missing instance is a 404 with the InstanceNotFound text', async () => {
    const { update, compute } = fakeCompute({ instances: [] });
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([404, `Instance ${SERVER} could not be found.`]);
    expect(compute.swap_volume).not.toHaveBeenCalled();
  });

  it('no BDM of the instance names the old volume → 404 "The volume was either invalid or not attached to the instance."', async () => {
    const { update, compute } = fakeCompute({ bdms: [bdm(null, 1), bdm(NEW, 3)] });
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([404, 'The volume was either invalid or not attached to the instance.']);
    expect(compute.swap_volume).not.toHaveBeenCalled();
  });

  it('VolumeUnattached is swallowed and falls through to the same 404', async () => {
    const { update, compute } = fakeCompute();
    compute.swap_volume.mockRejectedValue(new VolumeUnattached(OLD));
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([404, 'The volume was either invalid or not attached to the instance.']);
  });

  it('VolumeUnattached on one BDM moves on to the next BDM of the same volume', async () => {
    const { update, compute } = fakeCompute({ bdms: [bdm(OLD, 2), bdm(OLD, 5)] });
    compute.swap_volume.mockRejectedValueOnce(new VolumeUnattached(OLD)).mockResolvedValueOnce(undefined);
    expect((await update(body())).status).toBe(202);
    expect(compute.swap_volume).toHaveBeenCalledTimes(2);
  });

  it('InvalidVolume is a 400 with its message', async () => {
    const { update, compute } = fakeCompute();
    compute.swap_volume.mockRejectedValue(new InvalidVolume('New volume must be detached in order to swap.'));
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([400, 'Invalid volume: New volume must be detached in order to swap.']);
  });

  it('InstanceIsLocked is a 409 "Instance <uuid> is locked"', async () => {
    const { update, compute } = fakeCompute();
    compute.swap_volume.mockRejectedValue(new InstanceIsLocked(SERVER));
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([409, `Instance ${SERVER} is locked`]);
  });

  it.each([
    ['vm_state', 'error', `Cannot 'swap_volume' instance ${SERVER} while it is in vm_state error`],
    ['task_state', 'rebooting', `Cannot 'swap_volume' instance ${SERVER} while it is in task_state rebooting`],
    ['launched_at', 'None', `Instance ${SERVER} is in an invalid state for 'swap_volume'`],
  ])('InstanceInvalidState on %s is a 409', async (attr, state, message) => {
    const { update, compute } = fakeCompute();
    compute.swap_volume.mockRejectedValue(new InstanceInvalidState(SERVER, attr, state, 'swap_volume'));
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([409, message]);
  });

  it('a Cinder 400 from begin_detaching/reserve (InvalidInput) is not expected: 500 computeFault naming the class', async () => {
    const { update, compute } = fakeCompute();
    compute.swap_volume.mockRejectedValue(new InvalidInput('Invalid volume: Volume status must be available to reserve. (HTTP 400)'));
    const f = await faultOf(update(body()));
    expect([f.status, f.explanation]).toEqual([500, `${UNEXPECTED}<class 'nova.exception.InvalidInput'>`]);
  });

  it('a non-VolumeNotFound error from getting the old volume is a 500, not a 404', async () => {
    const { update, compute } = fakeCompute();
    compute.volumeApi.get.mockRejectedValueOnce(new CinderClientError(503, 'down', 'req'));
    const f = await faultOf(update(body()));
    expect(f.status).toBe(500);
  });
});

describe('nova-api app: the PUT over HTTP', () => {
  function app() {
    const fake = fakeCompute();
    const store = { read: () => ({ users: USERS, nova: { bdms: [bdm(OLD, 2)] } }) } as unknown as StateStore;
    const handler = createNovaApi(store, fake.compute as unknown as API);
    const put = async (raw: string | undefined, token = 'admin:demo') => {
      const res = await handler({
        method: 'PUT',
        url: `http://127.0.0.1:8774/v2.1/servers/${SERVER}/os-volume_attachments/${OLD}`,
        headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
        body: raw,
      });
      return { status: res.status, body: res.body ? JSON.parse(res.body) : null };
    };
    return { put, fake };
  }

  it('success is 202 with no body', async () => {
    const { put } = app();
    expect(await put(JSON.stringify(body()))).toEqual({ status: 202, body: null });
  });

  it('invalid JSON is a 400 badRequest "Malformed request body"', async () => {
    const { put, fake } = app();
    expect(await put('{"volumeAttachment":')).toEqual({ status: 400, body: { badRequest: { code: 400, message: 'Malformed request body' } } });
    expect(fake.calls).toEqual([]);
  });

  it('a fault body is {"<name>": {"code", "message"}}', async () => {
    const { put, fake } = app();
    fake.compute.swap_volume.mockRejectedValue(new InstanceIsLocked(SERVER));
    expect(await put(JSON.stringify(body()))).toEqual({ status: 409, body: { conflictingRequest: { code: 409, message: `Instance ${SERVER} is locked` } } });
  });

  it('a 500 is a computeFault', async () => {
    const { put, fake } = app();
    fake.compute.swap_volume.mockRejectedValue(new TypeError('oops'));
    expect(await put(JSON.stringify(body()))).toEqual({ status: 500, body: { computeFault: { code: 500, message: `${UNEXPECTED}<class 'exceptions.TypeError'>` } } });
  });

  it('an unknown token is a 401 before any controller work', async () => {
    const { put, fake } = app();
    expect((await put(JSON.stringify(body()), 'nobody:demo')).status).toBe(401);
    expect(fake.calls).toEqual([]);
  });
});
