// Instance lifecycle and volume attach/detach through nova-api, down to the domain.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, DEMO, SERVERS, VOLS, domainOf, openWorld, volume, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await openWorld();
});
afterEach(async () => {
  await w.close();
});

async function act(server: string, body: unknown, token = DEMO) {
  const res = await w.nova('POST', `/servers/${server}/action`, body, token);
  await w.cloud.drain();
  return res;
}

function inst(id: string) {
  return w.state().nova.instances.find((i) => i.uuid === id)!;
}

describe('power actions drive the domain and the instance record', () => {
  it('stop → SHUTOFF and a shut-off domain; start → ACTIVE and running', async () => {
    expect((await act(SERVERS.web1, { 'os-stop': null })).status).toBe(202);
    expect([inst(SERVERS.web1).vmState, inst(SERVERS.web1).powerState, inst(SERVERS.web1).taskState]).toEqual(['stopped', 4, null]);
    expect(domainOf(w.state(), SERVERS.web1)!.state).toBe('shutoff');
    expect((await act(SERVERS.web1, { 'os-start': null })).status).toBe(202);
    expect([inst(SERVERS.web1).vmState, inst(SERVERS.web1).powerState]).toEqual(['active', 1]);
    expect(domainOf(w.state(), SERVERS.web1)!.state).toBe('running');
  });

  it('pause/unpause and suspend/resume', async () => {
    await act(SERVERS.web1, { pause: null });
    expect([inst(SERVERS.web1).vmState, inst(SERVERS.web1).powerState]).toEqual(['paused', 3]);
    await act(SERVERS.web1, { unpause: null });
    expect(inst(SERVERS.web1).vmState).toBe('active');
    await act(SERVERS.web1, { suspend: null });
    expect(inst(SERVERS.web1).vmState).toBe('suspended');
    expect(domainOf(w.state(), SERVERS.web1)!.managedSave).toBe(true);
    await act(SERVERS.web1, { resume: null });
    expect(inst(SERVERS.web1).vmState).toBe('active');
    expect(domainOf(w.state(), SERVERS.web1)!.managedSave).toBe(false);
  });

  it('start on an active server is a 409 naming the vm_state', async () => {
    const res = await act(SERVERS.web1, { 'os-start': null });
    expect(res).toMatchObject({ status: 409, body: { conflictingRequest: { message: `Cannot 'start' instance ${SERVERS.web1} while it is in vm_state active` } } });
  });

  it('a locked server refuses a member and obeys an admin; the owner cannot undo an admin lock', async () => {
    expect((await act(SERVERS.db1, { 'os-stop': null })).body).toEqual({ conflictingRequest: { code: 409, message: `Instance ${SERVERS.db1} is locked` } });
    expect((await act(SERVERS.db1, { unlock: null })).body).toEqual({
      forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed." },
    });
    expect((await act(SERVERS.db1, { 'os-stop': null }, ADMIN)).status).toBe(202);
    expect(inst(SERVERS.db1).vmState).toBe('stopped');
    await act(SERVERS.web1, { lock: null });
    expect(inst(SERVERS.web1)).toMatchObject({ locked: true, lockedBy: 'owner' });
    await act(SERVERS.web1, { unlock: null });
    expect(inst(SERVERS.web1).locked).toBe(false);
  });

  it('reset-state is admin-only', async () => {
    expect((await act(SERVERS.web1, { 'os-resetState': { state: 'error' } })).status).toBe(403);
    expect((await act(SERVERS.web1, { 'os-resetState': { state: 'error' } }, ADMIN)).status).toBe(202);
    expect(inst(SERVERS.web1).vmState).toBe('error');
    expect((await act(SERVERS.web1, { 'os-resetState': { state: 'nope' } }, ADMIN)).status).toBe(400);
  });
});

describe('boot and delete', () => {
  it('boots a server from a flavor and the cirros image, then deletes it', async () => {
    const res = await w.nova('POST', '/servers', { server: { name: 'new-1', flavorRef: '1', imageRef: 'cirros-0.3.4-x86_64-uec' } }, DEMO);
    expect(res.status).toBe(202);
    const id = res.body.server.id as string;
    expect(inst(id)).toMatchObject({ vmState: 'building', taskState: 'scheduling' });
    await w.cloud.drain();
    expect(inst(id)).toMatchObject({ name: 'new-1', vmState: 'active', taskState: null, powerState: 1 });
    expect(domainOf(w.state(), id)!.state).toBe('running');
    const show = await w.nova('GET', `/servers/${id}`, undefined, DEMO);
    expect(show.body.server.status).toBe('ACTIVE');
    expect((await w.nova('DELETE', `/servers/${id}`, undefined, DEMO)).status).toBe(204);
    await w.cloud.drain();
    expect(domainOf(w.state(), id)).toBeUndefined();
    expect((await w.nova('GET', `/servers/${id}`, undefined, DEMO)).status).toBe(404);
  });

  it('an unknown flavor is a 400', async () => {
    const res = await w.nova('POST', '/servers', { server: { name: 'x', flavorRef: '99', imageRef: 'cirros-0.3.4-x86_64-uec' } }, DEMO);
    expect(res).toMatchObject({ status: 400, body: { badRequest: { message: 'Invalid flavorRef provided.' } } });
  });
});

describe('volume attach and detach', () => {
  it('attaches an available volume at the next free device, live and in the config', async () => {
    const res = await w.nova('POST', `/servers/${SERVERS.web1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.spare } }, DEMO);
    expect(res).toMatchObject({ status: 200, body: { volumeAttachment: { device: '/dev/vdc', serverId: SERVERS.web1, volumeId: VOLS.spare, id: VOLS.spare } } });
    await w.cloud.drain();
    const s = w.state();
    expect(volume(s, VOLS.spare)).toMatchObject({ status: 'in-use', attachStatus: 'attached' });
    const dom = domainOf(s, SERVERS.web1)!;
    expect(dom.def.disks.map((d) => d.targetDev)).toEqual(['vda', 'vdb', 'vdc']);
    expect(dom.persistentDef!.disks.map((d) => d.targetDev)).toEqual(['vda', 'vdb', 'vdc']);
  });

  it('detaches it again: Cinder available, the BDM gone, the disk gone', async () => {
    await w.nova('POST', `/servers/${SERVERS.web1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.spare } }, DEMO);
    await w.cloud.drain();
    expect((await w.nova('DELETE', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.spare}`, undefined, DEMO)).status).toBe(202);
    expect(volume(w.state(), VOLS.spare).status).toBe('detaching');
    await w.cloud.drain();
    const s = w.state();
    expect(volume(s, VOLS.spare)).toMatchObject({ status: 'available', attachStatus: 'detached' });
    expect(s.nova.bdms.some((b) => b.volumeId === VOLS.spare)).toBe(false);
    expect(domainOf(s, SERVERS.web1)!.def.disks.map((d) => d.targetDev)).toEqual(['vda', 'vdb']);
  });

  it('refuses a volume that is in use, and a device that is taken', async () => {
    const inUse = await w.nova('POST', `/servers/${SERVERS.web1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.dbData } }, ADMIN);
    expect(inUse).toMatchObject({ status: 400, body: { badRequest: { message: `Invalid volume: volume '${VOLS.dbData}' status must be 'available'. Currently in 'in-use'` } } });
    const taken = await w.nova('POST', `/servers/${SERVERS.web1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.spare, device: '/dev/vdb' } }, DEMO);
    expect(taken).toMatchObject({ status: 409, body: { conflictingRequest: { message: 'The supplied device path (/dev/vdb) is in use.' } } });
    await w.cloud.drain();
    expect(volume(w.state(), VOLS.spare).status).toBe('available');
  });

  it('detaching a volume that is not attached is a 404', async () => {
    const res = await w.nova('DELETE', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.spare}`, undefined, DEMO);
    expect(res).toMatchObject({ status: 404, body: { itemNotFound: { message: `volume_id not found: ${VOLS.spare}` } } });
  });
});

describe('Cinder volumes', () => {
  it('creates a volume with a sparse image of its size and deletes it', async () => {
    const res = await w.cinder('POST', '/volumes', { volume: { size: 3, name: 'scratch' } }, DEMO);
    expect(res.status).toBe(202);
    const id = res.body.volume.id as string;
    expect(res.body.volume).toMatchObject({ name: 'scratch', size: 3, status: 'available' });
    const { statSync, existsSync } = await import('node:fs');
    expect(statSync(w.imagePath(id)).size).toBe(3 * 1024 ** 3);
    expect(statSync(w.imagePath(id)).blocks).toBe(0);
    expect((await w.cinder('DELETE', `/volumes/${id}`, undefined, DEMO)).status).toBe(202);
    expect(existsSync(w.imagePath(id))).toBe(false);
  });

  it('an in-use volume cannot be deleted', async () => {
    const res = await w.cinder('DELETE', `/volumes/${VOLS.webData}`, undefined, DEMO);
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toMatch(/^Invalid volume: Volume status must be available or error/);
  });
});
