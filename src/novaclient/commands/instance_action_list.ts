// do_instance_action_list (novaclient/v2/contrib/instance_action.py, Mitaka)
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';
import { findServerForActions, serverArgFor } from './instance_action.js';

export const command: CommandDef = {
  name: 'instance-action-list',
  doc: 'List actions on a server.',
  args: [serverArgFor('list actions for', 'list actions on')],
  async run(sh, args) {
    const server = await findServerForActions(sh.cs, args.server as string);
    const actions = await sh.cs.instanceAction.list(server);
    sh.out.out(printList(actions, ['Action', 'Request_ID', 'Message', 'Start_Time'], {}, 3));
  },
};
