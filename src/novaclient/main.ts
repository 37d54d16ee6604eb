// Entry point of bin/nova: wires the shell to the process (stdout/stderr, SIGINT, exit code).
// Kept tiny so that `nova list` only loads what it uses.
import { embeddedConnector } from './embedded.js';
import { NovaShell, type ShellIO } from './shell.js';
import { exitWhenDrained, guardStdio, writeTo } from '../common/stdio.js';

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  let handler: (() => void) | null = null;
  const io: ShellIO = {
    out: (t) => writeTo(process.stdout, t),
    err: (t) => writeTo(process.stderr, t),
    stderrIsTTY: !!process.stderr.isTTY,
    stderrColumns: process.stderr.columns ?? 0,
    env: process.env,
    setInterruptHandler: (h) => {
      handler = h;
    },
  };
  // SIGTERM and SIGHUP (a closed terminal) end a swap the way Ctrl-C does: the block job is
  // cancelled and the compute side rolls back before the process exits, so no volume is
  // left half-swapped by a signal.
  const onSignal = () => {
    if (handler) handler();
    else {
      process.stderr.write('... terminating nova client\n');
      process.exit(130);
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  return new NovaShell(io, embeddedConnector).main(argv);
}

export async function run(): Promise<void> {
  guardStdio();
  try {
    process.exitCode = await main();
  } catch (e) {
    process.stderr.write(`ERROR (${e instanceof Error ? e.name : 'Exception'}): ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
  // the embedded cloud is closed; don't let a stray timer keep the CLI alive, but let a
  // slow reader of a pipe have every byte first
  await exitWhenDrained(process.exitCode);
}
