// Entry point of bin/cinder: wires the shell to the process (stdout/stderr, SIGINT, exit code).
import { embeddedConnector } from '../novaclient/embedded.js';
import type { ShellIO } from '../novaclient/shell.js';
import { OpenStackCinderShell } from './shell.js';

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  let handler: (() => void) | null = null;
  const io: ShellIO = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    stderrIsTTY: !!process.stderr.isTTY,
    stderrColumns: process.stderr.columns ?? 0,
    env: process.env,
    setInterruptHandler: (h) => {
      handler = h;
    },
  };
  const onSignal = () => {
    if (handler) handler();
    else {
      process.stderr.write('... terminating cinder client\n');
      process.exit(130);
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  return new OpenStackCinderShell(io, embeddedConnector).main(argv);
}

export async function run(): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    process.stderr.write(`ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
  // the embedded cloud is closed; don't let a stray timer keep the CLI alive
  process.exit(process.exitCode);
}
