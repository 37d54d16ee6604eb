// Following a swap nova-compute runs in another process (a served novasim, a real cloud):
// after the 202 the client can only poll what the APIs show. The volumes' statuses (Cinder:
// the old one `detaching` and the new one `attaching` until nova-compute is done) and the
// server's attachments say where the swap ended; when the server lists novasim's
// `os-novasim-block-jobs` extension (GET /extensions: discovered, never assumed), the block
// job's cur/end show the copy as it runs. Only what the end state shows is reported.
import { importEsm } from '../common/esm.js';
import { copyingText, formatSeconds, humanBytes } from './progress.js';
import type { Client, Output } from './types.js';

export const BLOCK_JOBS_ALIAS = 'os-novasim-block-jobs';

export interface RemoteSwap {
  serverId: string;
  /** labels, as the user named them */
  server: string;
  oldVolume: string;
  newVolume: string;
  oldVolumeId: string;
  newVolumeId: string;
  plain?: boolean;
}

interface BlockJob {
  device?: string;
  type?: string;
  cur?: number;
  end?: number;
  ready?: boolean;
  /** novasim's count of the bytes the mirror wrote (cur/end also count the holes it skipped) */
  bytes_copied?: number;
}

/** the closing words of a remote swap that ended swapped: what was copied, as far as the polls
 * saw it. cur/end are the job's way through the disk (holes included), not bytes copied: only
 * novasim's bytes_copied says that, and a write mirrored after the last poll is not in it. */
export function swappedText(title: string, job: BlockJob | null, elapsedMs: number): string {
  const copied = job && typeof job.bytes_copied === 'number' && job.end !== undefined && Number(job.cur) >= Number(job.end) ? job.bytes_copied : null;
  return copied === null ? `Swapped volume ${title}` : `Swapped volume ${title}: copied at least ${humanBytes(copied)} (${copied} bytes) in about ${formatSeconds(elapsedMs)}`;
}

interface Spinner {
  text: string;
  stop(): Spinner;
  succeed(text?: string): Spinner;
  fail(text?: string): Spinner;
}

/** what one poll saw */
export interface SwapView {
  attached: string[];
  /** the volumes' statuses, when a volume endpoint is known */
  oldStatus: string | null;
  newStatus: string | null;
  /** the copy job of the swap, when the block-jobs extension is there and a job runs */
  job: BlockJob | null;
}

export type RemoteOutcome = 'swapped' | 'rolled-back' | 'error' | 'running' | 'stalled';

/** how long an unchanged in-between state means nova-compute stopped (its job gone, or never seen) */
export const STALL_AFTER_JOB_MS = 5000;
export const STALL_WITHOUT_JOB_MS = 60000;

/** where a swap is, from one poll (seenJob: a block job was seen running before) */
export function judge(v: SwapView, r: { oldVolumeId: string; newVolumeId: string }, seenJob: boolean, hasVolumes: boolean): RemoteOutcome {
  const hasOld = v.attached.includes(r.oldVolumeId);
  const hasNew = v.attached.includes(r.newVolumeId);
  if (hasVolumes) {
    if ([v.oldStatus, v.newStatus].some((s) => s !== null && s.startsWith('error'))) return 'error';
    if (hasNew && !hasOld && v.newStatus === 'in-use' && v.oldStatus === 'available') return 'swapped';
    if (hasOld && !hasNew && v.oldStatus === 'in-use' && v.newStatus === 'available' && !v.job) return 'rolled-back';
    return 'running';
  }
  if (hasNew && !hasOld && !v.job) return 'swapped';
  if (hasOld && !hasNew && seenJob && !v.job) return 'rolled-back';
  return 'running';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class RemoteSwapFollower {
  private spinner: Spinner | null = null;
  private phase: string | null = null;
  private readonly plain: boolean;

  constructor(
    private readonly cs: Client,
    private readonly out: Output,
    private readonly swap: RemoteSwap,
    private readonly pollMs = 500,
  ) {
    this.plain = !!swap.plain || !out.stderrIsTTY || !out.stderrTerminal || !(out.stderrColumns && out.stderrColumns > 0) || out.env.NO_COLOR !== undefined;
  }

  private get title(): string {
    return `${this.swap.oldVolume} -> ${this.swap.newVolume} on ${this.swap.server}`;
  }

  private line(text: string): void {
    this.out.err(`${text}\n`);
  }

  private setPhase(phase: string, text: string, repeat = false): void {
    if (this.plain) {
      if (this.phase !== phase || repeat) this.line(`volume-update: ${phase}: ${text}`);
    } else if (this.spinner) {
      this.spinner.text = `${phase}: ${text}`;
    }
    this.phase = phase;
  }

  /** GET /extensions lists novasim's block-jobs extension */
  private async hasBlockJobs(): Promise<boolean> {
    try {
      const { body } = await this.cs.api.get('compute', '/extensions');
      const exts = (body as { extensions?: { alias?: string }[] } | null)?.extensions ?? [];
      return exts.some((e) => e.alias === BLOCK_JOBS_ALIAS);
    } catch (e) {
      if (e instanceof Error && e.name === 'KeyboardInterrupt') throw e;
      return false;
    }
  }

  private async poll(blockJobs: boolean, hasVolumes: boolean): Promise<SwapView> {
    const s = this.swap;
    const [attachments, oldVol, newVol, jobs] = await Promise.all([
      this.cs.serverVolumes.getServerVolumes(s.serverId),
      hasVolumes ? this.cs.volumes.get(s.oldVolumeId) : null,
      hasVolumes ? this.cs.volumes.get(s.newVolumeId) : null,
      blockJobs ? this.cs.api.get('compute', `/servers/${s.serverId}/${BLOCK_JOBS_ALIAS}`).then((r) => (r.body as { block_jobs?: BlockJob[] } | null)?.block_jobs ?? []) : [],
    ]);
    return {
      attached: attachments.map((a) => String(a.info.volumeId)),
      oldStatus: oldVol ? String(oldVol.info.status) : null,
      newStatus: newVol ? String(newVol.info.status) : null,
      job: jobs.find((j) => (j.type ?? 'copy') === 'copy') ?? null,
    };
  }

  /** after the 202: poll until the APIs show where the swap ended */
  async follow(requestId: string | undefined): Promise<number> {
    const hasVolumes = !!this.cs.api.endpoints.volumev2;
    const blockJobs = await this.hasBlockJobs();
    if (!hasVolumes && !blockJobs) {
      // nothing to watch but the attachments: a rollback would look like no progress at all
      this.line('volume-update: the swap was accepted (202); this cloud shows no volume endpoint and no block jobs to follow it by');
      return 0;
    }
    if (!this.plain) {
      const [{ default: ora }] = await Promise.all([importEsm<typeof import('ora')>('ora')]);
      this.spinner = ora({ text: `waiting for nova-compute: ${this.title}`, stream: this.out.stderrTerminal, discardStdin: false }).start() as unknown as Spinner;
    }
    const started = Date.now();
    let seenJob = false;
    let lastJob: BlockJob | null = null;
    let lastStep = -1;
    let lastLine = 0;
    let lastKey = '';
    let unchangedSince = Date.now();
    let warned = false;
    try {
      for (;;) {
        const v = await this.poll(blockJobs, hasVolumes);
        const key = JSON.stringify(v);
        if (key !== lastKey) {
          lastKey = key;
          unchangedSince = Date.now();
        }
        if (v.job) {
          seenJob = true;
          lastJob = v.job;
          const cur = Number(v.job.cur ?? 0);
          const end = Number(v.job.end ?? 0);
          const elapsed = Date.now() - started;
          // the rate is of the bytes written when the server counts them, else of the way through
          const written = typeof v.job.bytes_copied === 'number' ? v.job.bytes_copied : null;
          const text = `${this.title}, ${copyingText(cur, end, written ?? cur, elapsed)}`;
          const step = end > 0 ? Math.floor((cur / end) * 10) : 0;
          if (v.job.ready) this.setPhase('ready', `mirror of ${v.job.device ?? 'the disk'} in sync${written === null ? '' : `, ${humanBytes(written)} copied`}`);
          else {
            const repeat = this.phase === 'copying' && (step > lastStep || elapsed - lastLine >= 2000);
            if (this.phase !== 'copying' || repeat) {
              lastStep = step;
              lastLine = elapsed;
            }
            this.setPhase('copying', text, repeat);
          }
        } else if (this.phase === null && (v.oldStatus === 'detaching' || v.newStatus === 'attaching')) {
          this.setPhase('started', `nova-compute is swapping ${this.title}`);
        }
        let outcome = judge(v, this.swap, seenJob, hasVolumes);
        // nothing moves any more, half-way: nova-compute gave up without rolling back
        const still = Date.now() - unchangedSince;
        if (outcome === 'running' && !v.job && (seenJob ? still >= STALL_AFTER_JOB_MS : blockJobs && still >= STALL_WITHOUT_JOB_MS)) outcome = 'stalled';
        if (outcome === 'running' && !blockJobs && !warned && still >= STALL_WITHOUT_JOB_MS) {
          warned = true;
          this.line(`volume-update: no change for ${Math.round(still / 1000)} s; Ctrl-C stops following (nova-compute goes on)`);
        }
        if (outcome === 'running') {
          await sleep(this.pollMs);
          continue;
        }
        return this.report(outcome, v, lastJob, Date.now() - started, requestId);
      }
    } catch (e) {
      this.spinner?.stop();
      throw e;
    }
  }

  private report(outcome: RemoteOutcome, v: SwapView, job: BlockJob | null, elapsedMs: number, requestId: string | undefined): number {
    const spinner = this.spinner;
    const rid = requestId ? ` (request ${requestId})` : '';
    if (outcome === 'swapped') {
      const text = swappedText(this.title, job, elapsedMs);
      if (spinner) spinner.succeed(text);
      else this.line(text);
      return 0;
    }
    const shown =
      v.oldStatus !== null
        ? `${this.swap.oldVolume} is ${v.oldStatus}, ${this.swap.newVolume} is ${v.newStatus}`
        : `${this.swap.oldVolume} is attached to ${this.swap.server} again, ${this.swap.newVolume} is not`;
    const text =
      outcome === 'rolled-back'
        ? `nova-compute did not complete the swap ${this.title} and rolled it back (${shown})${rid}; see nova-compute's log`
        : outcome === 'stalled'
          ? `nova-compute stopped the swap ${this.title} half-way (${shown}, ${v.attached.includes(this.swap.oldVolumeId) ? `${this.swap.oldVolume} still attached` : `${this.swap.oldVolume} no longer attached`})${rid}; see nova-compute's log`
          : `the swap ${this.title} left a volume in error (${shown})${rid}; see nova-compute's and Cinder's logs`;
    if (spinner) spinner.fail(`volume-update: failed: ${text}`);
    else this.line(`volume-update: failed: ${text}`);
    return 1;
  }
}
