// The owner's store (nova-sim serve): reads from a deep-frozen snapshot in memory, updates
// on a copy that replaces the snapshot only once the save has landed, a change made behind
// the owner's back picked up under the lock; and no GET handler of the services changes
// what it reads (the frozen snapshot would make it throw, answered as a 500).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSimulatedCloud } from '../../../src/novasim/cloud.js';
import { simulatorHooks } from '../../../src/novasim/cloud.js';
import { initWorld } from '../../../src/novasim/world.js';
import { OwnedStateStore } from '../../../src/state/owned-store.js';
import { StateStore } from '../../../src/state/store.js';

const WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const PROJECT_DEMO = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';

let dir: string;
let statePath: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-owned-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('OwnedStateStore', () => {
  it('is not frozen unless asked (V8 reads frozen arrays slowly)', () => {
    const s = new OwnedStateStore(statePath, { freeze: false }).read();
    expect(Object.isFrozen(s.nova.instances)).toBe(false);
  });

  it('hands out one deep-frozen snapshot: changing it throws', () => {
    const store = new OwnedStateStore(statePath, { freeze: true });
    const s = store.read();
    expect(store.read()).toBe(s);
    expect(Object.isFrozen(s.nova.instances[0].addresses)).toBe(true);
    expect(() => {
      (s.nova.instances[0] as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(() => s.cinder.volumes.push(s.cinder.volumes[0])).toThrow(TypeError);
  });

  it('an update works on a copy; readers see the old state until the save has landed, then the new one', async () => {
    const store = new OwnedStateStore(statePath, { freeze: true });
    const before = store.read();
    let seenDuring: string | null = null;
    await store.update((s) => {
      s.nova.instances[0].name = 'renamed';
      seenDuring = store.read().nova.instances[0].name;
    });
    expect(seenDuring).toBe(before.nova.instances[0].name);
    expect(before.nova.instances[0].name).not.toBe('renamed');
    expect(store.read().nova.instances[0].name).toBe('renamed');
    expect(Object.isFrozen(store.read().nova.instances[0])).toBe(true);
    // and the disk says the same
    expect(new StateStore(statePath).read().nova.instances[0].name).toBe('renamed');
  });

  it('an update that throws changes nothing, in memory or on disk', async () => {
    const store = new OwnedStateStore(statePath, { freeze: true });
    const before = store.read();
    await expect(
      store.update((s) => {
        s.nova.instances[0].name = 'half';
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(store.read()).toBe(before);
    expect(new StateStore(statePath).read().nova.instances[0].name).toBe(before.nova.instances[0].name);
  });

  it('a change written behind its back is picked up by the next update, not overwritten', async () => {
    const store = new OwnedStateStore(statePath, { freeze: true });
    store.read();
    await new StateStore(statePath).update((s) => {
      s.nova.instances[1].name = 'outside';
    });
    await store.update((s) => {
      s.nova.instances[0].name = 'inside';
    });
    const disk = new StateStore(statePath).read();
    expect([disk.nova.instances[0].name, disk.nova.instances[1].name]).toEqual(['inside', 'outside']);
  });
});

describe('the GET handlers on a frozen snapshot', () => {
  it('answer every read route without changing what they read', async () => {
    const store = new OwnedStateStore(statePath, { beforeSave: simulatorHooks.beforeSave, freeze: true });
    const cloud = await openSimulatedCloud({ statePath, store });
    try {
      const snapshot = store.read();
      const text = JSON.stringify(snapshot);
      const nova = [
        '/v2.1/servers',
        '/v2.1/servers/detail',
        `/v2.1/servers/${WEB_1}`,
        `/v2.1/servers/${WEB_1}/os-volume_attachments`,
        `/v2.1/servers/${WEB_1}/os-volume_attachments/${WEB_DATA}`,
        `/v2.1/servers/${WEB_1}/os-instance-actions`,
        '/v2.1/flavors',
        '/v2.1/flavors/detail',
        '/v2.1/flavors/1',
        '/v2.1/flavors/1/os-extra_specs',
        '/v2.1/images',
        '/v2.1/images/detail',
        '/v2.1/os-availability-zone',
        '/v2.1/os-availability-zone/detail',
        '/v2.1/os-services',
        '/v2.1/os-hypervisors',
        '/v2.1/os-hypervisors/detail',
        '/v2.1/os-hypervisors/1',
        '/v2.1/os-hypervisors/devstack/search',
        '/v2.1/os-hypervisors/devstack/servers',
        '/v2.1/os-hosts',
        '/v2.1/extensions',
        '/v2.1/limits',
        '/v2.1/os-volumes',
        '/v2.1/os-volumes/detail',
        `/v2.1/os-volumes/${WEB_DATA}`,
      ];
      const cinder = ['volumes', 'volumes/detail', `volumes/${WEB_DATA}`, 'types'].map((p) => `/v2/${PROJECT_DEMO}/${p}`);
      const urls = [...nova.map((p) => `${cloud.endpoints.compute.replace(/\/v2\.1$/, '')}${p}`), ...cinder.map((p) => `${cloud.endpoints.volumev2.replace(/\/v2$/, '')}${p}`)];
      for (const url of urls) {
        for (const version of ['2.1', '2.25']) {
          const r = await cloud.transport.request({ method: 'GET', url, headers: { 'X-Auth-Token': 'admin:demo', 'X-OpenStack-Nova-API-Version': version } });
          expect(r.status, `${url} ${r.body}`).toBeLessThan(300);
        }
      }
      // the same object, unchanged
      expect(store.read()).toBe(snapshot);
      expect(JSON.stringify(store.read())).toBe(text);
    } finally {
      await cloud.close();
    }
  });
});

describe('the whole cloud on one frozen snapshot (nova-compute and libvirt included)', () => {
  it('boots, attaches, detaches, swaps, acts and deletes without changing a read', async () => {
    const store = new OwnedStateStore(statePath, { beforeSave: simulatorHooks.beforeSave, freeze: true });
    const cloud = await openSimulatedCloud({ statePath, store });
    const errors: string[] = [];
    cloud.on((e) => {
      if (e.type === 'compute-error') errors.push(`${e.method}: ${e.errorClass}: ${e.message}`);
    });
    const origin = cloud.endpoints.compute;
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await cloud.transport.request({
        method,
        url: `${origin}${path}`,
        headers: { 'X-Auth-Token': 'admin:demo', 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      await cloud.drain();
      return r;
    };
    const SPARE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';
    const NEW_WEB_DATA = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';
    try {
      expect((await call('POST', `/servers/${WEB_1}/os-volume_attachments`, { volumeAttachment: { volumeId: SPARE } })).status).toBe(200);
      expect((await call('DELETE', `/servers/${WEB_1}/os-volume_attachments/${SPARE}`)).status).toBe(202);
      expect((await call('PUT', `/servers/${WEB_1}/os-volume_attachments/${WEB_DATA}`, { volumeAttachment: { volumeId: NEW_WEB_DATA } })).status).toBe(202);
      for (const action of [{ lock: null }, { unlock: null }, { pause: null }, { unpause: null }, { suspend: null }, { resume: null }, { 'os-stop': null }, { 'os-start': null }, { reboot: { type: 'HARD' } }]) {
        expect((await call('POST', `/servers/${WEB_1}/action`, action)).status, JSON.stringify(action)).toBe(202);
      }
      const boot = await call('POST', '/servers', { server: { name: 'frozen-1', flavorRef: '1', imageRef: store.read().images[0].id } });
      expect(boot.status).toBe(202);
      const id = (JSON.parse(boot.body) as { server: { id: string } }).server.id;
      expect((await call('DELETE', `/servers/${id}`)).status).toBe(204);
      expect(errors).toEqual([]);
      const s = store.read();
      expect(Object.isFrozen(s)).toBe(true);
      expect(s.nova.bdms.filter((b) => b.instanceUuid === WEB_1 && b.volumeId).map((b) => b.volumeId)).toEqual([NEW_WEB_DATA]);
    } finally {
      await cloud.close();
    }
  });
});
