// The one place that turns an error a command could not handle into the line the user
// sees, "ERROR (<class>): <message>", as novaclient's shell prints its exceptions.
//
// An error of ours (a SimError or any error carrying an upstream `kind`, a novaclient or
// argparse exception) keeps its upstream class name. An error JavaScript raised by itself
// (TypeError, RangeError, …) is a bug of novasim, not an answer of the cloud: the line says
// so instead of passing for an upstream exception, and the stack goes to the log (the
// services' logs, and stderr with --debug) where a maintainer can find it.
import { getLogger } from './log.js';

const LOG = getLogger('novasim.cli', 'novasim');

/** the classes the JavaScript engine raises on its own */
const ENGINE_ERRORS = new Set(['Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError']);

export interface ErrorLine {
  /** the class the line names */
  cls: string;
  msg: string;
  /** true when the error is a bug of novasim rather than an answer */
  internal: boolean;
}

/** what the user's line says about `e` (the log gets the stack of an internal error) */
export function errorLine(e: unknown): ErrorLine {
  if (e instanceof Error) {
    const kind = (e as { kind?: unknown }).kind;
    if (typeof kind === 'string' && kind) return { cls: kind, msg: e.message, internal: false };
    if (!ENGINE_ERRORS.has(e.name) || e.constructor !== globalThis[e.name as keyof typeof globalThis]) {
      return { cls: e.name || 'Exception', msg: e.message, internal: false };
    }
    LOG.exception('unexpected error', e);
    if (e.stack) LOG.debug(e.stack);
    return { cls: 'InternalError', msg: `novasim failed unexpectedly (${e.name}: ${e.message}); this is a bug of novasim, not an answer of the cloud`, internal: true };
  }
  return { cls: 'Exception', msg: String(e), internal: false };
}

/** the line itself, with its newline */
export function formatErrorLine(e: unknown): string {
  const { cls, msg } = errorLine(e);
  return `ERROR (${cls}): ${msg}\n`;
}
