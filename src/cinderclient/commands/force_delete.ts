// do_force_delete: silent on success, as Mitaka's is
import type { CommandDef } from '../types.js';
import { eachVolume, errText, findVolume, volumesArg } from './common.js';

export const command: CommandDef = {
  name: 'force-delete',
  doc: 'Attempts force-delete of volume, regardless of state.',
  args: [volumesArg('Name or ID of volume or volumes to delete.')],
  async run(sh, args) {
    const volumes = args.volume as string[];
    await eachVolume(
      sh.out,
      volumes,
      async (v) => {
        await sh.cs.volumes.forceDelete((await findVolume(sh.cs, v)).id);
        return null;
      },
      (v, e) => `Delete for volume ${v} failed: ${errText(e)}`,
      (n) => n === volumes.length,
      'Unable to force delete any of the specified volumes.',
    );
  },
};
