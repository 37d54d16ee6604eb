// Helpers the do_* functions of novaclient/v2/shell.py share.
import type { ArgSpec, Namespace } from '../argparse.js';
import { findResource, isUuidLike } from '../base.js';
import { CommandError } from '../exceptions.js';
import type { Client, CommandDef, Output, ShellContext } from '../types.js';
import type { Server } from '../v2/servers.js';
import type { Volume } from '../v2/volumes.js';

/** _find_server(cs, server, **find_args) */
export function findServer(cs: Client, server: string, findArgs: Record<string, unknown> = {}): Promise<Server> {
  return findResource(cs.servers, server, findArgs);
}

/** _find_volume(cs, volume) */
export function findVolume(cs: Client, volume: string): Promise<Volume> {
  return findResource(cs.volumes, volume);
}

/**
 * novasim extension: where Mitaka takes a volume ID, also accept a volume's display name
 * (resolved through Cinder); an ID-shaped value is passed through untouched, as novaclient does.
 */
export async function volumeIdFor(cs: Client, ref: string): Promise<string> {
  if (isUuidLike(ref)) return ref;
  return (await findVolume(cs, ref)).id;
}

export function emitVolumeDeprecationWarning(out: Output, command: string): void {
  out.err(
    `WARNING: Command ${command} is deprecated and will be removed after Nova 13.0.0 is released. ` +
      'Use python-cinderclient or openstackclient instead.\n',
  );
}

/** str(exception) as Python's print(e) shows it */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** utils.do_action_on_many */
export async function doActionOnMany(
  out: Output,
  resources: string[],
  action: (r: string) => Promise<void>,
  successMsg: (r: string) => string,
  errorMsg: string,
): Promise<void> {
  let failed = false;
  for (const r of resources) {
    try {
      await action(r);
      out.out(`${successMsg(r)}\n`);
    } catch (e) {
      failed = true;
      out.out(`${errText(e)}\n`);
    }
  }
  if (failed) throw new CommandError(errorMsg);
}

export const serverArg: ArgSpec = { dest: 'server', metavar: '<server>', help: 'Name or ID of server.' };
export const serversArg: ArgSpec = { dest: 'server', metavar: '<server>', nargs: '+', help: 'Name or ID of server(s).' };

export function allTenantsConst(help: string): ArgSpec {
  return { flags: ['--all-tenants'], dest: 'all_tenants', action: 'store_const', const: 1, default: 0, help };
}

/** lock, unlock, pause, unpause, suspend, resume: one server, one action, no output */
export function singleServerAction(
  name: string,
  doc: string,
  act: (cs: Client, id: string) => Promise<void>,
): CommandDef {
  return {
    name,
    doc,
    args: [serverArg],
    async run(sh: ShellContext, args: Namespace) {
      const server = await findServer(sh.cs, args.server as string);
      await act(sh.cs, server.id);
    },
  };
}

/** stop, start, delete: many servers, "Request to … has been accepted." per server */
export function manyServersAction(
  name: string,
  doc: string,
  verb: string,
  allTenantsHelp: string,
  act: (cs: Client, id: string) => Promise<void>,
): CommandDef {
  return {
    name,
    doc,
    args: [allTenantsConst(allTenantsHelp), serversArg],
    async run(sh: ShellContext, args: Namespace) {
      const findArgs = { all_tenants: args.all_tenants };
      await doActionOnMany(
        sh.out,
        args.server as string[],
        async (s) => act(sh.cs, (await findServer(sh.cs, s, findArgs)).id),
        (s) => `Request to ${verb} server ${s} has been accepted.`,
        `Unable to ${verb} the specified server(s).`,
      );
    },
  };
}
