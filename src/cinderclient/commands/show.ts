// do_show
import type { CommandDef } from '../types.js';
import { printDict } from '../utils.js';
import { findVolume } from './common.js';

export const command: CommandDef = {
  name: 'show',
  doc: 'Shows volume details.',
  args: [{ dest: 'volume', metavar: '<volume>', help: 'Name or ID of volume.' }],
  async run(sh, args) {
    const volume = await findVolume(sh.cs, args.volume as string);
    const { links: _links, ...info } = volume.info;
    sh.out.out(printDict(info, ['metadata', 'volume_image_metadata']));
  },
};
