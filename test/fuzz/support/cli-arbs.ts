// Arguments for every `nova` and `nova-sim` subcommand, generated from the parsers' own
// specs (so a subcommand or option added later is fuzzed too): the options each command
// has, in any order, abbreviated or `--opt=value`, with values drawn from the world's real
// names, numbers at the edges, prototype names, unicode, long and empty strings, plus
// stray tokens. `@DIR@` in a value stands for a scratch folder of the world (the only
// place a generated path may write).
import fc from 'fast-check';
import type { ArgSpec, ParserSpec } from '../../../src/novaclient/argparse.js';
import { COMMANDS, loadCommand } from '../../../src/novaclient/commands/index.js';
import { commandSpec, globalSpec } from '../../../src/novaclient/shell.js';
import type { Command } from 'commander';
import { commandPath, simProgram } from '../../../src/novasim/shell/program.js';
import { JS_LEAKS } from './checks.js';

/** Object.prototype's names: a lookup table that is a plain object answers to them */
export const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'] as const;
const MORE_PROTO = ['prototype', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable', 'toLocaleString'];

const SERVERS = ['web-1', 'db-1', 'batch-1', 'worker-1', 'cache-1', 'archive-1', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01', 'instance-00000001'];
const VOLUMES = ['web-data', 'new-web-data', 'spare', 'small', 'big-data', 'db-data', 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03'];
const DEVICES = ['vdb', 'vda', 'vdc', '/dev/vdb', '/dev/vdc', '/dev/vdz', '/dev/sda', 'auto', 'hda'];
const NUMBERS = ['0', '1', '2', '-1', '3', '99999999999', '100000', '2147483648', '1e308', '1_0', 'NaN', 'Infinity', '0x10', ' 3 ', '1.5', '-0', '9007199254740993', '00'];
const CHOICES = [
  'json', 'mermaid', 'read', 'write', 'EIO', 'ENOSPC', 'EPERM', 'flush_to_disk=700', 'write_aio=5', 'flush_to_disk=999999', 'flush_to_disk=-1',
  'flush_to_disk=constructor', 'constructor=1', 'ACTIVE', 'ERROR', 'active', 'SHUTOFF', 'libvirt.disk_cachemodes', 'libvirt.constructor',
  'constructor.toString', 'block=unsafe', 'file=none', 'file=bogus', 'nova-api', 'nova-compute', 'qemu', 'qemu-monitor', 'cinder-api',
  'm1.tiny', 'm1.small', '1', 'cirros-0.3.4-x86_64-uec', '20MiB/s', '0B/s', '4K,16K', '0K', '0:256M', '0:0', '1:2:3', 'a=b', 'key=value',
  'name,status', 'nosuch', 'req-00000000-0000-0000-0000-000000000000', '2.1', '2.25', '2.latest', '3.0', '2.999', 'latest', 'default',
  'empty', '{"execute":"query-block-jobs"}', '{"execute":"quit"}', '{', '[]', 'null', 'status', 'id=x', '.*', '(', '[', '\\',
];
const ODD = ['', ' ', '-', '--', '-x', '--nosuch', '=', '==', ',', '.', '..', '../..', '/', '~', '$HOME', '%s', '%(x)s', '{0}', "'", '"', '\t', '\n', 'é', '日本', '🙂', '\u0000', '\u202e'];

/** a string the checks can tell apart from the program's output (no JavaScript error words) */
export const clean = (s: string): boolean => !JS_LEAKS.some((re) => re.test(s));

const longString = fc.constantFrom(40000, 5000, 300).chain((n) => fc.constantFrom('a', 'x-', '(', '日').map((c) => c.repeat(Math.ceil(n / c.length))));

/** a value for an option or positional */
export const value: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...SERVERS, ...VOLUMES) },
  { weight: 2, arbitrary: fc.constantFrom(...DEVICES) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 3, arbitrary: fc.constantFrom(...CHOICES) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_NAMES, ...MORE_PROTO) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD) },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }).filter(clean) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).filter(clean) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: longString },
  { weight: 1, arbitrary: fc.constantFrom('@DIR@/x', '@DIR@/a/b/c', '@DIR@') },
);

/** a token that is no known option of anyone */
const stray: fc.Arbitrary<string> = fc.oneof(
  value,
  fc.constantFrom('--nosuch', '-z', '--', '-', '--=', '---', '--all', '--a', '-1', '--1'),
  fc.constantFrom(...PROTO_NAMES).map((n) => `--${n}`),
);

export interface Cmd {
  /** what to type before the command's own arguments (the subcommand words) */
  words: string[];
  spec: ParserSpec;
}

/** options left out of the generated arguments, and why */
const EXCLUDED: Record<string, string> = {
  // the fuzzed command runs against the world under test; any other --state would be a
  // state file (and images) created in the working directory
  '--state': 'the world under test is given by the harness',
  // `logs -f` follows the logs until Ctrl-C, by design: a command that never ends
  '--follow': 'runs until a signal, by design',
  '-f': 'runs until a signal, by design',
};

const pick = (...xs: string[]): fc.Arbitrary<string> => fc.constantFrom(...xs);
const bigNumbers = pick('99999999999', '100000', '2147483648', '1e308', '9007199254740993', '4294967296', '65536');

/** values that fit what an argument names (its metavar or type), so cases get past parsing */
function typedFor(a: ArgSpec): fc.Arbitrary<string> | null {
  const m = (a.metavar ?? a.dest).toLowerCase();
  if (a.type === 'int' || /size|number|<n>|count|writes|seed/.test(m)) return fc.oneof(pick('1', '2', '0', '-1', '3', '10'), bigNumbers, fc.integer({ min: -5, max: 200 }).map(String));
  if (/server|domain/.test(m)) return pick(...SERVERS);
  if (/volume|attachment/.test(m)) return pick(...VOLUMES);
  if (/dev|disk|path/.test(m)) return pick(...DEVICES);
  if (/flavor/.test(m)) return pick('m1.tiny', 'm1.small', '1', '2', 'm1.xlarge', '6');
  if (/image/.test(m)) return pick('cirros-0.3.4-x86_64-uec', '6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c', 'cirros');
  if (/^<name>$/.test(m)) return pick('vm', 'web-1', 'new-vm', 'x');
  if (/event=ms/.test(m)) return fc.oneof(pick('flush_to_disk=700', 'write_aio=5', 'flush_to_disk=0', 'flush_to_disk=60001', 'write_aio=-1', 'x=1', 'flush_to_disk'), fc.tuple(pick('flush_to_disk', 'write_aio'), bigNumbers).map(([e, n]) => `${e}=${n}`));
  if (/read\|write/.test(m)) return pick('read', 'write', 'READ', 'both');
  if (/eio/.test(m)) return pick('EIO', 'ENOSPC', 'EPERM', 'eio');
  if (/bytes\/s/.test(m)) return fc.oneof(pick('20MiB/s', '1K/s', '0/s', '1e3', '5G'), bigNumbers.map((n) => `${n}G/s`));
  if (/sizes/.test(m)) return pick('4K,16K,64K', '4K', '0', '512', '1G', '4K,', 'x');
  if (/offset:length/.test(m)) return fc.oneof(pick('0:256M', '0:0', '1G:1G', '512:4K', '0:2G', 'x:y'), bigNumbers.map((n) => `0:${n}G`));
  if (/section\.option/.test(m)) return pick('libvirt.disk_cachemodes', 'libvirt.nosuch', 'nosuch', 'DEFAULT.debug');
  if (/<value>/.test(m)) return pick('block=unsafe', 'file=none,block=writeback', '', 'file=bogus', 'block', 'network=directsync');
  if (/service/.test(m)) return pick('nova-api', 'nova-compute', 'qemu', 'cinder-api', 'libvirtd', 'qemu-monitor', 'nosuch', 'nova-api.log');
  if (/cmd/.test(m)) return pick('{"execute":"query-block-jobs"}', '{"execute":"query-block"}', '{"execute":"quit"}', '{', '[]', 'info block', '{"execute":"block-job-cancel","arguments":{"device":"drive-virtio-disk1"}}');
  if (/state/.test(m) && a.dest !== 'state') return pick('active', 'error');
  if (/key=value/.test(m)) return pick('a=b', 'k=v', '=', 'a', 'a=b=c', 'constructor=x', '__proto__=x', 'toString=1', `k=${'v'.repeat(300)}`);
  if (/request-id/.test(m)) return pick('req-00000000-0000-0000-0000-000000000000', 'req-x', '');
  if (/compute-api-ver/.test(m)) return pick('2.1', '2.25', '2.latest', '3.0', '2.999', 'latest', '2', '2.');
  if (/fields/.test(m)) return pick('name,status', 'nosuch', 'name', 'OS-EXT-STS:vm_state', ',');
  return null;
}

/** values of options whose effect is bounded by what they say (a long run, a file written) */
function valueFor(a: ArgSpec): fc.Arbitrary<string> {
  const flag = a.flags?.[0];
  // guest-load --run SECONDS hosts QEMU that long: keep it short, or invalid
  if (flag === '--run') return fc.constantFrom('0.05', '0.1', '0', '-1', 'x', 'Infinity', 'NaN', '1e-9', 'constructor', '');
  // a trace file is written where it is told: only inside the world's scratch folder
  if (flag === '--trace-file') return fc.constantFrom('@DIR@/trace.json', '@DIR@/nosuchdir/trace', '@DIR@', '@DIR@/t.mmd');
  // boot --min-count/--max-count N boots N servers (one disk image each)
  if (flag === '--min-count' || flag === '--max-count') return fc.constantFrom('0', '1', '2', '-1', 'x', '1_0', 'constructor', '99999999999');
  // a fixture is read from where it is told (read-only)
  if (flag === '--fixture') return fc.oneof(fc.constantFrom('default', 'empty', 'nosuch', '@DIR@/none.json', '@DIR@', '/dev/null', '../x.json'), fc.constantFrom(...PROTO_NAMES));
  const typed = typedFor(a);
  return typed ? fc.oneof({ weight: 3, arbitrary: typed }, { weight: 1, arbitrary: value }) : value;
}

const takesValue = (a: ArgSpec): boolean => !!a.flags && (a.action ?? 'store') !== 'store_true' && a.action !== 'store_const' && a.action !== 'help' && a.action !== 'version';

/** one option as the user may type it: --flag VALUE, --flag=VALUE, an unambiguous prefix */
function optionTokens(a: ArgSpec, all: string[]): fc.Arbitrary<string[]> {
  const flags = (a.flags as string[]).filter((f) => !Object.hasOwn(EXCLUDED, f));
  if (!flags.length) return fc.constant([]);
  const spelled = fc.constantFrom(...flags).chain((f) => {
    const prefixes = f.startsWith('--') ? [...Array(f.length - 3).keys()].map((i) => f.slice(0, i + 4)).filter((p) => all.filter((o) => o.startsWith(p)).length === 1) : [];
    return prefixes.length ? fc.oneof({ weight: 4, arbitrary: fc.constant(f) }, { weight: 1, arbitrary: fc.constantFrom(...prefixes) }) : fc.constant(f);
  });
  if (!takesValue(a)) return spelled.map((f) => [f]);
  return fc.tuple(spelled, valueFor(a), fc.nat(9)).map(([f, v, form]) => (form === 0 && f.startsWith('--') ? [`${f}=${v}`] : form === 1 ? [f] : [f, v]));
}

/** the arguments of one command: its options and positionals shuffled, a few strays */
export function argsFor(spec: ParserSpec): fc.Arbitrary<string[]> {
  const all = [...spec.args, ...(spec.groups ?? []).flatMap((g) => g.args)];
  const flags = all.flatMap((a) => a.flags ?? []);
  const options = all.filter((a) => a.flags && a.action !== 'help' && a.action !== 'version');
  const positionals = all.filter((a) => !a.flags);
  const helpish = all.filter((a) => a.action === 'help' || a.action === 'version');
  // a positional is usually there (else most cases would only test "required")
  const posWithBias = positionals.map((a) => {
    const many = a.nargs === '+' || a.nargs === '*' ? 3 : 1;
    const vals = (min: number) => fc.array(valueFor(a), { minLength: min, maxLength: many }).map((vs) => vs.map((v) => [v]));
    return fc.oneof({ weight: 6, arbitrary: vals(1) }, { weight: 1, arbitrary: vals(0) });
  });
  const opts = options.length ? fc.array(fc.constantFrom(...options).chain((a) => optionTokens(a, flags)), { maxLength: 4 }) : fc.constant([] as string[][]);
  const help = helpish.length ? fc.oneof({ weight: 15, arbitrary: fc.constant([] as string[][]) }, { weight: 1, arbitrary: fc.constantFrom(...helpish).chain((a) => optionTokens(a, flags)).map((t) => [t]) }) : fc.constant([] as string[][]);
  const strays = fc.oneof({ weight: 4, arbitrary: fc.constant([] as string[][]) }, { weight: 1, arbitrary: fc.array(stray.map((s) => [s]), { minLength: 1, maxLength: 2 }) });
  return fc
    .tuple(fc.tuple(...posWithBias), opts, help, strays)
    .chain(([p, o, h, s]) => {
      const groups = [...p.flat(), ...o, ...h, ...s];
      // positionals keep their order among themselves; options go anywhere
      return fc.shuffledSubarray(groups.map((_g, i) => i), { minLength: groups.length, maxLength: groups.length }).map((order) => {
        const posIdx = order.filter((i) => i < p.flat().length).sort((a, b) => a - b);
        let k = 0;
        return order.map((i) => (i < p.flat().length ? groups[posIdx[k++]] : groups[i])).flat();
      });
    });
}

/** every nova subcommand's parser (`nova help` included) */
export async function novaCommands(): Promise<Cmd[]> {
  const out: Cmd[] = [];
  for (const name of Object.keys(COMMANDS)) {
    const cmd = await loadCommand(name);
    if (cmd) out.push({ words: [name], spec: commandSpec(cmd) });
  }
  out.push({ words: ['help'], spec: { prog: 'nova help', args: [{ dest: 'command', metavar: '<subcommand>', nargs: '?', help: '' }] } });
  return out;
}

/** a commander command's options and arguments as the ParserSpec the generators read */
export function specOfCommand(cmd: Command): ParserSpec {
  const args: ArgSpec[] = [{ flags: ['-h', '--help'], dest: 'help', action: 'help', help: '' }];
  for (const o of cmd.options) {
    const flags = [o.short, o.long].filter((f): f is string => !!f);
    const metavar = /[<[].*[>\]]/.exec(o.flags)?.[0];
    args.push({ flags, dest: o.attributeName(), metavar, action: o.required || o.optional ? 'store' : 'store_true', help: o.description });
  }
  for (const a of cmd.registeredArguments) {
    args.push({ dest: a.name(), metavar: `<${a.name()}>`, nargs: a.variadic ? (a.required ? '+' : '*') : a.required ? undefined : '?', help: a.description });
  }
  return { prog: commandPath(cmd), args };
}

/** every nova-sim subcommand's parser, virsh's commands each on their own (read from the
 * commander program itself, so a command added later is fuzzed too) */
export function simCommands(): Cmd[] {
  const out: Cmd[] = [];
  const program = simProgram({ out: () => undefined, err: () => undefined, statePath: () => '', code: 0 });
  const walk = (cmd: Command, words: string[]): void => {
    for (const sub of cmd.commands) {
      // `serve` listens on a port until a signal, by design (test/cli/serve.test.ts runs it)
      if (words.length === 0 && sub.name() === 'serve') continue;
      walk(sub, [...words, sub.name()]);
      out.push({ words: [...words, sub.name()], spec: specOfCommand(sub) });
    }
  };
  walk(program, []);
  return out;
}

/** a global option of nova's (those that reach the cloud, the trace, the client) */
function novaGlobals(): fc.Arbitrary<string[]> {
  const spec = globalSpec({});
  const args = [...spec.args, ...(spec.groups ?? []).flatMap((g) => g.args)].filter((a) => a.action !== 'help' && a.action !== 'version');
  const flags = args.flatMap((a) => a.flags ?? []);
  const one = fc.constantFrom(...args).chain((a) => optionTokens(a, flags));
  return fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 2, arbitrary: fc.array(one, { maxLength: 3 }).map((g) => g.flat()) });
}

/** the name of a subcommand as typed: usually a real one, sometimes not */
const wrongName = fc.oneof(fc.constantFrom(...PROTO_NAMES, ...MORE_PROTO), fc.constantFrom('nosuch', 'Help', 'list ', 'virsh', '-', ''), fc.string({ maxLength: 10 }).filter(clean));

export interface CliCase {
  tool: 'nova' | 'nova-sim';
  argv: string[];
  user: 'admin' | 'demo';
}

/** the default world's servers, each with the volume attached at its vdb */
const PAIRS: Array<[string, string]> = [
  ['web-1', 'web-data'],
  ['db-1', 'db-data'],
  ['batch-1', 'batch-data'],
  ['worker-1', 'worker-data'],
  ['cache-1', 'cache-data'],
  ['archive-1', 'archive-data'],
];
const FREE = ['new-web-data', 'spare', 'small', 'big-data'];

/** commands on a server and a volume that go together, so that swaps, attaches and
 * detaches run through (every server state of the default world: locked, shut off,
 * paused, transient, suspended) */
const coherent: fc.Arbitrary<string[]> = fc.tuple(fc.constantFrom(...PAIRS), fc.constantFrom(...FREE), fc.constantFrom('/dev/vdc', 'auto', '/dev/vdb')).chain(([[srv, vol], free, dev]) =>
  fc.constantFrom(
    ['volume-update', srv, vol, free],
    ['volume-update', srv, vol, vol],
    ['volume-update', srv, free, vol],
    ['volume-detach', srv, vol],
    ['volume-attach', srv, free, dev],
    ['volume-attach', srv, free],
    ['volume-attachments', srv],
    ['delete', srv],
    ['volume-delete', free],
  ),
);

export function novaCase(cmds: Cmd[]): fc.Arbitrary<CliCase> {
  const real = fc.constantFrom(...cmds).chain((c) => argsFor(c.spec).map((a) => [...c.words, ...a]));
  const wrong = fc.tuple(wrongName, fc.array(value, { maxLength: 2 })).map(([n, a]) => [n, ...a]);
  const fuzzed = fc.tuple(novaGlobals(), fc.oneof({ weight: 12, arbitrary: real }, { weight: 1, arbitrary: wrong })).map(([g, r]) => [...g, ...r]);
  // the coherent commands with only the options that do not stop them (the rest are fuzzed above)
  const whole = fc.tuple(fc.subarray(['--debug', '--timings', '--trace'], { maxLength: 1 }), coherent).map(([g, r]) => [...g, ...r]);
  return fc
    .record({
      argv: fc.oneof({ weight: 6, arbitrary: fuzzed }, { weight: 1, arbitrary: whole }),
      user: fc.constantFrom<'admin' | 'demo'>('admin', 'admin', 'demo'),
    })
    .map(({ argv, user }) => ({ tool: 'nova' as const, argv, user }));
}

export function simCase(cmds: Cmd[]): fc.Arbitrary<CliCase> {
  const real = fc.constantFrom(...cmds).chain((c) => argsFor(c.spec).map((a) => [...c.words, ...a]));
  const wrong = fc.oneof(
    fc.tuple(wrongName, fc.array(value, { maxLength: 2 })).map(([n, a]) => [n, ...a]),
    fc.tuple(wrongName, fc.array(value, { maxLength: 2 })).map(([n, a]) => ['virsh', n, ...a]),
  );
  return fc.oneof({ weight: 8, arbitrary: real }, { weight: 1, arbitrary: wrong }).map((argv) => ({ tool: 'nova-sim' as const, argv, user: 'admin' as const }));
}

/** replaces @DIR@ by the world's scratch folder */
export function materializeArgv(argv: string[], dir: string): string[] {
  return argv.map((a) => a.split('@DIR@').join(dir));
}
