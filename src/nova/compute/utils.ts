// nova/compute/utils.py: EventReporter, the context manager that @wrap_instance_event puts
// around a compute manager method: it starts an event under the action of the request
// (action_event_start) and finishes it with its result (event_finish_with_failure). Here
// they are pure functions on the state, so the manager records each in the save of the
// change it goes with.
import type { RequestContext } from '../../common/context.js';
import { SimError } from '../../common/errors.js';
import type { State } from '../../state/types.js';
import { actionEventFinish, actionEventStart } from '../db.js';
import { NovaException } from '../exception.js';

/** @wrap_instance_event: the event is named after the method it wraps */
export function eventName(method: string): string {
  return `compute_${method}`;
}

/** EventReporter.__enter__ → InstanceActionEvent.event_start */
export function eventStart(s: State, ctx: RequestContext, event: string, instanceUuid: string): void {
  actionEventStart(s, ctx, instanceUuid, event);
}

/** EventReporter.__exit__ → InstanceActionEvent.event_finish_with_failure (err: what
 * escaped the block, or null) */
export function eventFinish(s: State, ctx: RequestContext, event: string, instanceUuid: string, err: unknown = null): void {
  actionEventFinish(s, ctx, instanceUuid, event, err === null ? null : { traceback: formatTraceback(err) });
}

/** the Python class an error stands for, as a traceback's last line names it */
function pyClass(err: unknown): string {
  if (err instanceof NovaException) return `nova.exception.${err.kind}`;
  if (err instanceof SimError) return err.kind === 'libvirtError' ? 'libvirt.libvirtError' : err.kind;
  return err instanceof Error ? err.name : 'Exception';
}

/**
 * The event's traceback. Mitaka stores ''.join(traceback.format_tb(tb)): the Python frames,
 * without the exception's own line. novasim's frames would be JavaScript's (of a bundle),
 * so it stores the line Python's traceback ends with instead: "<class>: <message>".
 */
export function formatTraceback(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${pyClass(err)}: ${message}\n`;
}
