// do_create: the volume as Cinder has it once created (a GET after the POST)
import type { ArgSpec } from '../../novaclient/argparse.js';
import type { CommandDef } from '../types.js';
import { printDict } from '../utils.js';

const opt = (flag: string, dest: string, help: string): ArgSpec => ({ flags: [flag], dest, metavar: `<${flag.slice(2)}>`, default: null, help });
const hidden = (flag: string, dest: string): ArgSpec => ({ flags: [flag], dest, help: null });

export const command: CommandDef = {
  name: 'create',
  doc: 'Creates a volume.',
  args: [
    {
      dest: 'size',
      metavar: '<size>',
      nargs: '?',
      type: 'int',
      default: null,
      help: 'Size of volume, in GiBs. (Required unless snapshot-id/source-volid is specified).',
    },
    opt('--image-id', 'image_id', 'Creates volume from image ID. Default=None.'),
    hidden('--image_id', 'image_id'),
    opt('--image', 'image', 'Creates a volume from image (ID or name). Default=None.'),
    hidden('--image_ref', 'image_ref'),
    opt('--name', 'name', 'Volume name. Default=None.'),
    hidden('--display-name', 'display_name'),
    hidden('--display_name', 'display_name'),
    opt('--description', 'description', 'Volume description. Default=None.'),
    hidden('--display-description', 'display_description'),
    hidden('--display_description', 'display_description'),
    opt('--volume-type', 'volume_type', 'Volume type. Default=None.'),
    hidden('--volume_type', 'volume_type'),
    opt('--availability-zone', 'availability_zone', 'Availability zone for volume. Default=None.'),
    hidden('--availability_zone', 'availability_zone'),
  ],
  /** CheckSizeArgForCreate: argparse's own error, before anything is sent */
  check(args) {
    return args.size === null ? 'Size is a required parameter if snapshot or source volume is not specified.' : null;
  },
  async run(sh, args) {
    const created = await sh.cs.volumes.create(args.size as number, {
      name: (args.display_name as string | null) ?? (args.name as string | null),
      description: (args.display_description as string | null) ?? (args.description as string | null),
      volumeType: args.volume_type as string | null,
      availabilityZone: args.availability_zone as string | null,
      // keep backward compatibility with image_id, favouring the explicit ID
      imageRef: (args.image_id as string | null) || (args.image as string | null) || (args.image_ref as string | null),
    });
    const volume = await sh.cs.volumes.get(created.id);
    const { links: _links, ...info } = volume.info;
    sh.out.out(printDict(info));
  },
};
