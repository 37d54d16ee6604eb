// nova/compute/api.py (Mitaka): the compute API that nova-api calls. Guards first
// (check_instance_lock, check_instance_state), then Cinder, then a cast to the host.
import { append, byKey, matching, remove, where } from '../../state/collections.js';
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../common/context.js';
import { getLogger } from '../../common/log.js';
import { isoSeconds } from '../../common/time.js';
import type { StateStore } from '../../state/store.js';
import type { Instance, InstanceAction, InstanceActionEvent, State } from '../../state/types.js';
import { actionEventsGet, actionGetByRequestId, actionStart, actionsGet, bdmsByInstance, instanceGetByUuid, newImageBdm, updateInstance } from '../db.js';
import * as instance_actions from './instance_actions.js';
import { journalBegin, journalEnd, journalStep } from '../../state/journal.js';
import {
  DevicePathInUse,
  FlavorNotFound,
  ImageNotFound,
  InstanceInvalidState,
  InstanceIsLocked,
  InvalidDevicePath,
  InvalidInput,
  InvalidVolume,
  PolicyNotAuthorized,
  VolumeUnattached,
} from '../exception.js';
import { task_states, vm_states } from '../vm-states.js';
import type { CinderAPI, NovaVolume } from '../volume/cinder.js';
import type { ComputeAPI as ComputeRpcAPI } from './rpcapi.js';
import { instrument, traceEvent } from '../../trace/tracer.js';

const LOG = getLogger('nova.compute.api', 'nova-api');

interface StateGuard {
  vmState: string[] | null;
  taskState?: (string | null)[] | null;
  mustHaveLaunched?: boolean;
}

/** @check_instance_lock */
function checkInstanceLock(ctx: RequestContext, instance: Instance): void {
  if (instance.locked && !ctx.isAdmin) throw new InstanceIsLocked(instance.uuid);
}

/** @check_instance_state(vm_state=…, task_state=(None,), must_have_launched=True) */
function checkInstanceState(instance: Instance, method: string, guard: StateGuard): void {
  const taskState = guard.taskState === undefined ? [null] : guard.taskState;
  const mustHaveLaunched = guard.mustHaveLaunched ?? true;
  if (guard.vmState && !guard.vmState.includes(instance.vmState)) {
    throw new InstanceInvalidState(instance.uuid, 'vm_state', instance.vmState, method);
  }
  if (taskState && !taskState.includes(instance.taskState)) {
    throw new InstanceInvalidState(instance.uuid, 'task_state', String(instance.taskState), method);
  }
  if (mustHaveLaunched && !instance.launchedAt) {
    throw new InstanceInvalidState(instance.uuid, 'launched_at', 'None', method);
  }
}

const SWAP_VOLUME_STATES = [
  vm_states.ACTIVE,
  vm_states.PAUSED,
  vm_states.SUSPENDED,
  vm_states.STOPPED,
  vm_states.RESIZED,
  vm_states.SOFT_DELETED,
];

const ATTACH_STATES = [
  vm_states.ACTIVE,
  vm_states.PAUSED,
  vm_states.STOPPED,
  vm_states.RESIZED,
  vm_states.SOFT_DELETED,
  vm_states.SHELVED,
  vm_states.SHELVED_OFFLOADED,
];

/** vm_states.ALLOW_SOFT_REBOOT, ALLOW_HARD_REBOOT and task_states.ALLOW_REBOOT */
const ALLOW_SOFT_REBOOT = [vm_states.ACTIVE];
const ALLOW_HARD_REBOOT = [...ALLOW_SOFT_REBOOT, vm_states.STOPPED, vm_states.PAUSED, vm_states.SUSPENDED, vm_states.ERROR];
const ALLOW_REBOOT = [
  null,
  task_states.REBOOTING,
  task_states.REBOOT_PENDING,
  task_states.REBOOT_STARTED,
  task_states.RESUMING,
  task_states.REBOOTING_HARD,
  task_states.UNPAUSING,
  task_states.PAUSING,
  task_states.SUSPENDING,
];

const DETACH_STATES = [vm_states.ACTIVE, vm_states.PAUSED, vm_states.STOPPED, vm_states.RESIZED, vm_states.SOFT_DELETED];

/** the device-name pattern of volume attach's schema and block_device.match_device */
const DEVICE_RE = /^(\/dev\/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$/;

export interface BootRequest {
  name: string;
  flavorRef: string;
  imageRef: string;
  availabilityZone: string | null;
  metadata: Record<string, string>;
  keyName: string | null;
}

export class API {
  constructor(
    private readonly store: StateStore,
    readonly volumeApi: CinderAPI,
    private readonly rpc: ComputeRpcAPI,
  ) {}

  /** API.get (readDeleted: the context's read_deleted='yes') */
  get(ctx: RequestContext, uuid: string, readDeleted = false): Instance {
    return instanceGetByUuid(this.store.read(), ctx, uuid, readDeleted);
  }

  /** API.get_all with the search options nova-api passes on */
  get_all(ctx: RequestContext, opts: { allTenants: boolean; projectId?: string; name?: RegExp }): Instance[] {
    const s = this.store.read();
    const name = opts.name;
    // the name filter runs first, on the name alone (a large world loads only what matches)
    // a pattern of letters, digits and '-', '_', ' ' matches the names that hold it
    const literal = name && !name.flags && /^[A-Za-z0-9_ -]+$/.test(name.source) ? name.source : undefined;
    const rows = name ? matching(s, 'instances', 'name', (v) => typeof v === 'string' && name.test(v), literal) : s.nova.instances;
    return rows.filter((i) => {
      if (i.deleted) return false;
      if (ctx.isAdmin && opts.allTenants) return opts.projectId ? i.projectId === opts.projectId : true;
      return i.projectId === ctx.projectId;
    });
  }

  /** API.swap_volume (seed) */
  async swap_volume(ctx: RequestContext, instance: Instance, oldVolume: NovaVolume, newVolume: NovaVolume): Promise<void> {
    checkInstanceLock(ctx, instance);
    checkInstanceState(instance, 'swap_volume', { vmState: SWAP_VOLUME_STATES });
    if (oldVolume.attach_status === 'detached') throw new VolumeUnattached(oldVolume.id);
    // The caller likely got the instance from volume['attachments'] in the first place,
    // but let's sanity check.
    if (!oldVolume.attachments[instance.uuid]) {
      throw new InvalidVolume('Old volume is attached to a different instance.');
    }
    if (newVolume.attach_status === 'attached') throw new InvalidVolume('New volume must be detached in order to swap.');
    if (Math.trunc(newVolume.size) < Math.trunc(oldVolume.size)) {
      throw new InvalidVolume('New volume must be the same size or larger.');
    }
    this.volumeApi.check_detach(oldVolume);
    this.volumeApi.check_attach(newVolume, instance);
    // NOTE: Mitaka records no instance action for a swap (Queens added 'swap_volume' with
    // its compute_swap_volume event): `nova instance-action-list` shows nothing of it, and a
    // swap that fails on the host after the 202 leaves no trace there.
    // novasim: the journal records the swap's intent before its first change
    const key = { kind: 'swap', instance: instance.uuid, device: oldVolume.attachments[instance.uuid].mountpoint } as const;
    await this.store.update((s) => journalBegin(s, { ...key, id: ctx.requestId, volumes: [oldVolume.id, newVolume.id], step: 'api.accepted' }));
    try {
      await this.volumeApi.begin_detaching(ctx, oldVolume.id);
    } catch (err) {
      // nothing changed yet: the swap is simply refused
      await this.store.update((s) => journalEnd(s, key));
      // novasim takes Pike's fix (363146cb): Cinder's 400 (another request won the
      // conditional update) is an InvalidVolume, a 400; Mitaka let it out as a 500
      if (err instanceof InvalidInput) throw new InvalidVolume(err.message);
      throw err;
    }
    // NOTE: a failure here leaves the old volume 'detaching' — Mitaka has no rollback
    // outside the try below (the journal entry stays, and the doctor knows it).
    try {
      await this.volumeApi.reserve_volume(ctx, newVolume.id);
    } catch (err) {
      // another request reserved the new volume first (Cinder's conditional update): the
      // same 400 as begin_detaching's above, where Mitaka let a 500 out. The old volume stays
      // 'detaching', as in Mitaka, and the journal entry with it (the doctor repairs both)
      if (err instanceof InvalidInput) throw new InvalidVolume(err.message);
      throw err;
    }
    await this.store.update((s) => journalStep(s, key, 'cinder.reserved'));
    try {
      this.rpc.swap_volume(ctx, instance, oldVolume.id, newVolume.id);
    } catch (err) {
      traceEvent('except Exception: (save_and_reraise_exception)', () => ({ rollback: 'roll_detaching(old), unreserve_volume(new)' }));
      await this.volumeApi.roll_detaching(ctx, oldVolume.id);
      await this.volumeApi.unreserve_volume(ctx, newVolume.id);
      await this.store.update((s) => journalEnd(s, key));
      throw err;
    }
  }

  /** API.attach_volume → _attach_volume */
  async attach_volume(ctx: RequestContext, instance: Instance, volumeId: string, device: string | null): Promise<string> {
    checkInstanceLock(ctx, instance);
    checkInstanceState(instance, 'attach_volume', { vmState: ATTACH_STATES });
    if (device && !DEVICE_RE.test(device)) throw new InvalidDevicePath(device);
    // reserve_block_device_name creates the BDM on the host and answers the device name
    const dev = await this.rpc.reserve_block_device_name(ctx, instance, device, volumeId);
    // volume_bdm: the row just reserved. A device name is unique on an instance (the host
    // refuses one in use), so it names this row and never an attachment already there.
    const bdmId = where(this.store.read(), 'bdms', 'instanceUuid', instance.uuid).find((b) => b.deviceName === dev && b.volumeId === volumeId)?.id;
    try {
      const volume = await this.volumeApi.get(ctx, volumeId);
      this.volumeApi.check_attach(volume, instance);
      await this.volumeApi.reserve_volume(ctx, volumeId);
      this.rpc.attach_volume(ctx, instance, bdmId ?? -1);
    } catch (err) {
      // volume_bdm.destroy(): only the reserved row goes, never an existing attachment's
      await this.store.update((s) => {
        if (bdmId !== undefined) remove(s, 'bdms', [byKey(s, 'bdms', bdmId)]);
        // novasim: the refused attach leaves no trace, its id included (MySQL's
        // auto-increment would keep it used; a state file a command failed on must not change)
        if (bdmId !== undefined && s.nova.nextBdmId === bdmId + 1) s.nova.nextBdmId = bdmId;
        // the attach the host journaled at the reservation is over: it was refused
        journalEnd(s, { kind: 'attach', instance: instance.uuid, device: dev });
      });
      throw err;
    }
    return dev;
  }

  /** API.detach_volume → _detach_volume */
  async detach_volume(ctx: RequestContext, instance: Instance, volume: NovaVolume): Promise<void> {
    checkInstanceLock(ctx, instance);
    checkInstanceState(instance, 'detach_volume', { vmState: DETACH_STATES });
    if (volume.attach_status === 'detached') throw new VolumeUnattached(volume.id);
    this.volumeApi.check_detach(volume);
    // novasim: the journal records the detach's intent before its first change
    const key = { kind: 'detach', instance: instance.uuid, device: volume.attachments[instance.uuid]?.mountpoint ?? null } as const;
    await this.store.update((s) => journalBegin(s, { ...key, id: ctx.requestId, volumes: [volume.id], step: 'api.accepted' }));
    try {
      await this.volumeApi.begin_detaching(ctx, volume.id);
    } catch (err) {
      await this.store.update((s) => journalEnd(s, key));
      throw err;
    }
    await this.store.update((s) => journalStep(s, key, 'cinder.detaching'));
    this.rpc.detach_volume(ctx, instance, volume.id);
  }

  /**
   * Sets a task_state (and whatever else), guarded by the instance's current state, and
   * records the action (_record_action_start) in the same save. Every task started here is
   * one Mitaka records, under the method's own name (instance_actions.STOP = 'stop', …).
   */
  private async startTask(
    ctx: RequestContext,
    instance: Instance,
    method: string,
    guard: StateGuard,
    values: Partial<Instance>,
    lock = true,
    journal: { kind: 'delete'; id: string } | null = null,
  ): Promise<Instance> {
    return this.store.update((s) => {
      const cur = instanceGetByUuid(s, ctx, instance.uuid);
      if (lock) checkInstanceLock(ctx, cur);
      checkInstanceState(cur, method, guard);
      if (journal) journalBegin(s, { kind: journal.kind, instance: cur.uuid, device: null, id: journal.id, volumes: [], step: 'api.accepted' });
      recordActionStart(s, ctx, cur, method);
      return updateInstance(s, cur.uuid, values);
    });
  }

  async stop(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'stop', { vmState: [vm_states.ACTIVE, vm_states.RESCUED, vm_states.ERROR] }, { taskState: task_states.POWERING_OFF });
    this.rpc.stop_instance(ctx, inst);
  }

  async start(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'start', { vmState: [vm_states.STOPPED] }, { taskState: task_states.POWERING_ON });
    this.rpc.start_instance(ctx, inst);
  }

  async pause(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'pause', { vmState: [vm_states.ACTIVE, vm_states.RESCUED] }, { taskState: task_states.PAUSING });
    this.rpc.pause_instance(ctx, inst);
  }

  async unpause(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'unpause', { vmState: [vm_states.PAUSED] }, { taskState: task_states.UNPAUSING });
    this.rpc.unpause_instance(ctx, inst);
  }

  async suspend(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'suspend', { vmState: [vm_states.ACTIVE] }, { taskState: task_states.SUSPENDING });
    this.rpc.suspend_instance(ctx, inst);
  }

  async resume(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'resume', { vmState: [vm_states.SUSPENDED] }, { taskState: task_states.RESUMING });
    this.rpc.resume_instance(ctx, inst);
  }

  /** API.reboot: @check_instance_lock, then _soft_reboot or _hard_reboot */
  async reboot(ctx: RequestContext, instance: Instance, rebootType: 'SOFT' | 'HARD'): Promise<void> {
    if (rebootType === 'SOFT') await this._soft_reboot(ctx, instance);
    else await this._hard_reboot(ctx, instance);
  }

  /** _soft_reboot: @check_instance_state(vm_state=ALLOW_SOFT_REBOOT, task_state=[None]) */
  private async _soft_reboot(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'reboot', { vmState: ALLOW_SOFT_REBOOT, taskState: [null] }, { taskState: task_states.REBOOTING });
    this.rpc.reboot_instance(ctx, inst, 'SOFT');
  }

  /** _hard_reboot: @check_instance_state(vm_state=ALLOW_HARD_REBOOT, task_state=ALLOW_REBOOT) */
  private async _hard_reboot(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(ctx, instance, 'reboot', { vmState: ALLOW_HARD_REBOOT, taskState: ALLOW_REBOOT }, { taskState: task_states.REBOOTING_HARD });
    this.rpc.reboot_instance(ctx, inst, 'HARD');
  }

  /** API.lock: who locked it is remembered, so an owner cannot undo an admin's lock */
  async lock(ctx: RequestContext, instance: Instance): Promise<void> {
    await this.store.update((s) => {
      const cur = instanceGetByUuid(s, ctx, instance.uuid);
      const isOwner = cur.projectId === ctx.projectId;
      updateInstance(s, cur.uuid, { locked: true, lockedBy: isOwner ? 'owner' : 'admin' });
    });
    LOG.debug('Locking', { context: ctx, instance: instance.uuid });
  }

  /** API.unlock: unlocking an admin's lock needs os-lock-server:unlock:unlock_override */
  async unlock(ctx: RequestContext, instance: Instance): Promise<void> {
    await this.store.update((s) => {
      const cur = instanceGetByUuid(s, ctx, instance.uuid);
      const isOwner = cur.projectId === ctx.projectId;
      if (cur.lockedBy && cur.lockedBy !== 'owner' && isOwner && !ctx.isAdmin) {
        throw new PolicyNotAuthorized('os_compute_api:os-lock-server:unlock:unlock_override');
      }
      updateInstance(s, cur.uuid, { locked: false, lockedBy: null });
    });
  }

  /** admin action os-resetState: no cast, the DB is simply set */
  async resetState(ctx: RequestContext, instance: Instance, state: 'error' | 'active'): Promise<void> {
    await this.store.update((s) => {
      const cur = instanceGetByUuid(s, ctx, instance.uuid);
      updateInstance(s, cur.uuid, { vmState: state, taskState: null });
    });
  }

  /** API.delete: check_instance_lock, any vm_state, task_state None, need not have launched */
  async delete(ctx: RequestContext, instance: Instance): Promise<void> {
    const inst = await this.startTask(
      ctx,
      instance,
      'delete',
      { vmState: null, taskState: null, mustHaveLaunched: false },
      { taskState: task_states.DELETING },
      true,
      { kind: 'delete', id: ctx.requestId },
    );
    this.rpc.terminate_instance(ctx, inst);
  }

  /** API.create: the instance record and its root BDM, then the build cast */
  async create(ctx: RequestContext, req: BootRequest): Promise<{ instance: Instance; adminPass: string }> {
    const adminPass = randomUUID().replace(/-/g, '').slice(0, 12);
    const instance = await this.store.update((s: State) => {
      const flavor = s.flavors.find((f) => f.id === req.flavorRef || f.name === req.flavorRef);
      if (!flavor) throw new FlavorNotFound(req.flavorRef);
      const image = s.images.find((i) => i.id === req.imageRef || i.name === req.imageRef);
      if (!image) throw new ImageNotFound(req.imageRef);
      const now = isoSeconds();
      const inst: Instance = {
        uuid: randomUUID(),
        id: s.nova.nextInstanceId++,
        name: req.name,
        projectId: ctx.projectId,
        userId: ctx.userId,
        host: s.host,
        node: s.host,
        availabilityZone: req.availabilityZone ?? 'nova',
        vmState: vm_states.BUILDING,
        taskState: task_states.SCHEDULING,
        powerState: 0,
        locked: false,
        lockedBy: null,
        launchedAt: null,
        terminatedAt: null,
        createdAt: now,
        updatedAt: now,
        flavorId: flavor.id,
        imageRef: image.id,
        keyName: req.keyName,
        metadata: req.metadata,
        securityGroups: ['default'],
        addresses: {},
        accessIPv4: '',
        accessIPv6: '',
        configDrive: '',
        deleted: false,
      };
      append(s, 'instances', inst);
      newImageBdm(s, inst.uuid, image.id);
      journalBegin(s, { kind: 'boot', instance: inst.uuid, device: null, id: ctx.requestId, volumes: [], step: 'api.accepted' });
      recordActionStart(s, ctx, inst, instance_actions.CREATE);
      return inst;
    });
    this.rpc.build_and_run_instance(ctx, instance);
    return { instance, adminPass };
  }
}

/** API._record_action_start: the action of this request on the instance */
function recordActionStart(s: State, ctx: RequestContext, instance: Instance, action: string): void {
  actionStart(s, ctx, instance.uuid, action, instance_actions.MAX_ACTIONS_PER_INSTANCE);
}

/**
 * compute.InstanceActionAPI: what os-instance-actions reads. The controller has found the
 * instance (deleted ones too from microversion 2.21), so these read by its uuid.
 */
export class InstanceActionAPI {
  constructor(private readonly store: StateStore) {}

  /** InstanceActionAPI.actions_get */
  actions_get(ctx: RequestContext, instance: Instance): InstanceAction[] {
    void ctx;
    return actionsGet(this.store.read(), instance.uuid);
  }

  /** InstanceActionAPI.action_get_by_request_id */
  action_get_by_request_id(ctx: RequestContext, instance: Instance, requestId: string): InstanceAction | null {
    void ctx;
    return actionGetByRequestId(this.store.read(), instance.uuid, requestId);
  }

  /** InstanceActionAPI.action_events_get */
  action_events_get(ctx: RequestContext, instance: Instance, action: InstanceAction): InstanceActionEvent[] {
    void ctx;
    void instance;
    return actionEventsGet(action);
  }
}

/** compute/utils.get_next_device_name in miniature: the next free /dev/vdX */
export function nextDeviceName(state: State, instanceUuid: string, wanted: string | null): string {
  const used = new Set(bdmsByInstance(state, instanceUuid).map((b) => b.deviceName));
  if (wanted) {
    if (used.has(wanted)) throw new DevicePathInUse(wanted);
    return wanted;
  }
  for (let c = 'b'.charCodeAt(0); c <= 'z'.charCodeAt(0); c++) {
    const dev = `/dev/vd${String.fromCharCode(c)}`;
    if (!used.has(dev)) return dev;
  }
  throw new DevicePathInUse('/dev/vdz');
}


// --trace: the compute API as nova-api calls it
instrument(
  API.prototype,
  'swap_volume',
  { name: 'API.swap_volume()', location: 'nova/compute/api.py', layer: 'nova', service: 'nova-api' },
  (_ctx: RequestContext, instance: Instance, oldVolume: NovaVolume, newVolume: NovaVolume) => ({
    instance: instance.uuid,
    old_volume: oldVolume.id,
    new_volume: newVolume.id,
  }),
);
