// do_host_list
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';

export const command: CommandDef = {
  name: 'host-list',
  doc: 'List all hosts by service.',
  args: [
    {
      flags: ['--zone'],
      dest: 'zone',
      metavar: '<zone>',
      default: null,
      help: 'Filters the list, returning only those hosts in the availability zone <zone>.',
    },
  ],
  async run(sh, args) {
    const result = await sh.cs.hosts.list(args.zone as string | null);
    sh.out.out(printList(result, ['host_name', 'service', 'zone'], {}, 0));
  },
};
