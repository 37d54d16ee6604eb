// The subcommands of cinderclient.v2.shell that novasim has, each loaded only when it runs.
import type { CommandDef } from '../types.js';

type Loader = () => Promise<{ command: CommandDef }>;

/** in `cinder help`'s order: argparse lists them as dir(shell_v2) finds the do_* functions */
export const COMMANDS: Record<string, Loader> = {
  create: () => import('./create.js'),
  delete: () => import('./delete.js'),
  'force-delete': () => import('./force_delete.js'),
  list: () => import('./list.js'),
  'reset-state': () => import('./reset_state.js'),
  show: () => import('./show.js'),
  'type-list': () => import('./type_list.js'),
};

export async function loadCommand(name: string): Promise<CommandDef | undefined> {
  const loader = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  return loader ? (await loader()).command : undefined;
}
