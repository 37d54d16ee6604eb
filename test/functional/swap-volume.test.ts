// The whole stack, in process, from the default fixture: nova-api → compute API → RPC
// cast → compute manager → libvirt driver → libvirt → QEMU drive-mirror → pivot.
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, DEMO, SERVERS, VOLS, allZero, digest, domainOf, openWorld, sameBytes, volume, type World } from '../support/world.js';

let w: World;

beforeEach(async () => {
  w = await openWorld();
});
afterEach(async () => {
  await w.close();
});

function bdm(s: ReturnType<World['state']>, server: string, device = '/dev/vdb') {
  return s.nova.bdms.find((b) => b.instanceUuid === server && b.deviceName === device)!;
}

describe('a successful swap (admin of the demo project)', () => {
  it('answers 202 with an empty body before nova-compute starts, then swaps everything', async () => {
    const before = digest(w.imagePath(VOLS.webData));
    const res = await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData);
    expect(res.status).toBe(202);
    expect(res.body).toBeNull();
    // the cast has not been handled yet: the API answered first
    expect(w.events.some((e) => e.type === 'compute-start')).toBe(false);
    const { handled } = await w.cloud.drain();
    expect(handled).toEqual([expect.objectContaining({ type: 'compute-done', method: 'swap_volume', instance: SERVERS.web1 })]);

    const s = w.state();
    const oldV = volume(s, VOLS.webData);
    const newV = volume(s, VOLS.newWebData);
    expect([oldV.status, oldV.attachStatus, oldV.attachments.length]).toEqual(['available', 'detached', 0]);
    expect([newV.status, newV.attachStatus]).toEqual(['in-use', 'attached']);
    expect(newV.attachments[0]).toMatchObject({ instanceUuid: SERVERS.web1, mountpoint: '/dev/vdb', attachMode: 'rw' });

    const b = bdm(s, SERVERS.web1);
    expect(b.volumeId).toBe(VOLS.newWebData);
    expect(b.deleteOnTermination).toBe(false);
    const cinfo = JSON.parse(b.connectionInfo!);
    // Mitaka: the new connection keeps the old volume's serial
    expect(cinfo.serial).toBe(VOLS.webData);
    expect(cinfo.data.device_path).toBe(w.imagePath(VOLS.newWebData));

    const dom = domainOf(s, SERVERS.web1)!;
    expect(dom.state).toBe('running');
    expect(dom.def.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.newWebData));
    // the finally branch defined the XML saved before the swap: it still names the old disk
    expect(dom.persistentDef!.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.webData));
    expect(dom.mirrors).toEqual({});

    // byte for byte (the old image was never written), and still sparse
    expect(sameBytes(w.imagePath(VOLS.webData), w.imagePath(VOLS.newWebData))).toBe(true);
    expect(digest(w.imagePath(VOLS.webData))).toBe(before);
    expect(statSync(w.imagePath(VOLS.newWebData)).blocks).toBeLessThanOrEqual(statSync(w.imagePath(VOLS.webData)).blocks + 256);

    const phases = w.events.filter((e) => e.type === 'job').map((e) => (e as { phase: string }).phase);
    expect(phases.filter((p) => p !== 'copying')).toEqual(['ready', 'pivot', 'done']);
    const done = w.events.find((e) => e.type === 'job' && e.phase === 'done') as { bytesCopied: number };
    expect(done.bytesCopied).toBeGreaterThanOrEqual(7 * 1024 * 1024);
    expect(done.bytesCopied).toBeLessThan(16 * 1024 * 1024);
  });

  it('shows the swap through the API: os-volume_attachments, the server and Cinder', async () => {
    await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData);
    await w.cloud.drain();
    const atts = await w.nova('GET', `/servers/${SERVERS.web1}/os-volume_attachments`);
    expect(atts.body.volumeAttachments).toEqual([{ id: VOLS.newWebData, serverId: SERVERS.web1, volumeId: VOLS.newWebData, device: '/dev/vdb' }]);
    const srv = await w.nova('GET', `/servers/${SERVERS.web1}`);
    expect(srv.body.server['os-extended-volumes:volumes_attached']).toEqual([{ id: VOLS.newWebData, delete_on_termination: false }]);
    const vols = await w.cinder('GET', '/volumes/detail');
    const byId = Object.fromEntries(vols.body.volumes.map((v: { id: string; status: string }) => [v.id, v.status]));
    expect([byId[VOLS.webData], byId[VOLS.newWebData]]).toEqual(['available', 'in-use']);
  });

  it('grows the disk when the new volume is bigger (resize_to, blockResize)', async () => {
    expect((await w.swap(SERVERS.web1, VOLS.webData, VOLS.bigData)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0].type).toBe('compute-done');
    const s = w.state();
    expect(bdm(s, SERVERS.web1).volumeSize).toBe(2);
    expect(statSync(w.imagePath(VOLS.bigData)).size).toBe(2 * 1024 ** 3);
    expect(sameBytes(w.imagePath(VOLS.webData), w.imagePath(VOLS.bigData), 1024 ** 3)).toBe(true);
    expect(allZero(w.imagePath(VOLS.bigData), 1024 ** 3)).toBe(true);
  });

  it('swaps a paused server and leaves it paused', async () => {
    expect((await w.swap(SERVERS.worker1, VOLS.workerData, VOLS.spare)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0].type).toBe('compute-done');
    const dom = domainOf(w.state(), SERVERS.worker1)!;
    expect(dom.state).toBe('paused');
    expect(dom.def.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.spare));
    expect(sameBytes(w.imagePath(VOLS.spare), w.imagePath(VOLS.workerData))).toBe(true);
  });

  it('swaps on a transient domain without undefining, and the finally branch makes it persistent', async () => {
    expect(domainOf(w.state(), SERVERS.cache1)!.persistentDef).toBeNull();
    await w.swap(SERVERS.cache1, VOLS.cacheData, VOLS.spare);
    const { handled } = await w.cloud.drain();
    expect(handled[0].type).toBe('compute-done');
    const dom = domainOf(w.state(), SERVERS.cache1)!;
    expect(dom.persistentDef).not.toBeNull();
    expect(dom.def.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.spare));
  });
});

describe('Mitaka pitfalls reproduced', () => {
  it('a member (demo) gets 202, the data is copied, then Cinder refuses migrate_volume_completion and the volumes stay detaching/attaching', async () => {
    expect((await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData, DEMO)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({
      type: 'compute-error',
      errorClass: 'Forbidden',
      message: expect.stringContaining("Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume_completion to be performed. (HTTP 403)"),
    });
    const s = w.state();
    // the exception in the finally branch skipped the BDM update; nothing rolled back
    expect(volume(s, VOLS.webData).status).toBe('detaching');
    expect(volume(s, VOLS.newWebData).status).toBe('attaching');
    expect(bdm(s, SERVERS.web1).volumeId).toBe(VOLS.webData);
    expect(domainOf(s, SERVERS.web1)!.def.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.newWebData));
  });

  it('a stopped server: 202, then libvirt has no domain after the undefine; the except branch rolls back and finally defines the XML again', async () => {
    expect((await w.swap(SERVERS.batch1, VOLS.batchData, VOLS.newWebData)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({
      type: 'compute-error',
      errorClass: 'libvirtError',
      message: `Domain not found: no domain with matching uuid '${SERVERS.batch1}' (instance-00000003)`,
    });
    const s = w.state();
    expect(volume(s, VOLS.batchData).status).toBe('in-use');
    expect(volume(s, VOLS.newWebData).status).toBe('available');
    expect(bdm(s, SERVERS.batch1).volumeId).toBe(VOLS.batchData);
    const dom = domainOf(s, SERVERS.batch1)!;
    expect(dom.state).toBe('shutoff');
    expect(dom.persistentDef!.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.batchData));
    expect(allZero(w.imagePath(VOLS.newWebData))).toBe(true);
  });

  it('a suspended server loses its managed-save image to the undefine', async () => {
    expect(domainOf(w.state(), SERVERS.archive1)!.managedSave).toBe(true);
    await w.swap(SERVERS.archive1, VOLS.archiveData, VOLS.spare);
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({ type: 'compute-error', errorClass: 'libvirtError' });
    const s = w.state();
    expect(domainOf(s, SERVERS.archive1)!.managedSave).toBe(false);
    expect(volume(s, VOLS.archiveData).status).toBe('in-use');
    expect(volume(s, VOLS.spare).status).toBe('available');
  });

  it('a second swap of the same disk fails: the serial still names the first volume', async () => {
    await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData);
    await w.cloud.drain();
    expect((await w.swap(SERVERS.web1, VOLS.newWebData, VOLS.spare)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[1]).toMatchObject({
      type: 'compute-error',
      errorClass: 'VolumeBDMNotFound',
      message: `No volume Block Device Mapping with id ${VOLS.webData}.`,
    });
    const s = w.state();
    expect(volume(s, VOLS.newWebData).status).toBe('in-use');
    expect(volume(s, VOLS.spare).status).toBe('available');
    expect(domainOf(s, SERVERS.web1)!.def.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.newWebData));
  });

  it('a swap while another is in flight: the old volume is detaching, begin_detaching gets a Cinder 400, a 400 InvalidVolume (Pike\'s fix; Mitaka answered 500)', async () => {
    await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData, DEMO);
    await w.cloud.drain(); // leaves web-data 'detaching'
    const res = await w.swap(SERVERS.web1, VOLS.webData, VOLS.spare);
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toMatch(
      /^Invalid volume: Invalid input received: Invalid volume: Unable to detach volume\. Volume status must be 'in-use' and attach_status must be 'attached' to detach\. \(HTTP 400\) \(Request-ID: req-[0-9a-f-]{36}\)$/,
    );
  });
});

describe('rejections by nova-api (nothing changes)', () => {
  const cases: [string, () => Promise<{ status: number; body: any }>, number, string, string][] = [];
  const add = (name: string, fn: () => Promise<{ status: number; body: any }>, code: number, fault: string, msg: string) => cases.push([name, fn, code, fault, msg]);
  const url = (srv: string, vol: string) => `/servers/${srv}/os-volume_attachments/${vol}`;
  add('no volumeAttachment', () => w.nova('PUT', url(SERVERS.web1, VOLS.webData), {}), 400, 'badRequest', "'volumeAttachment' is a required property");
  add('volumeId not a uuid', () => w.nova('PUT', url(SERVERS.web1, VOLS.webData), { volumeAttachment: { volumeId: 'abc' } }), 400, 'badRequest', "Invalid input for field/attribute volumeId. Value: abc. 'abc' is not a 'uuid'");
  add('empty body', () => w.nova('PUT', url(SERVERS.web1, VOLS.webData)), 400, 'badRequest', "None is not of type 'object'");
  add('invalid JSON', () => w.nova('PUT', url(SERVERS.web1, VOLS.webData), '{"volumeAttachment":'), 400, 'badRequest', 'Malformed request body');
  add('extra property', () => w.nova('PUT', url(SERVERS.web1, VOLS.webData), { volumeAttachment: { volumeId: VOLS.spare, foo: 1 } }), 400, 'badRequest', "Invalid input for field/attribute volumeAttachment. Value: {'volumeId': '" + VOLS.spare + "', 'foo': 1}. Additional properties are not allowed ('foo' was unexpected)");
  add('unknown old volume', () => w.swap(SERVERS.web1, '00000000-0000-4000-8000-000000000000', VOLS.spare), 404, 'itemNotFound', 'Volume 00000000-0000-4000-8000-000000000000 could not be found.');
  add('unknown new volume (a 400: it is in the body)', () => w.swap(SERVERS.web1, VOLS.webData, '00000000-0000-4000-8000-000000000000'), 400, 'badRequest', 'Volume 00000000-0000-4000-8000-000000000000 could not be found.');
  add('unknown server', () => w.swap('00000000-0000-4000-8000-00000000abcd', VOLS.webData, VOLS.spare), 404, 'itemNotFound', 'Instance 00000000-0000-4000-8000-00000000abcd could not be found.');
  add('old volume attached to another server', () => w.swap(SERVERS.web1, VOLS.dbData, VOLS.spare), 404, 'itemNotFound', 'The volume was either invalid or not attached to the instance.');
  add('old volume not attached at all', () => w.swap(SERVERS.web1, VOLS.small, VOLS.spare), 404, 'itemNotFound', 'The volume was either invalid or not attached to the instance.');
  add('new volume attached', () => w.swap(SERVERS.web1, VOLS.webData, VOLS.cacheData), 400, 'badRequest', 'Invalid volume: New volume must be detached in order to swap.');
  add('new volume smaller', () => w.swap(SERVERS.db1, VOLS.dbData, VOLS.spare), 400, 'badRequest', 'Invalid volume: New volume must be the same size or larger.');
  add('locked server, member', () => w.swap(SERVERS.db1, VOLS.dbData, VOLS.bigData, DEMO), 409, 'conflictingRequest', `Instance ${SERVERS.db1} is locked`);

  it.each(cases)('%s', async (_name, fn, code, fault, msg) => {
    const before = JSON.stringify(w.state());
    const res = await fn();
    expect(res.status).toBe(code);
    expect(res.body).toEqual({ [fault]: { code, message: msg } });
    const { handled } = await w.cloud.drain();
    expect(handled).toEqual([]);
    expect(JSON.stringify(w.state())).toBe(before);
  });

  it('a server in the error vm_state is a 409 naming the state', async () => {
    expect((await w.nova('POST', `/servers/${SERVERS.web1}/action`, { 'os-resetState': { state: 'error' } })).status).toBe(202);
    const res = await w.swap(SERVERS.web1, VOLS.webData, VOLS.spare);
    expect(res).toMatchObject({ status: 409, body: { conflictingRequest: { message: `Cannot 'swap_volume' instance ${SERVERS.web1} while it is in vm_state error` } } });
  });

  it('a new volume that is not available: check_attach says so', async () => {
    await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData, DEMO);
    await w.cloud.drain(); // new-web-data stays 'attaching'
    const res = await w.swap(SERVERS.cache1, VOLS.cacheData, VOLS.newWebData);
    expect(res).toMatchObject({
      status: 400,
      body: { badRequest: { message: `Invalid volume: volume '${VOLS.newWebData}' status must be 'available'. Currently in 'attaching'` } },
    });
  });

  it('an admin may swap on a locked server', async () => {
    expect((await w.swap(SERVERS.db1, VOLS.dbData, VOLS.bigData)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0].type).toBe('compute-done');
  });
});

describe('Ctrl-C in the host process (cloud.interrupt)', () => {
  it('cancels the copy; the driver then pivots a job that is gone, and the except branch rolls back', async () => {
    w.cloud.on((e) => {
      if (e.type === 'compute-start') w.cloud.interrupt();
    });
    expect((await w.swap(SERVERS.web1, VOLS.webData, VOLS.newWebData)).status).toBe(202);
    const { handled } = await w.cloud.drain();
    expect(handled[0]).toMatchObject({
      type: 'compute-error',
      errorClass: 'libvirtError',
      message: "Requested operation is not valid: pivot of disk 'vdb' requires an active copy job",
    });
    expect(w.events.some((e) => e.type === 'job' && e.phase === 'cancelled')).toBe(true);
    const s = w.state();
    expect(volume(s, VOLS.webData).status).toBe('in-use');
    expect(volume(s, VOLS.newWebData).status).toBe('available');
    expect(domainOf(s, SERVERS.web1)!.def.disks.find((d) => d.targetDev === 'vdb')!.source).toBe(w.imagePath(VOLS.webData));
    expect(bdm(s, SERVERS.web1).volumeId).toBe(VOLS.webData);
  });
});
