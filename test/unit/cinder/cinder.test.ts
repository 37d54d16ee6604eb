// src/cinder/: the simulated Cinder (mitaka-eol). volume-api.ts is the status machine Nova's
// calls drive (cinder/volume/api.py); api.ts is the v2 HTTP controller in front of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCinderApi } from '../../../src/cinder/api.js';
import { VolumeBackend } from '../../../src/cinder/backend.js';
import { InvalidVolume, PolicyNotAuthorized, VolumeNotFound } from '../../../src/cinder/exception.js';
import * as api from '../../../src/cinder/volume-api.js';
import type { Handler } from '../../../src/http/types.js';
import { PROJECT_DEMO, USER_DEMO, initWorld } from '../../../src/novasim/world.js';
import { StateStore } from '../../../src/state/store.js';
import type { State, Volume, VolumeAttachment } from '../../../src/state/types.js';

const MEMBER = { projectId: PROJECT_DEMO, userId: USER_DEMO, isAdmin: false };
const ADMIN = { projectId: 'admin-project', userId: 'admin-user', isAdmin: true };
const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const OLD = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';

function attachment(over: Partial<VolumeAttachment> = {}): VolumeAttachment {
  return {
    id: 'att-1',
    instanceUuid: SERVER,
    attachedHost: 'devstack',
    mountpoint: '/dev/vdb',
    attachTime: '2016-05-03T09:13:00.000000',
    attachMode: 'rw',
    attachStatus: 'attached',
    ...over,
  };
}

function vol(id: string, over: Partial<Volume> = {}): Volume {
  return {
    id,
    displayName: id.slice(0, 4),
    displayDescription: null,
    size: 1,
    status: 'available',
    attachStatus: 'detached',
    attachments: [],
    migrationStatus: null,
    availabilityZone: 'nova',
    volumeType: 'lvmdriver-1',
    bootable: false,
    projectId: PROJECT_DEMO,
    userId: USER_DEMO,
    host: 'devstack@lvmdriver-1#lvmdriver-1',
    createdAt: '2016-05-03T09:00:00.000000',
    updatedAt: '2016-05-03T09:00:00.000000',
    metadata: {},
    ...over,
  };
}

const inUse = (id: string, over: Partial<Volume> = {}) =>
  vol(id, { status: 'in-use', attachStatus: 'attached', attachments: [attachment()], ...over });

function world(...volumes: Volume[]): State {
  return { cinder: { volumes } } as unknown as State;
}

const find = (s: State, id: string) => s.cinder.volumes.find((v) => v.id === id);

describe('volume-api: get', () => {
  it('a missing volume is VolumeNotFound, a 404 "Volume <id> could not be found."', () => {
    expect(() => api.getVolume(world(), MEMBER, OLD)).toThrow(VolumeNotFound);
    try {
      api.getVolume(world(), MEMBER, OLD);
    } catch (e) {
      expect((e as VolumeNotFound).code).toBe(404);
      expect((e as Error).message).toBe(`Volume ${OLD} could not be found.`);
    }
  });

  it('another project\'s volume is invisible to a member but visible to an admin', () => {
    const s = world(vol(OLD, { projectId: 'someone-else' }));
    expect(() => api.getVolume(s, MEMBER, OLD)).toThrow(`Volume ${OLD} could not be found.`);
    expect(api.getVolume(s, ADMIN, OLD).id).toBe(OLD);
  });
});

describe('volume-api: reserve_volume / unreserve_volume', () => {
  it('reserve_volume on an available volume makes it attaching', () => {
    const s = world(vol(NEW));
    api.reserveVolume(s, MEMBER, NEW);
    expect(find(s, NEW)!.status).toBe('attaching');
  });

  it.each(['attaching', 'in-use', 'detaching', 'error', 'creating'])('reserve_volume on a %s volume is a 400 and changes nothing', (status) => {
    const s = world(vol(NEW, { status }));
    let err: unknown;
    try {
      api.reserveVolume(s, MEMBER, NEW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidVolume);
    expect((err as InvalidVolume).code).toBe(400);
    expect((err as Error).message).toBe('Invalid volume: Volume status must be available to reserve.');
    expect(find(s, NEW)!.status).toBe(status);
  });

  it('unreserve_volume of an attaching volume without attachments makes it available', () => {
    const s = world(vol(NEW, { status: 'attaching' }));
    api.unreserveVolume(s, MEMBER, NEW);
    expect(find(s, NEW)!.status).toBe('available');
  });

  it('unreserve_volume of an attaching volume that has an attachment makes it in-use', () => {
    const s = world(vol(NEW, { status: 'attaching', attachStatus: 'attached', attachments: [attachment()] }));
    api.unreserveVolume(s, MEMBER, NEW);
    expect(find(s, NEW)!.status).toBe('in-use');
  });

  it.each(['available', 'in-use', 'detaching', 'error'])('unreserve_volume of a %s volume is a no-op', (status) => {
    const s = world(vol(NEW, { status }));
    const before = structuredClone(s);
    api.unreserveVolume(s, MEMBER, NEW);
    expect(s).toEqual(before);
  });
});

describe('volume-api: begin_detaching / roll_detaching', () => {
  it.each([null, 'deleting', 'error', 'success'])('begin_detaching on an in-use attached volume (migration_status %s) makes it detaching', (mig) => {
    const s = world(inUse(OLD, { migrationStatus: mig }));
    api.beginDetaching(s, MEMBER, OLD);
    expect(find(s, OLD)!.status).toBe('detaching');
  });

  it.each(['migrating', `target:${NEW}`])('begin_detaching is a silent no-op while Cinder migrates (migration_status %s)', (mig) => {
    const s = world(inUse(OLD, { migrationStatus: mig, status: 'in-use' }));
    expect(() => api.beginDetaching(s, MEMBER, OLD)).not.toThrow();
    expect(find(s, OLD)!.status).toBe('in-use');
  });

  // Fixed (was a bug): Cinder's _is_volume_migrating is "migration_status not in AVAILABLE_MIGRATION_STATUS",
  // so every in-progress status ('starting', 'completing' …) hides the detach; volume-api.ts
  // only knows 'migrating' and 'target:*' and refuses the others with a 400.
  it.each(['starting', 'completing'])('begin_detaching is a silent no-op for migration_status %s too', (mig) => {
    const s = world(inUse(OLD, { migrationStatus: mig }));
    expect(() => api.beginDetaching(s, MEMBER, OLD)).not.toThrow();
    expect(find(s, OLD)!.status).toBe('in-use');
  });

  const refused: [string, Partial<Volume>][] = [
    ['an available volume', { status: 'available', attachStatus: 'detached', attachments: [] }],
    ['a volume already detaching', { status: 'detaching' }],
    ['an in-use volume whose attach_status is detached', { attachStatus: 'detached' }],
    ['an attaching volume', { status: 'attaching' }],
  ];
  it.each(refused)('begin_detaching on %s is a 400 with Cinder\'s text', (_name, over) => {
    const s = world(inUse(OLD, over));
    const before = structuredClone(s);
    expect(() => api.beginDetaching(s, MEMBER, OLD)).toThrow(
      "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
    );
    expect(s).toEqual(before);
  });

  it('roll_detaching puts a detaching volume back to in-use', () => {
    const s = world(inUse(OLD, { status: 'detaching' }));
    api.rollDetaching(s, MEMBER, OLD);
    expect(find(s, OLD)!.status).toBe('in-use');
  });

  it.each(['available', 'attaching', 'in-use', 'error'])('roll_detaching leaves a %s volume alone', (status) => {
    const s = world(vol(OLD, { status }));
    api.rollDetaching(s, MEMBER, OLD);
    expect(find(s, OLD)!.status).toBe(status);
  });

  it('begin_detaching then roll_detaching is a round trip', () => {
    const s = world(inUse(OLD));
    api.beginDetaching(s, MEMBER, OLD);
    api.rollDetaching(s, MEMBER, OLD);
    expect(find(s, OLD)!.status).toBe('in-use');
    expect(find(s, OLD)!.attachStatus).toBe('attached');
  });
});

describe('volume-api: migrate_volume_completion', () => {
  it('is admin-only: a member gets PolicyNotAuthorized (403) and nothing changes', () => {
    const s = world(inUse(OLD, { status: 'detaching' }), vol(NEW, { status: 'attaching' }));
    const before = structuredClone(s);
    let err: unknown;
    try {
      api.migrateVolumeCompletion(s, MEMBER, OLD, NEW, false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyNotAuthorized);
    expect((err as PolicyNotAuthorized).code).toBe(403);
    expect((err as Error).message).toBe("Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume_completion to be performed.");
    expect(s).toEqual(before);
  });

  it('a swap Nova started: the attachment moves to the new volume (same instance and mountpoint, rw) and the new id is returned', () => {
    const s = world(
      inUse(OLD, { status: 'detaching', attachments: [attachment({ mountpoint: '/dev/vdc', attachMode: 'ro' })] }),
      vol(NEW, { status: 'attaching' }),
    );
    expect(api.migrateVolumeCompletion(s, ADMIN, OLD, NEW, false)).toBe(NEW);
    const o = find(s, OLD)!;
    const n = find(s, NEW)!;
    expect([o.status, o.attachStatus, o.attachments]).toEqual(['available', 'detached', []]);
    expect([n.status, n.attachStatus]).toEqual(['in-use', 'attached']);
    expect(n.attachments).toHaveLength(1);
    expect(n.attachments[0]).toMatchObject({ instanceUuid: SERVER, mountpoint: '/dev/vdc', attachMode: 'rw', attachStatus: 'attached' });
  });

  it('a swap Nova started, with error=True: nothing changes and the new id is still returned', () => {
    const s = world(inUse(OLD, { status: 'in-use' }), vol(NEW, { status: 'available' }));
    const before = structuredClone(s);
    expect(api.migrateVolumeCompletion(s, ADMIN, OLD, NEW, true)).toBe(NEW);
    expect(s).toEqual(before);
  });

  it('a migration Cinder started: the original id survives, migration_status success, the temporary volume is gone', () => {
    const s = world(inUse(OLD, { migrationStatus: 'migrating' }), vol(NEW, { migrationStatus: `target:${OLD}`, status: 'attaching' }));
    expect(api.migrateVolumeCompletion(s, ADMIN, OLD, NEW, false)).toBe(OLD);
    expect(s.cinder.volumes.map((v) => v.id)).toEqual([OLD]);
    const o = find(s, OLD)!;
    expect(o.migrationStatus).toBe('success');
    expect(o.status).toBe('in-use');
    expect(o.attachments[0].instanceUuid).toBe(SERVER);
  });

  it('a migration Cinder started, with error=True: the new volume is deleted, migration_status error, old status restored', () => {
    const s = world(inUse(OLD, { migrationStatus: 'migrating', status: 'in-use' }), vol(NEW, { migrationStatus: `target:${OLD}` }));
    expect(api.migrateVolumeCompletion(s, ADMIN, OLD, NEW, true)).toBe(OLD);
    expect(s.cinder.volumes.map((v) => v.id)).toEqual([OLD]);
    expect(find(s, OLD)!.migrationStatus).toBe('error');
    expect(find(s, OLD)!.status).toBe('in-use');
  });
});

describe('volume-api: migrate_volume_completion refuses a half-migration (cinder/volume/api.py)', () => {
  // Fixed (was a bug): upstream only takes the Cinder-migration branch after checking both sides:
  // "Source volume not mid-migration." / "Destination volume not mid-migration." /
  // "Destination has migration_status <s>, expected target:<id>." (InvalidVolume, 400).
  // volume-api.ts takes it whenever either side has any migration_status, so a Nova swap
  // whose old volume still says 'success' from an earlier migration deletes the new
  // volume (holding the just-copied data) and answers the old id.
  it('old volume with migration_status success, new volume none: InvalidVolume, and the new volume survives', () => {
    const s = world(inUse(OLD, { status: 'detaching', migrationStatus: 'success' }), vol(NEW, { status: 'attaching' }));
    expect(() => api.migrateVolumeCompletion(s, ADMIN, OLD, NEW, false)).toThrow('Invalid volume: Destination volume not mid-migration.');
    expect(s.cinder.volumes.map((v) => v.id)).toEqual([OLD, NEW]);
  });

  it('a destination that is not target:<old id> is refused', () => {
    const s = world(inUse(OLD, { migrationStatus: 'migrating' }), vol(NEW, { migrationStatus: 'target:someone-else' }));
    expect(() => api.migrateVolumeCompletion(s, ADMIN, OLD, NEW, false)).toThrow(
      'Invalid volume: Destination has migration_status target:someone-else, expected target:' + OLD + '.',
    );
  });
});

describe('volume-api: attach / detach (os-attach, os-detach)', () => {
  it('os-attach records the attachment: in-use/attached', () => {
    const s = world(vol(NEW, { status: 'attaching' }));
    api.attachVolume(s, ADMIN, NEW, SERVER, 'devstack', '/dev/vdb', 'rw');
    const n = find(s, NEW)!;
    expect([n.status, n.attachStatus]).toEqual(['in-use', 'attached']);
    expect(n.attachments).toEqual([expect.objectContaining({ instanceUuid: SERVER, mountpoint: '/dev/vdb', attachMode: 'rw' })]);
  });

  it('os-detach of the last attachment makes the volume available/detached; an unknown attachment id is a 404', () => {
    const s = world(inUse(OLD, { status: 'detaching' }));
    expect(() => api.detachVolume(s, ADMIN, OLD, 'nope')).toThrow('Volume attachment could not be found with filter: attachment_id = nope.');
    api.detachVolume(s, ADMIN, OLD, 'att-1');
    const o = find(s, OLD)!;
    expect([o.status, o.attachStatus, o.attachments.length]).toEqual(['available', 'detached', 0]);
  });
});

describe('cinder-api (HTTP): /v2/{project}/volumes/{id}/action', () => {
  let dir: string;
  let store: StateStore;
  let handler: Handler;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'novasim-cinder-'));
    const statePath = join(dir, 'state.json');
    await initWorld(statePath, 'empty', false);
    store = new StateStore(statePath);
    await store.update((s) => {
      s.cinder.volumes.push(inUse(OLD), vol(NEW));
    });
    handler = createCinderApi(store, new VolumeBackend(statePath));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function req(method: string, path: string, body?: unknown, token = 'admin:demo', headers: Record<string, string> = {}) {
    const res = await handler({
      method,
      url: `http://127.0.0.1:8776/v2/${path}`,
      headers: { 'Content-Type': 'application/json', ...(token ? { 'X-Auth-Token': token } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: res.body ? JSON.parse(res.body) : null };
  }
  const action = (id: string, body: unknown, token?: string) => req('POST', `${PROJECT_DEMO}/volumes/${id}/action`, body, token);
  const status = (id: string) => store.read().cinder.volumes.find((v) => v.id === id)!.status;

  it('os-reserve is a 202 with an empty body; a second os-reserve is a 400 badRequest and the file is not rewritten', async () => {
    expect(await action(NEW, { 'os-reserve': null })).toMatchObject({ status: 202, body: null });
    expect(status(NEW)).toBe('attaching');
    const before = JSON.stringify(store.read());
    expect(await action(NEW, { 'os-reserve': null })).toMatchObject({
      status: 400,
      body: { badRequest: { code: 400, message: 'Invalid volume: Volume status must be available to reserve.' } },
    });
    expect(JSON.stringify(store.read())).toBe(before);
  });

  it('os-begin_detaching on an available volume is a 400 with the detach text', async () => {
    expect(await action(NEW, { 'os-begin_detaching': null })).toMatchObject({
      status: 400,
      body: { badRequest: { message: "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach." } },
    });
  });

  it('os-begin_detaching, os-roll_detaching, os-unreserve drive the status machine', async () => {
    expect((await action(OLD, { 'os-begin_detaching': null })).status).toBe(202);
    expect(status(OLD)).toBe('detaching');
    expect((await action(OLD, { 'os-roll_detaching': null })).status).toBe(202);
    expect(status(OLD)).toBe('in-use');
    await action(NEW, { 'os-reserve': null });
    expect((await action(NEW, { 'os-unreserve': null })).status).toBe(202);
    expect(status(NEW)).toBe('available');
  });

  it('os-initialize_connection answers connection_info (the image path) and changes no status', async () => {
    const before = JSON.stringify(store.read());
    const res = await action(NEW, { 'os-initialize_connection': { connector: { host: 'devstack' } } });
    expect(res.status).toBe(200);
    expect(res.body.connection_info).toMatchObject({
      driver_volume_type: 'local',
      data: { device_path: expect.stringMatching(new RegExp(`/volume-${NEW}$`)), volume_id: NEW, access_mode: 'rw' },
    });
    expect(JSON.stringify(store.read())).toBe(before);
  });

  it('os-terminate_connection unreserves an attaching volume and leaves an in-use one alone', async () => {
    await action(NEW, { 'os-reserve': null });
    expect((await action(NEW, { 'os-terminate_connection': { connector: {} } })).status).toBe(202);
    expect(status(NEW)).toBe('available');
    expect((await action(OLD, { 'os-terminate_connection': { connector: {} } })).status).toBe(202);
    expect(status(OLD)).toBe('in-use');
  });

  it('os-migrate_volume_completion answers {save_volume_id}; a member gets 403 forbidden', async () => {
    await action(OLD, { 'os-begin_detaching': null });
    await action(NEW, { 'os-reserve': null });
    expect(await action(OLD, { 'os-migrate_volume_completion': { new_volume: NEW, error: false } }, 'demo:demo')).toMatchObject({
      status: 403,
      body: { forbidden: { code: 403, message: "Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume_completion to be performed." } },
    });
    expect([status(OLD), status(NEW)]).toEqual(['detaching', 'attaching']);
    expect(await action(OLD, { 'os-migrate_volume_completion': { new_volume: NEW, error: false } })).toMatchObject({
      status: 200,
      body: { save_volume_id: NEW },
    });
    expect([status(OLD), status(NEW)]).toEqual(['available', 'in-use']);
  });

  it('an action on a missing volume is a 404 itemNotFound', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await action(missing, { 'os-reserve': null })).toMatchObject({
      status: 404,
      body: { itemNotFound: { code: 404, message: `Volume ${missing} could not be found.` } },
    });
  });

  it('an unknown action is a 400 "There is no such action"', async () => {
    expect(await action(NEW, { 'os-frobnicate': null })).toMatchObject({ status: 400, body: { badRequest: { message: 'There is no such action: os-frobnicate' } } });
  });

  it('no token is a 401', async () => {
    expect(await action(NEW, { 'os-reserve': null }, '')).toMatchObject({ status: 401 });
    expect(status(NEW)).toBe('available');
  });

  it('a member naming another project in the URL gets "Malformed request url"', async () => {
    const res = await req('POST', `someoneelse/volumes/${NEW}/action`, { 'os-reserve': null }, 'demo:demo');
    expect(res).toMatchObject({ status: 400, body: { badRequest: { message: 'Malformed request url' } } });
    expect(status(NEW)).toBe('available');
  });

  it('GET shows the attachments, and the migration fields to an admin only', async () => {
    const asAdmin = await req('GET', `${PROJECT_DEMO}/volumes/${OLD}`);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.volume).toMatchObject({ id: OLD, status: 'in-use', 'os-vol-mig-status-attr:migstat': null });
    expect(asAdmin.body.volume.attachments).toEqual([expect.objectContaining({ server_id: SERVER, device: '/dev/vdb', attachment_id: 'att-1' })]);
    const asMember = await req('GET', `${PROJECT_DEMO}/volumes/${OLD}`, undefined, 'demo:demo');
    expect(asMember.body.volume).not.toHaveProperty('os-vol-mig-status-attr:migstat');
  });

  it('echoes the caller\'s X-OpenStack-Request-ID', async () => {
    const res = await req('GET', `${PROJECT_DEMO}/volumes/${OLD}`, undefined, 'admin:demo', { 'X-OpenStack-Request-ID': 'req-abc' });
    expect(res.headers['x-openstack-request-id']).toBe('req-abc');
  });
});
