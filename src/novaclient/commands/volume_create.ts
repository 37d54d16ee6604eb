// do_volume_create (deprecated Cinder proxy)
import type { ArgSpec } from '../argparse.js';
import { printDict } from '../table.js';
import type { CommandDef } from '../types.js';
import { emitVolumeDeprecationWarning } from './common.js';

const opt = (flag: string, dest: string, help: string): ArgSpec => ({ flags: [flag], dest, metavar: `<${flag.slice(2)}>`, default: null, help });

export const command: CommandDef = {
  name: 'volume-create',
  doc: 'DEPRECATED: Add a new volume.',
  args: [
    { dest: 'size', metavar: '<size>', type: 'int', help: 'Size of volume in GB' },
    opt('--snapshot-id', 'snapshot_id', 'Optional snapshot ID to create the volume from. (Default=None)'),
    opt('--image-id', 'image_id', 'Optional image ID to create the volume from. (Default=None)'),
    opt('--display-name', 'display_name', 'Optional volume name. (Default=None)'),
    opt('--display-description', 'display_description', 'Optional volume description. (Default=None)'),
    opt('--volume-type', 'volume_type', 'Optional volume type. (Default=None)'),
    opt('--availability-zone', 'availability_zone', 'Optional Availability Zone for volume. (Default=None)'),
  ],
  async run(sh, args) {
    emitVolumeDeprecationWarning(sh.out, 'volume-create');
    const volume = await sh.cs.volumes.create(args.size as number, {
      snapshotId: args.snapshot_id as string | null,
      displayName: args.display_name as string | null,
      displayDescription: args.display_description as string | null,
      volumeType: args.volume_type as string | null,
      availabilityZone: args.availability_zone as string | null,
      imageRef: args.image_id as string | null,
    });
    sh.out.out(printDict(volume.info));
  },
};
