// Entry point of bin/nova-sim: manage the embedded world (init from a fixture, find a
// volume's image file, logs, config, blkdebug, doctor, fault, guest-load, virsh). The work
// is done by src/novasim/*.ts; the commands (commands/*.ts, on commander) parse and print.
import { CommanderError } from 'commander';
import { resolveStatePath } from '../../state/paths.js';
import { exitWhenDrained, guardStdio, stdoutGone, writeTo } from '../../common/stdio.js';
import { formatErrorLine } from '../../common/error-line.js';
import { interruptCurrent, type SimContext } from './context.js';
import { simProgram, USAGE_EXIT } from './program.js';

/** what commander's exit means: help shown is a success, anything else a usage error */
function exitCodeOf(e: CommanderError): number {
  return e.exitCode === 0 ? 0 : USAGE_EXIT;
}

export async function simMain(argv: string[], out = (t: string) => writeTo(process.stdout, t), err = (t: string) => writeTo(process.stderr, t)): Promise<number> {
  const ctx: SimContext = { out, err, code: 0, statePath: () => resolveStatePath(state()) };
  const program = simProgram(ctx);
  const state = (): string | undefined => program.opts<{ state?: string }>().state;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.code;
  } catch (e) {
    if (e instanceof CommanderError) return exitCodeOf(e);
    err(formatErrorLine(e));
    return 1;
  }
}

export async function run(): Promise<void> {
  guardStdio();
  // a reader that went away ends a guest load run as Ctrl-C does (a follow stops by itself)
  stdoutGone.addEventListener('abort', () => void interruptCurrent());
  process.on('SIGINT', () => {
    // a guest load run stops its guest and records its writes before exiting
    if (interruptCurrent()) return;
    process.stderr.write('... terminating nova-sim\n');
    process.exit(130);
  });
  // SIGTERM (kill PID) and SIGHUP (a closed terminal) stop a guest load run the way Ctrl-C
  // does, as they end a swap in nova: dying at once would leave up to 250 ms of landed
  // writes unrecorded, and --verify would then fail. Otherwise a command that follows
  // (logs -f) handles them itself; anything else ends as the signal would end it.
  for (const [sig, n] of [['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(sig, () => {
      if (interruptCurrent()) return;
      if (process.listenerCount(sig) > 1) return;
      process.exit(128 + n);
    });
  }
  process.exitCode = await simMain(process.argv.slice(2));
  await exitWhenDrained(process.exitCode);
}
