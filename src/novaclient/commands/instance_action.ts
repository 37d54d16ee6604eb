// do_instance_action (novaclient/v2/contrib/instance_action.py, Mitaka)
import type { Namespace } from '../argparse.js';
import { findResource } from '../base.js';
import { CommandError, NoUniqueMatch, NotFound } from '../exceptions.js';
import { pformat } from '../pyfmt.js';
import { printDict } from '../table.js';
import type { Client, CommandDef } from '../types.js';

/** 2.21: the actions of a deleted server are readable by its uuid */
const DELETED_SERVERS = { major: 2, minor: 21 };

function atLeast(cs: Client, v: { major: number; minor: number }): boolean {
  const cur = cs.api.apiVersion;
  return cur.major > v.major || (cur.major === v.major && cur.minor >= v.minor);
}

/**
 * _find_server: up to 2.20 find_resource as every command does; from 2.21 a server it
 * cannot find is passed on as given (it may be a deleted server's uuid, which only
 * os-instance-actions still answers for).
 */
export async function findServerForActions(cs: Client, server: string): Promise<string> {
  if (!atLeast(cs, DELETED_SERVERS)) return (await findResource(cs.servers, server)).id;
  try {
    return (await findResource(cs.servers, server, {}, false)).id;
  } catch (e) {
    if (e instanceof NoUniqueMatch) throw new CommandError(e.message);
    if (e instanceof NotFound) return server;
    throw e;
  }
}

/** the server argument as 2.21's help words it (Mitaka's default version is 2.latest) */
export function serverArgFor(what: string, verb: string): CommandDef['args'][number] {
  return {
    dest: 'server',
    metavar: '<server>',
    help: `Name or UUID of the server to ${what}. Only UUID can be used to ${verb} a deleted server. (Supported by API versions '2.21' - '2.latest')`,
  };
}

export const command: CommandDef = {
  name: 'instance-action',
  doc: 'Show an action.',
  args: [
    serverArgFor('show actions for', 'show actions for'),
    { dest: 'request_id', metavar: '<request_id>', help: 'Request ID of the action to get.' },
  ],
  async run(sh, args: Namespace) {
    const server = await findServerForActions(sh.cs, args.server as string);
    const action = { ...(await sh.cs.instanceAction.get(server, args.request_id as string)).info };
    if ('events' in action) action.events = pformat(action.events);
    sh.out.out(printDict(action));
  },
};
