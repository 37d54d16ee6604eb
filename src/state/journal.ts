// The journal of operations in flight. An operation that spans several saves (a swap, an
// attach, a detach, a boot, a delete) writes its intent before its first change and each step
// it completes; its entry leaves in the same save as its last change. So a crash, a kill -9 or
// a save that fails part-way always leaves an entry behind, and the next command can say what
// was interrupted, and `nova-sim doctor` can finish or undo it. These are pure functions on
// the state, called inside StateStore.update().
import { pidAlive } from '../common/process.js';
import { isoMicros } from '../common/time.js';
import type { Operation, OperationKind, State } from './types.js';

/** Which operation a step belongs to: one kind on one device of one instance at a time. */
export interface OperationKey {
  kind: OperationKind;
  instance: string;
  /** the mountpoint for volume operations (/dev/vdb), null for boot and delete */
  device: string | null;
}

function same(op: Operation, key: OperationKey): boolean {
  return op.kind === key.kind && op.instance === key.instance && op.device === key.device;
}

/** Records the intent of an operation (its first step). An entry of the same key left by a
 * process that is gone is replaced: its state is what the doctor reads, not the entry. */
export function journalBegin(s: State, op: OperationKey & { id: string; volumes: string[]; step: string }, pid = process.pid): void {
  const now = isoMicros();
  const ops = (s.operations ??= []);
  const i = ops.findIndex((o) => same(o, op) && !pidAlive(o.pid));
  const entry: Operation = { id: op.id, kind: op.kind, instance: op.instance, volumes: [...op.volumes], device: op.device, pid, startedAt: now, step: op.step, updatedAt: now };
  if (i >= 0) ops[i] = entry;
  else ops.push(entry);
}

/** Records that the operation completed a step (a no-op when it is not journaled). */
export function journalStep(s: State, key: OperationKey, step: string): void {
  const op = s.operations?.find((o) => same(o, key) && o.pid === process.pid);
  if (!op) return;
  op.step = step;
  op.updatedAt = isoMicros();
}

/** The operation is over (done, or rolled back): its entry leaves. */
export function journalEnd(s: State, key: OperationKey): void {
  if (!s.operations) return;
  s.operations = s.operations.filter((o) => !(same(o, key) && o.pid === process.pid));
  if (!s.operations.length) delete s.operations;
}

/** Operations whose process is gone before they ended. */
export function interruptedOperations(s: State): Operation[] {
  return (s.operations ?? []).filter((o) => !pidAlive(o.pid));
}
