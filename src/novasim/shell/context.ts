// What every nova-sim subcommand is handed: where to print, which state file, the exit code
// its action sets; and the two things several of them share (the state created on first
// use, the run that Ctrl-C stops cleanly).
import type { Command } from 'commander';

export type Out = (t: string) => void;

export interface SimContext {
  out: Out;
  err: Out;
  /** the state file: --state (before or after the subcommand), else env[NOVASIM_STATE], else XDG */
  statePath(): string;
  /** the exit code the action returned (0 until one ran) */
  code: number;
}

/** one nova-sim subcommand: a commander command whose action calls the core (src/novasim/) */
export type SimCommandFactory = (ctx: SimContext) => Command;

/** runs `run` as the command's action; what it returns is the process's exit code */
export function act(cmd: Command, ctx: SimContext, run: () => Promise<number>): Command {
  return cmd.action(async () => {
    ctx.code = await run();
  });
}

/** the command's positional arguments, as commander parsed them (in declaration order) */
export function operands<T extends unknown[]>(cmd: Command): T {
  return cmd.processedArgs as T;
}

/** the command running now, told about Ctrl-C (it stops cleanly instead of exiting) */
let interruptible: AbortController | null = null;

export function interruptCurrent(): boolean {
  if (!interruptible) return false;
  interruptible.abort();
  return true;
}

/** runs `fn` as the command that Ctrl-C, SIGTERM or SIGHUP stop through its signal */
export async function interruptibly<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  interruptible = new AbortController();
  try {
    return await fn(interruptible.signal);
  } finally {
    interruptible = null;
  }
}

/** a missing state file is created from the default fixture, as for every command */
export async function ensureState(statePath: string, err: Out, quiet = false): Promise<void> {
  const [{ ensureWorld }, { StateStore }] = await Promise.all([import('../world.js'), import('../../state/store.js')]);
  const store = new StateStore(statePath);
  await ensureWorld(store, (line) => err(`${line}\n`));
  // an operation a process began and never ended: say so first (doctor lists it itself)
  const s = store.read();
  if (s.operations?.length && !quiet) {
    const { confirmedInterruptedNotices } = await import('../doctor.js');
    for (const line of confirmedInterruptedNotices(s, () => store.read())) err(`${line}\n`);
  }
}
