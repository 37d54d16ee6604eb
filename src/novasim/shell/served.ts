// One owner of a world: while a live `nova-sim serve` owns the state file (its
// <state>.serve.json), a nova-sim command that would change the state directly refuses,
// with one line naming the server and how to stop it, and changes nothing.
import { CommandError } from '../../common/errors.js';
import { servedBy } from '../../state/serve-record.js';

/** throws the refusal when a live server owns `statePath` (`command` names what was refused) */
export function refuseIfServed(statePath: string, command: string): void {
  const owner = servedBy(statePath);
  if (!owner) return;
  throw new CommandError(
    `${statePath} is served by nova-sim serve (pid ${owner.pid}, ${owner.url}), which alone changes it: ` +
      `stop the server (kill ${owner.pid}) and run 'nova-sim ${command}' again, or make the change through its API`,
  );
}
