// do_volume_attachments
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';
import { findServer, serverArg } from './common.js';

export const command: CommandDef = {
  name: 'volume-attachments',
  doc: 'List all the volumes attached to a server.',
  args: [serverArg],
  async run(sh, args) {
    const server = await findServer(sh.cs, args.server as string);
    const volumes = await sh.cs.serverVolumes.getServerVolumes(server.id);
    for (const v of volumes) {
      // _translate_volume_attachments_keys
      if (v.has('serverId') && !v.has('server_id')) v.info.server_id = v.info.serverId;
      if (v.has('volumeId') && !v.has('volume_id')) v.info.volume_id = v.info.volumeId;
    }
    sh.out.out(printList(volumes, ['ID', 'DEVICE', 'SERVER ID', 'VOLUME ID']));
  },
};
