// Guest workloads of the embedded world: their settings live in the state (guestLoads),
// they run inside whichever host process runs the domain's QEMU (nova volume-update, or
// `nova-sim guest-load --run`), and `--verify` replays them against the image the disk
// uses now. Nothing here writes to the terminal; sim_main.ts prints.
import { pidAlive } from '../common/process.js';
import { statSync } from 'node:fs';
import { SimError } from '../common/errors.js';
import { getLogger } from '../common/log.js';
import { isoMicros } from '../common/time.js';
import { instanceName } from '../nova/db.js';
import { GUEST_BLOCK, GuestWorkload, planWrite, specProblem, verifyImage, type VerifyResult, type WorkloadSpec } from '../qemu/guest-workload.js';
import type { QemuProcess } from '../qemu/process.js';
import { StateStore } from '../state/store.js';
import { formatBytes, shortSize } from './sizes.js';
import type { Domain, GuestLoad, GuestLoadSegment, Instance, State } from '../state/types.js';

const LOG = getLogger('novasim.guest', 'qemu');
const MiB = 1 << 20;
/** how often a running workload records its write count in the state */
export const PERSIST_INTERVAL_MS = 250;
export const DEFAULT_BLOCK_SIZES = [4096, 16384, 65536];
export const DEFAULT_RATE = 20 * MiB;

function commandError(msg: string): SimError {
  return new SimError('CommandError', msg);
}


// ------------------------------------------------------------------ state lookups

export { formatBytes };

/** novaclient's find_resource for servers: an ID, else a unique name */
export function findServer(s: State, ref: string): Instance {
  const live = s.nova.instances.filter((i) => !i.deleted);
  const byId = live.find((i) => i.uuid === ref);
  if (byId) return byId;
  const byName = live.filter((i) => i.name === ref);
  if (byName.length > 1) throw new SimError('CommandError', `Multiple server matches found for '${ref}', use an ID to be more specific.`);
  if (byName.length === 0) throw new SimError('CommandError', `No server with a name or ID of '${ref}' exists.`);
  return byName[0];
}

function domainOf(s: State, inst: Instance): Domain | undefined {
  return s.libvirt.domains.find((d) => d.uuid === inst.uuid);
}

function findLoad(s: State, server: string, disk: string): GuestLoad | undefined {
  return (s.guestLoads ?? []).find((l) => l.server === server && l.disk === disk);
}

function specOf(seg: GuestLoadSegment): WorkloadSpec {
  return { seed: seg.seed, rate: seg.rate, blockSizes: seg.blockSizes, region: seg.region, limit: seg.limit };
}

// ------------------------------------------------------------------ configuration

export interface GuestLoadSettings {
  rate?: number;
  seed?: number;
  blockSizes?: number[];
  region?: { offset: number; length: number };
  /** stop after this many writes (null: no limit) */
  count?: number | null;
}

export interface GuestLoadView {
  server: string;
  serverName: string;
  load: GuestLoad;
}

/** Sets (or changes) a server's guest workload on one disk: a new segment of settings. */
export async function configureGuestLoad(statePath: string, ref: string, disk: string, settings: GuestLoadSettings): Promise<GuestLoadView> {
  const store = new StateStore(statePath);
  return store.update((s) => {
    const inst = findServer(s, ref);
    const dom = domainOf(s, inst);
    const d = dom?.def.disks.find((x) => x.targetDev === disk);
    if (!dom || !d) throw commandError(`Server ${inst.name} has no disk ${disk}`);
    if (d.type === 'network') throw commandError(`Disk ${disk} of ${inst.name} is a network disk: the guest load writes to image files`);
    s.guestLoads ??= [];
    let load = findLoad(s, inst.uuid, disk);
    const last = load?.segments.at(-1);
    let size = 0;
    try {
      size = statSync(d.source).size;
    } catch {
      throw commandError(`The image of disk ${disk} of ${inst.name} is missing: ${d.source}`);
    }
    const seg: GuestLoadSegment = {
      seed: settings.seed ?? last?.seed ?? 1,
      rate: settings.rate ?? last?.rate ?? DEFAULT_RATE,
      blockSizes: settings.blockSizes ?? last?.blockSizes ?? DEFAULT_BLOCK_SIZES,
      region: settings.region ?? last?.region ?? { offset: 0, length: size - (size % GUEST_BLOCK) },
      limit: settings.count !== undefined ? settings.count : last?.limit ?? null,
      writes: 0,
    };
    const problem = specProblem(specOf(seg));
    if (problem) throw commandError(`Invalid guest load: ${problem}`);
    if (seg.region.offset + seg.region.length > size) {
      throw commandError(`Invalid guest load: the region ends at ${seg.region.offset + seg.region.length}, past the end of disk ${disk} (${size} bytes)`);
    }
    if (!load) {
      load = { server: inst.uuid, disk, active: true, runnerPid: null, segments: [], updatedAt: isoMicros() };
      s.guestLoads.push(load);
    }
    // a segment that never wrote leaves nothing to replay: replace it
    if (last && last.writes === 0) load.segments.pop();
    load.segments.push(seg);
    load.active = true;
    load.updatedAt = isoMicros();
    return { server: inst.uuid, serverName: inst.name, load: structuredClone(load) };
  });
}

/** --off: the guest stops writing (a running workload notices at its next checkpoint) */
export async function stopGuestLoad(statePath: string, ref: string, disk: string): Promise<GuestLoadView> {
  const store = new StateStore(statePath);
  return store.update((s) => {
    const inst = findServer(s, ref);
    const load = findLoad(s, inst.uuid, disk);
    if (!load) throw commandError(`Server ${inst.name} has no guest load on ${disk}`);
    load.active = false;
    load.updatedAt = isoMicros();
    return { server: inst.uuid, serverName: inst.name, load: structuredClone(load) };
  });
}

export function listGuestLoads(statePath: string, ref: string | null): GuestLoadView[] {
  const s = new StateStore(statePath).read();
  const only = ref ? findServer(s, ref).uuid : null;
  return (s.guestLoads ?? [])
    .filter((l) => !only || l.server === only)
    .map((l) => ({ server: l.server, serverName: s.nova.instances.find((i) => i.uuid === l.server)?.name ?? l.server, load: l }));
}

/** one line describing a load, for `nova-sim guest-load SERVER` */
export function describeLoad(v: GuestLoadView): string {
  const l = v.load;
  const seg = l.segments.at(-1);
  const writes = l.segments.reduce((n, x) => n + x.writes, 0);
  const running = pidAlive(l.runnerPid) ? `, running in process ${l.runnerPid}` : '';
  if (!seg) return `${v.serverName} ${l.disk}: ${l.active ? 'on' : 'off'}, no settings`;
  const limit = seg.limit === null ? '' : `, ${seg.limit} writes at most`;
  return (
    `${v.serverName} ${l.disk}: ${l.active ? 'on' : 'off'}${running}, seed ${seg.seed}, ${formatBytes(seg.rate)}/s, ` +
    `blocks ${seg.blockSizes.map(shortSize).join(',')}, region ${shortSize(seg.region.offset)}:${shortSize(seg.region.length)}${limit}; ` +
    `${writes} writes in ${l.segments.length} segment${l.segments.length === 1 ? '' : 's'}`
  );
}

// ------------------------------------------------------------------ verification

export interface VerifyOutcome {
  serverName: string;
  disk: string;
  /** the image the disk uses now (after a swap: the new volume) */
  path: string;
  /** writes the state records per segment */
  recorded: number[];
  result: VerifyResult;
}

/** Replays every recorded write and compares the written blocks with the disk's current image. */
export function verifyGuestLoad(statePath: string, ref: string, disk: string): VerifyOutcome {
  const s = new StateStore(statePath).read();
  const inst = findServer(s, ref);
  const load = findLoad(s, inst.uuid, disk);
  if (!load) throw commandError(`Server ${inst.name} has no guest load on ${disk}`);
  const d = domainOf(s, inst)?.def.disks.find((x) => x.targetDev === disk);
  if (!d) throw commandError(`Server ${inst.name} has no disk ${disk}`);
  const result = verifyImage(d.source, load.segments.map((seg) => ({ ...specOf(seg), writes: seg.writes })));
  return { serverName: inst.name, disk, path: d.source, recorded: load.segments.map((x) => x.writes), result };
}

// ------------------------------------------------------------------ running

export interface RunningGuest {
  server: string;
  disk: string;
  workload: GuestWorkload;
}

/**
 * The guest of a domain whose QEMU this host process has just started: one workload per
 * active load of the domain, writing through the QEMU process's guest path. Returns the
 * stop function the QEMU host calls before it shuts the process down.
 */
export function guestStarter(store: StateStore, onStart?: (g: RunningGuest) => void) {
  return (domain: Domain, proc: QemuProcess): (() => Promise<void>) | null => {
    const loads = (store.read().guestLoads ?? []).filter((l) => l.server === domain.uuid && l.active);
    const stops: Array<() => Promise<void>> = [];
    for (const load of loads) {
      const stop = startOne(store, domain, proc, load, onStart);
      if (stop) stops.push(stop);
    }
    if (!stops.length) return null;
    return async () => {
      await Promise.all(stops.map((f) => f()));
    };
  };
}

function startOne(store: StateStore, domain: Domain, proc: QemuProcess, load: GuestLoad, onStart?: (g: RunningGuest) => void): (() => Promise<void>) | null {
  const disk = domain.def.disks.find((d) => d.targetDev === load.disk && d.alias);
  const segIdx = load.segments.length - 1;
  const seg = load.segments[segIdx];
  if (!disk || !seg) return null;
  if (pidAlive(load.runnerPid) && load.runnerPid !== process.pid) {
    LOG.warning(`${domain.name}: the guest load on ${load.disk} is run by process ${load.runnerPid}; not starting it here`);
    return null;
  }
  if (seg.limit !== null && seg.writes >= seg.limit) return null;
  const device = `drive-${disk.alias as string}`;

  // the write counter reaches the state at a bounded rate, one update at a time
  let chain: Promise<void> = Promise.resolve();
  let lastPersist = 0;
  let stopping = false;
  const persist = (patch: { writes: number; runnerPid: number | null }): Promise<void> => {
    lastPersist = Date.now();
    chain = chain
      .then(() =>
        store.update((s) => {
          const l = findLoad(s, load.server, load.disk);
          const sg = l?.segments[segIdx];
          if (!l || !sg) return true;
          sg.writes = Math.max(sg.writes, patch.writes);
          l.runnerPid = patch.runnerPid;
          l.updatedAt = isoMicros();
          return l.active;
        }),
      )
      .then((active) => {
        // --off from another terminal: the guest stops at this checkpoint
        if (!active && !stopping) void workload.stop();
      })
      .catch((e: unknown) => LOG.error(`${domain.name}: cannot record the guest load's writes: ${(e as Error).message}`));
    return chain;
  };

  const workload = new GuestWorkload({
    spec: specOf(seg),
    segment: segIdx,
    startIndex: seg.writes,
    write: (offset, data) => proc.guestWrite(device, offset, data),
    onWrite: (n) => {
      if (Date.now() - lastPersist >= PERSIST_INTERVAL_MS) void persist({ writes: n, runnerPid: process.pid });
    },
  });
  void persist({ writes: seg.writes, runnerPid: process.pid });
  LOG.info(`${domain.name}: guest load on ${load.disk} starts at write ${seg.writes} (seed ${seg.seed}, ${seg.rate} B/s)`);
  workload.start();
  onStart?.({ server: load.server, disk: load.disk, workload });
  // a budget used up, or a failed write, ends the workload on its own: record it then
  void workload.finished.then(() => {
    if (!stopping) void persist({ writes: workload.writes, runnerPid: process.pid });
    if (workload.error) LOG.warning(`${domain.name}: guest write to ${load.disk} failed: ${workload.error.message}`);
  });
  return async () => {
    stopping = true;
    const n = await workload.stop();
    await persist({ writes: n, runnerPid: null });
    LOG.info(`${domain.name}: guest load on ${load.disk} stopped after write ${n}`);
  };
}

export interface RunOutcome {
  serverName: string;
  disks: { disk: string; writes: number; bytes: number }[];
  seconds: number;
}

/** `nova-sim guest-load SERVER --run SECONDS`: host the domain's QEMU here and let the guest write */
export async function runGuestLoad(statePath: string, ref: string, seconds: number, signal?: AbortSignal): Promise<RunOutcome> {
  if (!(seconds > 0)) throw commandError(`Invalid --run '${seconds}': the number of seconds must be positive`);
  const store = new StateStore(statePath);
  const s = store.read();
  const inst = findServer(s, ref);
  const dom = domainOf(s, inst);
  if (!dom) throw commandError(`Server ${inst.name} has no domain (${instanceName(inst)})`);
  if (dom.state !== 'running') throw commandError(`Server ${inst.name} is not running (domain ${dom.name} is ${dom.state === 'shutoff' ? 'shut off' : dom.state})`);
  const loads = (s.guestLoads ?? []).filter((l) => l.server === inst.uuid && l.active);
  if (!loads.length) throw commandError(`Server ${inst.name} has no active guest load; set one with --rate/--seed`);
  const busy = loads.find((l) => pidAlive(l.runnerPid) && l.runnerPid !== process.pid);
  if (busy) throw commandError(`The guest of ${inst.name} is already running in process ${busy.runnerPid}`);
  const mirror = Object.values(dom.mirrors).find((m) => pidAlive(m.ownerPid) && m.ownerPid !== process.pid);
  if (mirror) throw commandError(`The QEMU of ${inst.name} is run by process ${mirror.ownerPid} (a block job on ${mirror.dev})`);

  const started: RunningGuest[] = [];
  const before = new Map(loads.map((l) => [l.disk, l.segments.at(-1)?.writes ?? 0]));
  const { LibvirtConnection } = await import('../libvirt/connection.js');
  const conn = new LibvirtConnection(store, { startGuest: guestStarter(store, (g) => started.push(g)) });
  const t0 = performance.now();
  try {
    await conn.qemu.get(dom);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      // every workload ended on its own (write budgets used up): nothing left to wait for
      void Promise.all(started.map((g) => g.workload.finished)).then(() => {
        if (started.length) done();
      });
    });
  } finally {
    await conn.close();
  }
  const elapsed = (performance.now() - t0) / 1000;
  const after = store.read();
  return {
    serverName: inst.name,
    seconds: elapsed,
    disks: started.map((g) => {
      const l = findLoad(after, g.server, g.disk);
      const seg = l?.segments.at(-1);
      const from = before.get(g.disk) ?? 0;
      let bytes = 0;
      if (seg) {
        const spec = specOf(seg);
        const segIdx = (l?.segments.length ?? 1) - 1;
        for (let i = from; i < seg.writes; i++) bytes += planSize(spec, segIdx, i);
      }
      return { disk: g.disk, writes: (seg?.writes ?? from) - from, bytes };
    }),
  };
}

function planSize(spec: WorkloadSpec, segment: number, index: number): number {
  return planWrite(spec, segment, index).size;
}
