// Typed option values for nova-sim's commands (commander argParsers) and the usage error a
// command raises itself. A bad value is a usage error (exit 2) naming the option and what it
// expects, never an exception.
import { InvalidArgumentError, type Command } from 'commander';
import { parseRate, parseRegion, parseSizes } from '../sizes.js';

/** a parser that turns any refusal of `parse` into commander's invalid-argument error */
function typed<T>(parse: (text: string) => T, expected: string): (text: string) => T {
  return (text) => {
    let v: T;
    try {
      v = parse(text);
    } catch {
      throw new InvalidArgumentError(expected);
    }
    return v;
  };
}

/** a whole number as Python's int() reads it ("12", " -3 ", "1_000") */
export const int = typed((text) => {
  const t = text.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) throw new Error('not an int');
  return Number.parseInt(t.replace(/_/g, ''), 10);
}, 'Expected a whole number.');

export const rate = typed(parseRate, 'Expected a positive size per second, e.g. 20MiB/s.');
export const sizes = typed(parseSizes, 'Expected sizes separated by commas, e.g. 4K,16K,64K.');
export const region = typed(parseRegion, 'Expected OFFSET:LENGTH, e.g. 0:256M.');

export const seconds = typed((text) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || !text.trim()) throw new Error('not seconds');
  return n;
}, 'Expected a positive number of seconds.');

/** a usage error found by the command itself (after commander's parsing): exit 2 */
export function usageError(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: 2, code: 'novasim.usage' });
}

/** the width help is wrapped to: $COLUMNS, else the terminal's, else 80 */
export function helpWidth(stream: NodeJS.WriteStream = process.stdout): number {
  const env = Number.parseInt(process.env.COLUMNS ?? '', 10);
  if (Number.isInteger(env) && env > 0) return env;
  return stream.isTTY && stream.columns ? stream.columns : 80;
}

/** text after the command's help (argparse's epilog), wrapped like the description */
export function epilog(cmd: Command, text: string): Command {
  return cmd.addHelpText('after', () => `\n${cmd.createHelp().boxWrap(text, helpWidth())}`);
}
