// nova-sim export / import: the JSON document of a state, whichever way the file keeps it.
// A world kept in SQLite is exported as exactly the JSON a JSON state file of the same world
// holds, and importing that JSON gives the same world back: export(import(x)) == x.
import { SimError } from '../common/errors.js';
import { parseState, StateFileError, StateStore, type StateFormat } from './store.js';
import type { State } from './types.js';

export class StateExistsError extends SimError {
  constructor(path: string) {
    super('CommandError', `${path} already exists; use --force to replace it`);
  }
}

/** the state's JSON document, as a JSON state file holds it */
export function exportState(statePath: string): string {
  const state = new StateStore(statePath).read();
  return JSON.stringify(state, null, 1) + '\n';
}

/** Replaces (or creates) the state at `statePath` with the JSON document `text`, checked as
 * every state is (`source` names it in a problem); nothing changes if it is refused. */
export async function importState(statePath: string, text: string, source: string, opts: { force: boolean; format: StateFormat }): Promise<void> {
  // its images are the state file's (their paths name them): checked against it
  let state: State;
  try {
    state = parseState(statePath, text);
  } catch (err) {
    if (err instanceof StateFileError) throw new StateFileError(source, err.message.slice(statePath.length + 2).replace(/^not a novasim state file: /, `not a novasim state file for ${statePath}: `));
    throw err;
  }
  const store = new StateStore(statePath);
  if (!opts.force && store.exists()) throw new StateExistsError(statePath);
  const written = await store.create(() => state, opts.force, opts.format);
  if (!written) throw new StateExistsError(statePath);
}
