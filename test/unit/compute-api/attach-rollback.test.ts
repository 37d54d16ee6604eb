// API.attach_volume's error path (issue 8): Mitaka's _attach_volume destroys only the BDM
// reserve_block_device_name created for it (volume_bdm.destroy()), never a row an existing
// attachment owns. A rejected attach of an attached volume used to delete every BDM of that
// server and volume, and with it the attachment.
import { describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import type { HttpRequest, HttpResponse, Transport } from '../../../src/http/types.js';
import { API, nextDeviceName } from '../../../src/nova/compute/api.js';
import type { ComputeAPI as ComputeRpcAPI } from '../../../src/nova/compute/rpcapi.js';
import { newBdm } from '../../../src/nova/db.js';
import { InvalidInput, InvalidVolume } from '../../../src/nova/exception.js';
import { CinderAPI } from '../../../src/nova/volume/cinder.js';
import type { StateStore } from '../../../src/state/store.js';
import type { Bdm, Instance, State } from '../../../src/state/types.js';
import { caught } from '../../support/caught.js';

const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const ATTACHED = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const FREE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';

const ctx: RequestContext = {
  requestId: 'req-11111111-2222-4333-8444-555555555555',
  userId: 'demo-id',
  userName: 'demo',
  projectId: 'demo-project',
  projectName: 'demo',
  roles: ['Member'],
  isAdmin: false,
};

const instance = { uuid: SERVER, host: 'devstack', projectId: 'demo-project', vmState: 'active', taskState: null, locked: false, launchedAt: '2016-05-03T09:13:00Z', availabilityZone: 'nova' } as Instance;

function bdm(id: number, deviceName: string, volumeId: string | null, extra: Partial<Bdm> = {}): Bdm {
  return { id, instanceUuid: SERVER, deviceName, volumeId, sourceType: 'volume', destinationType: 'volume', snapshotId: null, imageId: null, bootIndex: null, deleteOnTermination: false, connectionInfo: '{"serial": "x"}', volumeSize: null, noDevice: null, diskBus: null, deviceType: null, ...extra };
}

/** the state a store holds in memory: read gives a copy, update saves what fn changed */
function memoryStore(state: State): StateStore & { state: State } {
  const box = { state };
  return Object.assign(box, {
    read: () => structuredClone(box.state),
    update: async <T>(fn: (s: State) => T): Promise<T> => {
      const s = structuredClone(box.state);
      const r = fn(s);
      box.state = s;
      return r;
    },
  }) as unknown as StateStore & { state: State };
}

/** cinder-api: GET answers the volume with `status`, each action answers `action(name)` */
class FakeCinder implements Transport {
  constructor(private readonly status: Record<string, string>, private readonly actionStatus: (name: string) => number = () => 202) {}
  async request(req: HttpRequest): Promise<HttpResponse> {
    const id = req.url.match(/\/volumes\/([^/]+)/)?.[1] ?? '';
    if (req.method === 'GET') {
      const attached = this.status[id] === 'in-use';
      const volume = { id, status: this.status[id], size: 1, availability_zone: 'nova', name: 'v', volume_type: 'lvmdriver-1', attachments: attached ? [{ server_id: SERVER, attachment_id: 'att-1', device: '/dev/vdb' }] : [] };
      return { status: 200, headers: {}, body: JSON.stringify({ volume }) };
    }
    const name = Object.keys(JSON.parse(req.body ?? '{}'))[0];
    const code = this.actionStatus(name);
    if (code >= 400) return { status: code, headers: { 'x-openstack-request-id': 'req-cinder' }, body: JSON.stringify({ badRequest: { code, message: 'Invalid volume: Volume status must be available to reserve.' } }) };
    return { status: code, headers: {}, body: '' };
  }
}

function setup(cinder: FakeCinder) {
  const state = { nova: { bdms: [bdm(1, '/dev/vda', null, { sourceType: 'image', destinationType: 'local', bootIndex: 0 }), bdm(2, '/dev/vdb', ATTACHED)], nextBdmId: 3 } } as unknown as State;
  const store = memoryStore(state);
  // the host's reserve_block_device_name: a new row at the next free device, as the manager makes it
  const rpc = {
    reserve_block_device_name: vi.fn(async (_c: RequestContext, inst: Instance, device: string | null, volumeId: string) =>
      store.update((s) => {
        const dev = nextDeviceName(s, inst.uuid, device);
        newBdm(s, { instanceUuid: inst.uuid, deviceName: dev, volumeId });
        return dev;
      }),
    ),
    attach_volume: vi.fn(),
  } as unknown as ComputeRpcAPI & { attach_volume: ReturnType<typeof vi.fn> };
  const api = new API(store, new CinderAPI(cinder, 'http://127.0.0.1:8776'), rpc);
  return { api, store, rpc };
}


describe('compute API attach_volume: the error path destroys only the BDM it reserved', () => {
  it('attaching a volume already attached to the server: InvalidVolume, and the existing attachment\'s BDM stays', async () => {
    const { api, store, rpc } = setup(new FakeCinder({ [ATTACHED]: 'in-use' }));
    const before = store.state.nova.bdms;
    const err = await caught(api.attach_volume(ctx, instance, ATTACHED, null));
    expect(err).toBeInstanceOf(InvalidVolume);
    expect(err.message).toBe(`Invalid volume: volume '${ATTACHED}' status must be 'available'. Currently in 'in-use'`);
    // the reserved /dev/vdc row is gone; /dev/vda and the attachment's /dev/vdb are untouched
    expect(store.state.nova.bdms).toEqual(before);
    expect(store.state.nova.bdms.filter((b) => b.volumeId === ATTACHED)).toHaveLength(1);
    expect(rpc.attach_volume).not.toHaveBeenCalled();
  });

  it('a reserve Cinder refuses (400, e.g. another attach won the race): only the reserved row goes', async () => {
    const { api, store } = setup(new FakeCinder({ [FREE]: 'available' }, (name) => (name === 'os-reserve' ? 400 : 202)));
    const before = store.state.nova.bdms;
    const err = await caught(api.attach_volume(ctx, instance, FREE, null));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(store.state.nova.bdms).toEqual(before);
  });

  it('a successful attach casts with the id of the row it reserved, and keeps it', async () => {
    const { api, store, rpc } = setup(new FakeCinder({ [FREE]: 'available' }));
    const dev = await api.attach_volume(ctx, instance, FREE, null);
    expect(dev).toBe('/dev/vdc');
    const row = store.state.nova.bdms.find((b) => b.volumeId === FREE);
    expect(row).toMatchObject({ id: 3, deviceName: '/dev/vdc' });
    expect(rpc.attach_volume).toHaveBeenCalledWith(ctx, instance, 3);
    expect(store.state.nova.bdms).toHaveLength(3);
  });

  it('a second row of the same volume (a half-made attach left behind) is not taken for the reserved one', async () => {
    const { api, store, rpc } = setup(new FakeCinder({ [FREE]: 'available' }));
    await store.update((s) => void newBdm(s, { instanceUuid: SERVER, deviceName: '/dev/vdc', volumeId: FREE }));
    await api.attach_volume(ctx, instance, FREE, null);
    // the new reservation is /dev/vdd (id 4): that is the row the cast names
    expect(rpc.attach_volume).toHaveBeenCalledWith(ctx, instance, 4);
  });
});
