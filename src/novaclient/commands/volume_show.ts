// do_volume_show (deprecated Cinder proxy)
import { printDict } from '../table.js';
import type { CommandDef } from '../types.js';
import { emitVolumeDeprecationWarning, findVolume } from './common.js';

export const command: CommandDef = {
  name: 'volume-show',
  doc: 'DEPRECATED: Show details about a volume.',
  args: [{ dest: 'volume', metavar: '<volume>', help: 'Name or ID of the volume.' }],
  async run(sh, args) {
    emitVolumeDeprecationWarning(sh.out, 'volume-show');
    const volume = await findVolume(sh.cs, args.volume as string);
    sh.out.out(printDict(volume.info));
  },
};
