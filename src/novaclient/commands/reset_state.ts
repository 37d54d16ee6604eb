// do_reset_state
import { CommandError } from '../exceptions.js';
import type { CommandDef } from '../types.js';
import { allTenantsConst, errText, findServer, serversArg } from './common.js';

export const command: CommandDef = {
  name: 'reset-state',
  doc: 'Reset the state of a server.',
  args: [
    allTenantsConst('Reset state server(s) in another tenant by name (Admin only).'),
    serversArg,
    {
      flags: ['--active'],
      dest: 'state',
      action: 'store_const',
      const: 'active',
      default: 'error',
      help: 'Request the server be reset to "active" state instead of "error" state (the default).',
    },
  ],
  async run(sh, args) {
    let failed = false;
    const findArgs = { all_tenants: args.all_tenants };
    for (const server of args.server as string[]) {
      try {
        const s = await findServer(sh.cs, server, findArgs);
        await sh.cs.servers.resetState(s.id, args.state as string);
        sh.out.out(`Reset state for server ${server} succeeded; new state is ${args.state as string}\n`);
      } catch (e) {
        failed = true;
        sh.out.out(`Reset state for server ${server} failed: ${errText(e)}\n`);
      }
    }
    if (failed) throw new CommandError('Unable to reset the state for the specified server(s).');
  },
};
