// nova-sim virsh: the operator's view of the simulated libvirtd, with virsh's own command
// names, options and output (src/novasim/virsh.ts). Each virsh command is a commander
// command under `virsh`; they share how a command's output is printed.
import { Command } from 'commander';
import { act, ensureState, operands, type SimContext } from '../context.js';
import { CommandGroup } from '../group.js';
import type { VirshOutput } from '../../virsh.js';

type Virsh = typeof import('../../virsh.js');

/** one virsh command: its arguments and options, and the call into the simulated libvirtd */
interface VirshCommand {
  name: string;
  description: string;
  define(cmd: Command): Command;
  run(virsh: Virsh, statePath: string, cmd: Command): VirshOutput | Promise<VirshOutput>;
}

const DOMAIN = ['<domain>', 'Domain name, id or uuid (or the server name or ID).'] as const;

const VIRSH_COMMANDS: VirshCommand[] = [
  {
    name: 'list',
    description: 'list domains',
    define: (cmd) => cmd.option('--all', 'list inactive & active domains'),
    run: (virsh, statePath, cmd) => virsh.list(statePath, cmd.opts<{ all?: true }>().all === true),
  },
  {
    name: 'domblklist',
    description: 'list all domain blocks',
    define: (cmd) => cmd.argument(...DOMAIN),
    run: (virsh, statePath, cmd) => virsh.domblklist(statePath, operands<[string]>(cmd)[0]),
  },
  {
    name: 'dumpxml',
    description: 'domain information in XML',
    define: (cmd) => cmd.argument(...DOMAIN).option('--inactive', 'show inactive defined XML'),
    run: (virsh, statePath, cmd) => virsh.dumpxml(statePath, operands<[string]>(cmd)[0], cmd.opts<{ inactive?: true }>().inactive === true),
  },
  {
    name: 'blockjob',
    description: 'Manage active block operations',
    define: (cmd) =>
      cmd
        .argument(...DOMAIN)
        .argument('<path>', 'Fully-qualified path of disk')
        .option('--info', 'get active job information for the specified disk')
        .option('--raw', 'implies --info; output details rather than human summary'),
    run: (virsh, statePath, cmd) => {
      const [domain, path] = operands<[string, string]>(cmd);
      return virsh.blockjob(statePath, domain, path, cmd.opts<{ raw?: true }>().raw === true);
    },
  },
  {
    name: 'qemu-monitor-command',
    description: 'QEMU Monitor Command',
    define: (cmd) => cmd.argument(...DOMAIN).argument('<cmd>', 'command').option('--pretty', 'pretty-print any qemu monitor protocol output'),
    run: (virsh, statePath, cmd) => {
      const [domain, text] = operands<[string, string]>(cmd);
      return virsh.qemuMonitorCommand(statePath, domain, text, cmd.opts<{ pretty?: true }>().pretty === true);
    },
  },
];

export function virshCommand(ctx: SimContext): Command {
  const group = new CommandGroup('virsh').description("Inspect the simulated libvirtd like an operator (virsh's commands and output).");
  for (const v of VIRSH_COMMANDS) {
    const cmd = v.define(new Command(v.name).description(v.description));
    group.addCommand(
      act(cmd, ctx, async () => {
        const statePath = ctx.statePath();
        await ensureState(statePath, ctx.err);
        const r = await v.run(await import('../../virsh.js'), statePath, cmd);
        if (r.stderr) ctx.err(r.stderr);
        ctx.out(r.stdout);
        if (r.note) ctx.err(r.note);
        return 0;
      }),
    );
  }
  return group;
}
