// The subcommands, each loaded only when it runs (or for `nova help`).
import type { CommandDef } from '../types.js';

type Loader = () => Promise<{ command: CommandDef }>;

export const COMMANDS: Record<string, Loader> = {
  boot: () => import('./boot.js'),
  delete: () => import('./delete.js'),
  'instance-action': () => import('./instance_action.js'),
  'instance-action-list': () => import('./instance_action_list.js'),
  list: () => import('./list.js'),
  lock: () => import('./lock.js'),
  pause: () => import('./pause.js'),
  'reset-state': () => import('./reset_state.js'),
  resume: () => import('./resume.js'),
  show: () => import('./show.js'),
  start: () => import('./start.js'),
  stop: () => import('./stop.js'),
  suspend: () => import('./suspend.js'),
  unlock: () => import('./unlock.js'),
  unpause: () => import('./unpause.js'),
  'volume-attach': () => import('./volume_attach.js'),
  'volume-attachments': () => import('./volume_attachments.js'),
  'volume-create': () => import('./volume_create.js'),
  'volume-delete': () => import('./volume_delete.js'),
  'volume-detach': () => import('./volume_detach.js'),
  'volume-list': () => import('./volume_list.js'),
  'volume-show': () => import('./volume_show.js'),
  'volume-update': () => import('./volume_update.js'),
  // the operators' commands: flavors, images, zones, services, hypervisors, hosts, reboot,
  // the API's extensions and versions
  'flavor-list': () => import('./flavor_list.js'),
  'flavor-show': () => import('./flavor_show.js'),
  'image-list': () => import('./image_list.js'),
  'image-show': () => import('./image_show.js'),
  'availability-zone-list': () => import('./availability_zone_list.js'),
  'service-list': () => import('./service_list.js'),
  'hypervisor-list': () => import('./hypervisor_list.js'),
  'hypervisor-show': () => import('./hypervisor_show.js'),
  'host-list': () => import('./host_list.js'),
  reboot: () => import('./reboot.js'),
  'list-extensions': () => import('./list_extensions.js'),
  'version-list': () => import('./version_list.js'),
};

/** commands Mitaka loads from novaclient/v2/contrib (listed after the shell's own in `nova help`) */
export const EXTENSION_COMMANDS = new Set(['list-extensions']);

export async function loadCommand(name: string): Promise<CommandDef | undefined> {
  const loader = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  return loader ? (await loader()).command : undefined;
}
