// The part of Python's argparse that novaclient's shell shows to users: parsing with
// argparse's error messages, and HelpFormatter's usage/help layout (novaclient uses
// OpenStackHelpFormatter: max_help_position=32, title-cased section headings).
// Written for novasim; behaviour follows CPython 3.11's argparse.
import { fill, wrap } from './textwrap.js';

export const SUPPRESS = null;

export type ArgType = 'int' | ((value: string) => unknown);

export interface ArgSpec {
  /** option strings (e.g. ['--all-tenants']); absent for a positional */
  flags?: string[];
  dest: string;
  metavar?: string;
  /** null hides the argument (argparse.SUPPRESS) */
  help: string | null;
  /** positional default: exactly one; optional default: one value */
  nargs?: '?' | '+' | '*';
  action?: 'store' | 'store_true' | 'store_const' | 'append' | 'help' | 'version';
  const?: unknown;
  default?: unknown;
  type?: ArgType;
  required?: boolean;
}

export interface ArgGroup {
  title: string;
  description?: string;
  args: ArgSpec[];
}

export interface SubcommandChoice {
  name: string;
  help: string;
}

export interface ParserSpec {
  prog: string;
  description?: string;
  epilog?: string;
  args: ArgSpec[];
  /** extra titled option groups (keystoneauth's "API Connection Options" …) */
  groups?: ArgGroup[];
  /** the main parser's `<subcommand> ...` positional */
  subcommands?: { metavar: string; choices: SubcommandChoice[] };
}

export type Namespace = Record<string, unknown>;

/** argparse.ArgumentParser.error(): usage on stderr, then novaclient's two lines, exit 2 */
export class UsageError extends Error {
  constructor(readonly spec: ParserSpec, message: string) {
    super(message);
  }
}

/** -h / --help or --version: text for stdout, exit 0 */
export class EarlyExit extends Error {
  constructor(readonly text: string) {
    super('early exit');
  }
}

const isOptional = (a: ArgSpec): boolean => !!a.flags && a.flags.length > 0;

function allArgs(spec: ParserSpec): ArgSpec[] {
  return [...spec.args, ...(spec.groups ?? []).flatMap((g) => g.args)];
}

// ---------------------------------------------------------------- formatting

function metavarOf(a: ArgSpec): string {
  if (a.metavar !== undefined) return a.metavar;
  return isOptional(a) ? a.dest.toUpperCase() : a.dest;
}

function formatArgs(a: ArgSpec): string {
  const m = metavarOf(a);
  switch (a.nargs) {
    case '?':
      return `[${m}]`;
    case '+':
      return `${m} [${m} ...]`;
    case '*':
      return `[${m} ...]`;
    default:
      return m;
  }
}

function takesValue(a: ArgSpec): boolean {
  const act = a.action ?? 'store';
  return act === 'store' || act === 'append';
}

function actionUsage(a: ArgSpec): string {
  if (!isOptional(a)) return formatArgs(a);
  const opt = (a.flags as string[])[0];
  const part = takesValue(a) ? `${opt} ${formatArgs(a)}` : opt;
  return a.required ? part : `[${part}]`;
}

function actionsUsage(actions: ArgSpec[]): string {
  return actions
    .filter((a) => a.help !== SUPPRESS)
    .map(actionUsage)
    .join(' ');
}

function invocation(a: ArgSpec): string {
  if (!isOptional(a)) return metavarOf(a);
  const flags = a.flags as string[];
  if (!takesValue(a)) return flags.join(', ');
  const args = formatArgs(a);
  return flags.map((f) => `${f} ${args}`).join(', ');
}

export function terminalWidth(): number {
  const env = Number.parseInt(process.env.COLUMNS ?? '', 10);
  if (Number.isFinite(env) && env > 0) return env - 2;
  if (process.stdout.isTTY && process.stdout.columns) return process.stdout.columns - 2;
  return 78;
}

class Formatter {
  readonly maxHelpPosition: number;
  constructor(
    readonly prog: string,
    readonly width: number = terminalWidth(),
  ) {
    this.maxHelpPosition = Math.min(32, Math.max(width - 20, 4));
  }

  usage(spec: ParserSpec, prefix = 'usage: '): string {
    const all = allArgs(spec);
    const optionals = all.filter(isOptional);
    let positionals = all.filter((a) => !isOptional(a));
    const subPart = spec.subcommands ? `${spec.subcommands.metavar} ...` : '';
    const prog = this.prog;
    const optUsage = actionsUsage(optionals);
    let posUsage = actionsUsage(positionals);
    if (subPart) posUsage = posUsage ? `${posUsage} ${subPart}` : subPart;
    positionals = [];
    const actionUsageText = [optUsage, posUsage].filter((s) => s).join(' ');
    let usage = [prog, actionUsageText].filter((s) => s).join(' ');
    const textWidth = this.width;
    if (prefix.length + usage.length > textWidth) {
      const partRe = /\(.*?\)+(?=\s|$)|\[.*?\]+(?=\s|$)|\S+/g;
      const optParts = optUsage.match(partRe) ?? [];
      const posParts = posUsage.match(partRe) ?? [];
      const getLines = (parts: string[], indent: string, pfx?: string): string[] => {
        const lines: string[] = [];
        let line: string[] = [];
        let lineLen = pfx !== undefined ? pfx.length - 1 : indent.length - 1;
        for (const part of parts) {
          if (lineLen + 1 + part.length > textWidth && line.length) {
            lines.push(indent + line.join(' '));
            line = [];
            lineLen = indent.length - 1;
          }
          line.push(part);
          lineLen += part.length + 1;
        }
        if (line.length) lines.push(indent + line.join(' '));
        if (pfx !== undefined) lines[0] = lines[0].slice(indent.length);
        return lines;
      };
      let lines: string[];
      if (prefix.length + prog.length <= 0.75 * textWidth) {
        const indent = ' '.repeat(prefix.length + prog.length + 1);
        if (optParts.length) {
          lines = getLines([prog, ...optParts], indent, prefix);
          lines.push(...getLines(posParts, indent));
        } else if (posParts.length) {
          lines = getLines([prog, ...posParts], indent, prefix);
        } else lines = [prog];
      } else {
        const indent = ' '.repeat(prefix.length);
        lines = getLines([...optParts, ...posParts], indent);
        if (lines.length > 1) lines = [...getLines(optParts, indent), ...getLines(posParts, indent)];
        lines = [prog, ...lines];
      }
      usage = lines.join('\n');
    }
    return `${prefix}${usage}`;
  }

  text(text: string, indent: number): string {
    const width = Math.max(this.width - indent, 11);
    const pad = ' '.repeat(indent);
    return fill(text.replace(/\s+/g, ' ').trim(), width, pad, pad);
  }

  /** help_position shared by every section of one parser */
  helpPosition(spec: ParserSpec): number {
    let max = 0;
    for (const a of allArgs(spec)) {
      if (a.help === SUPPRESS) continue;
      max = Math.max(max, invocation(a).length + 2);
    }
    if (spec.subcommands) {
      max = Math.max(max, spec.subcommands.metavar.length + 2);
      for (const c of spec.subcommands.choices) max = Math.max(max, c.name.length + 2);
    }
    return Math.min(max + 2, this.maxHelpPosition);
  }

  action(header: string, help: string | undefined, indent: number, helpPosition: number): string {
    const helpWidth = Math.max(this.width - helpPosition, 11);
    const actionWidth = helpPosition - indent - 2;
    const pad = ' '.repeat(indent);
    if (!help) return `${pad}${header}\n`;
    let out: string;
    let indentFirst: number;
    if (header.length <= actionWidth) {
      out = `${pad}${header.padEnd(actionWidth)}  `;
      indentFirst = 0;
    } else {
      out = `${pad}${header}\n`;
      indentFirst = helpPosition;
    }
    const lines = wrap(help.replace(/\s+/g, ' ').trim(), helpWidth);
    out += `${' '.repeat(indentFirst)}${lines[0] ?? ''}\n`;
    for (const l of lines.slice(1)) out += `${' '.repeat(helpPosition)}${l}\n`;
    return out;
  }
}

function section(heading: string, body: string[]): string {
  const items = body.filter((s) => s).join('');
  if (!items) return '';
  return `\n${heading}:\n${items}\n`;
}

/** parser.format_help() */
export function formatHelp(spec: ParserSpec, width?: number): string {
  const f = new Formatter(spec.prog, width);
  const hp = f.helpPosition(spec);
  const parts: string[] = [`${f.usage(spec)}\n\n`];
  if (spec.description) parts.push(`${f.text(spec.description, 0)}\n\n`);
  const positionals = spec.args.filter((a) => !isOptional(a) && a.help !== SUPPRESS);
  const posItems = positionals.map((a) => f.action(invocation(a), a.help ?? undefined, 2, hp));
  if (spec.subcommands) {
    posItems.push(f.action(spec.subcommands.metavar, undefined, 2, hp));
    for (const c of spec.subcommands.choices) posItems.push(f.action(c.name, c.help, 4, hp));
  }
  parts.push(section('Positional arguments', posItems));
  const optionals = spec.args.filter((a) => isOptional(a) && a.help !== SUPPRESS);
  parts.push(section('Options', optionals.map((a) => f.action(invocation(a), a.help ?? undefined, 2, hp))));
  for (const g of spec.groups ?? []) {
    const items = g.args.filter((a) => a.help !== SUPPRESS).map((a) => f.action(invocation(a), a.help ?? undefined, 2, hp));
    if (g.description) items.unshift(`${f.text(g.description, 2)}\n\n`);
    parts.push(section(g.title, items));
  }
  if (spec.epilog) parts.push(`${f.text(spec.epilog, 0)}\n\n`);
  const help = parts.join('').replace(/\n\n\n+/g, '\n\n');
  return help.replace(/^\n+|\n+$/g, '') + '\n';
}

/** parser.format_usage() */
export function formatUsage(spec: ParserSpec, width?: number): string {
  return `${new Formatter(spec.prog, width).usage(spec)}\n`;
}

/** NovaClientArgumentParser.error(): what goes to stderr before exit 2 */
export function formatError(spec: ParserSpec, message: string, width?: number): string {
  const [mainp, , subp] = partition(spec.prog, ' ');
  const errmsg = message.split(' (choose from')[0];
  return `${formatUsage(spec, width)}error: ${errmsg}\nTry '${mainp} help ${subp}' for more information.\n`;
}

function partition(s: string, sep: string): [string, string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, '', ''] : [s.slice(0, i), sep, s.slice(i + sep.length)];
}

// ---------------------------------------------------------------- parsing

function argName(a: ArgSpec): string {
  if (isOptional(a)) return (a.flags as string[]).join('/');
  return metavarOf(a);
}

function convert(spec: ParserSpec, a: ArgSpec, value: string): unknown {
  if (!a.type) return value;
  if (a.type === 'int') {
    const t = value.trim();
    if (!/^[+-]?\d+(_\d+)*$/.test(t)) throw new UsageError(spec, `argument ${argName(a)}: invalid int value: '${value}'`);
    return Number.parseInt(t.replace(/_/g, ''), 10);
  }
  try {
    return a.type(value);
  } catch (e) {
    throw new UsageError(spec, `argument ${argName(a)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function looksLikeOption(s: string): boolean {
  return s.startsWith('-') && s !== '-' && !/^-\d+$|^-\d*\.\d+$/.test(s);
}

export function defaults(spec: ParserSpec): Namespace {
  const ns: Namespace = {};
  for (const a of allArgs(spec)) {
    if (a.action === 'help' || a.action === 'version') continue;
    // own keys only: a dest named like an Object.prototype member is a dest like any other
    if (Object.hasOwn(ns, a.dest) && a.default === undefined) continue;
    if (a.default !== undefined) ns[a.dest] = Array.isArray(a.default) ? [...a.default] : a.default;
    else ns[a.dest] = a.action === 'store_true' ? false : null;
  }
  return ns;
}

export interface ParseResult {
  ns: Namespace;
  /** args argparse could not place (reported by the main parser as unrecognized) */
  extras: string[];
  /** with spec.subcommands: the subcommand and everything after it */
  rest?: string[];
}

/**
 * parse_known_args for one parser. `helpText` and `version` are used by the help/version
 * actions. With spec.subcommands, parsing stops at the first positional (the subcommand).
 */
export function parseKnownArgs(spec: ParserSpec, argv: string[], version?: string): ParseResult {
  const ns = defaults(spec);
  const all = allArgs(spec);
  const options = new Map<string, ArgSpec>();
  for (const a of all) for (const f of a.flags ?? []) options.set(f, a);
  const positionals: string[] = [];
  const extras: string[] = [];
  let rest: string[] | undefined;
  const seen = new Set<ArgSpec>();

  let i = 0;
  let onlyPositionals = false;
  while (i < argv.length) {
    const arg = argv[i];
    if (!onlyPositionals && arg === '--') {
      onlyPositionals = true;
      i++;
      continue;
    }
    if (onlyPositionals || !looksLikeOption(arg)) {
      if (spec.subcommands) {
        rest = argv.slice(i);
        break;
      }
      positionals.push(arg);
      i++;
      continue;
    }
    let flag = arg;
    let explicit: string | undefined;
    if (arg.startsWith('--') && arg.includes('=')) {
      flag = arg.slice(0, arg.indexOf('='));
      explicit = arg.slice(arg.indexOf('=') + 1);
    }
    let action = options.get(flag);
    if (!action && flag.startsWith('--')) {
      const matches = [...options.keys()].filter((o) => o.startsWith(flag));
      const distinct = new Set(matches.map((m) => options.get(m)));
      if (distinct.size > 1) {
        throw new UsageError(spec, `ambiguous option: ${arg} could match ${matches.join(', ')}`);
      }
      if (matches.length) action = options.get(matches[0]);
    }
    if (!action) {
      extras.push(arg);
      i++;
      continue;
    }
    i++;
    seen.add(action);
    const act = action.action ?? 'store';
    if (act === 'help') throw new EarlyExit(formatHelp(spec));
    if (act === 'version') throw new EarlyExit(`${version ?? ''}\n`);
    if (act === 'store_true' || act === 'store_const') {
      if (explicit !== undefined) throw new UsageError(spec, `argument ${argName(action)}: ignored explicit argument '${explicit}'`);
      ns[action.dest] = act === 'store_true' ? true : action.const;
      continue;
    }
    let value: unknown;
    if (explicit !== undefined) value = convert(spec, action, explicit);
    else if (action.nargs === '?') {
      if (i < argv.length && !looksLikeOption(argv[i])) value = convert(spec, action, argv[i++]);
      else value = action.const;
    } else {
      if (i >= argv.length || looksLikeOption(argv[i])) {
        throw new UsageError(spec, `argument ${argName(action)}: expected one argument`);
      }
      value = convert(spec, action, argv[i++]);
    }
    if (act === 'append') {
      const cur = Array.isArray(ns[action.dest]) ? (ns[action.dest] as unknown[]) : [];
      ns[action.dest] = [...cur, value];
    } else ns[action.dest] = value;
  }

  // match positionals the way argparse's _match_arguments_partial does: each positional
  // takes as many strings as its nargs pattern allows while leaving enough for the rest
  const posActions = spec.subcommands ? [] : all.filter((a) => !isOptional(a));
  let p = 0;
  const minOf = (a: ArgSpec): number => (a.nargs === '?' || a.nargs === '*' ? 0 : 1);
  for (let k = 0; k < posActions.length; k++) {
    const a = posActions[k];
    const remaining = positionals.length - p;
    const needAfter = posActions.slice(k + 1).reduce((s, b) => s + minOf(b), 0);
    let take: number;
    if (a.nargs === '+' || a.nargs === '*') take = Math.max(remaining - needAfter, minOf(a));
    else if (a.nargs === '?') take = remaining - needAfter >= 1 ? 1 : 0;
    else take = 1;
    if (take > remaining) break;
    const vals = positionals.slice(p, p + take).map((v) => convert(spec, a, v));
    p += take;
    seen.add(a);
    if (a.nargs === '+' || a.nargs === '*') ns[a.dest] = vals;
    else if (a.nargs === '?') ns[a.dest] = take ? vals[0] : (a.default ?? null);
    else ns[a.dest] = vals[0];
  }
  extras.push(...positionals.slice(p));

  const missing = all.filter((a) => (isOptional(a) ? a.required : minOf(a) > 0) && !seen.has(a));
  if (missing.length) {
    throw new UsageError(spec, `the following arguments are required: ${missing.map(argName).join(', ')}`);
  }
  return { ns, extras, rest };
}
