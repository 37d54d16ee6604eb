// The embedded cloud a `nova` process hosts: cinder-api/volume, nova-api, the message
// bus, nova-compute with its libvirt driver, libvirtd and the QEMU processes — wired the
// way a devstack node wires them, talking HTTP-shaped requests and RPC casts.
import { CinderAPI } from '../nova/volume/cinder.js';
import { createCinderApi, CINDER_PORT } from '../cinder/api.js';
import { VolumeBackend } from '../cinder/backend.js';
import { InProcessTransport } from '../http/in-process.js';
import { LibvirtConnection } from '../libvirt/connection.js';
import { createNovaApi, NOVA_PORT } from '../nova/api/app.js';
import { API } from '../nova/compute/api.js';
import { ComputeManager } from '../nova/compute/manager.js';
import { ComputeAPI as ComputeRpcAPI } from '../nova/compute/rpcapi.js';
import { LibvirtDriver } from '../nova/virt/libvirt/driver.js';
import { Host } from '../nova/virt/libvirt/host.js';
import { MessageBus } from '../rpc/bus.js';
import { StateStore } from '../state/store.js';
import { ensureWorld } from '../novasim/world.js';
import type { CloudEvent, ComputeEvent, DrainResult, EmbeddedCloud } from './types.js';

export interface EmbeddedOptions {
  statePath: string;
  /** called with one line when the state file had to be created */
  onNotice?: (line: string) => void;
  /** the swap loop's poll interval (Mitaka: 0.5 s) */
  blockJobPollMs?: number;
}

const LOOPBACK = '127.0.0.1';

export async function openEmbeddedCloud(opts: EmbeddedOptions): Promise<EmbeddedCloud> {
  const store = new StateStore(opts.statePath);
  await ensureWorld(store, opts.onNotice);
  const state = store.read();

  const listeners = new Set<(ev: CloudEvent) => void>();
  const emit = (ev: CloudEvent): void => {
    for (const l of listeners) l(ev);
  };

  const transport = new InProcessTransport();
  const novaOrigin = `http://${LOOPBACK}:${NOVA_PORT}`;
  const cinderOrigin = `http://${LOOPBACK}:${CINDER_PORT}`;

  // cinder-api + cinder-volume
  const backend = new VolumeBackend(opts.statePath);
  transport.listen(cinderOrigin, createCinderApi(store, backend));

  // nova-compute: libvirt + QEMU underneath, the RPC endpoint on top
  const bus = new MessageBus();
  const libvirt = new LibvirtConnection(store, { notify: emit });
  const volumeApi = new CinderAPI(transport, cinderOrigin);
  const driver = new LibvirtDriver(new Host(libvirt), store, { virtType: 'kvm', blockJobPollMs: opts.blockJobPollMs ?? 500 });
  const manager = new ComputeManager(store, driver, volumeApi);
  bus.listen('compute', state.host, (ctx, method, args) => manager.dispatch(ctx, method, args));

  // nova-api
  const compute = new API(store, volumeApi, new ComputeRpcAPI(bus));
  transport.listen(novaOrigin, createNovaApi(store, compute));

  const handled: ComputeEvent[] = [];
  bus.onCast((o, phase) => {
    const base = { method: o.method, requestId: o.ctx.requestId, instance: String(o.args.instance ?? '') };
    if (phase === 'start') {
      emit({ type: 'compute-start', ...base });
      return;
    }
    let ev: ComputeEvent;
    if (o.error !== undefined) {
      const e = o.error as { kind?: string; name?: string; message?: string };
      ev = { type: 'compute-error', ...base, errorClass: e.kind ?? e.name ?? 'Exception', message: e.message ?? String(o.error) };
    } else {
      ev = { type: 'compute-done', ...base };
    }
    handled.push(ev);
    emit(ev);
  });

  let closed = false;
  const cloud: EmbeddedCloud = {
    statePath: opts.statePath,
    transport,
    endpoints: { compute: `${novaOrigin}/v2.1`, volumev2: `${cinderOrigin}/v2` },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async drain(): Promise<DrainResult> {
      await bus.drain();
      return { handled: [...handled] };
    },
    interrupt() {
      void libvirt.cancelAllJobs();
    },
    async close() {
      if (closed) return;
      closed = true;
      await bus.drain();
      await libvirt.close();
    },
  };
  return cloud;
}
