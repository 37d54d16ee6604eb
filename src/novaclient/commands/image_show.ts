// do_image_show → _print_image
import { findResource } from '../base.js';
import { printDict } from '../table.js';
import type { CommandDef } from '../types.js';

export const command: CommandDef = {
  name: 'image-show',
  doc: 'Show details about the given image.',
  args: [{ dest: 'image', metavar: '<image>', help: 'Name or ID of image.' }],
  async run(sh, args) {
    const image = await findResource(sh.cs.images, args.image as string);
    const info: Record<string, unknown> = { ...image.info };
    delete info.links;
    // a snapshot's server entity becomes just its id
    const server = info.server;
    delete info.server;
    if (server && typeof server === 'object' && 'id' in server) info.server = (server as { id: unknown }).id;
    // metadata: one row per key
    const metadata = info.metadata;
    delete info.metadata;
    if (metadata && typeof metadata === 'object') for (const [k, v] of Object.entries(metadata)) info[`metadata ${k}`] = v;
    sh.out.out(printDict(info));
  },
};
