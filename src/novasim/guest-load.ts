// Guest workloads of the embedded world: their settings live in the state (guestLoads),
// they run inside whichever host process runs the domain's QEMU (nova volume-update, or
// `nova-sim guest-load --run`), and `--verify` replays them against the image the disk
// uses now. Nothing here writes to the terminal; the nova-sim shell (shell/commands/) prints.
//
// One process at a time hosts a domain's guest. A host process that starts the domain's
// QEMU while a `guest-load --run` process runs the guest asks it to hand over (SIGUSR2):
// the runner stops its workloads (the write in flight lands), records the exact write
// count with runnerPid null and exits; the new host goes on with the same plan from that
// count. Until then its QEMU's monitor holds every command, so no block job can start while
// the other process still writes; a hand-over that does not happen fails them all.
import { pidAlive } from '../common/process.js';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { CommandError } from '../common/errors.js';
import { getLogger } from '../common/log.js';
import { isoMicros } from '../common/time.js';
import { instanceName } from '../nova/db.js';
import { GUEST_BLOCK, GuestWorkload, planWrite, specProblem, verifyImage, type VerifyResult, type WorkloadSpec } from '../qemu/guest-workload.js';
import type { QemuProcess } from '../qemu/process.js';
import { StateStore } from '../state/store.js';
import { formatBytes, shortSize } from './sizes.js';
import { blkdebugRulesFrom } from './host-records.js';
import { derivedImagePath, symlinkBelowImages } from '../state/paths.js';
import { LibvirtError, VIR_ERR } from '../libvirt/errors.js';
import type { Domain, DomainDisk, GuestLoad, GuestLoadSegment, Instance, State } from '../state/types.js';

const LOG = getLogger('novasim.guest', 'qemu');
const MiB = 1 << 20;
/** how often a running workload records its write count in the state */
export const PERSIST_INTERVAL_MS = 250;
export const DEFAULT_BLOCK_SIZES = [4096, 16384, 65536];
export const DEFAULT_RATE = 20 * MiB;
/** how long a new host waits for the process running the guest to hand it over */
export const HANDOVER_TIMEOUT_MS = 10_000;
/** how often the waiting side (and a runner that handed over) looks at the state */
const HANDOVER_POLL_MS = 20;
/** how long a runner that handed over looks for the process that took the guest */
const CLAIM_WAIT_MS = 2_000;
/** what a host process sends the runner of a guest it needs to host */
export const HANDOVER_SIGNAL = 'SIGUSR2';



// ------------------------------------------------------------------ state lookups

export { formatBytes };

/** novaclient's find_resource for servers: an ID, else a unique name */
export function findServer(s: State, ref: string): Instance {
  const live = s.nova.instances.filter((i) => !i.deleted);
  const byId = live.find((i) => i.uuid === ref);
  if (byId) return byId;
  const byName = live.filter((i) => i.name === ref);
  if (byName.length > 1) throw new CommandError(`Multiple server matches found for '${ref}', use an ID to be more specific.`);
  if (byName.length === 0) throw new CommandError(`No server with a name or ID of '${ref}' exists.`);
  return byName[0];
}

function domainOf(s: State, inst: Instance): Domain | undefined {
  return s.libvirt.domains.find((d) => d.uuid === inst.uuid);
}

function findLoad(s: State, server: string, disk: string): GuestLoad | undefined {
  return (s.guestLoads ?? []).find((l) => l.server === server && l.disk === disk);
}

/**
 * The image of a server's disk, as this state derives it from the volume's (or server's)
 * id, never the string the state holds; refused in one line when it is not one of this
 * state's images or is reached through a symbolic link (state validation refuses both
 * first: this keeps every open confined should the two ever differ).
 */
function diskImage(statePath: string, s: State, inst: Instance, disk: DomainDisk): string {
  const path = derivedImagePath(statePath, s, disk.source);
  if (path === null) throw new CommandError(`The image of disk ${disk.targetDev} of ${inst.name} is not an image of this state: ${JSON.stringify(disk.source)}`);
  const link = symlinkBelowImages(statePath, path);
  if (link !== null) throw new CommandError(`The image of disk ${disk.targetDev} of ${inst.name} is reached through a symbolic link: ${JSON.stringify(link)} (images are never opened through one)`);
  return path;
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
    if (!dom || !d) throw new CommandError(`Server ${inst.name} has no disk ${disk}`);
    if (d.type === 'network') throw new CommandError(`Disk ${disk} of ${inst.name} is a network disk: the guest load writes to image files`);
    s.guestLoads ??= [];
    let load = findLoad(s, inst.uuid, disk);
    const last = load?.segments.at(-1);
    const image = diskImage(statePath, s, inst, d);
    let size = 0;
    try {
      size = statSync(image).size;
    } catch {
      throw new CommandError(`The image of disk ${disk} of ${inst.name} is missing: ${image}`);
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
    if (problem) throw new CommandError(`Invalid guest load: ${problem}`);
    if (seg.region.offset + seg.region.length > size) {
      throw new CommandError(`Invalid guest load: the region ends at ${seg.region.offset + seg.region.length}, past the end of disk ${disk} (${size} bytes)`);
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
    if (!load) throw new CommandError(`Server ${inst.name} has no guest load on ${disk}`);
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
  if (!load) throw new CommandError(`Server ${inst.name} has no guest load on ${disk}`);
  const d = domainOf(s, inst)?.def.disks.find((x) => x.targetDev === disk);
  if (!d) throw new CommandError(`Server ${inst.name} has no disk ${disk}`);
  const image = diskImage(statePath, s, inst, d);
  const result = verifyImage(image, load.segments.map((seg) => ({ ...specOf(seg), writes: seg.writes })));
  return { serverName: inst.name, disk, path: image, recorded: load.segments.map((x) => x.writes), result };
}

// ------------------------------------------------------------------ running

export interface RunningGuest {
  server: string;
  disk: string;
  workload: GuestWorkload;
}

export interface GuestStarterOptions {
  /** how long to wait for another process's guest to be handed over, ms (default: 10 s,
   * or $NOVASIM_HANDOVER_TIMEOUT_MS, which the CLI tests use to keep a failure quick) */
  handoverTimeoutMs?: number;
}

function defaultHandoverTimeout(): number {
  const env = Number(process.env.NOVASIM_HANDOVER_TIMEOUT_MS);
  return Number.isFinite(env) && env > 0 ? env : HANDOVER_TIMEOUT_MS;
}

/** the longest delay setTimeout takes (a longer one fires at once, with a warning) */
const MAX_TIMER_MS = 2 ** 31 - 1;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** the active loads of a domain as the state records them now */
function activeLoads(store: StateStore, domainUuid: string): GuestLoad[] {
  return (store.read().guestLoads ?? []).filter((l) => l.server === domainUuid && l.active);
}

/** the process (not this one) that runs one of these loads now, if any */
function otherRunner(loads: GuestLoad[]): number | null {
  return loads.map((l) => l.runnerPid).find((pid): pid is number => pid !== null && pid !== process.pid && pidAlive(pid)) ?? null;
}

/**
 * The guest of a domain whose QEMU this host process has just started: one workload per
 * active load of the domain, writing through the QEMU process's guest path. Returns the
 * stop function the QEMU host calls before it shuts the process down.
 *
 * If a `guest-load --run` process runs the guest now, it is asked to hand it over first;
 * the QEMU host gives nobody the monitor until then (a drive-mirror must not start while
 * the other process still writes to the source), and if the hand-over fails the QEMU is
 * refused with that error, so the swap fails (and rolls back) instead of losing writes.
 */
export function guestStarter(store: StateStore, onStart?: (g: RunningGuest) => void, opts: GuestStarterOptions = {}) {
  const timeoutMs = opts.handoverTimeoutMs ?? defaultHandoverTimeout();
  const startAll = (domain: Domain, proc: QemuProcess): Array<() => Promise<void>> => {
    const stops: Array<() => Promise<void>> = [];
    for (const load of activeLoads(store, domain.uuid)) {
      const stop = startOne(store, domain, proc, load, onStart);
      if (stop) stops.push(stop);
    }
    return stops;
  };
  const stopAll = async (stops: Array<() => Promise<void>>): Promise<void> => {
    await Promise.all(stops.map((f) => f()));
  };
  return async (domain: Domain, proc: QemuProcess): Promise<(() => Promise<void>) | null> => {
    const loads = activeLoads(store, domain.uuid);
    if (!loads.length) return null;
    const runner = otherRunner(loads);
    if (runner !== null) {
      try {
        await takeOver(store, domain, runner, timeoutMs);
      } catch (e) {
        LOG.error(`${domain.name}: cannot host the guest: ${(e as Error).message}`);
        throw e;
      }
    }
    const stops = startAll(domain, proc);
    return stops.length ? () => stopAll(stops) : null;
  };
}

/** The words a process's command line is made of; null if it cannot be read. */
function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // no procfs (macOS): ask ps
  }
  try {
    const out = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim().split(/\s+/).filter(Boolean);
  } catch {
    return null;
  }
}

/** Whether `pid` is a `nova-sim guest-load … --run` process (the only kind that hands a
 * guest over): a recorded pid may belong to another host process, or have been reused. */
function isGuestRunner(pid: number): boolean {
  const argv = commandLine(pid);
  if (!argv) return false;
  const i = argv.findIndex((a) => /^nova-sim(\.[cm]?js)?$/.test(basename(a)));
  if (i < 0) return false;
  const rest = argv.slice(i + 1);
  return rest.includes('guest-load') && rest.some((a) => /^--run?(=|$)/.test(a));
}

/**
 * Asks the process that runs a domain's guest to hand it over, and waits until it has
 * recorded its exact write count and let go (runnerPid null) or has gone. Rejects with a
 * one-line libvirtError when that cannot happen.
 */
async function takeOver(store: StateStore, domain: Domain, pid: number, timeoutMs: number): Promise<void> {
  const inst = store.read().nova.instances.find((i) => i.uuid === domain.uuid);
  const who = `the guest of ${inst ? `${inst.name} (${domain.name})` : domain.name}`;
  const fail = (why: string): LibvirtError => new LibvirtError(VIR_ERR.OPERATION_FAILED, `${who} ${why}`);
  const gone = (): boolean => !pidAlive(pid);
  if (gone()) return;
  if (!isGuestRunner(pid)) {
    throw fail(`is run by process ${pid}, which is not a 'nova-sim guest-load --run' that could hand it over; not starting a second writer`);
  }
  try {
    process.kill(pid, HANDOVER_SIGNAL);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return;
    throw fail(`is run by process ${pid}, which cannot be asked to hand it over (${code ?? String(e)})`);
  }
  LOG.info(`${domain.name}: asked process ${pid} to hand the guest over`);
  const t0 = Date.now();
  for (;;) {
    const loads = activeLoads(store, domain.uuid);
    if (!loads.some((l) => l.runnerPid === pid) || gone()) {
      const other = otherRunner(loads);
      if (other !== null && other !== pid) throw fail(`was taken over by process ${other} meanwhile; not starting a second writer`);
      LOG.info(`${domain.name}: process ${pid} handed the guest over after ${Date.now() - t0} ms`);
      return;
    }
    if (Date.now() - t0 >= timeoutMs) {
      throw fail(`is run by process ${pid}, which did not hand it over within ${(timeoutMs / 1000).toFixed(1)} s; not starting a second writer`);
    }
    await sleep(HANDOVER_POLL_MS);
  }
}

function startOne(store: StateStore, domain: Domain, proc: QemuProcess, load: GuestLoad, onStart?: (g: RunningGuest) => void): (() => Promise<void>) | null {
  const disk = domain.def.disks.find((d) => d.targetDev === load.disk && d.alias);
  const segIdx = load.segments.length - 1;
  const seg = load.segments[segIdx];
  if (!disk || !seg) return null;
  if (pidAlive(load.runnerPid) && load.runnerPid !== process.pid) {
    // guestStarter took the guest over first; a process that claimed it since keeps it
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
  /** another host process asked for the guest (SIGUSR2) and this run handed it over:
   * `to` is the process seen running it next (null if none claimed it in time) */
  handedOver: { to: number | null } | null;
}

/** After a hand-over: the process that runs the server's guest now, once it has claimed it. */
async function claimant(store: StateStore, server: string, waitMs: number): Promise<number | null> {
  const t0 = Date.now();
  for (;;) {
    const loads = (store.read().guestLoads ?? []).filter((l) => l.server === server);
    const pid = otherRunner(loads);
    if (pid !== null || Date.now() - t0 >= waitMs) return pid;
    await sleep(HANDOVER_POLL_MS);
  }
}

/** `nova-sim guest-load SERVER --run SECONDS`: host the domain's QEMU here and let the guest write */
export async function runGuestLoad(statePath: string, ref: string, seconds: number, signal?: AbortSignal): Promise<RunOutcome> {
  if (!(seconds > 0)) throw new CommandError(`Invalid --run '${seconds}': the number of seconds must be positive`);
  const store = new StateStore(statePath);
  const s = store.read();
  const inst = findServer(s, ref);
  const dom = domainOf(s, inst);
  if (!dom) throw new CommandError(`Server ${inst.name} has no domain (${instanceName(inst)})`);
  if (dom.state !== 'running') throw new CommandError(`Server ${inst.name} is not running (domain ${dom.name} is ${dom.state === 'shutoff' ? 'shut off' : dom.state})`);
  const loads = (s.guestLoads ?? []).filter((l) => l.server === inst.uuid && l.active);
  if (!loads.length) throw new CommandError(`Server ${inst.name} has no active guest load; set one with --rate/--seed`);
  const busy = loads.find((l) => pidAlive(l.runnerPid) && l.runnerPid !== process.pid);
  if (busy) throw new CommandError(`The guest of ${inst.name} is already running in process ${busy.runnerPid}`);
  const mirror = Object.values(dom.mirrors).find((m) => pidAlive(m.ownerPid) && m.ownerPid !== process.pid);
  if (mirror) throw new CommandError(`The QEMU of ${inst.name} is run by process ${mirror.ownerPid} (a block job on ${mirror.dev})`);
  // the QEMU opens every disk of the domain (and refuses a link: O_NOFOLLOW); the disks the
  // guest writes to are checked here first, so a bad one is refused before anything runs
  for (const l of loads) {
    const d = dom.def.disks.find((x) => x.targetDev === l.disk && x.type !== 'network');
    if (d) diskImage(statePath, s, inst, d);
  }

  const started: RunningGuest[] = [];
  const before = new Map(loads.map((l) => [l.disk, l.segments.at(-1)?.writes ?? 0]));
  const { LibvirtConnection } = await import('../libvirt/connection.js');
  const conn = new LibvirtConnection(store, { startGuest: guestStarter(store, (g) => started.push(g)), blkdebugRules: blkdebugRulesFrom(store) });
  // another host process that needs the guest asks for it: stop writing at once, record
  // the exact count (runnerPid null: conn.close() stops the guest) and end the run
  let handOver = false;
  let wake: (() => void) | null = null;
  const onHandOver = (): void => {
    if (!handOver) LOG.info(`${dom.name}: asked to hand the guest over (${HANDOVER_SIGNAL})`);
    handOver = true;
    wake?.();
  };
  process.on(HANDOVER_SIGNAL, onHandOver);
  const t0 = performance.now();
  let elapsed: number;
  let after: State;
  let handedOver: RunOutcome['handedOver'] = null;
  try {
    try {
      await conn.qemu.get(dom);
      if (!handOver && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          // setTimeout holds at most 2^31-1 ms (24.8 days): a longer run waits in slices
          const deadline = Date.now() + seconds * 1000;
          let timer: NodeJS.Timeout;
          const arm = (): void => {
            const left = deadline - Date.now();
            if (left <= 0) return resolve();
            timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
          };
          arm();
          const done = (): void => {
            clearTimeout(timer);
            resolve();
          };
          wake = done;
          signal?.addEventListener('abort', done, { once: true });
          // every workload ended on its own (write budgets used up): nothing left to wait for
          void Promise.all(started.map((g) => g.workload.finished)).then(() => {
            if (started.length) done();
          });
        });
      }
    } finally {
      await conn.close();
    }
    elapsed = (performance.now() - t0) / 1000;
    // the counts this run recorded, before the next host adds to them
    after = store.read();
    if (handOver) handedOver = { to: await claimant(store, inst.uuid, CLAIM_WAIT_MS) };
  } finally {
    process.removeListener(HANDOVER_SIGNAL, onHandOver);
  }
  return {
    serverName: inst.name,
    seconds: elapsed,
    handedOver,
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
