// do_reboot: every server is looked up first, then each is asked to reboot; --poll then
// follows each one (_poll_for_status 'rebooting' until 'active').
import type { Namespace } from '../argparse.js';
import { CommandError } from '../exceptions.js';
import type { CommandDef, ShellContext } from '../types.js';
import type { Server } from '../v2/servers.js';
import { errText, findServer, serversArg } from './common.js';

/** _poll_for_status's poll_period */
const POLL_PERIOD_MS = 5000;

/** utils.do_action_on_many over Server objects: their repr is what the messages show */
async function doActionOnMany(sh: ShellContext, servers: Server[], action: (s: Server) => Promise<void>, successMsg: string, errorMsg: string): Promise<void> {
  let failed = false;
  for (const s of servers) {
    try {
      await action(s);
      sh.out.out(`${successMsg.replace('%s', String(s))}\n`);
    } catch (e) {
      failed = true;
      sh.out.out(`${errText(e)}\n`);
    }
  }
  if (failed) throw new CommandError(errorMsg);
}

/**
 * _poll_for_status(cs.servers.get, id, 'rebooting', ['active'], show_progress=False). The
 * wait between polls is Mitaka's 5 s; when this process hosts the cloud it ends early as
 * soon as nova-compute has finished a cast for the server, so the next poll sees it.
 */
async function pollForStatus(sh: ShellContext, id: string): Promise<void> {
  const action = 'rebooting';
  let woken = false;
  let wake: (() => void) | null = null;
  const off = sh.cloud?.on((ev) => {
    if ((ev.type === 'compute-done' || ev.type === 'compute-error') && ev.instance === id) {
      woken = true;
      wake?.();
    }
  });
  try {
    sh.out.out('\n');
    for (;;) {
      woken = false;
      const obj = await sh.cs.servers.get(id);
      const status = typeof obj.info.status === 'string' ? obj.info.status.toLowerCase() : obj.info.status;
      if (status === 'active') {
        sh.out.out(`\rServer ${action}...`);
        sh.out.out('\nFinished\n');
        return;
      }
      if (status === 'error') {
        sh.out.out(`\nError ${action} server\n`);
        const fault = (obj.info.fault as { message?: string } | undefined)?.message;
        throw new CommandError(`\`Server\` resource is in the error state${fault ? `due to '${fault}'` : ''}.`);
      }
      if (status === 'deleted') {
        sh.out.out(`\nDeleted ${action} server\n`);
        throw new CommandError(String((obj.info.fault as { message?: string } | undefined)?.message ?? ''));
      }
      sh.out.out(`\rServer ${action}...`);
      if (!woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, POLL_PERIOD_MS);
          function done(): void {
            clearTimeout(timer);
            wake = null;
            resolve();
          }
          wake = done;
        });
      }
    }
  } finally {
    off?.();
  }
}

export const command: CommandDef = {
  name: 'reboot',
  doc: 'Reboot a server.',
  args: [
    { flags: ['--hard'], dest: 'reboot_type', action: 'store_const', const: 'HARD', default: 'SOFT', help: 'Perform a hard reboot (instead of a soft one).' },
    serversArg,
    { flags: ['--poll'], dest: 'poll', action: 'store_true', default: false, help: 'Poll until reboot is complete.' },
  ],
  async run(sh: ShellContext, args: Namespace) {
    const servers: Server[] = [];
    for (const s of args.server as string[]) servers.push(await findServer(sh.cs, s));
    const type = args.reboot_type as 'SOFT' | 'HARD';
    await doActionOnMany(sh, servers, (s) => sh.cs.servers.reboot(s.id, type), 'Request to reboot server %s has been accepted.', 'Unable to reboot the specified server(s).');
    if (args.poll) {
      await doActionOnMany(sh, servers, (s) => pollForStatus(sh, s.id), 'Wait for server %s reboot.', 'Wait for specified server(s) failed.');
    }
  },
};
