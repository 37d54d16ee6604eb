// Entry point of bin/nova: novaclient's shell in this process (cli-process.ts wires it to the
// terminal, the signals and the exit code). Kept tiny so that `nova list` only loads what it uses.
import { runClient } from './cli-process.js';
import { defaultConnector } from './connect.js';
import { NovaShell } from './shell.js';

export async function run(): Promise<void> {
  await runClient('nova client', (io) => new NovaShell(io, defaultConnector).main(process.argv.slice(2)));
}
