// Entry point of bin/cinder: cinderclient's shell in this process (the same process wiring
// as nova's, src/novaclient/cli-process.ts).
import { defaultConnector } from '../novaclient/connect.js';
import { runClient } from '../novaclient/cli-process.js';
import { OpenStackCinderShell } from './shell.js';

export async function run(): Promise<void> {
  await runClient('cinder client', (io) => new OpenStackCinderShell(io, defaultConnector).main(process.argv.slice(2)));
}
