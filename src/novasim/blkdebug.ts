// `nova-sim blkdebug`: make the block job's I/O on a server's disk misbehave on purpose,
// the way QEMU's blkdebug driver does with the rules of a drive's config file, so that the
// failures of a swap can be rehearsed from the CLI: hold the job's target flush before
// READY open past a poll of Mitaka's driver (the premature pivot), or fail its target
// writes / source reads (BLOCK_JOB_COMPLETED with an error, rollback).
//
// The rules live in the state (`blkdebug`), so they reach whichever process hosts the
// domain's QEMU next (`nova volume-update`, `nova-sim guest-load --run`): libvirt's QEMU
// host arms them when it starts the QEMU (src/qemu/blkdebug.ts, from QemuHost in src/libvirt/qemu-host.ts), and a
// rule's count counts within that QEMU. Nothing here writes to the terminal; the nova-sim shell
// (shell/commands/) prints. Every input is checked before the state is touched.
import { CommandError } from '../common/errors.js';
import { instanceName } from '../nova/db.js';
import { times } from '../qemu/blkdebug.js';
import { strerror } from '../qemu/errors.js';
import { StateStore } from '../state/store.js';
import {
  BLKDEBUG_ERRNOS,
  BLKDEBUG_MAX_DELAY_MS,
  BLKDEBUG_EVENTS,
  BLKDEBUG_OPS,
  type BlkdebugErrorRule,
  type BlkdebugEventName,
  type BlkdebugRule,
  type Instance,
  type State,
} from '../state/types.js';
import { findServer } from './guest-load.js';

/** the longest a --delay may hold one request: a held request also holds a cancel */
export const MAX_DELAY_MS = BLKDEBUG_MAX_DELAY_MS;

/** what each event / operation is, in the block job's words */
const EVENT_TEXT: Record<BlkdebugEventName, string> = {
  write_aio: "the job's writes to the target",
  flush_to_disk: "the job's flushes of the target",
};
const OP_TEXT: Record<BlkdebugErrorRule['op'], string> = {
  read: "the job's reads of the source",
  write: "the job's writes to the target",
};


const list = (xs: readonly string[]): string => xs.join(', ');

// ------------------------------------------------------------------ parsing

/** the command line as the nova-sim shell parsed it: every value still a string */
export interface BlkdebugOptions {
  server: string;
  disk: string | null;
  delay: string | null;
  injectError: string | null;
  errno: string | null;
  count: string | null;
  clear: boolean;
}

/** a rule as the options describe it, before it is bound to a server and disk */
export type RuleSpec = BlkdebugRule extends infer R ? (R extends BlkdebugRule ? Omit<R, 'server' | 'disk'> : never) : never;

export type BlkdebugAction = { kind: 'list' } | { kind: 'clear' } | { kind: 'set'; spec: RuleSpec };

/** --delay EVENT=MS */
export function parseDelay(text: string): { event: BlkdebugEventName; ms: number } {
  const sep = text.indexOf('=');
  if (sep < 0) throw new CommandError(`Invalid --delay '${text}': expected EVENT=MS, e.g. flush_to_disk=700`);
  const event = text.slice(0, sep);
  const ms = text.slice(sep + 1);
  if (!(BLKDEBUG_EVENTS as readonly string[]).includes(event)) {
    throw new CommandError(`Invalid --delay '${text}': unknown event '${event}' (choose from ${list(BLKDEBUG_EVENTS)})`);
  }
  if (!/^\d+$/.test(ms) || Number(ms) > MAX_DELAY_MS) {
    throw new CommandError(`Invalid --delay '${text}': '${ms}' is not a number of milliseconds from 0 to ${MAX_DELAY_MS}`);
  }
  return { event: event as BlkdebugEventName, ms: Number(ms) };
}

/** --count N: a positive integer */
export function parseCount(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new CommandError(`Invalid --count '${text}': expected a positive whole number`);
  return n;
}

/** Which action the options ask for, with every value checked; conflicting options are refused. */
export function parseOptions(o: Omit<BlkdebugOptions, 'server'>): BlkdebugAction {
  const given = (
    [
      ['--delay', o.delay],
      ['--inject-error', o.injectError],
      ['--errno', o.errno],
      ['--count', o.count],
    ] as const
  )
    .filter(([, v]) => v !== null)
    .map(([flag]) => flag);
  if (o.clear) {
    if (given.length) throw new CommandError(`--clear cannot be combined with ${given[0]}`);
    return { kind: 'clear' };
  }
  if (o.delay !== null && o.injectError !== null) {
    throw new CommandError('--delay and --inject-error make two rules: give one of them per command');
  }
  if (o.errno !== null && o.injectError === null) throw new CommandError('--errno needs --inject-error');
  if (o.count !== null && o.delay === null && o.injectError === null) throw new CommandError('--count needs --delay or --inject-error');
  const count = o.count === null ? null : parseCount(o.count);
  if (o.delay !== null) {
    const { event, ms } = parseDelay(o.delay);
    return { kind: 'set', spec: { action: 'delay', event, ms, count } };
  }
  if (o.injectError !== null) {
    if (!(BLKDEBUG_OPS as readonly string[]).includes(o.injectError)) {
      throw new CommandError(`Invalid --inject-error '${o.injectError}' (choose from ${list(BLKDEBUG_OPS)})`);
    }
    const errno = o.errno ?? 'EIO';
    if (!(BLKDEBUG_ERRNOS as readonly string[]).includes(errno)) throw new CommandError(`Invalid --errno '${errno}' (choose from ${list(BLKDEBUG_ERRNOS)})`);
    return { kind: 'set', spec: { action: 'error', op: o.injectError as BlkdebugErrorRule['op'], errno: errno as BlkdebugErrorRule['errno'], count } };
  }
  return { kind: 'list' };
}

// ------------------------------------------------------------------ describing

/** one human-readable line for a rule */
export function describeRule(rule: BlkdebugRule, serverName: string): string {
  const head = `${serverName} ${rule.disk}: `;
  if (rule.action === 'delay') return `${head}delay ${rule.event} by ${rule.ms} ms (${EVENT_TEXT[rule.event]}), ${times(rule.count)}`;
  return `${head}inject-error ${rule.op} ${rule.errno} (${OP_TEXT[rule.op]} fail: ${strerror(rule.errno)}), ${times(rule.count)}`;
}

/** two rules are the same rule (the later replaces the earlier) when they act on the same thing */
function sameKey(a: BlkdebugRule, b: BlkdebugRule): boolean {
  if (a.server !== b.server || a.disk !== b.disk) return false;
  if (a.action === 'delay' && b.action === 'delay') return a.event === b.event;
  if (a.action === 'error' && b.action === 'error') return a.op === b.op;
  return false;
}

// ------------------------------------------------------------------ the state

interface Target {
  inst: Instance;
  disk: string | null;
}

/** the server (name or uuid) and, if given, one of its disks (a drive of its domain); with
 * `ruled`, also a disk the domain no longer has but rules still name (detached after the
 * rule was set): those rules are listed by `SERVER` alone, so they must be listable and
 * clearable by `SERVER DISK` too */
function resolve(s: State, ref: string, disk: string | null, ruled = false): Target {
  const inst = findServer(s, ref);
  if (disk === null) return { inst, disk };
  if (ruled && (s.blkdebug ?? []).some((r) => r.server === inst.uuid && r.disk === disk)) return { inst, disk };
  const dom = s.libvirt.domains.find((d) => d.uuid === inst.uuid);
  if (!dom) throw new CommandError(`Server ${inst.name} has no domain (${instanceName(inst)})`);
  const disks = [...dom.def.disks, ...(dom.persistentDef?.disks ?? [])];
  const d = disks.find((x) => x.targetDev === disk);
  if (!d) {
    const names = [...new Set(disks.map((x) => x.targetDev))];
    throw new CommandError(`Server ${inst.name} has no disk ${disk} (its disks: ${list(names)})`);
  }
  if (d.type === 'network') throw new CommandError(`Disk ${disk} of ${inst.name} is a network disk: blkdebug rules act on the drives of image files`);
  return { inst, disk };
}

function rulesOf(s: State, t: Target): BlkdebugRule[] {
  return (s.blkdebug ?? []).filter((r) => r.server === t.inst.uuid && (t.disk === null || r.disk === t.disk));
}

function listing(s: State, t: Target): string {
  const rules = rulesOf(s, t);
  if (!rules.length) return `No blkdebug rules for ${t.inst.name}${t.disk ? ` ${t.disk}` : ''}\n`;
  return rules.map((r) => `${describeRule(r, t.inst.name)}\n`).join('');
}

/** Adds a rule (replacing one on the same event / operation); returns the server's rules on that disk. */
export async function setRule(statePath: string, ref: string, disk: string, spec: RuleSpec): Promise<string> {
  return new StateStore(statePath).update((s) => {
    const t = resolve(s, ref, disk);
    const rule = { ...spec, server: t.inst.uuid, disk } as BlkdebugRule;
    const rules = s.blkdebug ?? [];
    if (rule.action === 'error') {
      // the block layer keeps one errno per drive for its injected faults
      const other = rules.find((r): r is BlkdebugErrorRule => r.action === 'error' && r.server === rule.server && r.disk === disk && r.op !== rule.op);
      if (other && other.errno !== rule.errno) {
        throw new CommandError(`${t.inst.name} ${disk} already fails ${other.op}s with ${other.errno}; the drive has one errno for its injected errors: use --errno ${other.errno} or --clear first`);
      }
    }
    const at = rules.findIndex((r) => sameKey(r, rule));
    if (at >= 0) rules[at] = rule;
    else rules.push(rule);
    s.blkdebug = rules;
    return listing(s, t);
  });
}

/** the server's rules (on one disk, or all), one line each */
export function listRules(statePath: string, ref: string, disk: string | null): string {
  const s = new StateStore(statePath).read();
  return listing(s, resolve(s, ref, disk, true));
}

/** --clear: removes the server's rules (on one disk, or all) */
export async function clearRules(statePath: string, ref: string, disk: string | null): Promise<string> {
  const store = new StateStore(statePath);
  // checked before the transaction: a bad reference writes nothing
  const t0 = resolve(store.read(), ref, disk, true);
  if (!rulesOf(store.read(), t0).length) return `No blkdebug rules for ${t0.inst.name}${disk ? ` ${disk}` : ''}\n`;
  return store.update((s) => {
    const t = resolve(s, ref, disk, true);
    const gone = rulesOf(s, t);
    const rest = (s.blkdebug ?? []).filter((r) => !gone.includes(r));
    if (rest.length) s.blkdebug = rest;
    else delete s.blkdebug;
    return `Cleared ${gone.length} blkdebug rule${gone.length === 1 ? '' : 's'} of ${t.inst.name}${disk ? ` ${disk}` : ''}\n`;
  });
}

/** `nova-sim blkdebug SERVER [DISK] [--delay EVENT=MS | --inject-error OP [--errno E]] [--count N] [--clear]` */
export async function blkdebugCommand(statePath: string, o: BlkdebugOptions): Promise<string> {
  const action = parseOptions(o);
  if (action.kind === 'clear') return clearRules(statePath, o.server, o.disk);
  if (action.kind === 'list') return listRules(statePath, o.server, o.disk);
  if (o.disk === null) {
    // the server must exist before its missing disk is worth mentioning
    const inst = findServer(new StateStore(statePath).read(), o.server);
    throw new CommandError(`A rule needs the disk it acts on, e.g. nova-sim blkdebug ${inst.name} vdb ${o.delay !== null ? `--delay ${o.delay}` : `--inject-error ${o.injectError}`}`);
  }
  return setRule(statePath, o.server, o.disk, action.spec);
}
