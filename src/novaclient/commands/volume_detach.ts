// do_volume_detach
import type { CommandDef } from '../types.js';
import { findServer, serverArg, volumeIdFor } from './common.js';

export const command: CommandDef = {
  name: 'volume-detach',
  doc: 'Detach a volume from a server.',
  args: [serverArg, { dest: 'attachment_id', metavar: '<volume>', help: 'ID of the volume to detach.' }],
  async run(sh, args) {
    const server = await findServer(sh.cs, args.server as string);
    const attachmentId = await volumeIdFor(sh.cs, args.attachment_id as string);
    await sh.cs.serverVolumes.deleteServerVolume(server.id, attachmentId);
  },
};
