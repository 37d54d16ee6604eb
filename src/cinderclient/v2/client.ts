// cinderclient.v2.client.Client: the session and the managers the shell uses.
import { SessionClient, type ClientOptions } from '../../novaclient/client.js';
import { VolumeTypeManager } from './volume_types.js';
import { VolumeManager } from './volumes.js';

export const USER_AGENT = 'python-cinderclient';

export interface Client {
  readonly api: SessionClient;
  readonly volumes: VolumeManager;
  readonly volumeTypes: VolumeTypeManager;
}

export function makeClient(opts: ClientOptions): Client {
  const api = new SessionClient({ ...opts, userAgent: USER_AGENT });
  return { api, volumes: new VolumeManager(api), volumeTypes: new VolumeTypeManager(api) };
}
