// do_volume_update: PUT …/os-volume_attachments/<attachment> {"volumeAttachment": {"volumeId": …}}.
// Like novaclient, nothing goes to stdout. novasim extensions: <attachment> and <volume> may
// be volume names, and when this process hosts the cloud it follows nova-compute's swap to
// the end (progress on stderr) instead of exiting on the 202.
import { tracer, traced } from '../../trace/tracer.js';
import type { SwapFollower } from '../progress.js';
import type { RemoteSwap } from '../progress-remote.js';
import type { CommandDef } from '../types.js';
import { findServer, serverArg, volumeIdFor } from './common.js';

const DO_VOLUME_UPDATE = { name: 'do_volume_update()', location: 'novaclient/v2/shell.py', layer: 'novaclient', service: 'novaclient' } as const;

export const command: CommandDef = {
  name: 'volume-update',
  doc: 'Update volume attachment.',
  args: [
    serverArg,
    { dest: 'attachment_id', metavar: '<attachment>', help: 'Attachment ID of the volume.' },
    { dest: 'new_volume', metavar: '<volume>', help: 'ID of the volume to attach.' },
  ],
  async run(sh, args) {
    const f: { follower?: SwapFollower; remote?: RemoteSwap } = {};
    // do_volume_update: what novaclient does up to the 202
    const requestId = await traced(
      DO_VOLUME_UPDATE,
      async () => {
        const server = await findServer(sh.cs, args.server as string);
        const attachmentId = await volumeIdFor(sh.cs, args.attachment_id as string);
        const newVolumeId = await volumeIdFor(sh.cs, args.new_volume as string);
        if (sh.cloud) {
          const { SwapFollower } = await import('../progress.js');
          // subscribe before the PUT: nova-compute may start on the cast before the 202 is read
          f.follower = new SwapFollower(
            sh.cloud,
            sh.out,
            {
              server: server.name || server.id,
              oldVolume: args.attachment_id as string,
              newVolume: args.new_volume as string,
              // --debug and --trace print lines a spinner would tear
              plain: sh.debug || tracer.active,
            },
            // after an interrupt: where did the swap end? (os-volume_attachments, os-volumes)
            async () => {
              const attached = (await sh.cs.serverVolumes.getServerVolumes(server.id)).map((a) => String(a.info.volumeId));
              if (attached.includes(newVolumeId) && !attached.includes(attachmentId)) return 'swapped';
              if (!attached.includes(attachmentId)) return 'in-between';
              const [oldVol, newVol] = await Promise.all([sh.cs.volumes.get(attachmentId), sh.cs.volumes.get(newVolumeId)]);
              return oldVol.info.status === 'in-use' && newVol.info.status === 'available' ? 'rolled-back' : 'in-between';
            },
          );
        }
        else {
          // nova-compute runs elsewhere: follow the swap by polling the APIs after the 202
          f.remote = {
            serverId: server.id,
            server: server.name || server.id,
            oldVolume: args.attachment_id as string,
            newVolume: args.new_volume as string,
            oldVolumeId: attachmentId,
            newVolumeId,
            plain: sh.debug || tracer.active,
          };
        }
        try {
          return (await sh.cs.serverVolumes.updateServerVolume(server.id, attachmentId, newVolumeId)).requestId;
        } catch (e) {
          f.follower?.dispose();
          throw e;
        }
      },
      () => ({ server: args.server, attachment_id: args.attachment_id, new_volume: args.new_volume }),
    );
    if (f.remote) {
      const { RemoteSwapFollower } = await import('../progress-remote.js');
      return new RemoteSwapFollower(sh.cs, sh.out, f.remote).follow(requestId);
    }
    const follower = f.follower;
    if (!follower) return 0;
    sh.onInterrupt(() => follower.interrupt());
    try {
      return await follower.follow(requestId);
    } finally {
      sh.onInterrupt(null);
    }
  },
};
