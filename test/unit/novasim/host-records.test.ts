// src/novasim/host-records.ts and src/novasim/cloud.ts: the simulator's own records of an
// instance (guest loads, blkdebug rules) are handed to the cloud's layers and dropped by the
// simulator, never by Nova's driver: a deleted instance's records go in the save that
// deletes it, a live instance's stay; a QEMU starts with the rules of its own domain only,
// as the state holds them at its start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedCloud } from '../../../src/cloud/embedded.js';
import { blkdebugRulesFrom, dropRecordsOfDeletedInstances } from '../../../src/novasim/host-records.js';
import { simulatorHooks } from '../../../src/novasim/cloud.js';
import { initWorld } from '../../../src/novasim/world.js';
import { StateFileError, StateStore } from '../../../src/state/store.js';
import type { BlkdebugRule, Domain, GuestLoad, State } from '../../../src/state/types.js';

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const CACHE1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c05';

let dir: string;
let statePath: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-host-records-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rule = (server: string, disk = 'vdb'): BlkdebugRule => ({ server, disk, action: 'error', op: 'read', errno: 'EIO', count: null });
const load = (server: string): GuestLoad => ({ server, disk: 'vdb', active: false, runnerPid: null, segments: [], updatedAt: '2016-04-07T00:00:00.000000' });

function withRecords(s: State): void {
  s.blkdebug = [rule(WEB1), rule(CACHE1)];
  s.guestLoads = [load(WEB1), load(CACHE1)];
}

describe('dropRecordsOfDeletedInstances', () => {
  it("drops a deleted instance's guest loads and blkdebug rules, not the others'", () => {
    const s = new StateStore(statePath).read();
    withRecords(s);
    s.nova.instances.find((i) => i.uuid === WEB1)!.deleted = true;
    dropRecordsOfDeletedInstances(s);
    expect(s.blkdebug!.map((r) => r.server)).toEqual([CACHE1]);
    expect(s.guestLoads!.map((l) => l.server)).toEqual([CACHE1]);
  });

  it('changes nothing while no instance is deleted', () => {
    const s = new StateStore(statePath).read();
    withRecords(s);
    const before = structuredClone(s);
    dropRecordsOfDeletedInstances(s);
    expect(s).toEqual(before);
  });

  it("as the cloud's beforeSave, the records go in the very save that marks the instance deleted", async () => {
    await new StateStore(statePath).update(withRecords);
    const store = new StateStore(statePath, { beforeSave: simulatorHooks.beforeSave });
    await store.update((s) => {
      s.nova.instances.find((i) => i.uuid === CACHE1)!.deleted = true;
    });
    const saved = new StateStore(statePath).read();
    expect(saved.blkdebug!.map((r) => r.server)).toEqual([WEB1]);
    expect(saved.guestLoads!.map((l) => l.server)).toEqual([WEB1]);
  });
});

describe('blkdebugRulesFrom', () => {
  it("gives a domain its own rules, as the state holds them when its QEMU starts", async () => {
    const store = new StateStore(statePath);
    const rulesOf = blkdebugRulesFrom(store);
    const dom = store.read().libvirt.domains.find((d) => d.uuid === CACHE1) as Domain;
    expect(rulesOf(dom)).toEqual([]);
    await store.update(withRecords);
    expect(rulesOf(dom)).toEqual([rule(CACHE1)]);
  });
});

describe('the cloud without the simulator', () => {
  it('does not make a world: a missing state file is refused', async () => {
    const missing = join(dir, 'none.json');
    await expect(openEmbeddedCloud({ statePath: missing })).rejects.toBeInstanceOf(StateFileError);
  });

  it("with the simulator's hooks a missing state file becomes the default world", async () => {
    const fresh = join(dir, 'fresh.json');
    const notices: string[] = [];
    const cloud = await openEmbeddedCloud({ statePath: fresh, onNotice: (l) => notices.push(l), simulator: simulatorHooks });
    await cloud.close();
    expect(new StateStore(fresh).read().fixture).toBe('default');
    expect(notices.length).toBe(1);
  });
});
