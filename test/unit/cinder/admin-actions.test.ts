// cinder/api/contrib/admin_actions.py (mitaka-eol) and the v2 types resource: os-reset_status
// and os-force_delete are admin-only, validated before anything changes, and change only
// Cinder's database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCinderApi, validateResetStatus } from '../../../src/cinder/api.js';
import { VolumeBackend } from '../../../src/cinder/backend.js';
import { InvalidVolume, PolicyNotAuthorized } from '../../../src/cinder/exception.js';
import * as api from '../../../src/cinder/volume-api.js';
import { HttpFault } from '../../../src/http/wsgi.js';
import type { Handler } from '../../../src/http/types.js';
import { PROJECT_DEMO, USER_DEMO, initWorld } from '../../../src/novasim/world.js';
import { StateStore } from '../../../src/state/store.js';
import type { State, Volume } from '../../../src/state/types.js';

const MEMBER = { projectId: PROJECT_DEMO, userId: USER_DEMO, isAdmin: false };
const ADMIN = { projectId: PROJECT_DEMO, userId: 'admin-user', isAdmin: true };
const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const OLD = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';

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

const detaching = (): Volume =>
  vol(OLD, {
    status: 'detaching',
    attachStatus: 'attached',
    attachments: [
      { id: 'att-1', instanceUuid: SERVER, attachedHost: 'devstack', mountpoint: '/dev/vdb', attachTime: '2016-05-03T09:13:00.000000', attachMode: 'rw', attachStatus: 'attached' },
    ],
  });

function stateWith(...vols: Volume[]): State {
  return { cinder: { volumes: vols } } as unknown as State;
}

describe('volume-api: reset_status and force delete', () => {
  it('reset_status is admin only: a member gets PolicyNotAuthorized naming volume_admin_actions:reset_status', () => {
    const s = stateWith(detaching());
    expect(() => api.resetStatus(s, MEMBER, OLD, { status: 'in-use' })).toThrow(PolicyNotAuthorized);
    expect(() => api.resetStatus(s, MEMBER, OLD, { status: 'in-use' })).toThrow(
      "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed.",
    );
    expect(s.cinder.volumes[0].status).toBe('detaching');
  });

  it('reset_status to in-use/attached changes the fields only: the attachment stays as it was', () => {
    const s = stateWith(detaching());
    const v = api.resetStatus(s, ADMIN, OLD, { status: 'in-use', attachStatus: 'attached' });
    expect(v.status).toBe('in-use');
    expect(v.attachStatus).toBe('attached');
    expect(v.attachments.map((a) => a.id)).toEqual(['att-1']);
  });

  it("attach_status 'detached' drops the attachments and settles the volume 'available', as volume_detached does", () => {
    const s = stateWith(detaching());
    const v = api.resetStatus(s, ADMIN, OLD, { status: 'in-use', attachStatus: 'detached' });
    expect(v.attachments).toEqual([]);
    expect(v.attachStatus).toBe('detached');
    expect(v.status).toBe('available');
  });

  it("while a migration runs, volume_detached hides the status: 'detached' keeps the status asked for", () => {
    const s = stateWith({ ...detaching(), migrationStatus: 'migrating' });
    const v = api.resetStatus(s, ADMIN, OLD, { status: 'maintenance', attachStatus: 'detached' });
    expect(v.status).toBe('maintenance');
    expect(v.attachStatus).toBe('detached');
  });

  it("migration_status 'none' on the wire clears the migration status", () => {
    expect(validateResetStatus({ status: 'available', migration_status: 'none' })).toEqual({ status: 'available', migrationStatus: null });
    const s = stateWith(vol(OLD, { migrationStatus: 'error' }));
    expect(api.resetStatus(s, ADMIN, OLD, { migrationStatus: null }).migrationStatus).toBeNull();
  });

  it('force delete drops the status condition but still refuses an attached volume (double space of build_or_str(None))', () => {
    const s = stateWith(detaching(), vol(NEW, { status: 'error_deleting' }));
    expect(() => api.deleteVolume(s, ADMIN, OLD, () => false, true)).toThrow(InvalidVolume);
    expect(() => api.deleteVolume(s, ADMIN, OLD, () => false, true)).toThrow(
      'Invalid volume: Volume  must not be migrating, attached, belong to a consistency group or have snapshots.',
    );
    expect(() => api.deleteVolume(s, ADMIN, NEW)).toThrow(/status must be available or error/);
    expect(api.deleteVolume(s, ADMIN, NEW, () => false, true).deleted).toBe(true);
    expect(s.cinder.volumes.map((v) => v.id)).toEqual([OLD]);
  });
});

describe('VolumeAdminController.validate_update', () => {
  const fault = (body: unknown): string => {
    try {
      validateResetStatus(body);
    } catch (e) {
      return `${(e as HttpFault).status} ${(e as HttpFault).explanation}`;
    }
    return 'ok';
  };
  it('the 400s, in Mitaka order', () => {
    expect(fault({})).toBe("400 Must specify 'status', 'attach_status' or 'migration_status' for update.");
    expect(fault({ status: 'bogus' })).toBe('400 Must specify a valid status');
    expect(fault({ status: 'in-use', attach_status: 'half' })).toBe('400 Must specify a valid attach status');
    expect(fault({ migration_status: 'flying' })).toBe('400 Must specify a valid migration status');
    // the status is checked before the attach status
    expect(fault({ status: 'bogus', attach_status: 'half' })).toBe('400 Must specify a valid status');
  });
  it('values are lower-cased, as .lower() does', () => {
    expect(validateResetStatus({ status: 'IN-USE', attach_status: 'Attached' })).toEqual({ status: 'in-use', attachStatus: 'attached' });
  });
  it('every status of VolumeAdminController.valid_status is accepted', () => {
    for (const st of ['creating', 'available', 'deleting', 'error', 'error_deleting', 'attaching', 'in-use', 'detaching', 'maintenance']) {
      expect(fault({ status: st })).toBe('ok');
    }
  });
});

describe('cinder-api v2: os-reset_status, os-force_delete, types', () => {
  let dir: string;
  let store: StateStore;
  let handler: Handler;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'novasim-cinder-admin-'));
    const statePath = join(dir, 'state.json');
    await initWorld(statePath, 'empty', false);
    store = new StateStore(statePath);
    await store.update((s) => {
      s.cinder.volumes.push(detaching(), vol(NEW));
    });
    handler = createCinderApi(store, new VolumeBackend(statePath));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function req(method: string, path: string, body?: unknown, token = 'admin:demo') {
    const res = await handler({
      method,
      url: `http://127.0.0.1:8776/v2/${PROJECT_DEMO}/${path}`,
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: res.body ? JSON.parse(res.body) : null };
  }
  const action = (id: string, body: unknown, token?: string) => req('POST', `volumes/${id}/action`, body, token);
  const volume = (id: string) => store.read().cinder.volumes.find((v) => v.id === id);

  it("a member's os-reset_status is a 403 before the body is looked at, and nothing is written", async () => {
    const before = JSON.stringify(store.read());
    const r = await action(OLD, { 'os-reset_status': { status: 'bogus' } }, 'demo:demo');
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed." } });
    // wsgi.Fault sets x-compute-request-id, where cinderclient reads its Request-ID
    expect(r.headers['x-compute-request-id']).toMatch(/^req-/);
    expect(JSON.stringify(store.read())).toBe(before);
  });

  it('an admin os-reset_status is a 202 with no body and updates the record', async () => {
    const r = await action(OLD, { 'os-reset_status': { status: 'in-use', attach_status: 'attached' } });
    expect(r).toMatchObject({ status: 202, body: null });
    expect(volume(OLD)).toMatchObject({ status: 'in-use', attachStatus: 'attached' });
    expect(volume(OLD)!.attachments).toHaveLength(1);
  });

  it('an invalid status is a 400 and nothing is written', async () => {
    const before = JSON.stringify(store.read());
    const r = await action(OLD, { 'os-reset_status': { status: 'stuck' } });
    expect(r).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: 'Must specify a valid status' } } });
    expect(JSON.stringify(store.read())).toBe(before);
  });

  it('os-reset_status of an unknown volume is the 404 of VolumeNotFound', async () => {
    const r = await action('0000aaaa-0000-4000-8000-000000000000', { 'os-reset_status': { status: 'available' } });
    expect(r).toMatchObject({ status: 404, body: { itemNotFound: { message: 'Volume 0000aaaa-0000-4000-8000-000000000000 could not be found.' } } });
  });

  it("os-force_delete: 403 for a member, 400 for an attached volume, 202 and gone for an 'error_deleting' one", async () => {
    await store.update((s) => {
      s.cinder.volumes.find((v) => v.id === NEW)!.status = 'error_deleting';
    });
    expect((await action(NEW, { 'os-force_delete': null }, 'demo:demo')).body.forbidden.message).toBe(
      "Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be performed.",
    );
    expect((await action(OLD, { 'os-force_delete': null })).status).toBe(400);
    expect((await action(NEW, { 'os-force_delete': null })).status).toBe(202);
    expect(volume(NEW)).toBeUndefined();
    expect(volume(OLD)).toBeDefined();
  });

  it('GET volumes/detail filters on status', async () => {
    const r = await req('GET', 'volumes/detail?status=detaching', undefined, 'demo:demo');
    expect(r.body.volumes.map((v: { id: string }) => v.id)).toEqual([OLD]);
  });

  it('GET types: lvmdriver-1, extra_specs only for an admin (access_types_extra_specs)', async () => {
    const member = await req('GET', 'types?is_public=None', undefined, 'demo:demo');
    expect(member.body.volume_types).toEqual([{ id: api.VOLUME_TYPE_RECORDS[0].id, name: 'lvmdriver-1', is_public: true, description: null }]);
    const admin = await req('GET', 'types', undefined);
    expect(admin.body.volume_types[0]).toMatchObject({ extra_specs: { volume_backend_name: 'lvmdriver-1' }, qos_specs_id: null });
    expect((await req('GET', 'types/nope')).body).toEqual({ itemNotFound: { code: 404, message: 'Volume type nope could not be found.' } });
  });
});
