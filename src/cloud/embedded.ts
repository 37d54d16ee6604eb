// The embedded cloud a `nova` process hosts: cinder-api/volume, nova-api, the message
// bus, nova-compute with its libvirt driver, libvirtd and the QEMU processes — wired the
// way a devstack node wires them, talking HTTP-shaped requests and RPC casts.
//
// Each service is started on first use: `nova list` only ever needs nova-api, so it never
// loads Cinder, nova-compute, libvirt or QEMU (start-up time is part of the product).
//
// The cloud is a floor below the simulator: it knows nothing of fixtures, guest workloads,
// blkdebug rules or `nova-sim doctor`. The simulator hands those in (SimulatorHooks, filled
// by src/novasim/cloud.ts), so the cloud runs without them too.
import { CINDER_PORT, NOVA_PORT } from '../http/ports.js';
import { addLogSink } from '../common/log.js';
import { fileLogSink } from '../common/log-files.js';
import { InProcessTransport } from '../http/in-process.js';
import type { Handler } from '../http/types.js';
import { MessageBus } from '../rpc/bus.js';
import { logsDir } from '../state/paths.js';
import { StateStore } from '../state/store.js';
import type { State } from '../state/types.js';
import type { BlkdebugRules, GuestStarter } from '../libvirt/qemu-host.js';
import { VIR_DOMAIN_BLOCK_JOB_TYPE } from '../libvirt/flags.js';
import type { BlockJobView, CloudEvent, ComputeEvent, DrainResult, EmbeddedCloud } from './types.js';

/** What the world around the cloud adds to it; every hook is optional. */
export interface SimulatorHooks {
  /** makes sure the state file exists before anything reads it (a missing one is created) */
  ensureState?: (store: StateStore, onNotice?: (line: string) => void) => Promise<void>;
  /** the lines to show when the state holds operations a process began and never ended */
  interruptedNotices?: (initial: State, reread: () => State) => Promise<string[]>;
  /** starts the guest OS of a domain whose QEMU this host process starts (its disk I/O) */
  guestStarter?: (store: StateStore) => Promise<GuestStarter>;
  /** the blkdebug rules a domain's QEMU is started with */
  blkdebugRules?: (store: StateStore) => BlkdebugRules;
  /** runs on the state before each save the cloud makes, in the same save */
  beforeSave?: (state: State) => void;
}

export interface EmbeddedOptions {
  statePath: string;
  /** called with one line when the state file had to be created */
  onNotice?: (line: string) => void;
  /** the swap loop's poll interval (Mitaka: 0.5 s) */
  blockJobPollMs?: number;
  /** sees each QEMU process this host starts (tests set blkdebug breakpoints here) */
  onQemuStart?: (domainUuid: string, proc: import('../qemu/process.js').QemuProcess) => void;
  /** the simulator's hooks (src/novasim/cloud.ts) */
  simulator?: SimulatorHooks;
  /** the store the APIs read (a server that owns its state passes its in-memory one; its
   * beforeSave must be the simulator's) */
  store?: StateStore;
  /** a long-running server: the services' log lines are written once per event-loop turn */
  bufferLogs?: boolean;
}

const LOOPBACK = '127.0.0.1';

/** A service whose WSGI app is built when the first request arrives. */
function lazy(build: () => Promise<Handler>): Handler {
  let app: Promise<Handler> | null = null;
  return async (req) => {
    app ??= build();
    return (await app)(req);
  };
}

export async function openEmbeddedCloud(opts: EmbeddedOptions): Promise<EmbeddedCloud> {
  const sim = opts.simulator ?? {};
  const store = opts.store ?? new StateStore(opts.statePath, { beforeSave: sim.beforeSave });
  await sim.ensureState?.(store, opts.onNotice);
  const initial = store.read();
  const host = initial.host;
  // an operation a process began and never ended: say so before anything else happens
  if (initial.operations?.length && opts.onNotice && sim.interruptedNotices) {
    for (const line of await sim.interruptedNotices(initial, () => store.read())) opts.onNotice(line);
  }
  // every service writes its log, as the real ones do, whoever is watching
  const removeLogSink = addLogSink(fileLogSink(logsDir(opts.statePath), undefined, undefined, opts.bufferLogs));

  const listeners = new Set<(ev: CloudEvent) => void>();
  const emit = (ev: CloudEvent): void => {
    for (const l of listeners) l(ev);
  };

  const transport = new InProcessTransport();
  const novaOrigin = `http://${LOOPBACK}:${NOVA_PORT}`;
  const cinderOrigin = `http://${LOOPBACK}:${CINDER_PORT}`;
  const bus = new MessageBus();

  const volumeApi = async () => {
    const { CinderAPI } = await import('../nova/volume/cinder.js');
    return new CinderAPI(transport, cinderOrigin);
  };

  // cinder-api + cinder-volume
  transport.listen(
    cinderOrigin,
    lazy(async () => {
      const [{ createCinderApi }, { VolumeBackend }] = await Promise.all([import('../cinder/api.js'), import('../cinder/backend.js')]);
      return createCinderApi(store, new VolumeBackend(opts.statePath));
    }),
    'cinder-api',
  );

  // nova-compute: libvirt + QEMU underneath, the RPC endpoint on top
  type Libvirt = import('../libvirt/connection.js').LibvirtConnection;
  let libvirt: Libvirt | null = null;
  let interrupted = false;
  let compute: Promise<import('../nova/compute/manager.js').ComputeManager> | null = null;
  const startCompute = async () => {
    const [{ LibvirtConnection }, { LibvirtDriver }, { Host }, { ComputeManager }, guests] = await Promise.all([
      import('../libvirt/connection.js'),
      import('../nova/virt/libvirt/driver.js'),
      import('../nova/virt/libvirt/host.js'),
      import('../nova/compute/manager.js'),
      // the guests of the domains whose QEMU this host runs write to their disks meanwhile
      sim.guestStarter?.(store),
    ]);
    libvirt = new LibvirtConnection(store, {
      notify: emit,
      startGuest: (domain, proc) => {
        opts.onQemuStart?.(domain.uuid, proc);
        return guests ? guests(domain, proc) : null;
      },
      blkdebugRules: sim.blkdebugRules?.(store),
    });
    if (interrupted) void libvirt.cancelAllJobs();
    // nova-compute reads its nova.conf when it starts (`nova-sim config` writes it to the state)
    const diskCachemodes = store.read().novaConf?.libvirt.disk_cachemodes ?? [];
    const driver = new LibvirtDriver(new Host(libvirt), store, { virtType: 'kvm', blockJobPollMs: opts.blockJobPollMs ?? 500, diskCachemodes });
    return new ComputeManager(store, driver, await volumeApi());
  };
  bus.listen('compute', host, async (ctx, method, args) => {
    compute ??= startCompute();
    return (await compute).dispatch(ctx, method, args);
  });

  // nova-api
  transport.listen(
    novaOrigin,
    lazy(async () => {
      const [{ createNovaApi }, { API }, { ComputeAPI }] = await Promise.all([
        import('../nova/api/app.js'),
        import('../nova/compute/api.js'),
        import('../nova/compute/rpcapi.js'),
      ]);
      return createNovaApi(store, new API(store, await volumeApi(), new ComputeAPI(bus)), bus);
    }),
    'nova-api',
  );

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
  return {
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
    async blockJobs(uuid) {
      // only the jobs this host process runs: a libvirt not started has none
      if (!libvirt) return [];
      const conn = libvirt as Libvirt;
      const domain = store.read().libvirt.domains.find((d) => d.uuid === uuid);
      if (!domain || domain.state === 'shutoff') return [];
      const dom = conn.lookupByUUIDString(uuid);
      const jobs: BlockJobView[] = [];
      for (const disk of domain.def.disks) {
        let info: Awaited<ReturnType<typeof dom.blockJobInfo>>;
        try {
          info = await dom.blockJobInfo(disk.targetDev);
        } catch {
          continue; // not running, or the disk went away meanwhile: no job to show
        }
        if (info.type === undefined) continue;
        const live = conn.liveJob(uuid, disk.targetDev);
        const copied = conn.jobBytesCopied(uuid, disk.targetDev);
        jobs.push({
          device: disk.targetDev,
          type: info.type === VIR_DOMAIN_BLOCK_JOB_TYPE.COPY ? 'copy' : 'unknown',
          cur: info.cur ?? 0,
          end: info.end ?? 0,
          ready: live?.ready ?? domain.mirrors[disk.targetDev]?.ready ?? false,
          bandwidth: info.bandwidth ?? 0,
          ...(copied === null ? {} : { bytes_copied: copied }),
        });
      }
      return jobs;
    },
    interrupt() {
      interrupted = true;
      if (libvirt) void libvirt.cancelAllJobs();
    },
    async close() {
      if (closed) return;
      closed = true;
      await bus.drain();
      if (libvirt) await (libvirt as Libvirt).close();
      removeLogSink();
    },
  };
}
