// The process around a client shell, shared by `nova` and `cinder`: the shell's terminal
// (stdout/stderr through stdio.ts, so a closed pipe ends quietly), the signals, the one line
// for an error the shell did not handle, and an exit only once the output is drained.
import { formatErrorLine } from '../common/error-line.js';
import { exitWhenDrained, guardStdio, writeTo } from '../common/stdio.js';
import type { ShellIO } from './shell.js';

/**
 * Runs `shell` as the process's command and exits with its code. SIGTERM and SIGHUP (a
 * closed terminal) go where Ctrl-C goes: to the handler the shell registered for its
 * current phase (a swap cancels its block job and rolls back before the process exits), or
 * else `... terminating <client>` and exit 130, as novaclient's main() does.
 */
export async function runClient(client: string, shell: (io: ShellIO) => Promise<number>): Promise<never> {
  guardStdio();
  let handler: (() => void) | null = null;
  const io: ShellIO = {
    out: (t) => writeTo(process.stdout, t),
    err: (t) => writeTo(process.stderr, t),
    stderrIsTTY: !!process.stderr.isTTY,
    stderrColumns: process.stderr.columns ?? 0,
    // the spinner draws on the same terminal err() writes to, through this one Output
    stderrTerminal: process.stderr.isTTY ? process.stderr : undefined,
    env: process.env,
    setInterruptHandler: (h) => {
      handler = h;
    },
  };
  const onSignal = (): void => {
    if (handler) return handler();
    writeTo(process.stderr, `... terminating ${client}\n`);
    void exitWhenDrained(130);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  let code: number;
  try {
    code = await shell(io);
  } catch (e) {
    writeTo(process.stderr, formatErrorLine(e));
    code = 1;
  }
  // the embedded cloud is closed; a stray timer must not keep the CLI alive, but a slow
  // reader of a pipe gets every byte first
  return exitWhenDrained(code);
}
