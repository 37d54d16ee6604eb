// do_volume_delete (deprecated Cinder proxy): failures are reported per volume on stdout
import type { CommandDef } from '../types.js';
import { emitVolumeDeprecationWarning, errText, findVolume } from './common.js';

export const command: CommandDef = {
  name: 'volume-delete',
  doc: 'DEPRECATED: Remove volume(s).',
  args: [{ dest: 'volume', metavar: '<volume>', nargs: '+', help: 'Name or ID of the volume(s) to delete.' }],
  async run(sh, args) {
    emitVolumeDeprecationWarning(sh.out, 'volume-delete');
    for (const volume of args.volume as string[]) {
      try {
        await sh.cs.volumes.delete((await findVolume(sh.cs, volume)).id);
      } catch (e) {
        sh.out.out(`Delete for volume ${volume} failed: ${errText(e)}\n`);
      }
    }
  },
};
