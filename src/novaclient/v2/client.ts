// novaclient.v2.client.Client: the session and the managers hanging off it.
import { SessionClient, type ClientOptions } from '../client.js';
import type { Client } from '../types.js';
import { FlavorManager, ImageManager } from './flavors_images.js';
import { InstanceActionManager } from './instance_action.js';
import { ServerManager } from './servers.js';
import { ServerVolumeManager, VolumeManager } from './volumes.js';
import { AvailabilityZoneManager } from './availability_zones.js';
import { ServiceManager } from './services.js';
import { HypervisorManager } from './hypervisors.js';
import { HostManager } from './hosts.js';
import { ListExtManager } from './list_extensions.js';
import { VersionManager } from './versions.js';

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
    availabilityZones: new AvailabilityZoneManager(api),
    services: new ServiceManager(api),
    hypervisors: new HypervisorManager(api),
    hosts: new HostManager(api),
    listExtensions: new ListExtManager(api),
    versions: new VersionManager(api),
  };
}
