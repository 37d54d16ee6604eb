// What a cinder command module sees: the parsed arguments, the client and the output.
import type { ArgSpec, Namespace } from '../novaclient/argparse.js';
import type { Output } from '../novaclient/types.js';
import type { Client } from './v2/client.js';

export type { Output };

export interface ShellContext {
  readonly cs: Client;
  readonly out: Output;
  readonly debug: boolean;
}

export interface CommandDef {
  /** hyphenated, as in `cinder help` */
  name: string;
  /** the do_* docstring: its first line is the summary in `cinder help`, the whole the description */
  doc: string;
  args: ArgSpec[];
  /** a check argparse makes while parsing (an Action's parser.error): the message, or null */
  check?(args: Namespace): string | null;
  /** returns the exit code (default 0) */
  run(sh: ShellContext, args: Namespace): Promise<number | void>;
}
