// What a command module sees: the parsed arguments, the client with its managers, the
// output, and (when the CLI hosts the embedded cloud) the cloud itself.
import type { ArgSpec, Namespace } from './argparse.js';
import type { SessionClient } from './client.js';
import type { ServerManager } from './v2/servers.js';
import type { ServerVolumeManager, VolumeManager } from './v2/volumes.js';
import type { FlavorManager, ImageManager } from './v2/flavors_images.js';
import type { InstanceActionManager } from './v2/instance_action.js';
import type { EmbeddedCloud } from '../cloud/types.js';
import type { AvailabilityZoneManager } from './v2/availability_zones.js';
import type { ServiceManager } from './v2/services.js';
import type { HypervisorManager } from './v2/hypervisors.js';
import type { HostManager } from './v2/hosts.js';
import type { ListExtManager } from './v2/list_extensions.js';
import type { VersionManager } from './v2/versions.js';

/** the single place that writes to the terminal */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly stderrIsTTY: boolean;
  /** terminal width of stderr (0 when unknown: a pty without a size) */
  readonly stderrColumns?: number;
  /** the terminal behind err(), for a spinner that redraws its line (absent: plain lines) */
  readonly stderrTerminal?: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/** novaclient.v2.client.Client */
export interface Client {
  readonly api: SessionClient;
  readonly servers: ServerManager;
  /** the deprecated Cinder proxy */
  readonly volumes: VolumeManager;
  /** os-volume_attachments */
  readonly serverVolumes: ServerVolumeManager;
  readonly flavors: FlavorManager;
  readonly images: ImageManager;
  /** the os-instance-actions contrib extension (cs.instance_action) */
  readonly instanceAction: InstanceActionManager;
  readonly availabilityZones: AvailabilityZoneManager;
  readonly services: ServiceManager;
  readonly hypervisors: HypervisorManager;
  readonly hosts: HostManager;
  /** the list_extensions contrib extension */
  readonly listExtensions: ListExtManager;
  readonly versions: VersionManager;
}

export interface ShellContext {
  readonly cs: Client;
  readonly out: Output;
  readonly debug: boolean;
  /** the embedded cloud this process hosts, if any (absent against a remote Nova) */
  readonly cloud: EmbeddedCloud | null;
  /** SIGINT routing: a command that follows work in progress takes Ctrl-C over */
  onInterrupt(handler: (() => void) | null): void;
}

export interface CommandDef {
  /** hyphenated, as in `nova help` */
  name: string;
  /** the do_* docstring: the help summary and description */
  doc: string;
  args: ArgSpec[];
  /** returns the exit code (default 0) */
  run(sh: ShellContext, args: Namespace): Promise<number | void>;
}
