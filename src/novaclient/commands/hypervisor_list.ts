// do_hypervisor_list
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';

export const command: CommandDef = {
  name: 'hypervisor-list',
  doc: 'List hypervisors.',
  args: [{ flags: ['--matching'], dest: 'matching', metavar: '<hostname>', default: null, help: 'List hypervisors matching the given <hostname>.' }],
  async run(sh, args) {
    const columns = ['ID', 'Hypervisor hostname', 'State', 'Status'];
    // not the detail: the summary is enough for these columns
    const hypers = args.matching ? await sh.cs.hypervisors.search(args.matching as string) : await sh.cs.hypervisors.list(false);
    sh.out.out(printList(hypers, columns, {}, 0));
  },
};
