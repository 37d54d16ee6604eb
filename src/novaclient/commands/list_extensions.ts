// novaclient.v2.contrib.list_extensions.do_list_extensions
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';
import type { ListExtResource } from '../v2/list_extensions.js';

export const command: CommandDef = {
  name: 'list-extensions',
  doc: 'List all the os-api extensions that are available.',
  args: [],
  async run(sh) {
    const extensions = await sh.cs.listExtensions.showAll();
    sh.out.out(printList(extensions, ['Name', 'Summary', 'Alias', 'Updated'], { Summary: (o) => (o as ListExtResource).summary }, 0));
  },
};
