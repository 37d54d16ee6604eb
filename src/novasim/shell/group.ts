// A command made of subcommands (nova-sim itself, nova-sim virsh).
import { Command, CommanderError, type HelpContext } from 'commander';

export class CommandGroup extends Command {
  // NOTE: commander answers a group typed without a subcommand with its help on stderr and
  // exit 1, as if it were an error. Typing `nova-sim` or `nova-sim virsh` alone is how a user
  // asks what is there (the argparse shell answered it so): the help goes to stdout, exit 0.
  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'object' && context.error) {
      this.outputHelp();
      throw new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)');
    }
    return super.help(context as HelpContext);
  }
}
