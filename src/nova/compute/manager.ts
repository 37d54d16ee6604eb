// nova/compute/manager.py (Mitaka): ComputeManager, the RPC endpoint on the host.
// swap_volume, _swap_volume and _init_volume_connection follow the seed line by line.
import { byKey, remove, where } from '../../state/collections.js';
import type { RequestContext } from '../../common/context.js';
import { elevated } from '../../common/context.js';
import { getLogger } from '../../common/log.js';
import { pyRepr } from '../../common/pyrepr.js';
import { isoSeconds } from '../../common/time.js';
import type { StateStore } from '../../state/store.js';
import type { Bdm, Instance } from '../../state/types.js';
import { actionGetByRequestId, bdmByVolumeAndInstance, instanceGetByUuid, newBdm, updateInstance } from '../db.js';
import { eventFinish, eventName, eventStart } from './utils.js';
import { nextDeviceName } from './api.js';
import { journalBegin, journalEnd, journalStep, type OperationKey } from '../../state/journal.js';
import type { LibvirtDriver } from '../virt/libvirt/driver.js';
import type { ConnectionInfo } from '../virt/libvirt/volume.js';
import { power_state, task_states, vm_states } from '../vm-states.js';
import { InstanceNotFound } from '../exception.js';
import type { CinderAPI, Connector } from '../volume/cinder.js';
import { instrument, traceEvent } from '../../trace/tracer.js';

const LOG = getLogger('nova.compute.manager', 'nova-compute');

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export class ComputeManager {
  constructor(
    private readonly store: StateStore,
    readonly driver: LibvirtDriver,
    private readonly volume_api: CinderAPI,
  ) {}

  /** The RPC dispatcher: method name → handler, as oslo.messaging dispatches an endpoint. */
  async dispatch(ctx: RequestContext, method: string, args: Record<string, unknown>): Promise<unknown> {
    const instance = this.instance(ctx, String(args.instance));
    switch (method) {
      case 'swap_volume':
        return this.swap_volume(ctx, String(args.old_volume_id), String(args.new_volume_id), instance);
      case 'reserve_block_device_name':
        return this.reserve_block_device_name(ctx, instance, (args.device as string | null) ?? null, String(args.volume_id));
      case 'attach_volume':
        return this.attach_volume(ctx, instance, Number(args.bdm));
      case 'detach_volume':
        return this.detach_volume(ctx, String(args.volume_id), instance);
      case 'build_and_run_instance':
        return this.build_and_run_instance(ctx, instance);
      case 'terminate_instance':
        return this.terminate_instance(ctx, instance);
      case 'reboot_instance':
        return this.reboot_instance(ctx, instance, args.reboot_type === 'HARD' ? 'HARD' : 'SOFT');
      case 'stop_instance':
        return this.power(ctx, instance, 'stop_instance', () => this.driver.power_off(instance), vm_states.STOPPED);
      case 'start_instance':
        return this.power(ctx, instance, 'start_instance', () => this.driver.power_on(instance), vm_states.ACTIVE);
      case 'pause_instance':
        return this.power(ctx, instance, 'pause_instance', () => this.driver.pause(instance), vm_states.PAUSED);
      case 'unpause_instance':
        return this.power(ctx, instance, 'unpause_instance', () => this.driver.unpause(instance), vm_states.ACTIVE);
      case 'suspend_instance':
        return this.power(ctx, instance, 'suspend_instance', () => this.driver.suspend(instance), vm_states.SUSPENDED);
      case 'resume_instance':
        return this.power(ctx, instance, 'resume_instance', () => this.driver.resume(instance), vm_states.ACTIVE);
      default:
        throw new Error(`Endpoint does not support RPC method ${method}`);
    }
  }

  private instance(ctx: RequestContext, uuid: string): Instance {
    return instanceGetByUuid(this.store.read(), elevated(ctx), uuid);
  }

  /** @reverts_task_state: a failed operation leaves no task_state behind (and, once its
   * rollback is saved, no journal entry) */
  private async revertTaskState(instance: Instance, key: OperationKey | null = null): Promise<void> {
    await this.store.update((s) => {
      updateInstance(s, instance.uuid, { taskState: null });
      if (key) journalEnd(s, key);
    });
  }

  /** ComputeManager.swap_volume (seed) */
  async swap_volume(context: RequestContext, oldVolumeId: string, newVolumeId: string, instance: Instance): Promise<void> {
    // novasim: the journal entry the API opened for this swap
    let key: OperationKey | null = null;
    try {
      context = elevated(context);
      const bdm = bdmByVolumeAndInstance(this.store.read(), oldVolumeId, instance.uuid);
      key = { kind: 'swap', instance: instance.uuid, device: bdm.deviceName };
      const journaled = key;
      await this.store.update((s) => journalStep(s, journaled, 'compute.started'));
      const connector = this.driver.get_volume_connector(instance);
      let resizeTo = 0;
      const oldVolSize = (await this.volume_api.get(context, oldVolumeId)).size;
      const newVolSize = (await this.volume_api.get(context, newVolumeId)).size;
      if (newVolSize > oldVolSize) resizeTo = newVolSize;
      LOG.info(`Swapping volume ${oldVolumeId} for ${newVolumeId}`, { context, instance: instance.uuid });
      const [compRet, newCinfo] = await this._swap_volume(context, instance, bdm, connector, oldVolumeId, newVolumeId, resizeTo);
      const saveVolumeId = compRet.save_volume_id;
      // Update bdm
      const values: Partial<Bdm> = {
        connectionInfo: JSON.stringify(newCinfo),
        deleteOnTermination: false,
        sourceType: 'volume',
        destinationType: 'volume',
        snapshotId: null,
        volumeId: saveVolumeId,
        noDevice: null,
      };
      if (resizeTo) values.volumeSize = resizeTo;
      const logged = {
        connection_info: values.connectionInfo,
        delete_on_termination: false,
        source_type: 'volume',
        destination_type: 'volume',
        snapshot_id: null,
        volume_id: saveVolumeId,
        no_device: null,
        ...(resizeTo ? { volume_size: resizeTo } : {}),
      };
      LOG.debug(`swap_volume: Updating volume ${bdm.volumeId} BDM record with ${pyRepr(logged)}`, { context, instance: instance.uuid });
      await this.store.update((s) => {
        const row = byKey(s, 'bdms', bdm.id);
        if (row) Object.assign(row, values);
        journalEnd(s, journaled);
      });
    } catch (err) {
      traceEvent('except: @reverts_task_state', () => ({ task_state: null }));
      await this.revertTaskState(instance, key);
      throw err;
    }
  }

  /** ComputeManager._swap_volume (seed) */
  async _swap_volume(
    context: RequestContext,
    instance: Instance,
    bdm: Bdm,
    connector: Connector,
    oldVolumeId: string,
    newVolumeId: string,
    resizeTo: number,
  ): Promise<[{ save_volume_id: string }, ConnectionInfo | null]> {
    const mountpoint = bdm.deviceName;
    let failed = false;
    let newCinfo: ConnectionInfo | null = null;
    let compRet: { save_volume_id: string };
    try {
      let oldCinfo: ConnectionInfo;
      [oldCinfo, newCinfo] = await this._init_volume_connection(context, newVolumeId, oldVolumeId, connector, instance, bdm);
      await this.store.update((s) => journalStep(s, { kind: 'swap', instance: instance.uuid, device: mountpoint }, 'cinder.connected'));
      LOG.debug(
        `swap_volume: Calling driver volume swap with connection infos: new: ${pyRepr(newCinfo)}; old: ${pyRepr(oldCinfo)}`,
        { context, instance: instance.uuid },
      );
      await this.driver.swap_volume(context, oldCinfo, newCinfo, instance, mountpoint, resizeTo);
    } catch (err) {
      failed = true;
      traceEvent('except Exception: failed = True (save_and_reraise_exception)', () => ({
        rollback: `roll_detaching(${oldVolumeId}), unreserve_volume(${newVolumeId})`,
      }));
      if (newCinfo) {
        LOG.exception(`Failed to swap volume ${oldVolumeId} for ${newVolumeId}`, err, { context, instance: instance.uuid });
      } else {
        LOG.exception(`Failed to connect to volume ${newVolumeId} with volume at ${mountpoint}`, err, { context, instance: instance.uuid });
      }
      await this.volume_api.roll_detaching(context, oldVolumeId);
      await this.volume_api.unreserve_volume(context, newVolumeId);
      throw err;
    } finally {
      traceEvent('finally:', () => ({
        failed,
        terminate_connection: newCinfo ? (failed ? newVolumeId : oldVolumeId) : 'skipped (no new_cinfo)',
        migrate_volume_completion: `error=${failed ? 'True' : 'False'}`,
      }));
      const connVolume = failed ? newVolumeId : oldVolumeId;
      if (newCinfo) {
        LOG.debug(`swap_volume: calling Cinder terminate_connection for ${connVolume}`, { context, instance: instance.uuid });
        await this.volume_api.terminate_connection(context, connVolume, connector);
      }
      // If Cinder initiated the swap, it will keep the original ID
      compRet = await this.volume_api.migrate_volume_completion(context, oldVolumeId, newVolumeId, failed);
      await this.store.update((s) => journalStep(s, { kind: 'swap', instance: instance.uuid, device: mountpoint }, failed ? 'cinder.rolled-back' : 'cinder.completed'));
      LOG.debug(`swap_volume: Cinder migrate_volume_completion returned: ${pyRepr(compRet)}`, { context, instance: instance.uuid });
    }
    return [compRet, newCinfo];
  }

  /** ComputeManager._init_volume_connection: the new connection keeps the old serial */
  async _init_volume_connection(
    context: RequestContext,
    newVolumeId: string,
    oldVolumeId: string,
    connector: Connector,
    instance: Instance,
    bdm: Bdm,
  ): Promise<[ConnectionInfo, ConnectionInfo]> {
    void instance;
    const newCinfo = (await this.volume_api.initialize_connection(context, newVolumeId, connector)) as unknown as ConnectionInfo;
    const oldCinfo = JSON.parse(bdm.connectionInfo ?? 'null') as ConnectionInfo;
    if (oldCinfo && !('serial' in oldCinfo)) oldCinfo.serial = oldVolumeId;
    newCinfo.serial = oldCinfo.serial;
    return [oldCinfo, newCinfo];
  }

  /** reserve_block_device_name: the BDM row for a volume being attached */
  async reserve_block_device_name(ctx: RequestContext, instance: Instance, device: string | null, volumeId: string): Promise<string> {
    return this.store.update((s) => {
      const dev = nextDeviceName(s, instance.uuid, device);
      newBdm(s, { instanceUuid: instance.uuid, deviceName: dev, volumeId });
      // novasim: the attach is journaled from the save that creates its BDM
      journalBegin(s, { kind: 'attach', instance: instance.uuid, device: dev, id: ctx.requestId, volumes: [volumeId], step: 'nova.bdm-reserved' });
      return dev;
    });
  }

  /** attach_volume → DriverVolumeBlockDevice.attach */
  async attach_volume(context: RequestContext, instance: Instance, bdmId: number): Promise<void> {
    const bdm = byKey(this.store.read(), 'bdms', bdmId);
    if (!bdm || !bdm.volumeId) return;
    const volumeId = bdm.volumeId;
    const connector = this.driver.get_volume_connector(instance);
    const key: OperationKey = { kind: 'attach', instance: instance.uuid, device: bdm.deviceName };
    let cinfo: ConnectionInfo | null = null;
    try {
      cinfo = (await this.volume_api.initialize_connection(context, volumeId, connector)) as unknown as ConnectionInfo;
      if (!('serial' in cinfo)) cinfo.serial = volumeId;
      await this.driver.attach_volume(context, cinfo, instance, bdm.deviceName);
      await this.volume_api.attach(context, volumeId, instance.uuid, bdm.deviceName, instance.host);
      const info = JSON.stringify(cinfo);
      await this.store.update((s) => {
        const row = byKey(s, 'bdms', bdmId);
        if (row) row.connectionInfo = info;
        journalEnd(s, key);
      });
    } catch (err) {
      LOG.exception(`Failed to attach ${volumeId} at ${bdm.deviceName}`, err, { context, instance: instance.uuid });
      if (cinfo) await this.volume_api.terminate_connection(context, volumeId, connector);
      await this.volume_api.unreserve_volume(context, volumeId);
      await this.store.update((s) => {
        remove(s, 'bdms', [byKey(s, 'bdms', bdmId)]);
        journalEnd(s, key);
      });
      throw err;
    }
  }

  /** detach_volume → _detach_volume */
  async detach_volume(context: RequestContext, volumeId: string, instance: Instance): Promise<void> {
    const bdm = bdmByVolumeAndInstance(this.store.read(), volumeId, instance.uuid);
    const connector = this.driver.get_volume_connector(instance);
    const cinfo = JSON.parse(bdm.connectionInfo ?? '{}') as ConnectionInfo;
    LOG.info(`Detach volume ${volumeId} from mountpoint ${bdm.deviceName}`, { context, instance: instance.uuid });
    const key: OperationKey = { kind: 'detach', instance: instance.uuid, device: bdm.deviceName };
    try {
      await this.driver.detach_volume(cinfo, instance, bdm.deviceName);
    } catch (err) {
      LOG.exception(`Failed to detach volume ${volumeId} from ${bdm.deviceName}`, err, { context, instance: instance.uuid });
      await this.volume_api.roll_detaching(context, volumeId);
      await this.store.update((s) => journalEnd(s, key));
      throw err;
    }
    await this.store.update((s) => journalStep(s, key, 'libvirt.detached'));
    await this.volume_api.terminate_connection(context, volumeId, connector);
    const vol = await this.volume_api.get(context, volumeId);
    await this.volume_api.detach(context, volumeId, vol.attachments[instance.uuid]?.attachment_id ?? null);
    await this.store.update((s) => {
      remove(s, 'bdms', [byKey(s, 'bdms', bdm.id)]);
      journalEnd(s, key);
    });
  }

  /** build_and_run_instance: network, root disk, domain, then ACTIVE */
  async build_and_run_instance(context: RequestContext, instance: Instance): Promise<void> {
    const s0 = this.store.read();
    const flavor = s0.flavors.find((f) => f.id === instance.flavorId);
    const boot: OperationKey = { kind: 'boot', instance: instance.uuid, device: null };
    // @wrap_instance_event around _do_build_and_run_instance
    const event = eventName('_do_build_and_run_instance');
    try {
      await this.store.update((s) => {
        eventStart(s, context, event, instance.uuid);
        const used = new Set(s.nova.instances.flatMap((i) => Object.values(i.addresses).flat().map((a) => a.addr)));
        let n = 3;
        while (used.has(`10.0.0.${n}`)) n++;
        updateInstance(s, instance.uuid, {
          taskState: 'spawning',
          addresses: { private: [{ addr: `10.0.0.${n}`, version: 4, type: 'fixed', mac: `fa:16:3e:00:00:${n.toString(16).padStart(2, '0')}` }] },
        });
      });
      await this.driver.spawn(instance, flavor?.disk ?? 1, flavor?.ram ?? 512, flavor?.vcpus ?? 1);
      await this.store.update((s) => {
        updateInstance(s, instance.uuid, { vmState: vm_states.ACTIVE, taskState: null, powerState: power_state.RUNNING, launchedAt: isoSeconds() });
        eventFinish(s, context, event, instance.uuid);
        journalEnd(s, boot);
      });
      LOG.info('Instance spawned successfully.', { context, instance: instance.uuid });
    } catch (err) {
      LOG.exception('Instance failed to spawn', err, { context, instance: instance.uuid });
      await this.store.update((s) => {
        updateInstance(s, instance.uuid, { vmState: vm_states.ERROR, taskState: null });
        // NOTE: _do_build_and_run_instance handles a failed build itself (ERROR, and it
        // returns build_results.FAILED): nothing escapes the event, which Mitaka therefore
        // records as a 'Success' (an event never started, its save failed, stays unfinished)
        const action = actionGetByRequestId(s, instance.uuid, context.requestId);
        if (action?.events.some((e) => e.event === event && e.result === null)) eventFinish(s, context, event, instance.uuid);
        journalEnd(s, boot);
      });
      throw err;
    }
  }

  /** terminate_instance → do_terminate_instance: a delete that _delete_instance cannot
   * finish leaves the server in ERROR (task_state cleared), where the user sees it and can
   * delete it again, never silently where it was */
  async terminate_instance(context: RequestContext, instance: Instance): Promise<void> {
    // @wrap_instance_event: compute_terminate_instance under the request's 'delete' action
    const event = eventName('terminate_instance');
    await this.store.update((s) => eventStart(s, context, event, instance.uuid));
    try {
      await this._delete_instance(context, instance, event);
    } catch (err) {
      if (err instanceof InstanceNotFound) {
        LOG.info('Instance disappeared during terminate', { context, instance: instance.uuid });
        await this.store.update((s) => eventFinish(s, context, event, instance.uuid));
        return;
      }
      // As we're trying to delete always go to Error if something goes wrong that
      // _delete_instance can't handle.
      LOG.exception('Setting instance vm_state to ERROR', err, { context, instance: instance.uuid });
      await this.store.update((s) => {
        if (s.nova.instances.some((i) => i.uuid === instance.uuid && !i.deleted)) {
          updateInstance(s, instance.uuid, { vmState: vm_states.ERROR, taskState: null });
        }
        journalEnd(s, { kind: 'delete', instance: instance.uuid, device: null });
        eventFinish(s, context, event, instance.uuid, err);
      });
      throw err;
    }
  }

  /** _delete_instance → _shutdown_instance: power off, volumes detached in Cinder, BDMs and instance gone */
  private async _delete_instance(context: RequestContext, instance: Instance, event: string): Promise<void> {
    await this.driver.destroy(instance);
    const bdms = where(this.store.read(), 'bdms', 'instanceUuid', instance.uuid);
    const connector = this.driver.get_volume_connector(instance);
    for (const bdm of bdms) {
      if (!bdm.volumeId) continue;
      try {
        await this.volume_api.terminate_connection(context, bdm.volumeId, connector);
        const vol = await this.volume_api.get(context, bdm.volumeId);
        await this.volume_api.detach(context, bdm.volumeId, vol.attachments[instance.uuid]?.attachment_id ?? null);
      } catch (err) {
        LOG.warning(`Ignoring error while detaching volume ${bdm.volumeId}: ${errText(err)}`, { context, instance: instance.uuid });
      }
    }
    await this.store.update((s) => {
      remove(s, 'bdms', where(s, 'bdms', 'instanceUuid', instance.uuid));
      journalEnd(s, { kind: 'delete', instance: instance.uuid, device: null });
      updateInstance(s, instance.uuid, {
        vmState: vm_states.DELETED,
        taskState: null,
        powerState: power_state.NOSTATE,
        deleted: true,
        terminatedAt: isoSeconds(),
      });
      eventFinish(s, context, event, instance.uuid);
    });
    LOG.info('Terminating instance', { context, instance: instance.uuid });
  }

  /** ComputeManager.reboot_instance: acknowledge (REBOOT_PENDING), start (REBOOT_STARTED),
   * the driver's reboot, then ACTIVE with the power state the domain has now */
  async reboot_instance(context: RequestContext, instance: Instance, rebootType: 'SOFT' | 'HARD'): Promise<void> {
    // @wrap_instance_event: compute_reboot_instance, under the request's action
    const event = eventName('reboot_instance');
    const requestCtx = context;
    await this.store.update((s) => eventStart(s, requestCtx, event, instance.uuid));
    try {
      await this._reboot_instance(context, instance, rebootType);
    } catch (err) {
      await this.store.update((s) => eventFinish(s, requestCtx, event, instance.uuid, err));
      throw err;
    }
    await this.store.update((s) => eventFinish(s, requestCtx, event, instance.uuid));
  }

  private async _reboot_instance(context: RequestContext, instance: Instance, rebootType: 'SOFT' | 'HARD'): Promise<void> {
    const soft = rebootType === 'SOFT';
    context = elevated(context);
    LOG.info('Rebooting instance', { context, instance: instance.uuid });
    const ps = this.driver.get_power_state(instance);
    await this.store.update((s) => updateInstance(s, instance.uuid, { taskState: soft ? task_states.REBOOT_PENDING : task_states.REBOOT_PENDING_HARD, powerState: ps }));
    if (ps !== power_state.RUNNING) {
      LOG.warning(`trying to reboot a non-running instance: (state: ${ps} expected: ${power_state.RUNNING})`, { context, instance: instance.uuid });
    }
    // don't change it out of rescue mode
    const newVmState = instance.vmState === vm_states.RESCUED ? vm_states.RESCUED : vm_states.ACTIVE;
    try {
      await this.store.update((s) => updateInstance(s, instance.uuid, { taskState: soft ? task_states.REBOOT_STARTED : task_states.REBOOT_STARTED_HARD }));
      await this.driver.reboot(context, instance, rebootType);
    } catch (err) {
      // a reboot that failed with the guest still running does not put it into ERROR
      const nowPs = this.driver.get_power_state(instance);
      if (nowPs === power_state.RUNNING) {
        LOG.warning('Reboot failed but instance is running', { context, instance: instance.uuid });
        await this.store.update((s) => updateInstance(s, instance.uuid, { powerState: nowPs, vmState: newVmState, taskState: null }));
        return;
      }
      LOG.error(`Cannot reboot instance: ${errText(err)}`, { context, instance: instance.uuid });
      await this.store.update((s) => updateInstance(s, instance.uuid, { vmState: vm_states.ERROR, taskState: null, powerState: nowPs }));
      throw err;
    }
    const newPs = this.driver.get_power_state(instance);
    await this.store.update((s) => updateInstance(s, instance.uuid, { powerState: newPs, vmState: newVmState, taskState: null }));
  }

  /** stop_instance, start_instance, pause_instance, …: each @wrap_instance_event, so each
   * records its event (compute_stop_instance, …) under the request's action */
  private async power(ctx: RequestContext, instance: Instance, method: string, act: () => Promise<void>, vmState: string): Promise<void> {
    const event = eventName(method);
    await this.store.update((s) => eventStart(s, ctx, event, instance.uuid));
    try {
      await act();
    } catch (err) {
      // the event fails, then @reverts_task_state (one save here)
      await this.store.update((s) => {
        eventFinish(s, ctx, event, instance.uuid, err);
        updateInstance(s, instance.uuid, { taskState: null });
      });
      throw err;
    }
    const ps = this.driver.get_power_state(instance);
    await this.store.update((s) => {
      updateInstance(s, instance.uuid, { vmState, taskState: null, powerState: ps });
      eventFinish(s, ctx, event, instance.uuid);
    });
  }
}

// --trace: the compute manager's side of the swap, as the seed walks it
const MANAGER = { location: 'nova/compute/manager.py', layer: 'nova', service: 'nova-compute' } as const;
instrument(ComputeManager.prototype, 'swap_volume', { name: 'ComputeManager.swap_volume()', ...MANAGER }, (_c: RequestContext, oldVolumeId: string, newVolumeId: string, instance: Instance) => ({
  instance: instance.uuid,
  old_volume_id: oldVolumeId,
  new_volume_id: newVolumeId,
}));
instrument(
  ComputeManager.prototype,
  '_swap_volume',
  { name: 'ComputeManager._swap_volume()', ...MANAGER },
  (_c: RequestContext, _i: Instance, bdm: Bdm, _conn: Connector, oldVolumeId: string, newVolumeId: string, resizeTo: number) => ({
    mountpoint: bdm.deviceName,
    old_volume_id: oldVolumeId,
    new_volume_id: newVolumeId,
    resize_to: resizeTo,
  }),
  (r: [{ save_volume_id: string }, unknown]) => ({ comp_ret: r[0] }),
);
instrument(
  ComputeManager.prototype,
  '_init_volume_connection',
  { name: 'ComputeManager._init_volume_connection()', ...MANAGER },
  (_c: RequestContext, newVolumeId: string, oldVolumeId: string) => ({ new_volume_id: newVolumeId, old_volume_id: oldVolumeId }),
  (r: [ConnectionInfo, ConnectionInfo]) => ({ old_serial: r[0]?.serial, new_serial: r[1]?.serial, new_device_path: (r[1]?.data as { device_path?: string } | undefined)?.device_path }),
);
for (const m of ['attach_volume', 'detach_volume', 'build_and_run_instance', 'terminate_instance', 'reserve_block_device_name', 'reboot_instance'] as const) {
  instrument(ComputeManager.prototype, m, { name: `ComputeManager.${m}()`, ...MANAGER }, (_c: RequestContext, ...rest: unknown[]) => ({
    args: rest.map((a) => (a && typeof a === 'object' && 'uuid' in a ? (a as Instance).uuid : a)),
  }));
}
