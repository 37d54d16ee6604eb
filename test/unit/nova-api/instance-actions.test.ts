// src/nova/api/instance_actions.ts over the whole embedded stack: os-instance-actions as
// Mitaka serves it. The list (ACTION_KEYS, no finish_time), one action with its events for
// an admin only (os-instance-actions:events is rule:admin_api), 404 for an unknown server or
// request id, a deleted server's actions from microversion 2.21 on. And the swap: Mitaka
// records no action for it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, DEMO, SERVERS, VOLS, openWorld, type World } from '../../support/world.js';

let w: World;
beforeEach(async () => {
  w = await openWorld();
});
afterEach(async () => {
  await w.close();
});

async function get(path: string, token = ADMIN, version = '2.25') {
  const res = await w.cloud.transport.request({
    method: 'GET',
    url: `http://127.0.0.1:8774/v2.1${path}`,
    headers: { 'X-Auth-Token': token, Accept: 'application/json', 'X-OpenStack-Nova-API-Version': version },
  });
  return { status: res.status, body: res.body ? JSON.parse(res.body) : null };
}

describe('os-instance-actions', () => {
  it('lists the actions with Mitaka keys, the request id being the x-compute-request-id of the call', async () => {
    const stop = await w.nova('POST', `/servers/${SERVERS.web1}/action`, { 'os-stop': null });
    expect(stop.status).toBe(202);
    await w.cloud.drain();
    const { status, body } = await get(`/servers/${SERVERS.web1}/os-instance-actions`);
    expect(status).toBe(200);
    expect(body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['stop', 'create']);
    const a = body.instanceActions[0];
    expect(Object.keys(a)).toEqual(['action', 'instance_uuid', 'request_id', 'user_id', 'project_id', 'start_time', 'message']);
    expect(a).toMatchObject({ action: 'stop', instance_uuid: SERVERS.web1, request_id: stop.headers['x-compute-request-id'], message: null });
  });

  it("shows one action with its events to an admin, without them to the server's owner", async () => {
    const stop = await w.nova('POST', `/servers/${SERVERS.web1}/action`, { 'os-stop': null }, DEMO);
    await w.cloud.drain();
    const rid = stop.headers['x-compute-request-id'];
    const admin = await get(`/servers/${SERVERS.web1}/os-instance-actions/${rid}`);
    expect(admin.status).toBe(200);
    expect(admin.body.instanceAction.events).toEqual([
      { event: 'compute_stop_instance', start_time: expect.stringMatching(/\.000000$/), finish_time: expect.stringMatching(/\.000000$/), result: 'Success', traceback: null },
    ]);
    const member = await get(`/servers/${SERVERS.web1}/os-instance-actions/${rid}`, DEMO);
    expect(member.status).toBe(200);
    expect(member.body.instanceAction).not.toHaveProperty('events');
    expect(member.body.instanceAction.user_id).toBe(admin.body.instanceAction.user_id);
  });

  it('a failed event makes the action\'s message "Error" and its traceback shows to the admin', async () => {
    // batch-1 is stopped: made ACTIVE by os-resetState, the API lets the pause through and
    // libvirt refuses to pause a domain that is not running
    await w.nova('POST', `/servers/${SERVERS.batch1}/action`, { 'os-resetState': { state: 'active' } });
    const pause = await w.nova('POST', `/servers/${SERVERS.batch1}/action`, { pause: null });
    expect(pause.status).toBe(202);
    await w.cloud.drain();
    const { body } = await get(`/servers/${SERVERS.batch1}/os-instance-actions/${pause.headers['x-compute-request-id']}`);
    expect(body.instanceAction.message).toBe('Error');
    expect(body.instanceAction.events[0]).toMatchObject({ event: 'compute_pause_instance', result: 'Error', traceback: expect.stringMatching(/^libvirt\.libvirtError: .*domain is not running\n$/) });
    const list = await get(`/servers/${SERVERS.batch1}/os-instance-actions`);
    expect(list.body.instanceActions.map((a: { action: string; message: string | null }) => [a.action, a.message])).toEqual([
      ['pause', 'Error'],
      ['create', null],
    ]);
  });

  it('404s: an unknown request id, an unknown server, another project\'s view of nothing', async () => {
    const noAction = await get(`/servers/${SERVERS.web1}/os-instance-actions/req-nosuch`);
    expect(noAction).toEqual({ status: 404, body: { itemNotFound: { code: 404, message: 'Action req-nosuch not found' } } });
    const noServer = await get('/servers/nosuch/os-instance-actions');
    expect(noServer).toEqual({ status: 404, body: { itemNotFound: { code: 404, message: 'Instance nosuch could not be found.' } } });
  });

  it('a deleted server: its actions from 2.21 on (read_deleted), a 404 before', async () => {
    const del = await w.nova('DELETE', `/servers/${SERVERS.web1}`);
    expect(del.status).toBe(204);
    await w.cloud.drain();
    expect(w.state().nova.instances.find((i) => i.uuid === SERVERS.web1)?.deleted).toBe(true);
    const now = await get(`/servers/${SERVERS.web1}/os-instance-actions`, ADMIN, '2.21');
    expect(now.status).toBe(200);
    expect(now.body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['delete', 'create']);
    const shown = await get(`/servers/${SERVERS.web1}/os-instance-actions/${del.headers['x-compute-request-id']}`, ADMIN, '2.21');
    expect(shown.body.instanceAction.events.map((e: { event: string; result: string }) => [e.event, e.result])).toEqual([['compute_terminate_instance', 'Success']]);
    const before = await get(`/servers/${SERVERS.web1}/os-instance-actions`, ADMIN, '2.20');
    expect(before.status).toBe(404);
  });

  it('Mitaka records no action for a swap (Queens added swap_volume): the list is as it was', async () => {
    const before = await get(`/servers/${SERVERS.web1}/os-instance-actions`);
    const swap = await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData);
    expect(swap.status).toBe(202);
    await w.cloud.drain();
    // the swap happened (the BDM names the new volume) and left no action behind
    expect(w.state().nova.bdms.find((b) => b.instanceUuid === SERVERS.web1 && b.deviceName === '/dev/vdb')?.volumeId).toBe(VOLS.newWebData);
    const after = await get(`/servers/${SERVERS.web1}/os-instance-actions`);
    expect(after.body).toEqual(before.body);
    expect(after.body.instanceActions).toHaveLength(1);
  });

  it('attach and detach record none either (Queens added attach_volume / detach_volume)', async () => {
    const att = await w.nova('POST', `/servers/${SERVERS.web1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.spare } });
    expect(att.status).toBe(200);
    await w.cloud.drain();
    const det = await w.nova('DELETE', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.spare}`);
    expect(det.status).toBe(202);
    await w.cloud.drain();
    const { body } = await get(`/servers/${SERVERS.web1}/os-instance-actions`);
    expect(body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['create']);
  });
});
