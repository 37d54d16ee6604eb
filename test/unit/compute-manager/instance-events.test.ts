// src/nova/compute/manager.ts + utils.ts: @wrap_instance_event / EventReporter as Mitaka's
// compute manager has them. Each event goes under the action of the request that cast it:
// compute_stop_instance & co., compute_terminate_instance, compute__do_build_and_run_instance;
// an error escaping the method finishes the event 'Error' with its traceback and marks the
// action's message 'Error'. swap_volume, attach_volume and detach_volume have no event.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import { LibvirtError, VIR_ERR } from '../../../src/libvirt/errors.js';
import { ComputeManager } from '../../../src/nova/compute/manager.js';
import { eventFinish, eventName, eventStart, formatTraceback } from '../../../src/nova/compute/utils.js';
import { actionGetByRequestId, actionStart } from '../../../src/nova/db.js';
import { InstanceActionNotFound, InvalidVolume } from '../../../src/nova/exception.js';
import type { LibvirtDriver } from '../../../src/nova/virt/libvirt/driver.js';
import type { CinderAPI } from '../../../src/nova/volume/cinder.js';
import { initWorld } from '../../../src/novasim/world.js';
import { StateStore } from '../../../src/state/store.js';
import { caught } from '../../support/caught.js';

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const CTX: RequestContext = { requestId: 'req-aaaa', userId: 'u', userName: 'admin', projectId: 'p', projectName: 'demo', roles: ['admin'], isAdmin: true };

class FakeDriver {
  fail: Error | null = null;
  private async act(): Promise<void> {
    if (this.fail) throw this.fail;
  }
  pause = () => this.act();
  power_off = () => this.act();
  spawn = () => this.act();
  destroy = () => this.act();
  get_power_state = () => 3;
  get_volume_connector = () => ({});
}

let dir: string;
let store: StateStore;
let driver: FakeDriver;
let manager: ComputeManager;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-events-'));
  await initWorld(join(dir, 'state.json'), 'default', false);
  store = new StateStore(join(dir, 'state.json'));
  driver = new FakeDriver();
  manager = new ComputeManager(store, driver as unknown as LibvirtDriver, {} as CinderAPI);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** what the compute API saved before its cast: the action and the task_state */
async function apiStarted(action: string, taskState: string): Promise<void> {
  await store.update((s) => {
    actionStart(s, CTX, WEB1, action, 200);
    Object.assign(s.nova.instances.find((i) => i.uuid === WEB1)!, { taskState });
  });
}
const action = () => actionGetByRequestId(store.read(), WEB1, CTX.requestId)!;

describe('compute manager: instance action events', () => {
  it('pause_instance records compute_pause_instance: Success, finished in the save that sets PAUSED', async () => {
    await apiStarted('pause', 'pausing');
    await manager.dispatch(CTX, 'pause_instance', { instance: WEB1 });
    const a = action();
    expect(a.message).toBeNull();
    expect(a.events).toEqual([{ event: 'compute_pause_instance', startTime: expect.any(String), finishTime: expect.any(String), result: 'Success', traceback: null }]);
    expect(store.read().nova.instances.find((i) => i.uuid === WEB1)).toMatchObject({ vmState: 'paused', taskState: null });
  });

  it("a driver failure finishes the event 'Error' with the error in its traceback, and the action's message is 'Error'", async () => {
    await apiStarted('stop', 'powering-off');
    driver.fail = new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
    await expect(manager.dispatch(CTX, 'stop_instance', { instance: WEB1 })).rejects.toBe(driver.fail);
    const a = action();
    expect(a.message).toBe('Error');
    expect(a.events[0]).toMatchObject({ event: 'compute_stop_instance', result: 'Error', traceback: 'libvirt.libvirtError: Requested operation is not valid: domain is not running\n' });
    expect(a.events[0].finishTime).not.toBeNull();
    // @reverts_task_state, in the same save
    expect(store.read().nova.instances.find((i) => i.uuid === WEB1)?.taskState).toBeNull();
  });

  it('terminate_instance records compute_terminate_instance under the delete action', async () => {
    await apiStarted('delete', 'deleting');
    await manager.dispatch(CTX, 'terminate_instance', { instance: WEB1 });
    expect(action().events.map((e) => [e.event, e.result])).toEqual([['compute_terminate_instance', 'Success']]);
    expect(store.read().nova.instances.find((i) => i.uuid === WEB1)?.deleted).toBe(true);
  });

  it('a failed build is still a Success event: _do_build_and_run_instance handles it (ERROR) and raises nothing', async () => {
    await apiStarted('create', 'scheduling');
    driver.fail = new Error('spawn failed');
    await caught(manager.dispatch(CTX, 'build_and_run_instance', { instance: WEB1 }));
    expect(store.read().nova.instances.find((i) => i.uuid === WEB1)?.vmState).toBe('error');
    expect(action().events.map((e) => [e.event, e.result])).toEqual([['compute__do_build_and_run_instance', 'Success']]);
    expect(action().message).toBeNull();
  });

  it('an event with no action of its request is InstanceActionNotFound (action_event_start), and the method does nothing', async () => {
    const err = await caught(manager.dispatch(CTX, 'pause_instance', { instance: WEB1 }));
    expect(err).toBeInstanceOf(InstanceActionNotFound);
    expect((err as Error).message).toBe(`Action for request_id req-aaaa on instance ${WEB1} not found`);
    expect(store.read().nova.instances.find((i) => i.uuid === WEB1)?.vmState).toBe('active');
  });

  it('EventReporter pieces: the name, start, finish (the first running event of that name)', () => {
    expect(eventName('stop_instance')).toBe('compute_stop_instance');
    const s = store.read();
    actionStart(s, CTX, WEB1, 'stop', 200);
    eventStart(s, CTX, 'compute_x', WEB1);
    eventFinish(s, CTX, 'compute_x', WEB1, new InvalidVolume('nope'));
    expect(actionGetByRequestId(s, WEB1, CTX.requestId)?.events[0]).toMatchObject({ result: 'Error', traceback: 'nova.exception.InvalidVolume: Invalid volume: nope\n' });
    expect(formatTraceback(new TypeError('x is undefined'))).toBe('TypeError: x is undefined\n');
  });
});
