// do_show
import type { CommandDef } from '../types.js';
import { findServer, serverArg } from './common.js';
import { printServer } from './print_server.js';

export const command: CommandDef = {
  name: 'show',
  doc: 'Show details about the given server.',
  args: [
    { flags: ['--minimal'], dest: 'minimal', action: 'store_true', default: false, help: 'Skips flavor/image lookups when showing servers.' },
    serverArg,
  ],
  async run(sh, args) {
    const server = await findServer(sh.cs, args.server as string);
    sh.out.out(await printServer(sh.cs, server, args.minimal as boolean));
  },
};
