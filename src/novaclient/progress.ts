// novasim's view of what real Nova does after the 202 of a swap: the CLI hosts the embedded
// cloud, so it can follow nova-compute's block job (real bytes from the QEMU job) and report
// how the swap really ended. The core only emits events; this module decides how they look:
// an ora spinner on a TTY, plain lines otherwise (or with NO_COLOR / --debug).
import { importEsm } from '../common/esm.js';
import type { CloudEvent, ComputeEvent, EmbeddedCloud } from '../cloud/types.js';
import type { Output } from './types.js';

export interface SwapLabels {
  server: string;
  oldVolume: string;
  newVolume: string;
  /** force plain lines (e.g. --debug, whose log lines would tear a spinner) */
  plain?: boolean;
}

/** Where the swap really ended, as the APIs show it once nova-compute is done with it. */
export type SwapOutcome = 'swapped' | 'rolled-back' | 'in-between';

interface Spinner {
  text: string;
  start(): Spinner;
  stop(): Spinner;
  succeed(text?: string): Spinner;
  fail(text?: string): Spinner;
  warn(text?: string): Spinner;
}

type Paint = (s: string) => string;

/** 1536 → "1.5 KiB" (IEC, one decimal) */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function copyingText(cur: number, end: number, bytesCopied: number, elapsedMs: number): string {
  const pct = end > 0 ? Math.floor((cur / end) * 100) : 0;
  const rate = elapsedMs > 0 ? `${humanBytes(Math.round((bytesCopied / elapsedMs) * 1000))}/s` : '-';
  return `${humanBytes(cur)}/${humanBytes(end)} (${pct}%), ${rate}`;
}

/**
 * What novasim adds after a cast nova-compute failed once the API had answered 202: real
 * Nova says nothing there. The request id is the one the API gave the request (the PUT of a
 * swap), which every service's log records carry, so the failure can be looked up at once.
 */
export function failedAfter202(method: string, requestId: string | undefined): string {
  const where = requestId ? `nova-compute's log: nova-sim logs --request-id ${requestId}` : "nova-compute's log";
  return `nova-compute failed the ${method} after the API had answered 202; real Nova would have failed silently (see ${where}, or rerun with --debug).`;
}

export class SwapFollower {
  private readonly unsubscribe: () => void;
  private readonly plain: boolean;
  private spinner: Spinner | null = null;
  private paint: { green: Paint; red: Paint; dim: Paint; yellow: Paint } | null = null;
  private phase: string | null = null;
  private done: { bytesCopied: number; elapsedMs: number } | null = null;
  private cancelled = false;
  private errors: Extract<ComputeEvent, { type: 'compute-error' }>[] = [];
  private finished: ComputeEvent[] = [];
  private interrupts = 0;
  private requestId: string | undefined;
  private pending: CloudEvent[] = [];
  private following = false;
  /** the last copying line printed off a TTY: the job's time and its 10 % step */
  private lastCopyLine: { elapsedMs: number; step: number } | null = null;

  constructor(
    private readonly cloud: EmbeddedCloud,
    private readonly out: Output,
    private readonly labels: SwapLabels,
    /** asks the APIs where the swap ended (which volume the server has, the volumes' statuses) */
    private readonly outcome: () => Promise<SwapOutcome> = async () => 'in-between',
  ) {
    // a spinner needs a terminal of known width (ora counts wrapped lines to redraw)
    this.plain = !!labels.plain || !out.stderrIsTTY || !out.stderrTerminal || !(out.stderrColumns && out.stderrColumns > 0) || out.env.NO_COLOR !== undefined;
    this.unsubscribe = cloud.on((ev) => (this.following ? this.onEvent(ev) : this.pending.push(ev)));
  }

  dispose(): void {
    this.unsubscribe();
  }

  private get title(): string {
    return `${this.labels.oldVolume} -> ${this.labels.newVolume} on ${this.labels.server}`;
  }

  private line(text: string): void {
    this.out.err(`${text}\n`);
  }

  private setPhase(phase: string, text: string): void {
    if (this.plain) {
      if (this.phase !== phase) this.line(`volume-update: ${phase}: ${text}`);
    } else if (this.spinner) {
      this.spinner.text = `${phase}: ${text}`;
    }
    this.phase = phase;
  }

  private mine(ev: ComputeEvent): boolean {
    return ev.method === 'swap_volume' && (!this.requestId || ev.requestId === this.requestId);
  }

  private onEvent(ev: CloudEvent): void {
    switch (ev.type) {
      case 'job':
        switch (ev.phase) {
          case 'copying': {
            const text = `${this.title}, ${copyingText(ev.cur, ev.end, ev.bytesCopied, ev.elapsedMs)}`;
            // off a TTY a log reader still wants a pulse: a line at every 10 % step or every
            // 2 s of the job, whichever comes first (the spinner redraws every poll)
            const step = ev.end > 0 ? Math.floor((ev.cur / ev.end) * 10) : 0;
            const last = this.lastCopyLine;
            if (this.phase !== 'copying' || !last || step > last.step || ev.elapsedMs - last.elapsedMs >= 2000) {
              // setPhase prints the first line of the phase itself
              if (this.plain && this.phase === 'copying') this.line(`volume-update: copying: ${text}`);
              this.lastCopyLine = { elapsedMs: ev.elapsedMs, step };
            }
            this.setPhase('copying', text);
            break;
          }
          case 'ready':
            this.setPhase('ready', `mirror of ${ev.disk} in sync, ${humanBytes(ev.bytesCopied)} copied`);
            break;
          case 'pivot':
            this.setPhase('pivot', `switching ${ev.disk} of ${this.labels.server} to ${this.labels.newVolume}`);
            break;
          case 'done':
            this.done = { bytesCopied: ev.bytesCopied, elapsedMs: ev.elapsedMs };
            this.setPhase('done', `${humanBytes(ev.bytesCopied)} copied`);
            break;
          case 'cancelled':
            this.cancelled = true;
            this.setPhase('cancelled', `block job on ${ev.disk} cancelled at ${humanBytes(ev.cur)}/${humanBytes(ev.end)}`);
            break;
          case 'failed':
            this.setPhase('failed', `block job on ${ev.disk} failed at ${humanBytes(ev.cur)}/${humanBytes(ev.end)}: ${ev.error}`);
            break;
        }
        break;
      case 'compute-start':
        if (this.mine(ev)) this.setPhase('started', `nova-compute is swapping ${this.title}`);
        break;
      case 'compute-done':
        if (this.mine(ev)) this.finished.push(ev);
        break;
      case 'compute-error':
        if (this.mine(ev)) this.errors.push(ev);
        break;
    }
  }

  /** SIGINT while following: cancel the block job and let the compute side roll back */
  interrupt(): void {
    this.interrupts++;
    if (this.interrupts === 1) {
      this.cloud.interrupt();
      this.setPhase('interrupted', 'cancelling the block job; nova-compute is rolling back the swap');
    } else {
      const msg = 'still rolling back the swap, please wait';
      if (this.plain || !this.spinner) this.line(`volume-update: ${msg}`);
      else this.spinner.text = msg;
    }
  }

  /** after the 202: wait until nova-compute handled the cast, report how it ended */
  async follow(requestId: string | undefined): Promise<number> {
    this.requestId = requestId;
    if (!this.plain) {
      const [{ default: ora }, { default: chalk }] = await Promise.all([
        importEsm<typeof import('ora')>('ora'),
        importEsm<typeof import('chalk')>('chalk'),
      ]);
      this.paint = { green: chalk.green, red: chalk.red, dim: chalk.dim, yellow: chalk.yellow };
      this.spinner = ora({ text: `waiting for nova-compute: ${this.title}`, stream: this.out.stderrTerminal, discardStdin: false }).start() as unknown as Spinner;
    }
    this.following = true;
    for (const ev of this.pending.splice(0)) this.onEvent(ev);
    let handled: ComputeEvent[] = [];
    try {
      handled = (await this.cloud.drain()).handled;
    } finally {
      this.dispose();
    }
    for (const ev of handled) {
      if (ev.type === 'compute-error' && this.mine(ev) && !this.errors.includes(ev)) this.errors.push(ev);
    }
    const spinner = this.spinner;
    if (this.interrupts > 0) {
      // say only what the end state shows: an interrupt that came once the pivot had begun
      // cannot stop the swap, and a rollback whose saves failed did not happen
      let end: SwapOutcome = 'in-between';
      try {
        end = await this.outcome();
      } catch {
        // the APIs could not tell: claim nothing
      }
      if (end === 'swapped') {
        const text = `interrupted too late: the pivot had begun, so the swap completed (${this.title})`;
        if (spinner) spinner.warn(text);
        else this.line(`volume-update: ${text}`);
        return 0;
      }
      if (end === 'rolled-back') {
        spinner?.warn(`interrupted: ${this.cancelled ? 'block job cancelled, swap rolled back' : 'swap rolled back'}`);
        if (this.plain) this.line('volume-update: interrupted: swap rolled back');
      } else {
        const text = "interrupted: the swap did not finish rolling back; run 'nova-sim doctor' to see what it left";
        if (spinner) spinner.warn(text);
        else this.line(`volume-update: ${text}`);
      }
      this.line('... terminating nova client');
      return 130;
    }
    const err = this.errors[0];
    if (err) {
      const first = `ERROR (${err.errorClass}): ${err.message}`;
      const hint = failedAfter202('swap', err.requestId);
      if (spinner && this.paint) {
        spinner.fail(this.paint.red(first));
        this.line(this.paint.dim(hint));
      } else {
        this.line(first);
        this.line(hint);
      }
      return 1;
    }
    const handledMine = this.finished.length > 0 || handled.some((ev) => this.mine(ev));
    if (!this.done && !handledMine) {
      // nothing ran on the compute side for this request: stay as quiet as novaclient
      spinner?.stop();
      return 0;
    }
    const summary = this.done
      ? `Swapped volume ${this.title}: copied ${humanBytes(this.done.bytesCopied)} (${this.done.bytesCopied} bytes) in ${formatSeconds(this.done.elapsedMs)}`
      : `Swapped volume ${this.title}`;
    if (spinner && this.paint) spinner.succeed(summary);
    else this.line(summary);
    return 0;
  }
}
