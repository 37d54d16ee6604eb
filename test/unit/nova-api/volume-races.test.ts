// Requests that arrive while another is in flight on the same volume (issue 8), through the
// whole stack in process: the second request finds Cinder's state machine moved on, Cinder
// refuses it with a 400, and nova-api answers a 400 with Nova's wording; the first request
// completes untouched. Before the fix the loser of two swaps of one disk got a 500
// (InvalidInput, unexpected), and a rejected attach deleted the existing attachment.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, SERVERS, VOLS, openWorld, volume, type World } from '../../support/world.js';

let w: World;
beforeEach(async () => {
  w = await openWorld();
});
afterEach(async () => {
  await w.close();
});

const DETACH_REFUSED = "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.";

/** BDMs, Cinder's attachments and the domain's disk agree for a server's data disk */
function agreement(server: string, device = '/dev/vdb') {
  const s = w.state();
  const bdm = s.nova.bdms.filter((b) => b.instanceUuid === server && b.deviceName === device);
  const attached = s.cinder.volumes.filter((v) => v.attachments.some((a) => a.instanceUuid === server && a.mountpoint === device));
  return { bdms: bdm.map((b) => b.volumeId), cinder: attached.map((v) => [v.id, v.status]) };
}

describe('two swaps of one disk', () => {
  it('the second, sent while the first is in flight, is a 400 InvalidVolume; the first completes', async () => {
    const first = await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData);
    expect(first.status).toBe(202);
    // the first swap's cast is not handled yet: web-data is 'detaching'
    expect(volume(w.state(), VOLS.webData).status).toBe('detaching');
    const second = await w.swap(SERVERS.web1, VOLS.webData, VOLS.spare);
    expect(second.status).toBe(400);
    const msg: string = second.body.badRequest.message;
    // Pike's wording: InvalidVolume around the InvalidInput around Cinder's fault
    expect(msg).toMatch(new RegExp(`^Invalid volume: Invalid input received: ${DETACH_REFUSED.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(HTTP 400\\) \\(Request-ID: req-[0-9a-f-]{36}\\)$`));
    // the loser touched nothing: the spare was never reserved
    expect(volume(w.state(), VOLS.spare).status).toBe('available');

    await w.cloud.drain();
    expect(agreement(SERVERS.web1)).toEqual({ bdms: [VOLS.newWebData], cinder: [[VOLS.newWebData, 'in-use']] });
    expect(volume(w.state(), VOLS.webData)).toMatchObject({ status: 'available', attachStatus: 'detached' });
    expect(volume(w.state(), VOLS.spare).status).toBe('available');
  });

  it('both at once (one event loop, interleaved): exactly one 202 and one 400, never a 500', async () => {
    const [a, b] = await Promise.all([w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData), w.swap(SERVERS.web1, VOLS.webData, VOLS.spare)]);
    expect([a.status, b.status].sort()).toEqual([202, 400]);
    await w.cloud.drain();
    const winner = a.status === 202 ? VOLS.newWebData : VOLS.spare;
    const loser = a.status === 202 ? VOLS.spare : VOLS.newWebData;
    expect(agreement(SERVERS.web1)).toEqual({ bdms: [winner], cinder: [[winner, 'in-use']] });
    expect(volume(w.state(), loser).status).toBe('available');
  });
});

describe('a detach while a swap of the same disk is in flight', () => {
  it('is a 400 with the InvalidInput text (Mitaka catches it: bug 1515637), and the swap completes', async () => {
    expect((await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData)).status).toBe(202);
    const r = await w.nova('DELETE', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.webData}`);
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toMatch(/^Invalid input received: Invalid volume: Unable to detach volume\. .* \(HTTP 400\) \(Request-ID: req-[0-9a-f-]{36}\)$/);
    await w.cloud.drain();
    expect(agreement(SERVERS.web1)).toEqual({ bdms: [VOLS.newWebData], cinder: [[VOLS.newWebData, 'in-use']] });
  });
});

describe('attaching a volume that is already attached', () => {
  it('to the same server: a 400, and the attachment is still listed, swappable and detachable', async () => {
    const before = w.state().nova.bdms;
    const r = await w.nova('POST', `/servers/${SERVERS.web1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.webData } });
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe(`Invalid volume: volume '${VOLS.webData}' status must be 'available'. Currently in 'in-use'`);
    expect(w.state().nova.bdms).toEqual(before);
    const list = await w.nova('GET', `/servers/${SERVERS.web1}/os-volume_attachments`);
    expect(list.body.volumeAttachments).toEqual([{ id: VOLS.webData, serverId: SERVERS.web1, volumeId: VOLS.webData, device: '/dev/vdb' }]);

    expect((await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData)).status).toBe(202);
    await w.cloud.drain();
    expect(agreement(SERVERS.web1)).toEqual({ bdms: [VOLS.newWebData], cinder: [[VOLS.newWebData, 'in-use']] });
    expect((await w.nova('DELETE', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.newWebData}`)).status).toBe(202);
    await w.cloud.drain();
    expect(agreement(SERVERS.web1)).toEqual({ bdms: [], cinder: [] });
    expect(volume(w.state(), VOLS.newWebData)).toMatchObject({ status: 'available', attachStatus: 'detached' });
  });

  it('to another server: a 400, and both servers keep their disks', async () => {
    const before = w.state().nova.bdms;
    const r = await w.nova('POST', `/servers/${SERVERS.db1}/os-volume_attachments`, { volumeAttachment: { volumeId: VOLS.webData } }, ADMIN);
    expect(r.status).toBe(400);
    expect(w.state().nova.bdms).toEqual(before);
  });
});
