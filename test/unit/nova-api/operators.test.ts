// src/nova/api/: the operators' resources (flavors.py, images.py, availability_zone.py,
// services.py, hypervisors.py, hosts.py, extension_info.py, versions.py) and servers.py's
// reboot action, on a real embedded cloud over the default world: figures come from the
// state, refusals carry Mitaka's policy names and messages.
import { totalmem, cpus } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNovaApi } from '../../../src/nova/api/app.js';
import type { API } from '../../../src/nova/compute/api.js';
import { RESERVED_HOST_MEMORY_MB } from '../../../src/nova/compute/resource_tracker.js';
import { StateStore } from '../../../src/state/store.js';
import type { State } from '../../../src/state/types.js';
import { ADMIN, DEMO, SERVERS, domainOf, openWorld, type World } from '../../support/world.js';

let w: World;
beforeEach(async () => {
  w = await openWorld();
});
afterEach(async () => {
  await w.close();
});

/** what the resource tracker adds up for the state's host */
function usage(s: State) {
  const insts = s.nova.instances.filter((i) => !i.deleted && i.host === s.host);
  const flavor = (id: string) => s.flavors.find((f) => f.id === id)!;
  return {
    running_vms: insts.length,
    vcpus_used: insts.reduce((n, i) => n + flavor(i.flavorId).vcpus, 0),
    memory_mb_used: RESERVED_HOST_MEMORY_MB + insts.reduce((n, i) => n + flavor(i.flavorId).ram, 0),
    local_gb_used: insts.reduce((n, i) => n + flavor(i.flavorId).disk + flavor(i.flavorId).ephemeral, 0),
  };
}

describe('flavors: FlavorsController with limit, marker, is_public; os-extra_specs', () => {
  it('detail lists every flavor of the state, sorted by flavorid, with the extension attributes', async () => {
    const r = await w.nova('GET', '/flavors/detail', undefined, DEMO);
    expect(r.status).toBe(200);
    expect(r.body.flavors.map((f: { id: string }) => f.id)).toEqual(w.state().flavors.map((f) => f.id).sort());
    expect(r.body.flavors[1]).toMatchObject({ id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20, 'os-flavor-access:is_public': true, 'OS-FLV-EXT-DATA:ephemeral': 0 });
  });

  it('marker and limit page through the list; an unknown marker is a 400', async () => {
    const r = await w.nova('GET', '/flavors?marker=1&limit=2');
    expect(r.body.flavors.map((f: { id: string }) => f.id)).toEqual(['2', '3']);
    const bad = await w.nova('GET', '/flavors?marker=99');
    expect([bad.status, bad.body.badRequest.message]).toEqual([400, 'marker [99] not found']);
  });

  it('a negative limit is refused as utils.validate_integer words it', async () => {
    const r = await w.nova('GET', '/flavors/detail?limit=-1');
    expect([r.status, r.body.badRequest.message]).toEqual([400, 'Invalid input received: limit must be >= 0']);
    const nan = await w.nova('GET', '/flavors/detail?limit=x');
    expect(nan.body.badRequest.message).toBe('Invalid input received: limit must be an integer');
  });

  it('is_public: None is every flavor, false the private ones (none), junk a 400; a member cannot widen it', async () => {
    expect((await w.nova('GET', '/flavors?is_public=None')).body.flavors).toHaveLength(5);
    expect((await w.nova('GET', '/flavors?is_public=false')).body.flavors).toEqual([]);
    const junk = await w.nova('GET', '/flavors?is_public=maybe');
    expect([junk.status, junk.body.badRequest.message]).toEqual([400, 'Invalid is_public filter [maybe]']);
    expect((await w.nova('GET', '/flavors?is_public=false', undefined, DEMO)).body.flavors).toHaveLength(5);
  });

  it('show of an unknown flavor is a 404; extra specs of a flavor are {}', async () => {
    const r = await w.nova('GET', '/flavors/42');
    expect([r.status, r.body.itemNotFound.message]).toEqual([404, 'Flavor 42 could not be found.']);
    expect((await w.nova('GET', '/flavors/1/os-extra_specs')).body).toEqual({ extra_specs: {} });
    expect((await w.nova('GET', '/flavors/42/os-extra_specs')).status).toBe(404);
  });
});

describe('images: the image proxy', () => {
  it("detail lists the state's images with their size; limit cuts the page", async () => {
    const r = await w.nova('GET', '/images/detail', undefined, DEMO);
    expect(r.body.images.map((i: { name: string }) => i.name)).toEqual(w.state().images.map((i) => i.name));
    expect(r.body.images[0]['OS-EXT-IMG-SIZE:size']).toBe(w.state().images[0].size);
    expect((await w.nova('GET', '/images/detail?limit=-3')).status).toBe(400);
    expect((await w.nova('GET', '/images/nosuch')).body.itemNotFound.message).toBe('Image not found.');
  });
});

describe('os-availability-zone', () => {
  it('a member gets the summary without the internal zone', async () => {
    const r = await w.nova('GET', '/os-availability-zone', undefined, DEMO);
    expect(r.body).toEqual({ availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] });
  });

  it("the detail is admin only (os_compute_api:os-availability-zone:detail) and names the host's nova-compute", async () => {
    const denied = await w.nova('GET', '/os-availability-zone/detail', undefined, DEMO);
    expect([denied.status, denied.body.forbidden.message]).toEqual([403, "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed."]);
    const r = await w.nova('GET', '/os-availability-zone/detail', undefined, ADMIN);
    const nova = r.body.availabilityZoneInfo.find((z: { zoneName: string }) => z.zoneName === 'nova');
    const svc = nova.hosts[w.state().host]['nova-compute'];
    expect(svc).toMatchObject({ available: true, active: true });
    expect(svc.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(r.body.availabilityZoneInfo.map((z: { zoneName: string }) => z.zoneName)).toEqual(['internal', 'nova']);
  });
});

describe('os-services', () => {
  it("admin only: a member's request is Mitaka's 403", async () => {
    const r = await w.nova('GET', '/os-services', undefined, DEMO);
    expect([r.status, r.body.forbidden.message]).toEqual([403, "Policy doesn't allow os_compute_api:os-services to be performed."]);
  });

  it('lists nova-compute of the state host, up (its RPC consumer listens), never the API service; forced_down from 2.11', async () => {
    const r = await w.nova('GET', '/os-services');
    expect(r.body.services).toHaveLength(1);
    expect(r.body.services[0]).toMatchObject({ binary: 'nova-compute', host: w.state().host, zone: 'nova', status: 'enabled', state: 'up', disabled_reason: null, forced_down: false });
    expect((await w.nova('GET', '/os-services?binary=nova-conductor')).body.services).toEqual([]);
    expect((await w.nova('GET', `/os-services?host=${w.state().host}&binary=nova-compute`)).body.services).toHaveLength(1);
  });

  it('without a consumer on compute.<host> (no bus) nova-compute is down and has never reported', async () => {
    const store = new StateStore(w.statePath);
    const app = createNovaApi(store, {} as unknown as API);
    const res = await app({ method: 'GET', url: 'http://127.0.0.1:8774/v2.1/os-services', headers: { 'X-Auth-Token': ADMIN } });
    const svc = JSON.parse(res.body).services[0];
    expect([svc.state, svc.updated_at]).toEqual(['down', null]);
  });
});

describe('os-hypervisors', () => {
  it('a member is refused with the os_compute_api:os-hypervisors rule', async () => {
    const r = await w.nova('GET', '/os-hypervisors', undefined, DEMO);
    expect([r.status, r.body.forbidden.message]).toEqual([403, "Policy doesn't allow os_compute_api:os-hypervisors to be performed."]);
  });

  it('index: one hypervisor, the state host, up and enabled', async () => {
    const r = await w.nova('GET', '/os-hypervisors');
    expect(r.body).toEqual({ hypervisors: [{ id: 1, hypervisor_hostname: w.state().host, state: 'up', status: 'enabled' }] });
  });

  it("show: usage adds up the state's instances and flavors; capacity is this machine's", async () => {
    const r = await w.nova('GET', '/os-hypervisors/1');
    const h = r.body.hypervisor;
    expect(h).toMatchObject({ ...usage(w.state()), vcpus: cpus().length, memory_mb: Math.floor(totalmem() / 1024 ** 2), hypervisor_type: 'QEMU', current_workload: 0 });
    expect(h.free_ram_mb).toBe(h.memory_mb - h.memory_mb_used);
    expect(h.service).toEqual({ id: 2, host: w.state().host, disabled_reason: null });
    expect(JSON.parse(h.cpu_info)).toHaveProperty('arch');
  });

  it('a booted server raises the usage by its flavor; a deleted one lowers it again', async () => {
    const before = (await w.nova('GET', '/os-hypervisors/detail')).body.hypervisors[0];
    const boot = await w.nova('POST', '/servers', { server: { name: 'extra', flavorRef: '3', imageRef: w.state().images[0].id } }, DEMO);
    expect(boot.status).toBe(202);
    await w.cloud.drain();
    const after = (await w.nova('GET', '/os-hypervisors/detail')).body.hypervisors[0];
    expect([after.running_vms - before.running_vms, after.vcpus_used - before.vcpus_used, after.memory_mb_used - before.memory_mb_used, after.local_gb_used - before.local_gb_used]).toEqual([1, 2, 4096, 40]);
    await w.nova('DELETE', `/servers/${boot.body.server.id}`, undefined, DEMO);
    await w.cloud.drain();
    expect((await w.nova('GET', '/os-hypervisors/detail')).body.hypervisors[0].running_vms).toBe(before.running_vms);
  });

  it('show of an unknown id, search without a match, and servers of the host', async () => {
    expect((await w.nova('GET', '/os-hypervisors/7')).body.itemNotFound.message).toBe("Hypervisor with ID '7' could not be found.");
    expect((await w.nova('GET', '/os-hypervisors/abc')).body.itemNotFound.message).toBe("Hypervisor with ID 'abc' could not be found.");
    expect((await w.nova('GET', '/os-hypervisors/zz/search')).body.itemNotFound.message).toBe("No hypervisor matching 'zz' could be found.");
    expect((await w.nova('GET', `/os-hypervisors/${w.state().host.slice(0, 3)}/search`)).body.hypervisors).toHaveLength(1);
    const servers = (await w.nova('GET', `/os-hypervisors/${w.state().host}/servers`)).body.hypervisors[0].servers;
    expect(servers.map((s: { uuid: string }) => s.uuid).sort()).toEqual(Object.values(SERVERS).sort());
  });
});

describe('os-hosts, extensions, versions', () => {
  it('os-hosts: admin only; the compute host in zone nova; ?zone filters', async () => {
    expect((await w.nova('GET', '/os-hosts', undefined, DEMO)).body.forbidden.message).toBe("Policy doesn't allow os_compute_api:os-hosts to be performed.");
    expect((await w.nova('GET', '/os-hosts')).body).toEqual({ hosts: [{ host_name: w.state().host, service: 'compute', zone: 'nova' }] });
    expect((await w.nova('GET', '/os-hosts?zone=internal')).body).toEqual({ hosts: [] });
  });

  it('extensions: sorted by alias, renamed and suppressed as Mitaka does, for any user', async () => {
    const r = await w.nova('GET', '/extensions', undefined, DEMO);
    const aliases: string[] = r.body.extensions.map((e: { alias: string }) => e.alias);
    expect(aliases).toEqual([...aliases].sort());
    expect(aliases).toEqual(expect.arrayContaining(['os-hypervisors', 'os-services', 'OS-EXT-SRV-ATTR', 'OS-EXT-STS', 'os-volume-attachment-update']));
    expect(aliases).not.toContain('servers');
    expect(aliases).not.toContain('os-extended-server-attributes');
    expect((await w.nova('GET', '/extensions/os-hosts')).body.extension).toMatchObject({ name: 'Hosts', description: 'Admin-only host administration.' });
    expect((await w.nova('GET', '/extensions/nosuch')).status).toBe(404);
  });

  it('GET / lists v2.0 and v2.1 without a token', async () => {
    const res = await w.cloud.transport.request({ method: 'GET', url: 'http://127.0.0.1:8774/', headers: {} });
    const body = JSON.parse(res.body);
    expect(res.status).toBe(200);
    expect(body.versions.map((v: { id: string; version: string; min_version: string }) => [v.id, v.min_version, v.version])).toEqual([
      ['v2.0', '', ''],
      ['v2.1', '2.1', '2.25'],
    ]);
    expect(body.versions[1].links).toEqual([{ rel: 'self', href: 'http://127.0.0.1:8774/v2.1/' }]);
  });
});

describe('reboot: servers.py _action_reboot → compute API → RPC → manager → libvirt driver', () => {
  const reboot = (uuid: string, type: string, token = ADMIN) => w.nova('POST', `/servers/${uuid}/action`, { reboot: { type } }, token);

  it('a soft reboot shuts the domain down and starts it again: a new domain id, ACTIVE, no task', async () => {
    const oldId = domainOf(w.state(), SERVERS.web1)!.id;
    expect((await reboot(SERVERS.web1, 'soft', DEMO)).status).toBe(202);
    // the API set the task before it cast
    expect(['rebooting', 'reboot_pending', 'reboot_started', null]).toContain(w.state().nova.instances.find((i) => i.uuid === SERVERS.web1)!.taskState);
    const { handled } = await w.cloud.drain();
    expect(handled.filter((e) => e.instance === SERVERS.web1).map((e) => [e.method, e.type])).toEqual([['reboot_instance', 'compute-done']]);
    const s = w.state();
    const inst = s.nova.instances.find((i) => i.uuid === SERVERS.web1)!;
    expect([inst.vmState, inst.taskState, inst.powerState]).toEqual(['active', null, 1]);
    const dom = domainOf(s, SERVERS.web1)!;
    expect(dom.state).toBe('running');
    expect(dom.id).not.toBe(oldId);
  });

  it('a hard reboot starts a stopped server and a paused one', async () => {
    for (const uuid of [SERVERS.batch1, SERVERS.worker1]) expect((await reboot(uuid, 'HARD')).status).toBe(202);
    await w.cloud.drain();
    const s = w.state();
    for (const uuid of [SERVERS.batch1, SERVERS.worker1]) {
      const inst = s.nova.instances.find((i) => i.uuid === uuid)!;
      expect([inst.vmState, inst.taskState, inst.powerState, domainOf(s, uuid)!.state]).toEqual(['active', null, 1, 'running']);
    }
  });

  it("a transient domain vanishes on the soft reboot's shutdown (ERROR, as in Mitaka); a hard reboot defines it again from Nova's records", async () => {
    const before = domainOf(w.state(), SERVERS.cache1)!;
    expect(before.persistentDef).toBeNull();
    await reboot(SERVERS.cache1, 'SOFT');
    const soft = await w.cloud.drain();
    expect(soft.handled.find((e) => e.instance === SERVERS.cache1)).toMatchObject({ type: 'compute-error', errorClass: 'InstanceNotFound' });
    expect(domainOf(w.state(), SERVERS.cache1)).toBeUndefined();
    expect(w.state().nova.instances.find((i) => i.uuid === SERVERS.cache1)).toMatchObject({ vmState: 'error', taskState: null, powerState: 0 });
    expect((await reboot(SERVERS.cache1, 'HARD')).status).toBe(202);
    await w.cloud.drain();
    const after = domainOf(w.state(), SERVERS.cache1)!;
    expect(after.state).toBe('running');
    expect(after.persistentDef).not.toBeNull();
    // the same disks: the root disk and the volume at vdb, by the same sources
    expect(after.def.disks.map((d) => [d.targetDev, d.source])).toEqual(before.def.disks.map((d) => [d.targetDev, d.source]));
    expect(w.state().nova.instances.find((i) => i.uuid === SERVERS.cache1)).toMatchObject({ vmState: 'active', taskState: null, powerState: 1 });
  });

  it('a soft reboot of a stopped server is a 409 with the vm_state; nothing changes', async () => {
    const before = w.state().nova.instances.find((i) => i.uuid === SERVERS.batch1);
    const r = await reboot(SERVERS.batch1, 'SOFT');
    expect([r.status, r.body.conflictingRequest.message]).toEqual([409, `Cannot 'reboot' instance ${SERVERS.batch1} while it is in vm_state stopped`]);
    expect(w.state().nova.instances.find((i) => i.uuid === SERVERS.batch1)).toEqual(before);
  });

  it('a locked server is a 409 for its owner; a bad type is a 400', async () => {
    const locked = await reboot(SERVERS.db1, 'SOFT', DEMO);
    expect([locked.status, locked.body.conflictingRequest.message]).toEqual([409, `Instance ${SERVERS.db1} is locked`]);
    const bad = await reboot(SERVERS.web1, 'gentle');
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toMatch(/^Invalid input for field\/attribute type\./);
  });
});
