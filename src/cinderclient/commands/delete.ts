// do_delete
import type { CommandDef } from '../types.js';
import { eachVolume, errText, findVolume, volumesArg } from './common.js';

export const command: CommandDef = {
  name: 'delete',
  doc: 'Removes one or more volumes.',
  args: [volumesArg('Name or ID of volume or volumes to delete.')],
  async run(sh, args) {
    const volumes = args.volume as string[];
    await eachVolume(
      sh.out,
      volumes,
      async (v) => {
        await sh.cs.volumes.delete((await findVolume(sh.cs, v)).id);
        return `Request to delete volume ${v} has been accepted.`;
      },
      (v, e) => `Delete for volume ${v} failed: ${errText(e)}`,
      (n) => n === volumes.length,
      'Unable to delete any of the specified volumes.',
    );
  },
};
