// nova-sim's guest-load and virsh subcommands: parse, call the core (src/novasim/),
// print. The core modules are loaded only when one of these commands runs.
import { HELP, STATE } from './args.js';
import { parseRate as rate, parseRegion as region, parseSizes as sizes } from '../sizes.js';
import { resolveStatePath } from '../../state/paths.js';
import { formatHelp, parseKnownArgs, UsageError, type ArgSpec, type ParseResult, type ParserSpec } from '../../novaclient/argparse.js';


function seconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`invalid seconds value: '${text}'`);
  return n;
}

export const GUEST_LOAD: ParserSpec = {
  prog: 'nova-sim guest-load',
  description: "Set, stop, run or verify a server's seeded guest workload on one of its disks.",
  args: [
    HELP,
    STATE,
    { dest: 'server', metavar: '<server>', help: 'Name or ID of the server.' },
    { flags: ['--disk'], dest: 'disk', metavar: '<dev>', default: 'vdb', help: 'Target of the disk the guest writes to. Default: vdb.' },
    { flags: ['--rate'], dest: 'rate', metavar: '<bytes/s>', type: rate, default: null, help: 'How fast the guest writes, e.g. 20MiB/s.' },
    { flags: ['--seed'], dest: 'seed', metavar: '<seed>', type: 'int', default: null, help: 'Seed of the write plan (offsets, sizes, data).' },
    { flags: ['--block-sizes'], dest: 'block_sizes', metavar: '<sizes>', type: sizes, default: null, help: 'Write sizes to pick from, e.g. 4K,16K,64K.' },
    { flags: ['--region'], dest: 'region', metavar: '<offset:length>', type: region, default: null, help: 'Part of the disk the writes land in, e.g. 0:256M. Default: the whole disk.' },
    { flags: ['--count'], dest: 'count', metavar: '<writes>', type: 'int', default: null, help: 'Stop after this many writes.' },
    { flags: ['--off'], dest: 'off', action: 'store_true', default: false, help: 'Stop the guest load (its writes stay verifiable).' },
    { flags: ['--verify'], dest: 'verify', action: 'store_true', default: false, help: 'Replay the workload and compare with the image the disk uses now.' },
    { flags: ['--run'], dest: 'run', metavar: '<seconds>', type: seconds, default: null, help: "Run the server's QEMU here for that long and let the guest write." },
  ],
};

const DOMAIN: ArgSpec = { dest: 'domain', metavar: '<domain>', help: 'Domain name, id or uuid (or the server name or ID).' };
export const VIRSH_COMMANDS: Record<string, ParserSpec> = {
  list: {
    prog: 'nova-sim virsh list',
    description: 'list domains',
    args: [HELP, STATE, { flags: ['--all'], dest: 'all', action: 'store_true', default: false, help: 'list inactive & active domains' }],
  },
  domblklist: { prog: 'nova-sim virsh domblklist', description: 'list all domain blocks', args: [HELP, STATE, DOMAIN] },
  dumpxml: {
    prog: 'nova-sim virsh dumpxml',
    description: 'domain information in XML',
    args: [HELP, STATE, DOMAIN, { flags: ['--inactive'], dest: 'inactive', action: 'store_true', default: false, help: 'show inactive defined XML' }],
  },
  blockjob: {
    prog: 'nova-sim virsh blockjob',
    description: 'Manage active block operations',
    args: [
      HELP,
      STATE,
      DOMAIN,
      { dest: 'path', metavar: '<path>', help: 'Fully-qualified path of disk' },
      { flags: ['--info'], dest: 'info', action: 'store_true', default: false, help: 'get active job information for the specified disk' },
      { flags: ['--raw'], dest: 'raw', action: 'store_true', default: false, help: 'implies --info; output details rather than human summary' },
    ],
  },
  'qemu-monitor-command': {
    prog: 'nova-sim virsh qemu-monitor-command',
    description: 'QEMU Monitor Command',
    args: [
      HELP,
      STATE,
      DOMAIN,
      { dest: 'cmd', metavar: '<cmd>', help: 'command' },
      { flags: ['--pretty'], dest: 'pretty', action: 'store_true', default: false, help: 'pretty-print any qemu monitor protocol output' },
    ],
  },
};

export const VIRSH: ParserSpec = {
  prog: 'nova-sim virsh',
  description: "Inspect the simulated libvirtd like an operator (virsh's commands and output).",
  args: [HELP, STATE],
  subcommands: { metavar: '<command>', choices: Object.entries(VIRSH_COMMANDS).map(([name, s]) => ({ name, help: s.description ?? '' })) },
};

export const SIM_SUBCOMMANDS: Record<string, ParserSpec> = { 'guest-load': GUEST_LOAD, virsh: VIRSH };

type Out = (t: string) => void;

/** the command running now, told about Ctrl-C (it stops cleanly instead of exiting) */
let interruptible: AbortController | null = null;
export function interruptCurrent(): boolean {
  if (!interruptible) return false;
  interruptible.abort();
  return true;
}

/** a missing state file is created from the default fixture, as for every command */
export async function ensureState(statePath: string, err: Out, quiet = false): Promise<void> {
  const [{ ensureWorld }, { StateStore }] = await Promise.all([import('../world.js'), import('../../state/store.js')]);
  const store = new StateStore(statePath);
  await ensureWorld(store, (line) => err(`${line}\n`));
  // an operation a process began and never ended: say so first (doctor lists it itself)
  const s = store.read();
  if (s.operations?.length && !quiet) {
    const { confirmedInterruptedNotices } = await import('../doctor.js');
    for (const line of confirmedInterruptedNotices(s, () => store.read())) err(`${line}\n`);
  }
}

export async function runSimCommand(name: string, parsed: ParseResult, statePath: string, out: Out, err: Out): Promise<number> {
  if (name === 'virsh') return runVirsh(parsed, statePath, out, err);
  await ensureState(statePath, err);
  return runGuestLoad(parsed, statePath, out);
}

async function runGuestLoad(parsed: ParseResult, statePath: string, out: Out): Promise<number> {
  const ns = parsed.ns;
  const gl = await import('../guest-load.js');
  const server = ns.server as string;
  const disk = ns.disk as string;
  const configure = ['rate', 'seed', 'block_sizes', 'region', 'count'].filter((k) => ns[k] !== null);
  const actions = [
    ...(configure.length ? [`--${configure[0].replace('_', '-')}`] : []),
    ...(ns.off ? ['--off'] : []),
    ...(ns.verify ? ['--verify'] : []),
    ...(ns.run !== null ? ['--run'] : []),
  ];
  if (actions.length > 1) throw new UsageError(GUEST_LOAD, `argument ${actions[1]}: not allowed with argument ${actions[0]}`);

  if (configure.length) {
    const v = await gl.configureGuestLoad(statePath, server, disk, {
      rate: (ns.rate as number | null) ?? undefined,
      seed: (ns.seed as number | null) ?? undefined,
      blockSizes: (ns.block_sizes as number[] | null) ?? undefined,
      region: (ns.region as { offset: number; length: number } | null) ?? undefined,
      count: (ns.count as number | null) ?? undefined,
    });
    out(`${gl.describeLoad(v)}\n`);
    return 0;
  }
  if (ns.off) {
    out(`${gl.describeLoad(await gl.stopGuestLoad(statePath, server, disk))}\n`);
    return 0;
  }
  if (ns.verify) {
    const v = gl.verifyGuestLoad(statePath, server, disk);
    const r = v.result;
    if (r.ok) {
      out(`${v.serverName} ${v.disk}: ${r.writes} writes (${gl.formatBytes(r.bytes)}, ${r.blocks} blocks of 4 KiB) replayed; ${v.path} holds the last write of every block\n`);
      return 0;
    }
    const exp = `write ${r.expected.index} of segment ${r.expected.segment} (seed ${r.expected.seed})`;
    let found: string;
    if (typeof r.found === 'string') found = r.found;
    else {
      found = `write ${r.found.index} of segment ${r.found.segment} (seed ${r.found.seed})`;
      const recorded = v.recorded[r.found.segment];
      if (recorded !== undefined && r.found.index >= recorded) found += `, past the ${recorded} writes the state records (the host process was killed before recording them)`;
    }
    const { SimError } = await import('../../common/errors.js');
    throw new SimError('GuestDataMismatch', `${v.serverName} ${v.disk}: ${v.path} differs at offset ${r.offset}: expected ${exp}, found ${found}`);
  }
  if (ns.run !== null) {
    interruptible = new AbortController();
    try {
      const r = await gl.runGuestLoad(statePath, server, ns.run as number, interruptible.signal);
      if (r.handedOver) {
        // another host process took the guest over (SIGUSR2): one line, exit 0
        const to = r.handedOver.to === null ? 'handed over (no process has claimed it yet)' : `handed over to process ${r.handedOver.to}`;
        const disks = r.disks.map((d) => `${d.disk} ${d.writes} writes (${gl.formatBytes(d.bytes)})`).join(', ');
        out(`Guest of ${r.serverName} ${to} after ${r.seconds.toFixed(2)} s${disks ? `: ${disks}` : ''}\n`);
        return 0;
      }
      for (const d of r.disks) out(`${r.serverName} ${d.disk}: ${d.writes} writes (${gl.formatBytes(d.bytes)}) in ${r.seconds.toFixed(2)} s\n`);
      return interruptible.signal.aborted ? 130 : 0;
    } finally {
      interruptible = null;
    }
  }
  const views = gl.listGuestLoads(statePath, server);
  if (!views.length) {
    out(`No guest load for ${server}\n`);
    return 0;
  }
  for (const v of views) out(`${gl.describeLoad(v)}\n`);
  return 0;
}

async function runVirsh(parsed: ParseResult, statePath: string, out: Out, err: Out): Promise<number> {
  if (!parsed.rest || !parsed.rest.length) {
    out(formatHelp(VIRSH));
    return 0;
  }
  const [cmd, ...rest] = parsed.rest;
  const spec = Object.hasOwn(VIRSH_COMMANDS, cmd) ? VIRSH_COMMANDS[cmd] : undefined;
  if (!spec) {
    throw new UsageError(VIRSH, `argument <command>: invalid choice: '${cmd}' (choose from ${Object.keys(VIRSH_COMMANDS).map((c) => `'${c}'`).join(', ')})`);
  }
  const { ns, extras } = parseKnownArgs(spec, rest);
  if (extras.length) throw new UsageError(spec, `unrecognized arguments: ${extras.join(' ')}`);
  const missing = spec.args.find((a) => !a.flags && (ns[a.dest] === null || ns[a.dest] === undefined));
  if (missing) throw new UsageError(spec, `the following arguments are required: ${missing.metavar ?? missing.dest}`);
  if (ns.state) statePath = resolveStatePath(ns.state as string);
  await ensureState(statePath, err);
  const virsh = await import('../virsh.js');
  let r: { stdout: string; stderr?: string; note?: string };
  switch (cmd) {
    case 'list':
      r = virsh.list(statePath, ns.all as boolean);
      break;
    case 'domblklist':
      r = virsh.domblklist(statePath, ns.domain as string);
      break;
    case 'dumpxml':
      r = virsh.dumpxml(statePath, ns.domain as string, ns.inactive as boolean);
      break;
    case 'blockjob':
      r = await virsh.blockjob(statePath, ns.domain as string, ns.path as string, ns.raw as boolean);
      break;
    default:
      r = await virsh.qemuMonitorCommand(statePath, ns.domain as string, ns.cmd as string, ns.pretty as boolean);
  }
  if (r.stderr) err(r.stderr);
  out(r.stdout);
  if (r.note) err(r.note);
  return 0;
}
