// src/nova/compute/api.ts (+ rpcapi.ts): compute API swap_volume as Mitaka has it. Guards
// first (check_instance_lock, check_instance_state), then the volume checks in the seed's
// order, then begin_detaching/reserve_volume in Cinder, then the cast — and only the cast
// is inside the try that rolls Cinder back.
import { describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import type { HttpRequest, HttpResponse, Transport } from '../../../src/http/types.js';
import { API } from '../../../src/nova/compute/api.js';
import { ComputeAPI as ComputeRpcAPI } from '../../../src/nova/compute/rpcapi.js';
import { InstanceInvalidState, InstanceIsLocked, InvalidInput, InvalidVolume, VolumeUnattached } from '../../../src/nova/exception.js';
import { CinderAPI, type NovaVolume } from '../../../src/nova/volume/cinder.js';
import type { MessageBus } from '../../../src/rpc/bus.js';
import type { StateStore } from '../../../src/state/store.js';
import type { Instance, State } from '../../../src/state/types.js';
import { caught } from '../../support/caught.js';

const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const OTHER_SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c02';
const OLD = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';

function context(isAdmin: boolean): RequestContext {
  return {
    requestId: 'req-11111111-2222-4333-8444-555555555555',
    userId: isAdmin ? 'admin-id' : 'demo-id',
    userName: isAdmin ? 'admin' : 'demo',
    projectId: 'demo-project',
    projectName: 'demo',
    roles: isAdmin ? ['admin'] : ['Member'],
    isAdmin,
  };
}
const MEMBER = context(false);
const ADMIN = context(true);

function instance(over: Partial<Instance> = {}): Instance {
  return {
    uuid: SERVER,
    id: 1,
    name: 'web-1',
    projectId: 'demo-project',
    userId: 'demo-id',
    host: 'devstack',
    node: 'devstack',
    availabilityZone: 'nova',
    vmState: 'active',
    taskState: null,
    powerState: 1,
    locked: false,
    lockedBy: null,
    launchedAt: '2016-05-03T09:13:00Z',
    terminatedAt: null,
    createdAt: '2016-05-03T09:12:44Z',
    updatedAt: '2016-05-03T09:12:44Z',
    flavorId: '2',
    imageRef: 'img',
    keyName: null,
    metadata: {},
    securityGroups: ['default'],
    addresses: {},
    accessIPv4: '',
    accessIPv6: '',
    configDrive: '',
    deleted: false,
    ...over,
  };
}

function oldVolume(over: Partial<NovaVolume> = {}): NovaVolume {
  return {
    id: OLD,
    status: 'in-use',
    size: 1,
    availability_zone: 'nova',
    display_name: 'web-data',
    attach_status: 'attached',
    attachments: { [SERVER]: { attachment_id: 'att-1', mountpoint: '/dev/vdb' } },
    migration_status: null,
    volume_type: 'lvmdriver-1',
    ...over,
  };
}

function newVolume(over: Partial<NovaVolume> = {}): NovaVolume {
  return {
    id: NEW,
    status: 'available',
    size: 1,
    availability_zone: 'nova',
    display_name: 'new-web-data',
    attach_status: 'detached',
    attachments: {},
    migration_status: null,
    volume_type: 'lvmdriver-1',
    ...over,
  };
}

/** cinder-api as the real CinderAPI client reaches it: records every action, answers 202
 * unless told to fail one */
class FakeCinder implements Transport {
  calls: string[] = [];
  failures = new Map<string, { status: number; message: string }>();
  async request(req: HttpRequest): Promise<HttpResponse> {
    const id = req.url.match(/\/volumes\/([^/]+)\/action$/)?.[1] ?? '?';
    const name = Object.keys(JSON.parse(req.body ?? '{}'))[0];
    const call = `${name} ${id === OLD ? 'old' : id === NEW ? 'new' : id}`;
    this.calls.push(call);
    const f = this.failures.get(call);
    if (f) {
      const body = JSON.stringify({ badRequest: { code: f.status, message: f.message } });
      return { status: f.status, headers: { 'x-openstack-request-id': 'req-cinder' }, body };
    }
    return { status: 202, headers: {}, body: '' };
  }
}

function setup() {
  const cinder = new FakeCinder();
  const volumeApi = new CinderAPI(cinder, 'http://127.0.0.1:8776');
  const order: string[] = [];
  const rpc = { swap_volume: vi.fn(() => void order.push('cast')) } as unknown as ComputeRpcAPI & { swap_volume: ReturnType<typeof vi.fn> };
  // the journal's saves (novasim's) go to a state of their own here
  const journal = { nova: { instances: [], bdms: [] } } as unknown as State;
  const store = { update: async (fn: (s: State) => unknown) => fn(journal), read: () => journal } as unknown as StateStore;
  const api = new API(store, volumeApi, rpc);
  return { api, cinder, rpc };
}


describe('compute API swap_volume: the guards', () => {
  it('a locked instance is InstanceIsLocked (409) for a non-admin, before any other check', async () => {
    const { api, cinder, rpc } = setup();
    // also in a bad vm_state and with a detached old volume: the lock is checked first
    const err = await caught(
      api.swap_volume(MEMBER, instance({ locked: true, lockedBy: 'admin', vmState: 'error' }), oldVolume({ attach_status: 'detached' }), newVolume()),
    );
    expect(err).toBeInstanceOf(InstanceIsLocked);
    expect(err.code).toBe(409);
    expect(err.message).toBe(`Instance ${SERVER} is locked`);
    expect(cinder.calls).toEqual([]);
    expect(rpc.swap_volume).not.toHaveBeenCalled();
  });

  it('an admin may swap on a locked instance', async () => {
    const { api, rpc } = setup();
    await api.swap_volume(ADMIN, instance({ locked: true, lockedBy: 'owner' }), oldVolume(), newVolume());
    expect(rpc.swap_volume).toHaveBeenCalledTimes(1);
  });

  it.each(['active', 'paused', 'suspended', 'stopped', 'resized', 'soft-delete'])('vm_state %s is allowed', async (vmState) => {
    const { api, rpc } = setup();
    await api.swap_volume(MEMBER, instance({ vmState }), oldVolume(), newVolume());
    expect(rpc.swap_volume).toHaveBeenCalledTimes(1);
  });

  it.each(['error', 'building', 'rescued', 'shelved', 'shelved_offloaded', 'deleted'])(
    'vm_state %s is InstanceInvalidState naming the vm_state',
    async (vmState) => {
      const { api, cinder } = setup();
      const err = await caught(api.swap_volume(MEMBER, instance({ vmState }), oldVolume(), newVolume()));
      expect(err).toBeInstanceOf(InstanceInvalidState);
      expect(err.code).toBe(409);
      expect([err.attr, err.state]).toEqual(['vm_state', vmState]);
      expect(err.message).toBe(`Instance ${SERVER} in vm_state ${vmState}. Cannot swap_volume while the instance is in this state.`);
      expect(cinder.calls).toEqual([]);
    },
  );

  it('any task_state is InstanceInvalidState naming the task_state (checked after vm_state)', async () => {
    const { api } = setup();
    const err = await caught(api.swap_volume(MEMBER, instance({ taskState: 'rebooting' }), oldVolume(), newVolume()));
    expect(err).toBeInstanceOf(InstanceInvalidState);
    expect(err.message).toBe(`Instance ${SERVER} in task_state rebooting. Cannot swap_volume while the instance is in this state.`);
    const both = await caught(api.swap_volume(MEMBER, instance({ vmState: 'error', taskState: 'rebooting' }), oldVolume(), newVolume()));
    expect(both.attr).toBe('vm_state');
  });

  it('an instance that never launched is InstanceInvalidState on launched_at None', async () => {
    const { api } = setup();
    const err = await caught(api.swap_volume(MEMBER, instance({ launchedAt: null }), oldVolume(), newVolume()));
    expect(err).toBeInstanceOf(InstanceInvalidState);
    expect(err.message).toBe(`Instance ${SERVER} in launched_at None. Cannot swap_volume while the instance is in this state.`);
  });

  it('the state guard comes after the lock but before the volume checks', async () => {
    const { api } = setup();
    const err = await caught(api.swap_volume(ADMIN, instance({ locked: true, vmState: 'error' }), oldVolume({ attach_status: 'detached' }), newVolume()));
    expect(err).toBeInstanceOf(InstanceInvalidState);
  });
});

describe('compute API swap_volume: the volume checks, in the seed\'s order', () => {
  type Case = [string, Partial<NovaVolume>, Partial<NovaVolume>, Function, string];
  const cases: Case[] = [
    ['old attach_status detached → VolumeUnattached', { attach_status: 'detached', attachments: {} }, { attach_status: 'attached', size: 0 }, VolumeUnattached, `Volume ${OLD} is not attached to anything`],
    [
      'old volume attached to another instance',
      { attachments: { [OTHER_SERVER]: { attachment_id: 'a', mountpoint: '/dev/vdb' } } },
      { attach_status: 'attached', size: 0 },
      InvalidVolume,
      'Invalid volume: Old volume is attached to a different instance.',
    ],
    ['new volume attached', {}, { attach_status: 'attached', size: 0 }, InvalidVolume, 'Invalid volume: New volume must be detached in order to swap.'],
    ['new volume smaller', { size: 2 }, { size: 1, status: 'error' }, InvalidVolume, 'Invalid volume: New volume must be the same size or larger.'],
    // check_detach(old) without an instance, then check_attach(new, instance)
    ['check_detach: old volume available', { status: 'available' }, { status: 'error' }, InvalidVolume, `Invalid volume: volume ${OLD} already detached`],
    [
      'check_attach: new volume not available',
      {},
      { status: 'attaching' },
      InvalidVolume,
      `Invalid volume: volume '${NEW}' status must be 'available'. Currently in 'attaching'`,
    ],
  ];

  it.each(cases)('%s (and Cinder is never called)', async (_n, o, n, cls, message) => {
    const { api, cinder, rpc } = setup();
    const err = await caught(api.swap_volume(MEMBER, instance(), oldVolume(o), newVolume(n)));
    expect(err).toBeInstanceOf(cls);
    expect(err.message).toBe(message);
    expect(cinder.calls).toEqual([]);
    expect(rpc.swap_volume).not.toHaveBeenCalled();
  });

  it('a same-size or larger new volume passes the size check', async () => {
    const { api, rpc } = setup();
    await api.swap_volume(MEMBER, instance(), oldVolume({ size: 1 }), newVolume({ size: 1 }));
    await api.swap_volume(MEMBER, instance(), oldVolume({ size: 1 }), newVolume({ size: 5 }));
    expect(rpc.swap_volume).toHaveBeenCalledTimes(2);
  });

  it('check_attach is called with the instance but cross_az_attach is on: volumes of another AZ pass', async () => {
    const { api, rpc } = setup();
    await api.swap_volume(MEMBER, instance({ availabilityZone: 'nova' }), oldVolume(), newVolume({ availability_zone: 'az2' }));
    expect(rpc.swap_volume).toHaveBeenCalledTimes(1);
  });
});

describe('compute API swap_volume: Cinder, then the cast', () => {
  it('begin_detaching(old), reserve_volume(new), then casts swap_volume(instance, old, new)', async () => {
    const { api, cinder, rpc } = setup();
    const inst = instance();
    const ctx = MEMBER;
    await api.swap_volume(ctx, inst, oldVolume(), newVolume());
    expect(cinder.calls).toEqual(['os-begin_detaching old', 'os-reserve new']);
    expect(rpc.swap_volume).toHaveBeenCalledWith(ctx, inst, OLD, NEW);
  });

  it('a failing cast rolls back: roll_detaching(old), unreserve_volume(new), and re-raises the same error', async () => {
    const { api, cinder, rpc } = setup();
    const boom = new Error('MessagingTimeout');
    rpc.swap_volume.mockImplementation(() => {
      throw boom;
    });
    const err = await caught(api.swap_volume(MEMBER, instance(), oldVolume(), newVolume()));
    expect(err).toBe(boom);
    expect(cinder.calls).toEqual(['os-begin_detaching old', 'os-reserve new', 'os-roll_detaching old', 'os-unreserve new']);
  });

  it('reserve_volume failing (a Cinder 400) leaves the old volume detaching: no rollback, no cast (a real Mitaka bug)', async () => {
    const { api, cinder, rpc } = setup();
    cinder.failures.set('os-reserve new', { status: 400, message: 'Invalid volume: Volume status must be available to reserve.' });
    const err = await caught(api.swap_volume(MEMBER, instance(), oldVolume(), newVolume()));
    // translate_volume_exception: a Cinder 400 is Nova's InvalidInput, which the swap API
    // does not expect (Mitaka: a 500); as for begin_detaching, novasim answers InvalidVolume (400)
    expect(err).toBeInstanceOf(InvalidVolume);
    expect(err.message).toBe(
      'Invalid volume: Invalid input received: Invalid volume: Volume status must be available to reserve. (HTTP 400) (Request-ID: req-cinder)',
    );
    expect(cinder.calls).toEqual(['os-begin_detaching old', 'os-reserve new']);
    expect(rpc.swap_volume).not.toHaveBeenCalled();
  });

  it('begin_detaching failing stops before reserve_volume; its 400 is an InvalidVolume (Pike\'s fix, not Mitaka\'s 500)', async () => {
    const { api, cinder, rpc } = setup();
    cinder.failures.set('os-begin_detaching old', { status: 400, message: 'Invalid volume: Unable to detach volume.' });
    const err = await caught(api.swap_volume(MEMBER, instance(), oldVolume(), newVolume()));
    expect(err).toBeInstanceOf(InvalidVolume);
    expect(err.message).toBe('Invalid volume: Invalid input received: Invalid volume: Unable to detach volume. (HTTP 400) (Request-ID: req-cinder)');
    expect(cinder.calls).toEqual(['os-begin_detaching old']);
    expect(rpc.swap_volume).not.toHaveBeenCalled();
  });
});

describe('compute rpcapi swap_volume', () => {
  it('is a cast to compute.<instance.host> with instance, old_volume_id and new_volume_id', () => {
    const bus = { cast: vi.fn(), call: vi.fn() };
    const rpc = new ComputeRpcAPI(bus as unknown as MessageBus);
    const ret = rpc.swap_volume(MEMBER, instance({ host: 'compute-7' }), OLD, NEW);
    expect(ret).toBeUndefined();
    expect(bus.call).not.toHaveBeenCalled();
    expect(bus.cast).toHaveBeenCalledWith(MEMBER, 'compute', 'compute-7', 'swap_volume', { instance: SERVER, old_volume_id: OLD, new_volume_id: NEW });
  });
});
