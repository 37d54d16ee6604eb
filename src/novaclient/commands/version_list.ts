// do_version_list
import { API_MAX_VERSION, API_MIN_VERSION } from '../client.js';
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';

export const command: CommandDef = {
  name: 'version-list',
  doc: 'List all API versions.',
  args: [],
  async run(sh) {
    const result = await sh.cs.versions.list();
    const columns = result.length && result[0].has('min_version') ? ['Id', 'Status', 'Updated', 'Min Version', 'Version'] : ['Id', 'Status', 'Updated'];
    sh.out.out('Client supported API versions:\n');
    sh.out.out(`Minimum version ${API_MIN_VERSION}\n`);
    sh.out.out(`Maximum version ${API_MAX_VERSION}\n`);
    sh.out.out('\nServer supported API versions:\n');
    sh.out.out(printList(result, columns, {}, 0));
  },
};
