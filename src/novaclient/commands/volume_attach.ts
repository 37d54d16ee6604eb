// do_volume_attach
import { printDict } from '../table.js';
import type { CommandDef } from '../types.js';
import { findServer, serverArg, volumeIdFor } from './common.js';

export const command: CommandDef = {
  name: 'volume-attach',
  doc: 'Attach a volume to a server.',
  args: [
    serverArg,
    { dest: 'volume', metavar: '<volume>', help: 'ID of the volume to attach.' },
    {
      dest: 'device',
      metavar: '<device>',
      nargs: '?',
      default: null,
      help: 'Name of the device e.g. /dev/vdb. Use "auto" for autoassign (if supported). Libvirt driver will use default device name.',
    },
  ],
  async run(sh, args) {
    const device = args.device === 'auto' ? null : (args.device as string | null);
    const server = await findServer(sh.cs, args.server as string);
    const volumeId = await volumeIdFor(sh.cs, args.volume as string);
    const attachment = await sh.cs.serverVolumes.createServerVolume(server.id, volumeId, device);
    sh.out.out(printDict(attachment.info));
  },
};
