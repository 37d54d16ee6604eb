// do_volume_update: PUT …/os-volume_attachments/<attachment> {"volumeAttachment": {"volumeId": …}}.
// Like novaclient, nothing goes to stdout. novasim extensions: <attachment> and <volume> may
// be volume names, and when this process hosts the cloud it follows nova-compute's swap to
// the end (progress on stderr) instead of exiting on the 202.
import type { CommandDef } from '../types.js';
import { findServer, serverArg, volumeIdFor } from './common.js';

export const command: CommandDef = {
  name: 'volume-update',
  doc: 'Update volume attachment.',
  args: [
    serverArg,
    { dest: 'attachment_id', metavar: '<attachment>', help: 'Attachment ID of the volume.' },
    { dest: 'new_volume', metavar: '<volume>', help: 'ID of the volume to attach.' },
  ],
  async run(sh, args) {
    const server = await findServer(sh.cs, args.server as string);
    const attachmentId = await volumeIdFor(sh.cs, args.attachment_id as string);
    const newVolumeId = await volumeIdFor(sh.cs, args.new_volume as string);
    if (!sh.cloud) {
      await sh.cs.serverVolumes.updateServerVolume(server.id, attachmentId, newVolumeId);
      return 0;
    }
    const { SwapFollower } = await import('../progress.js');
    // subscribe before the PUT: nova-compute may start on the cast before the 202 is read
    const follower = new SwapFollower(sh.cloud, sh.out, {
      server: server.name || server.id,
      oldVolume: args.attachment_id as string,
      newVolume: args.new_volume as string,
      plain: sh.debug,
    });
    let requestId: string | undefined;
    try {
      requestId = (await sh.cs.serverVolumes.updateServerVolume(server.id, attachmentId, newVolumeId)).requestId;
    } catch (e) {
      follower.dispose();
      throw e;
    }
    sh.onInterrupt(() => follower.interrupt());
    try {
      return await follower.follow(requestId);
    } finally {
      sh.onInterrupt(null);
    }
  },
};
