// `nova-sim fault add|list|clear`: failures on purpose at named points of every layer, so
// that what Mitaka leaves behind when one step of a swap, an attach or a detach fails can be
// rehearsed, inspected (`nova-sim doctor`) and repaired (`doctor --fix`).
//
// The rules live in the state (`faults`); every process that reads the state arms them
// (src/common/faults.ts) and counts afresh, so `--once` fails the first time the point is
// reached in each command. Each layer decides what a firing means there: Cinder answers
// HTTP 500 (src/cinder/faults.ts), the message bus drops the cast (src/rpc/bus.ts), the
// volume driver raises os-brick's error (src/nova/virt/libvirt/volume.ts), libvirtd raises
// libvirtError (src/libvirt/faults.ts), the state's writer gets ENOSPC/EIO/a short write
// (src/state/store.ts). Nothing here writes to the terminal; the nova-sim shell (shell/commands/) prints.
import { armFaults, FAULT_POINTS, isFaultPoint, type FaultPoint, type FaultRule } from '../common/faults.js';
import { times as timesText } from '../qemu/blkdebug.js';
import { CINDER_GENERIC_500 } from '../cinder/faults.js';
import { LibvirtError } from '../libvirt/errors.js';
import { LIBVIRT_FAULTS } from '../libvirt/faults.js';
import { StateStore } from '../state/store.js';

/** the most a count may be: a rule that fires a million times in one command is every time */
export const FAULT_MAX_TIMES = 1_000_000;
/** the longest --error text (it becomes one line of an error message) */
export const FAULT_MAX_ERROR = 500;
/** how the state's write(2) can fail */
export const STATE_WRITE_ERRORS = ['ENOSPC', 'EIO', 'short'] as const;

/** An argument the command refuses: the nova-sim shell turns it into argparse's usage error (exit 2). */
export class FaultArgumentError extends Error {
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(message);
    this.name = 'FaultArgumentError';
  }
}

/** the command line as the nova-sim shell parsed it: every value still a string */
export interface FaultOptions {
  action: string;
  point: string | null;
  error: string | null;
  once: boolean;
  times: string | null;
  afterBytes: string | null;
}

const quoted = (t: string): string => `"${t}"`;

/** What a firing at the point does, in the words of the component that fails. */
export function effectOf(rule: Pick<FaultRule, 'point' | 'error' | 'afterBytes'>): string {
  const { point, error } = rule;
  switch (point) {
    case 'rpc.cast':
      return 'the cast is accepted and never consumed (nova-compute down)';
    case 'driver.connect_volume':
      return error === null ? "os-brick raises VolumeDeviceNotFound ('Volume device not found at <path>.')" : `os-brick raises BrickException ${quoted(error)}`;
    case 'state.write': {
      const kind = (error ?? 'ENOSPC').toUpperCase();
      const after = rule.afterBytes ? ` after ${rule.afterBytes} bytes` : '';
      return kind === 'SHORT' ? 'write(2) returns short counts (4096 bytes a call); the writer goes on' : `write(2) fails with ${kind}${after}`;
    }
    case 'libvirt.undefine':
    case 'libvirt.blockRebase':
    case 'libvirt.blockJobAbort.pivot':
    case 'libvirt.blockResize':
    case 'libvirt.defineXML': {
      const f = LIBVIRT_FAULTS[point];
      const text = error === null ? f.default({ domain: '<domain>', disk: '<disk>', path: '<target>' }).message : new LibvirtError(f.code, error).message;
      return `libvirtd raises libvirtError ${quoted(text)}`;
    }
    default:
      return `cinder-api answers HTTP 500 ${quoted(error ?? CINDER_GENERIC_500)}`;
  }
}

/** "fires the first 3 times it is reached in each command" */
export function firesText(times: number | null): string {
  return times === null ? 'fires every time it is reached' : `fires ${timesText(times).replace(/^once$/, 'the first time')} it is reached in each command`;
}

function count(text: string, argument: string, min: number, max: number): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new FaultArgumentError(argument, `invalid count: '${text}' (a whole number from ${min} to ${max})`);
  }
  return n;
}

function pointArg(text: string | null): FaultPoint {
  if (text === null) throw new FaultArgumentError('<point>', `a point is required; the points are: ${FAULT_POINTS.join(', ')}`);
  if (!isFaultPoint(text)) throw new FaultArgumentError('<point>', `invalid point: '${text}'; the points are: ${FAULT_POINTS.join(', ')}`);
  return text;
}

/** Checks an `add` command line and builds its rule; refuses what makes no sense. */
export function ruleFromOptions(o: FaultOptions): FaultRule {
  const point = pointArg(o.point);
  if (o.once && o.times !== null) throw new FaultArgumentError('--times', 'not allowed with argument --once');
  const times = o.once ? 1 : o.times === null ? null : count(o.times, '--times', 1, FAULT_MAX_TIMES);
  let error: string | null = o.error;
  if (error !== null) {
    if (point === 'rpc.cast') throw new FaultArgumentError('--error', 'rpc.cast drops the message: there is no error to give');
    if (point === 'state.write') {
      const kind = STATE_WRITE_ERRORS.find((k) => k.toLowerCase() === error?.trim().toLowerCase());
      if (!kind) throw new FaultArgumentError('--error', `state.write fails with ${STATE_WRITE_ERRORS.join(', ')}, not '${error}'`);
      error = kind;
    } else {
      if (!error.trim()) throw new FaultArgumentError('--error', 'the text must not be empty');
      if (error.length > FAULT_MAX_ERROR) throw new FaultArgumentError('--error', `the text must be at most ${FAULT_MAX_ERROR} characters`);
      // it becomes one line of an error message; control characters would break it
      if (/[\u0000-\u001f\u007f]/.test(error)) throw new FaultArgumentError('--error', 'the text must be one line of printable characters');
    }
  }
  let afterBytes: number | null = null;
  if (o.afterBytes !== null) {
    if (point !== 'state.write') throw new FaultArgumentError('--after-bytes', `only state.write lets bytes through before it fails, not ${point}`);
    afterBytes = count(o.afterBytes, '--after-bytes', 0, 2 ** 31 - 1);
  }
  return { point, error, times, afterBytes };
}

/** One line: what was set. */
export function describeRule(r: FaultRule): string {
  return `${r.point}: ${effectOf(r)}, ${firesText(r.times)}`;
}

/** Saves the state with `fn`; the command's own save is never faulted (else a state.write
 * rule could not be cleared). */
function save<T>(statePath: string, fn: (rules: FaultRule[]) => { rules: FaultRule[]; result: T }): Promise<T> {
  return new StateStore(statePath).update((s) => {
    armFaults([]);
    const { rules, result } = fn(s.faults ?? []);
    if (rules.length) s.faults = rules;
    else delete s.faults;
    return result;
  });
}

/** `fault add`: one rule per point — a new one replaces the point's rule. */
export async function addFault(statePath: string, rule: FaultRule): Promise<string> {
  const replaced = await save(statePath, (rules) => ({
    rules: [...rules.filter((r) => r.point !== rule.point), rule],
    result: rules.some((r) => r.point === rule.point),
  }));
  return `fault set: ${describeRule(rule)}${replaced ? ' (replaces the rule it had)' : ''}`;
}

/** `fault clear [POINT]` */
export async function clearFaults(statePath: string, point: FaultPoint | null): Promise<string> {
  const n = await save(statePath, (rules) => {
    const kept = point === null ? [] : rules.filter((r) => r.point !== point);
    return { rules: kept, result: rules.length - kept.length };
  });
  if (point !== null) return n ? `fault cleared: ${point}` : `no fault set at ${point}`;
  return n ? `faults cleared: ${n} rule${n === 1 ? '' : 's'}` : 'no faults set';
}

/** `fault list`: the rules as table rows (header first). */
export function listFaults(statePath: string): { header: string[]; rows: string[][] } {
  const rules = new StateStore(statePath).read().faults ?? [];
  return {
    header: ['Point', 'What fires', 'When'],
    rows: rules.map((r) => [r.point, effectOf(r), firesText(r.times)]),
  };
}

export type FaultPlan = { action: 'add'; rule: FaultRule } | { action: 'list' } | { action: 'clear'; point: FaultPoint | null };

/** Checks the command line (before anything is read or written) and says what to do. */
export function planFaultCommand(o: FaultOptions): FaultPlan {
  const flag = { error: '--error', once: '--once', times: '--times', afterBytes: '--after-bytes' } as const;
  const extra = (['error', 'once', 'times', 'afterBytes'] as const).find((k) => (k === 'once' ? o.once : o[k] !== null));
  switch (o.action) {
    case 'add':
      return { action: 'add', rule: ruleFromOptions(o) };
    case 'list':
      if (o.point !== null) throw new FaultArgumentError('<point>', "'fault list' takes no point");
      if (extra) throw new FaultArgumentError(flag[extra], "only 'fault add' takes it");
      return { action: 'list' };
    case 'clear':
      if (extra) throw new FaultArgumentError(flag[extra], "only 'fault add' takes it");
      return { action: 'clear', point: o.point === null ? null : pointArg(o.point) };
    default:
      throw new FaultArgumentError('<action>', `invalid choice: '${o.action}' (choose from 'add', 'list', 'clear')`);
  }
}

/** Carries out a checked command: lines to print, or the table of `list`. */
export async function runFaultCommand(statePath: string, plan: FaultPlan): Promise<{ lines: string[]; table?: { header: string[]; rows: string[][] } }> {
  switch (plan.action) {
    case 'add':
      return { lines: [await addFault(statePath, plan.rule)] };
    case 'list':
      return { lines: [], table: listFaults(statePath) };
    case 'clear':
      return { lines: [await clearFaults(statePath, plan.point)] };
  }
}
