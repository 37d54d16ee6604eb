// Entry point of bin/nova-sim: manage the embedded world (init from a fixture, find a
// volume's image file). The work is done by src/novasim/world.ts; this only parses and prints.
import { HELP, STATE } from './args.js';
import { FAULT_POINTS } from '../../common/faults.js';
import { resolveStatePath } from '../../state/paths.js';
import { exitWhenDrained, guardStdio, stdoutGone, writeTo } from '../../common/stdio.js';
import { formatErrorLine } from '../../common/error-line.js';
import { EarlyExit, formatError, formatHelp, parseKnownArgs, UsageError, type ParserSpec } from '../../novaclient/argparse.js';
import { ensureState, interruptCurrent, runSimCommand, SIM_SUBCOMMANDS } from './commands.js';

interface WorldModule {
  initWorld(statePath: string, fixture: string, force: boolean): Promise<{ created: boolean; path: string }>;
  volumePath(statePath: string, ref: string, onNotice?: (line: string) => void): Promise<string>;
}


/** nova-sim's subcommands and their parsers (the fuzz tests generate arguments from them) */
export const SUBCOMMANDS: Record<string, ParserSpec> = {
  init: {
    prog: 'nova-sim init',
    description: 'Create the state file (and its volume images) from a fixture.',
    args: [
      HELP,
      STATE,
      { flags: ['--fixture'], dest: 'fixture', metavar: '<name|path>', default: 'default', help: 'Fixture name (in fixtures/) or path to a fixture JSON file. Default: default.' },
      { flags: ['--force'], dest: 'force', action: 'store_true', default: false, help: 'Replace an existing state file.' },
    ],
  },
  'volume-path': {
    prog: 'nova-sim volume-path',
    description: "Print the absolute path of a volume's image file.",
    args: [HELP, STATE, { dest: 'volume', metavar: '<volume>', help: 'Name or ID of the volume.' }],
  },
  logs: {
    prog: 'nova-sim logs',
    description: "Show the embedded services' logs (oslo.log format), merged by time.",
    args: [
      HELP,
      STATE,
      {
        dest: 'services',
        metavar: '<service>',
        nargs: '*',
        default: [],
        help: "nova-api, nova-compute, cinder-api, cinder-volume, libvirtd, qemu-monitor or qemu (the guest's and blkdebug's). Default: all.",
      },
      { flags: ['--request-id'], dest: 'request_id', metavar: '<request-id>', default: null, help: 'Only the records of this request (req-… as nova-api returned it).' },
      { flags: ['-f', '--follow'], dest: 'follow', action: 'store_true', default: false, help: 'Keep printing records as the services write them, until Ctrl-C (exit 0).' },
    ],
  },
  config: {
    prog: 'nova-sim config',
    description: 'Show or set the nova.conf options the embedded services honour.',
    args: [
      HELP,
      STATE,
      { dest: 'option', metavar: '<section.option>', nargs: '?', default: null, help: 'The option, e.g. libvirt.disk_cachemodes. Default: show them all.' },
      {
        dest: 'value',
        metavar: '<value>',
        nargs: '?',
        default: null,
        help: 'New value; a list takes comma-separated items ("" empties it). nova-compute reads it when it next starts.',
      },
    ],
  },
  blkdebug: {
    prog: 'nova-sim blkdebug',
    description: "Make the block job's I/O on a server's disk misbehave (blkdebug-style rules), or list/clear the rules.",
    epilog:
      'Rules stay in the state until --clear and are armed whenever a process starts the QEMU of the server ' +
      '(nova volume-update, nova-sim guest-load --run); --count counts within that QEMU.',
    args: [
      HELP,
      STATE,
      { dest: 'server', metavar: '<server>', help: 'Name or ID of the server.' },
      { dest: 'disk', metavar: '<disk>', nargs: '?', default: null, help: 'Target of the disk, e.g. vdb (needed to set a rule). Default: every disk.' },
      {
        flags: ['--delay'],
        dest: 'delay',
        metavar: '<event=ms>',
        default: null,
        help: "Hold the job's requests at the event for that many ms: flush_to_disk (the target flush, e.g. before READY) or write_aio (target writes).",
      },
      { flags: ['--inject-error'], dest: 'inject_error', metavar: '<read|write>', default: null, help: "Fail the job's source reads (read) or target writes (write)." },
      { flags: ['--errno'], dest: 'errno', metavar: '<EIO|ENOSPC>', default: null, help: 'The error --inject-error gives. Default: EIO.' },
      { flags: ['--count'], dest: 'count', metavar: '<n>', default: null, help: 'Only the first n requests. Default: every one.' },
      { flags: ['--clear'], dest: 'clear', action: 'store_true', default: false, help: "Remove the server's rules (on the disk, if given)." },
    ],
  },
  doctor: {
    prog: 'nova-sim doctor',
    description: 'List what a crash, a failed save or a fault left inconsistent (exit 1 if anything); --fix repairs it.',
    epilog:
      "--fix repairs the way an operator would: cinder reset-state, nova reset-state, virsh define, finishing or undoing an " +
      'interrupted pivot from the disk the domain really uses, so the data the guest wrote is kept.',
    args: [HELP, STATE, { flags: ['--fix'], dest: 'fix', action: 'store_true', default: false, help: 'Repair what is found, then look again.' }],
  },
  fault: {
    prog: 'nova-sim fault',
    description: 'Set, list or clear faults on purpose at named points of every layer (Cinder, RPC, volume driver, libvirt, the state write).',
    epilog:
      "Rules stay in the state until 'fault clear'; one rule per point ('add' replaces it). Counts are per process: each nova or " +
      'nova-sim command counts afresh, so --once fails the first time the point is reached in each command. ' +
      `Points: ${FAULT_POINTS.join(', ')}.`,
    args: [
      HELP,
      STATE,
      { dest: 'action', metavar: '<add|list|clear>', nargs: '?', default: 'list', help: 'add a rule, list the rules, or clear them (all, or one point\'s). Default: list.' },
      { dest: 'point', metavar: '<point>', nargs: '?', default: null, help: 'Where the fault fires, e.g. cinder.reserve_volume or libvirt.blockJobAbort.pivot.' },
      {
        flags: ['--error'],
        dest: 'error',
        metavar: '<text>',
        default: null,
        help: "What the failure says (Cinder's HTTP 500 message, the libvirtError's or os-brick's text); state.write: ENOSPC (default), EIO or short.",
      },
      { flags: ['--once'], dest: 'once', action: 'store_true', default: false, help: 'Fire the first time the point is reached in each command only.' },
      { flags: ['--times'], dest: 'times', metavar: '<n>', default: null, help: 'Fire the first n times in each command. Default: every time.' },
      { flags: ['--after-bytes'], dest: 'after_bytes', metavar: '<n>', default: null, help: 'state.write only: n bytes land before the write fails.' },
    ],
  },
  ...SIM_SUBCOMMANDS,
};

export const MAIN: ParserSpec = {
  prog: 'nova-sim',
  description: "Manage novasim's embedded cloud.",
  args: [HELP, STATE],
  subcommands: {
    metavar: '<subcommand>',
    choices: Object.entries(SUBCOMMANDS).map(([name, s]) => ({ name, help: s.description ?? '' })),
  },
};

async function loadWorld(): Promise<WorldModule> {
  return (await import('../world.js')) as WorldModule;
}

export async function simMain(argv: string[], out = (t: string) => writeTo(process.stdout, t), err = (t: string) => writeTo(process.stderr, t)): Promise<number> {
  try {
    const top = parseKnownArgs(MAIN, argv);
    if (!top.rest || !top.rest.length) {
      if (top.extras.length) throw new UsageError(MAIN, `unrecognized arguments: ${top.extras.join(' ')}`);
      out(formatHelp(MAIN));
      return argv.length ? 2 : 0;
    }
    const [name, ...rest] = top.rest;
    // own keys only: `nova-sim constructor` must not find Object.prototype.constructor
    const spec = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
    if (!spec) {
      throw new UsageError(MAIN, `argument <subcommand>: invalid choice: '${name}' (choose from ${Object.keys(SUBCOMMANDS).map((c) => `'${c}'`).join(', ')})`);
    }
    const parsed = parseKnownArgs(spec, rest);
    const { ns, extras } = parsed;
    if (extras.length || top.extras.length) throw new UsageError(MAIN, `unrecognized arguments: ${[...top.extras, ...extras].join(' ')}`);
    const statePath = resolveStatePath((ns.state as string | null) ?? (top.ns.state as string | null) ?? undefined);
    if (Object.hasOwn(SIM_SUBCOMMANDS, name)) return await runSimCommand(name, parsed, statePath, out, err);
    if (name === 'logs') {
      const { logsCommand } = await import('../logs.js');
      return await logsCommand(statePath, { services: ns.services as string[], requestId: ns.request_id as string | null, follow: ns.follow as boolean, until: stdoutGone }, out);
    }
    if (name === 'config') {
      await ensureState(statePath, err);
      const config = await import('../config.js');
      const option = ns.option as string | null;
      out(ns.value === null ? config.showConfig(statePath, option ?? undefined) : await config.setConfig(statePath, option as string, ns.value as string));
      return 0;
    }
    if (name === 'blkdebug') {
      await ensureState(statePath, err);
      const { blkdebugCommand } = await import('../blkdebug.js');
      out(
        await blkdebugCommand(statePath, {
          server: ns.server as string,
          disk: ns.disk as string | null,
          delay: ns.delay as string | null,
          injectError: ns.inject_error as string | null,
          errno: ns.errno as string | null,
          count: ns.count as string | null,
          clear: ns.clear as boolean,
        }),
      );
      return 0;
    }
    if (name === 'doctor') {
      await ensureState(statePath, err, true);
      const { doctorCommand } = await import('../doctor.js');
      const r = await doctorCommand(statePath, ns.fix as boolean);
      out(r.out);
      return r.code;
    }
    if (name === 'fault') {
      const fault = await import('../fault.js');
      let plan: import('../fault.js').FaultPlan;
      try {
        plan = fault.planFaultCommand({ action: ns.action as string, point: ns.point as string | null, error: ns.error as string | null, once: ns.once as boolean, times: ns.times as string | null, afterBytes: ns.after_bytes as string | null });
      } catch (e) {
        if (e instanceof fault.FaultArgumentError) throw new UsageError(spec, `argument ${e.argument}: ${e.message}`);
        throw e;
      }
      await ensureState(statePath, err);
      const r = await fault.runFaultCommand(statePath, plan);
      if (r.table) out(`${(await import('../../novaclient/table.js')).renderTable(r.table.header, r.table.rows)}\n`);
      for (const line of r.lines) out(`${line}\n`);
      return 0;
    }
    const world = await loadWorld();
    if (name === 'init') {
      const r = await world.initWorld(statePath, ns.fixture as string, ns.force as boolean);
      out(`${r.created ? 'Created' : 'Replaced'} ${r.path} from fixture ${ns.fixture as string}\n`);
    } else {
      out(`${await world.volumePath(statePath, ns.volume as string, (line) => err(`${line}\n`))}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(formatError(e.spec, e.message).replace(/Try '(\S+) help ([^']*)'/, (_m, p: string, s: string) => `Try '${p} ${s ? `${s} ` : ''}--help'`));
      return 2;
    }
    if (e instanceof EarlyExit) {
      out(e.text);
      return 0;
    }
    err(formatErrorLine(e));
    return 1;
  }
}

export async function run(): Promise<void> {
  guardStdio();
  // a reader that went away ends a guest load run as Ctrl-C does (a follow stops by itself)
  stdoutGone.addEventListener('abort', () => void interruptCurrent());
  process.on('SIGINT', () => {
    // a guest load run stops its guest and records its writes before exiting
    if (interruptCurrent()) return;
    process.stderr.write('... terminating nova-sim\n');
    process.exit(130);
  });
  // SIGTERM (kill PID) and SIGHUP (a closed terminal) stop a guest load run the way Ctrl-C
  // does, as they end a swap in nova: dying at once would leave up to 250 ms of landed
  // writes unrecorded, and --verify would then fail. Otherwise a command that follows
  // (logs -f) handles them itself; anything else ends as the signal would end it.
  for (const [sig, n] of [['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(sig, () => {
      if (interruptCurrent()) return;
      if (process.listenerCount(sig) > 1) return;
      process.exit(128 + n);
    });
  }
  process.exitCode = await simMain(process.argv.slice(2));
  await exitWhenDrained(process.exitCode);
}
