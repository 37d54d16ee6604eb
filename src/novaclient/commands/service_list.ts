// do_service_list
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';

export const command: CommandDef = {
  name: 'service-list',
  doc: 'Show a list of all running services. Filter by host & binary.',
  args: [
    { flags: ['--host'], dest: 'host', metavar: '<hostname>', default: null, help: 'Name of host.' },
    { flags: ['--binary'], dest: 'binary', metavar: '<binary>', default: null, help: 'Service binary.' },
  ],
  async run(sh, args) {
    const result = await sh.cs.services.list(args.host as string | null, args.binary as string | null);
    const columns = ['Binary', 'Host', 'Zone', 'Status', 'State', 'Updated_at'];
    // the column only when the extended services extension answers it
    if (result.length && result[0].has('disabled_reason')) columns.push('Disabled Reason');
    if (result.length && result[0].has('id')) columns.unshift('Id');
    sh.out.out(printList(result, columns, {}, 0));
  },
};
