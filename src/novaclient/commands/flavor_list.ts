// do_flavor_list
import type { CommandDef } from '../types.js';
import { printFlavorList } from './flavor_common.js';

export const command: CommandDef = {
  name: 'flavor-list',
  doc: "Print a list of available 'flavors' (sizes of servers).",
  args: [
    { flags: ['--extra-specs'], dest: 'extra_specs', action: 'store_true', default: false, help: 'Get extra-specs of each flavor.' },
    { flags: ['--all'], dest: 'all', action: 'store_true', default: false, help: 'Display all flavors (Admin only).' },
    {
      flags: ['--marker'],
      dest: 'marker',
      metavar: '<marker>',
      default: null,
      help: 'The last flavor ID of the previous page; displays list of flavors after "marker".',
    },
    {
      flags: ['--limit'],
      dest: 'limit',
      metavar: '<limit>',
      type: 'int',
      default: null,
      help: "Maximum number of flavors to display. If limit == -1, all flavors will be displayed. If limit is bigger than 'osapi_max_limit' option of Nova API, limit 'osapi_max_limit' will be used instead.",
    },
  ],
  async run(sh, args) {
    const flavors = args.all
      ? await sh.cs.flavors.list({ isPublic: null })
      : await sh.cs.flavors.list({ marker: args.marker as string | null, limit: args.limit as number | null });
    sh.out.out(await printFlavorList(sh.cs, flavors, args.extra_specs as boolean));
  },
};
