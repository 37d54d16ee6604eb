// nova-sim's command line on commander: the table of subcommands (one module each under
// commands/), the global --state option, and what every command shares: output through the
// context, help width, and one error format (usage line, `error: …`, a hint; exit 2).
//
// nova keeps its argparse port (src/novaclient/argparse.ts) because its help and errors must
// be novaclient's byte for byte; nova-sim has no Python original, so it uses commander
// (docs/architecture.md explains the choice).
import { Command, Option } from 'commander';
import type { SimCommandFactory, SimContext } from './context.js';
import { CommandGroup } from './group.js';
import { helpWidth } from './options.js';
import { blkdebugCommand } from './commands/blkdebug.js';
import { configCommand } from './commands/config.js';
import { doctorCommand } from './commands/doctor.js';
import { faultCommand } from './commands/fault.js';
import { guestLoadCommand } from './commands/guest-load.js';
import { initCommand } from './commands/init.js';
import { logsCommand } from './commands/logs.js';
import { serveCommand } from './commands/serve.js';
import { virshCommand } from './commands/virsh.js';
import { volumePathCommand } from './commands/volume-path.js';
import { exportCommand, importCommand } from './commands/transfer.js';

/** nova-sim's subcommands, in the order `nova-sim --help` lists them */
export const SIM_COMMANDS: readonly SimCommandFactory[] = [
  initCommand,
  exportCommand,
  importCommand,
  volumePathCommand,
  logsCommand,
  configCommand,
  blkdebugCommand,
  doctorCommand,
  faultCommand,
  guestLoadCommand,
  virshCommand,
  serveCommand,
];

/** the exit code of a usage error (argparse's, which nova and cinder keep too) */
export const USAGE_EXIT = 2;

/** commander puts its "(Did you mean …?)" on a line of its own: it belongs to the error's */
function oneLine(line: string): string {
  return line.replace(/\n(?=\(Did you mean )/, ' ');
}

/** every command of the tree, the program first */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c))];
}

/** the full command line that names `cmd` ("nova-sim virsh list") */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** nova-sim's program: a fresh tree for each run (commander keeps parsed values in it) */
export function simProgram(ctx: SimContext): Command {
  const program = new CommandGroup('nova-sim')
    .description("Manage novasim's embedded cloud.")
    .addOption(
      new Option('--state <state-file>', 'State file of the embedded cloud. Defaults to env[NOVASIM_STATE], else $XDG_STATE_HOME/novasim/state.json.'),
    );
  for (const make of SIM_COMMANDS) program.addCommand(make(ctx));
  for (const cmd of allCommands(program)) {
    cmd
      // the old shell had no `help` subcommand; `--help` at any level is the way
      .helpCommand(false)
      // --state is the program's: accepted anywhere on the line, shown in every command's help
      .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
      .configureOutput({
        writeOut: ctx.out,
        writeErr: ctx.err,
        getOutHelpWidth: () => helpWidth(process.stdout),
        getErrHelpWidth: () => helpWidth(process.stderr),
        // commander's one `error: …` line, framed as every CLI of novasim frames it: the
        // command's usage before it, where to read more after it
        outputError: (line, write) =>
          write(`Usage: ${cmd.createHelp().commandUsage(cmd)}\n${oneLine(line)}Try '${commandPath(cmd)} --help' for more information.\n`),
      })
      .exitOverride();
  }
  return program;
}
