// src/nova/compute/manager.ts: ComputeManager.swap_volume / _swap_volume /
// _init_volume_connection, line by line against the seed, with a fake driver and a fake
// volume API: what is called in which order, the except branch (rollback) and the finally
// branch (terminate_connection, migrate_volume_completion always), and the BDM update.
import { actionStart } from '../../../src/nova/db.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import { addLogSink, type LogRecord } from '../../../src/common/log.js';
import { ComputeManager } from '../../../src/nova/compute/manager.js';
import { VolumeBDMNotFound } from '../../../src/nova/exception.js';
import type { LibvirtDriver } from '../../../src/nova/virt/libvirt/driver.js';
import type { ConnectionInfo } from '../../../src/nova/virt/libvirt/volume.js';
import type { CinderAPI, Connector } from '../../../src/nova/volume/cinder.js';
import { initWorld } from '../../../src/novasim/world.js';
import { volumeImagePath } from '../../../src/state/paths.js';
import { StateStore } from '../../../src/state/store.js';
import type { Bdm, Instance } from '../../../src/state/types.js';
import { caught } from '../../support/caught.js';

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const OLD = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01'; // web-data, 1 GiB, on web-1 at /dev/vdb
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01'; // new-web-data, 1 GiB
const KEEP = 'ffffffff-0000-4000-8000-00000000cafe'; // what migrate_volume_completion answers

const MEMBER: RequestContext = {
  requestId: 'req-22222222-2222-4222-8222-222222222222',
  userId: 'demo-user',
  userName: 'demo',
  projectId: 'demo-project',
  projectName: 'demo',
  roles: ['Member'],
  isAdmin: false,
};

const CONNECTOR: Connector = { ip: '127.0.0.1', host: 'devstack', initiator: 'iqn.x', multipath: false, platform: 'x86_64', os_type: 'linux2' };

let template: string;
let templateDir: string;
beforeAll(async () => {
  templateDir = mkdtempSync(join(tmpdir(), 'novasim-manager-tpl-'));
  template = join(templateDir, 'state.json');
  await initWorld(template, 'default', false);
});
afterAll(() => rmSync(templateDir, { recursive: true, force: true }));

let dir: string;
let store: StateStore;
let logs: LogRecord[];
let unsink: () => void;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-manager-'));
  // the template's state, naming this folder's images (a state names only its own)
  writeFileSync(join(dir, 'state.json'), readFileSync(template, 'utf8').replaceAll(templateDir, dir));
  store = new StateStore(join(dir, 'state.json'));
  logs = [];
  unsink = addLogSink((r) => logs.push(r));
});
afterEach(() => {
  unsink();
  rmSync(dir, { recursive: true, force: true });
});

type Calls = string[];

class FakeVolumeApi {
  calls: Calls = [];
  admin: boolean[] = [];
  sizes: Record<string, number> = { [OLD]: 1, [NEW]: 1 };
  fail: Record<string, Error> = {};
  completion: { save_volume_id: string } = { save_volume_id: KEEP };
  private rec(name: string, ctx: RequestContext, ...args: unknown[]) {
    const label = [name, ...args.map((a) => (a === OLD ? 'old' : a === NEW ? 'new' : String(a)))].join(' ');
    this.calls.push(label);
    this.admin.push(ctx.isAdmin);
    if (this.fail[name]) throw this.fail[name];
  }
  async get(ctx: RequestContext, id: string) {
    this.rec('get', ctx, id);
    return { id, size: this.sizes[id] };
  }
  async initialize_connection(ctx: RequestContext, id: string, connector: Connector) {
    this.rec('initialize_connection', ctx, id);
    return { driver_volume_type: 'local', data: { device_path: volumeImagePath(store.path, id), volume_id: id }, connector };
  }
  async terminate_connection(ctx: RequestContext, id: string, _c: Connector) {
    this.rec('terminate_connection', ctx, id);
  }
  async roll_detaching(ctx: RequestContext, id: string) {
    this.rec('roll_detaching', ctx, id);
  }
  async unreserve_volume(ctx: RequestContext, id: string) {
    this.rec('unreserve_volume', ctx, id);
  }
  async migrate_volume_completion(ctx: RequestContext, o: string, n: string, error: boolean) {
    this.rec('migrate_volume_completion', ctx, o, n, `error=${error}`);
    return this.completion;
  }
}

class FakeDriver {
  calls: Calls;
  swapArgs: [ConnectionInfo, ConnectionInfo, string, string, number] | null = null;
  swapError: Error | null = null;
  connectorCalls = 0;
  constructor(calls: Calls) {
    this.calls = calls;
  }
  get_volume_connector(_i: Instance) {
    this.connectorCalls++;
    return CONNECTOR;
  }
  async swap_volume(_ctx: RequestContext, oldCinfo: ConnectionInfo, newCinfo: ConnectionInfo, instance: Instance, mountpoint: string, resizeTo: number) {
    this.calls.push('driver.swap_volume');
    this.swapArgs = [structuredClone(oldCinfo), structuredClone(newCinfo), instance.uuid, mountpoint, resizeTo];
    if (this.swapError) throw this.swapError;
  }
}

function setup() {
  const volumeApi = new FakeVolumeApi();
  const driver = new FakeDriver(volumeApi.calls);
  const manager = new ComputeManager(store, driver as unknown as LibvirtDriver, volumeApi as unknown as CinderAPI);
  const instance = store.read().nova.instances.find((i) => i.uuid === WEB1)!;
  return { volumeApi, driver, manager, instance };
}

const bdmOf = (volumeId: string | null = null): Bdm =>
  store.read().nova.bdms.find((b) => b.instanceUuid === WEB1 && b.deviceName === '/dev/vdb' && (volumeId === null || b.volumeId === volumeId))!;


describe('swap_volume: success', () => {
  it('calls Cinder and the driver in the seed\'s order, terminating the OLD connection in finally', async () => {
    const { volumeApi, manager, instance } = setup();
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(volumeApi.calls).toEqual([
      'get old',
      'get new',
      'initialize_connection new',
      'driver.swap_volume',
      'terminate_connection old',
      'migrate_volume_completion old new error=false',
    ]);
  });

  it('runs elevated: every Cinder call carries an admin context even for a member', async () => {
    const { volumeApi, manager, instance } = setup();
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(volumeApi.admin.every(Boolean)).toBe(true);
  });

  it('hands the driver the old and new connection infos, the mountpoint, and resize_to 0 for an equal size', async () => {
    const { driver, manager, instance } = setup();
    const storedOld = JSON.parse(bdmOf().connectionInfo!);
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    const [oldCinfo, newCinfo, uuid, mountpoint, resizeTo] = driver.swapArgs!;
    expect(oldCinfo).toEqual(storedOld);
    expect(newCinfo).toMatchObject({ driver_volume_type: 'local', data: { device_path: volumeImagePath(store.path, NEW) }, connector: CONNECTOR });
    expect([uuid, mountpoint, resizeTo]).toEqual([WEB1, '/dev/vdb', 0]);
  });

  it('_init_volume_connection: the new connection keeps the OLD serial', async () => {
    const { driver, manager, instance } = setup();
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(driver.swapArgs![1].serial).toBe(OLD);
  });

  it('_init_volume_connection: an old connection_info without serial gets the old volume id', async () => {
    await store.update((s) => {
      const b = s.nova.bdms.find((x) => x.volumeId === OLD)!;
      const ci = JSON.parse(b.connectionInfo!);
      delete ci.serial;
      b.connectionInfo = JSON.stringify(ci);
    });
    const { driver, manager, instance } = setup();
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(driver.swapArgs![0].serial).toBe(OLD);
    expect(driver.swapArgs![1].serial).toBe(OLD);
  });

  it('_init_volume_connection: a serial from an earlier swap is carried on, not replaced by the old id', async () => {
    await store.update((s) => {
      const b = s.nova.bdms.find((x) => x.volumeId === OLD)!;
      b.connectionInfo = JSON.stringify({ ...JSON.parse(b.connectionInfo!), serial: 'first-volume' });
    });
    const { driver, manager, instance } = setup();
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(driver.swapArgs![1].serial).toBe('first-volume');
  });

  it('updates the BDM: volume_id = save_volume_id, new connection_info, delete_on_termination False, volume/volume, no snapshot, no_device None', async () => {
    await store.update((s) => {
      const b = s.nova.bdms.find((x) => x.volumeId === OLD)!;
      Object.assign(b, { deleteOnTermination: true, snapshotId: 'snap', noDevice: true, sourceType: 'snapshot' });
    });
    const { driver, manager, instance } = setup();
    const before = bdmOf(OLD);
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    const after = store.read().nova.bdms.find((b) => b.id === before.id)!;
    expect(after.volumeId).toBe(KEEP);
    expect(JSON.parse(after.connectionInfo!)).toEqual(driver.swapArgs![1]);
    expect(after).toMatchObject({ deleteOnTermination: false, sourceType: 'volume', destinationType: 'volume', snapshotId: null, noDevice: null, deviceName: '/dev/vdb' });
    // no resize: volume_size untouched
    expect(after.volumeSize).toBe(before.volumeSize);
  });

  it('a bigger new volume: resize_to = new size, passed to the driver and stored as volume_size', async () => {
    const { volumeApi, driver, manager, instance } = setup();
    volumeApi.sizes[NEW] = 3;
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(driver.swapArgs![4]).toBe(3);
    expect(store.read().nova.bdms.find((b) => b.volumeId === KEEP)!.volumeSize).toBe(3);
  });

  it('a smaller new volume (not stopped here: the API checks that) gives resize_to 0', async () => {
    const { volumeApi, driver, manager, instance } = setup();
    volumeApi.sizes[OLD] = 2;
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    expect(driver.swapArgs![4]).toBe(0);
  });

  it('logs INFO "Swapping volume <old> for <new>" and the DEBUG lines of the seed', async () => {
    const { manager, instance } = setup();
    await manager.swap_volume(MEMBER, OLD, NEW, instance);
    const mgr = logs.filter((r) => r.logger === 'nova.compute.manager');
    expect(mgr.find((r) => r.level === 'INFO')?.message).toBe(`Swapping volume ${OLD} for ${NEW}`);
    expect(mgr.some((r) => r.level === 'DEBUG' && r.message.startsWith('swap_volume: Calling driver volume swap with connection infos: new: {'))).toBe(true);
    expect(mgr.some((r) => r.level === 'DEBUG' && r.message === `swap_volume: calling Cinder terminate_connection for ${OLD}`)).toBe(true);
    expect(mgr.some((r) => r.message === `swap_volume: Cinder migrate_volume_completion returned: {'save_volume_id': '${KEEP}'}`)).toBe(true);
  });
});

describe('swap_volume: failures', () => {
  it('no BDM for (old volume, instance): VolumeBDMNotFound, and nothing is called or rolled back', async () => {
    const { volumeApi, driver, manager, instance } = setup();
    const other = 'aaaaaaaa-0000-4000-8000-000000000000';
    const err = await caught(manager.swap_volume(MEMBER, other, NEW, instance));
    expect(err).toBeInstanceOf(VolumeBDMNotFound);
    expect(err.message).toBe(`No volume Block Device Mapping with id ${other}.`);
    expect(volumeApi.calls).toEqual([]);
    expect(driver.connectorCalls).toBe(0);
  });

  it('a failure before _swap_volume (Cinder get) rolls nothing back: old stays detaching, new attaching', async () => {
    const { volumeApi, manager, instance } = setup();
    volumeApi.fail.get = new Error('cinder down');
    await expect(manager.swap_volume(MEMBER, OLD, NEW, instance)).rejects.toThrow('cinder down');
    expect(volumeApi.calls).toEqual(['get old']);
  });

  it('the driver fails: except rolls back (roll_detaching old, unreserve new); finally terminates the NEW connection and completes with error=True; the driver\'s error propagates', async () => {
    const { volumeApi, driver, manager, instance } = setup();
    const boom = Object.assign(new Error("Requested operation is not valid: domain is not running"), { name: 'libvirtError' });
    driver.swapError = boom;
    const before = bdmOf(OLD);
    const err = await caught(manager.swap_volume(MEMBER, OLD, NEW, instance));
    expect(err).toBe(boom);
    expect(volumeApi.calls).toEqual([
      'get old',
      'get new',
      'initialize_connection new',
      'driver.swap_volume',
      'roll_detaching old',
      'unreserve_volume new',
      'terminate_connection new',
      'migrate_volume_completion old new error=true',
    ]);
    // the BDM is not updated
    expect(store.read().nova.bdms.find((b) => b.id === before.id)).toEqual(before);
    const e = logs.find((r) => r.level === 'ERROR' && r.logger === 'nova.compute.manager');
    expect(e?.message).toBe(`Failed to swap volume ${OLD} for ${NEW}`);
    expect(e?.exception).toContain('domain is not running');
  });

  it('initialize_connection fails: "Failed to connect to volume <new> with volume at <mountpoint>", rollback, no terminate_connection, completion still called with error=True', async () => {
    const { volumeApi, manager, instance } = setup();
    volumeApi.fail.initialize_connection = new Error('iscsi login failed');
    await expect(manager.swap_volume(MEMBER, OLD, NEW, instance)).rejects.toThrow('iscsi login failed');
    expect(volumeApi.calls).toEqual([
      'get old',
      'get new',
      'initialize_connection new',
      'roll_detaching old',
      'unreserve_volume new',
      'migrate_volume_completion old new error=true',
    ]);
    const e = logs.find((r) => r.level === 'ERROR' && r.logger === 'nova.compute.manager');
    expect(e?.message).toBe(`Failed to connect to volume ${NEW} with volume at /dev/vdb`);
  });

  it('an exception inside finally (migrate_volume_completion refused) after a good copy: no rollback, no BDM update', async () => {
    const { volumeApi, manager, instance } = setup();
    const forbidden = new Error("Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume_completion to be performed. (HTTP 403)");
    volumeApi.fail.migrate_volume_completion = forbidden;
    const before = bdmOf(OLD);
    const err = await caught(manager.swap_volume(MEMBER, OLD, NEW, instance));
    expect(err).toBe(forbidden);
    expect(volumeApi.calls).not.toContain('roll_detaching old');
    expect(volumeApi.calls).not.toContain('unreserve_volume new');
    expect(volumeApi.calls.slice(-2)).toEqual(['terminate_connection old', 'migrate_volume_completion old new error=false']);
    expect(store.read().nova.bdms.find((b) => b.id === before.id)).toEqual(before);
  });

  it('an exception in finally replaces the driver\'s error (after the rollback ran)', async () => {
    const { volumeApi, driver, manager, instance } = setup();
    driver.swapError = new Error('driver');
    const term = new Error('terminate failed');
    volumeApi.fail.terminate_connection = term;
    const err = await caught(manager.swap_volume(MEMBER, OLD, NEW, instance));
    expect(err).toBe(term);
    expect(volumeApi.calls).toContain('roll_detaching old');
    // terminate_connection raised inside finally, so migrate_volume_completion was skipped
    expect(volumeApi.calls.at(-1)).toBe('terminate_connection new');
  });

  it('@reverts_task_state: a failed swap leaves no task_state behind', async () => {
    await store.update((s) => {
      s.nova.instances.find((i) => i.uuid === WEB1)!.taskState = 'rebooting';
    });
    const { driver, manager, instance } = setup();
    driver.swapError = new Error('x');
    await expect(manager.swap_volume(MEMBER, OLD, NEW, instance)).rejects.toThrow('x');
    expect(store.read().nova.instances.find((i) => i.uuid === WEB1)!.taskState).toBeNull();
  });
});

describe('the RPC dispatcher', () => {
  it('dispatches swap_volume(old_volume_id, new_volume_id) for the instance named in the message', async () => {
    const { volumeApi, driver, manager } = setup();
    await manager.dispatch(MEMBER, 'swap_volume', { instance: WEB1, old_volume_id: OLD, new_volume_id: NEW });
    expect(driver.swapArgs![2]).toBe(WEB1);
    expect(volumeApi.calls[0]).toBe('get old');
  });

  it('an unknown method is refused', async () => {
    const { manager } = setup();
    await expect(manager.dispatch(MEMBER, 'frobnicate', { instance: WEB1 })).rejects.toThrow('Endpoint does not support RPC method frobnicate');
  });
});

describe('terminate_instance → do_terminate_instance', () => {
  it("a delete _delete_instance cannot finish: vm_state ERROR, task_state None, 'Setting instance vm_state to ERROR' logged, the error raised", async () => {
    const { driver, manager, instance } = setup();
    const gone = Object.assign(new Error("Domain not found: no domain with matching uuid 'x'"), { name: 'libvirtError' });
    (driver as unknown as { destroy: (i: Instance) => Promise<void> }).destroy = async () => {
      throw gone;
    };
    await store.update((s) => {
      s.nova.instances.find((i) => i.uuid === WEB1)!.taskState = 'deleting';
      // the API's _record_action_start: the delete's action, under which the event is recorded
      actionStart(s, MEMBER, WEB1, 'delete', 200);
    });
    expect(await caught(manager.terminate_instance(MEMBER, instance))).toBe(gone);
    const after = store.read().nova.instances.find((i) => i.uuid === WEB1)!;
    expect([after.vmState, after.taskState, after.deleted]).toEqual(['error', null, false]);
    expect(logs.some((r) => r.level === 'ERROR' && r.message.startsWith('Setting instance vm_state to ERROR'))).toBe(true);
    // nothing of the server was detached in Cinder: its volumes are as they were
    expect(bdmOf(OLD)).toBeDefined();
  });
});
