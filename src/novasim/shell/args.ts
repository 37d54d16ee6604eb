// The options every nova-sim subcommand shares.
import { SUPPRESS, type ArgSpec } from '../../novaclient/argparse.js';

export const HELP: ArgSpec = { flags: ['-h', '--help'], dest: 'help', action: 'help', help: SUPPRESS };

export const STATE: ArgSpec = {
  flags: ['--state'],
  dest: 'state',
  metavar: '<state-file>',
  default: null,
  help: 'State file of the embedded cloud. Defaults to env[NOVASIM_STATE], else $XDG_STATE_HOME/novasim/state.json.',
};
