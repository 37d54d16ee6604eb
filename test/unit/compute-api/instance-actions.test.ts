// src/nova/compute/api.ts: _record_action_start as Mitaka's compute API calls it. An action
// for create, delete, stop, start, pause, unpause, suspend and resume, under the request's
// id, user and project, in the same save as the task_state it goes with; none for lock,
// unlock, os-resetState, attach_volume, detach_volume or swap_volume (Queens added all three).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import { API } from '../../../src/nova/compute/api.js';
import { MAX_ACTIONS_PER_INSTANCE } from '../../../src/nova/compute/instance_actions.js';
import type { ComputeAPI as ComputeRpcAPI } from '../../../src/nova/compute/rpcapi.js';
import { actionStart, actionsGet, dbTimestamp } from '../../../src/nova/db.js';
import { InstanceInvalidState } from '../../../src/nova/exception.js';
import type { CinderAPI } from '../../../src/nova/volume/cinder.js';
import { initWorld } from '../../../src/novasim/world.js';
import { StateStore } from '../../../src/state/store.js';
import type { State } from '../../../src/state/types.js';
import { caught } from '../../support/caught.js';

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01'; // active
const BATCH1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c03'; // stopped

function ctx(requestId: string): RequestContext {
  return { requestId, userId: 'admin-user', userName: 'admin', projectId: 'demo-project', projectName: 'demo', roles: ['admin'], isAdmin: true };
}

let dir: string;
let store: StateStore;
let api: API;
let rpc: Record<string, ReturnType<typeof vi.fn>>;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-actions-api-'));
  await initWorld(join(dir, 'state.json'), 'default', false);
  store = new StateStore(join(dir, 'state.json'));
  rpc = { stop_instance: vi.fn(), start_instance: vi.fn(), pause_instance: vi.fn(), unpause_instance: vi.fn(), suspend_instance: vi.fn(), resume_instance: vi.fn(), terminate_instance: vi.fn(), build_and_run_instance: vi.fn(), reserve_block_device_name: vi.fn() };
  api = new API(store, {} as CinderAPI, rpc as unknown as ComputeRpcAPI);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const actionsOf = (uuid: string) => actionsGet(store.read(), uuid);

describe('compute API: the actions Mitaka records', () => {
  it('stop records a "stop" action under the request id, user and project, newest first', async () => {
    await api.stop(ctx('req-stop'), api.get(ctx('req-get'), WEB1));
    const [latest, create] = actionsOf(WEB1);
    expect(create.action).toBe('create');
    expect(latest).toMatchObject({ action: 'stop', requestId: 'req-stop', userId: 'admin-user', projectId: 'demo-project', message: null, finishTime: null, events: [] });
    expect(latest.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$/);
    expect(rpc.stop_instance).toHaveBeenCalledOnce();
  });

  it('each of start, pause, unpause, suspend, resume and delete records its own name', async () => {
    const inst = () => api.get(ctx('r'), WEB1);
    await api.pause(ctx('req-1'), inst());
    await store.update((s) => void Object.assign(s.nova.instances.find((i) => i.uuid === WEB1)!, { vmState: 'paused', taskState: null }));
    await api.unpause(ctx('req-2'), inst());
    await store.update((s) => void Object.assign(s.nova.instances.find((i) => i.uuid === WEB1)!, { vmState: 'active', taskState: null }));
    await api.suspend(ctx('req-3'), inst());
    await store.update((s) => void Object.assign(s.nova.instances.find((i) => i.uuid === WEB1)!, { vmState: 'suspended', taskState: null }));
    await api.resume(ctx('req-4'), inst());
    await store.update((s) => void Object.assign(s.nova.instances.find((i) => i.uuid === WEB1)!, { vmState: 'active', taskState: null }));
    await api.delete(ctx('req-5'), inst());
    await api.start(ctx('req-6'), api.get(ctx('r'), BATCH1));
    expect(actionsOf(WEB1).map((a) => [a.action, a.requestId])).toEqual([
      ['delete', 'req-5'],
      ['resume', 'req-4'],
      ['suspend', 'req-3'],
      ['unpause', 'req-2'],
      ['pause', 'req-1'],
      ['create', expect.stringMatching(/^req-/)],
    ]);
    expect(actionsOf(BATCH1).map((a) => a.action)).toEqual(['start', 'create']);
  });

  it('a request the state guard refuses records nothing (the action is in the save it refused)', async () => {
    const before = JSON.stringify(store.read().nova.instanceActions);
    const err = await caught(api.start(ctx('req-refused'), api.get(ctx('r'), WEB1)));
    expect(err).toBeInstanceOf(InstanceInvalidState);
    expect(JSON.stringify(store.read().nova.instanceActions)).toBe(before);
  });

  it('create records "create" for the new instance in the save that creates it', async () => {
    const { instance } = await api.create(ctx('req-boot'), { name: 'vm', flavorRef: '1', imageRef: store.read().images[0].id, availabilityZone: null, metadata: {}, keyName: null });
    expect(actionsOf(instance.uuid)).toEqual([expect.objectContaining({ action: 'create', requestId: 'req-boot', instanceUuid: instance.uuid })]);
    expect(rpc.build_and_run_instance).toHaveBeenCalledOnce();
  });

  it('lock, unlock and os-resetState record none (Mitaka has no action for them)', async () => {
    const before = actionsOf(WEB1).length;
    await api.lock(ctx('req-lock'), api.get(ctx('r'), WEB1));
    await api.unlock(ctx('req-unlock'), api.get(ctx('r'), WEB1));
    await api.resetState(ctx('req-reset'), api.get(ctx('r'), WEB1), 'error');
    expect(actionsOf(WEB1)).toHaveLength(before);
  });

  it('novasim keeps the newest MAX_ACTIONS_PER_INSTANCE actions of an instance, others untouched', () => {
    const s = store.read() as State;
    for (let i = 0; i < MAX_ACTIONS_PER_INSTANCE + 5; i++) actionStart(s, ctx(`req-${i}`), WEB1, 'stop', MAX_ACTIONS_PER_INSTANCE);
    const web = actionsGet(s, WEB1);
    expect(web).toHaveLength(MAX_ACTIONS_PER_INSTANCE);
    expect(web[0].requestId).toBe(`req-${MAX_ACTIONS_PER_INSTANCE + 4}`);
    expect(web.at(-1)?.requestId).toBe('req-5');
    expect(actionsGet(s, BATCH1).map((a) => a.action)).toEqual(['create']);
  });

  it("the DB's timestamps have whole seconds, as MySQL's DATETIME keeps them", () => {
    expect(dbTimestamp(new Date('2016-05-03T10:11:12.987Z'))).toBe('2016-05-03T10:11:12.000000');
  });
});
