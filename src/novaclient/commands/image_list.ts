// do_image_list
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';

export const command: CommandDef = {
  name: 'image-list',
  doc: 'Print a list of available images to boot from.',
  args: [{ flags: ['--limit'], dest: 'limit', metavar: '<limit>', default: null, help: 'Number of images to return per request.' }],
  async run(sh, args) {
    const images = await sh.cs.images.list(args.limit as string | null);
    // parse_server_name: a snapshot names the server it was taken from
    const server = (o: { attr(k: string): unknown }): unknown => {
      const s = o.attr('server');
      return s && typeof s === 'object' && 'id' in s ? (s as { id: unknown }).id : '';
    };
    sh.out.out(printList(images, ['ID', 'Name', 'Status', 'Server'], { Server: server }, 1));
  },
};
