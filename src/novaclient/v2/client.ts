// novaclient.v2.client.Client: the session and the managers hanging off it.
import { SessionClient, type ClientOptions } from '../client.js';
import type { Client } from '../types.js';
import { FlavorManager, ImageManager } from './flavors_images.js';
import { InstanceActionManager } from './instance_action.js';
import { ServerManager } from './servers.js';
import { ServerVolumeManager, VolumeManager } from './volumes.js';

export function makeClient(opts: ClientOptions): Client {
  const api = new SessionClient(opts);
  return {
    api,
    servers: new ServerManager(api),
    volumes: new VolumeManager(api),
    serverVolumes: new ServerVolumeManager(api),
    flavors: new FlavorManager(api),
    images: new ImageManager(api),
    instanceAction: new InstanceActionManager(api),
  };
}
