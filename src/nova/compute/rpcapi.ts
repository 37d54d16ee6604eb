// nova/compute/rpcapi.py: the client side of the compute RPC API (version 4.0 casts to
// the instance's host on the 'compute' topic).
import type { RequestContext } from '../../common/context.js';
import { getLogger } from '../../common/log.js';
import type { MessageBus } from '../../rpc/bus.js';
import type { Instance } from '../../state/types.js';
import { instrument } from '../../trace/tracer.js';

const LOG = getLogger('nova.compute.rpcapi', 'nova-api');

export class ComputeAPI {
  constructor(private readonly bus: MessageBus) {}

  private cast(ctx: RequestContext, host: string, method: string, args: Record<string, unknown>): void {
    LOG.debug(`cast to compute.${host}: ${method} (version 4.0)`, { context: ctx });
    this.bus.cast(ctx, 'compute', host, method, args);
  }

  /** ComputeAPI.swap_volume (seed: cctxt.cast(ctxt, 'swap_volume', …)) */
  swap_volume(ctx: RequestContext, instance: Instance, oldVolumeId: string, newVolumeId: string): void {
    this.cast(ctx, instance.host, 'swap_volume', { instance: instance.uuid, old_volume_id: oldVolumeId, new_volume_id: newVolumeId });
  }

  /** reserve_block_device_name is a call: the API waits for the device name */
  async reserve_block_device_name(ctx: RequestContext, instance: Instance, device: string | null, volumeId: string): Promise<string> {
    return (await this.bus.call(ctx, 'compute', instance.host, 'reserve_block_device_name', {
      instance: instance.uuid,
      device,
      volume_id: volumeId,
    })) as string;
  }

  attach_volume(ctx: RequestContext, instance: Instance, bdmId: number): void {
    this.cast(ctx, instance.host, 'attach_volume', { instance: instance.uuid, bdm: bdmId });
  }

  detach_volume(ctx: RequestContext, instance: Instance, volumeId: string): void {
    this.cast(ctx, instance.host, 'detach_volume', { instance: instance.uuid, volume_id: volumeId });
  }

  build_and_run_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'build_and_run_instance', { instance: instance.uuid });
  }

  terminate_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'terminate_instance', { instance: instance.uuid });
  }

  /** ComputeAPI.reboot_instance: a cast with the reboot type */
  reboot_instance(ctx: RequestContext, instance: Instance, rebootType: 'SOFT' | 'HARD'): void {
    this.cast(ctx, instance.host, 'reboot_instance', { instance: instance.uuid, block_device_info: null, reboot_type: rebootType });
  }

  /** ComputeAPI.stop_instance (do_cast=True, clean_shutdown=True) */
  stop_instance(ctx: RequestContext, instance: Instance, cleanShutdown = true): void {
    this.cast(ctx, instance.host, 'stop_instance', { instance: instance.uuid, clean_shutdown: cleanShutdown });
  }

  /** ComputeAPI.start_instance */
  start_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'start_instance', { instance: instance.uuid });
  }

  /** ComputeAPI.pause_instance */
  pause_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'pause_instance', { instance: instance.uuid });
  }

  /** ComputeAPI.unpause_instance */
  unpause_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'unpause_instance', { instance: instance.uuid });
  }

  /** ComputeAPI.suspend_instance */
  suspend_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'suspend_instance', { instance: instance.uuid });
  }

  /** ComputeAPI.resume_instance */
  resume_instance(ctx: RequestContext, instance: Instance): void {
    this.cast(ctx, instance.host, 'resume_instance', { instance: instance.uuid });
  }
}

// --trace: the RPC API's methods (each prepares the client and casts or calls)
for (const m of ['swap_volume', 'reserve_block_device_name', 'attach_volume', 'detach_volume', 'build_and_run_instance', 'terminate_instance', 'reboot_instance', 'stop_instance', 'start_instance', 'pause_instance', 'unpause_instance', 'suspend_instance', 'resume_instance'] as const) {
  instrument(
    ComputeAPI.prototype,
    m,
    { name: `ComputeAPI.${m}()`, location: 'nova/compute/rpcapi.py', layer: 'nova', service: 'nova-api' },
    (_ctx: RequestContext, instance: Instance, ...rest: unknown[]) =>
      m === 'swap_volume' ? { instance: instance.uuid, old_volume_id: rest[0], new_volume_id: rest[1], version: '4.0' } : { instance: instance.uuid },
  );
}
