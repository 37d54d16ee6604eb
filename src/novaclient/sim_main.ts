// Entry point of bin/nova-sim: manage the embedded world (init from a fixture, find a
// volume's image file). The work is done by src/novasim/world.ts; this only parses and prints.
import { HELP, STATE } from './sim_args.js';
import { resolveStatePath } from '../state/paths.js';
import { EarlyExit, formatError, formatHelp, parseKnownArgs, UsageError, type ParserSpec } from './argparse.js';
import { ensureState, interruptCurrent, runSimCommand, SIM_SUBCOMMANDS } from './sim_commands.js';

interface WorldModule {
  initWorld(statePath: string, fixture: string, force: boolean): Promise<{ created: boolean; path: string }>;
  volumePath(statePath: string, ref: string, onNotice?: (line: string) => void): Promise<string>;
}


const SUBCOMMANDS: Record<string, ParserSpec> = {
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
  ...SIM_SUBCOMMANDS,
};

const MAIN: ParserSpec = {
  prog: 'nova-sim',
  description: "Manage novasim's embedded cloud.",
  args: [HELP, STATE],
  subcommands: {
    metavar: '<subcommand>',
    choices: Object.entries(SUBCOMMANDS).map(([name, s]) => ({ name, help: s.description ?? '' })),
  },
};

async function loadWorld(): Promise<WorldModule> {
  return (await import('../novasim/world.js')) as WorldModule;
}

export async function simMain(argv: string[], out = (t: string) => void process.stdout.write(t), err = (t: string) => void process.stderr.write(t)): Promise<number> {
  try {
    const top = parseKnownArgs(MAIN, argv);
    if (!top.rest || !top.rest.length) {
      if (top.extras.length) throw new UsageError(MAIN, `unrecognized arguments: ${top.extras.join(' ')}`);
      out(formatHelp(MAIN));
      return argv.length ? 2 : 0;
    }
    const [name, ...rest] = top.rest;
    const spec = SUBCOMMANDS[name];
    if (!spec) {
      throw new UsageError(MAIN, `argument <subcommand>: invalid choice: '${name}' (choose from ${Object.keys(SUBCOMMANDS).map((c) => `'${c}'`).join(', ')})`);
    }
    const parsed = parseKnownArgs(spec, rest);
    const { ns, extras } = parsed;
    if (extras.length || top.extras.length) throw new UsageError(MAIN, `unrecognized arguments: ${[...top.extras, ...extras].join(' ')}`);
    const statePath = resolveStatePath((ns.state as string | null) ?? (top.ns.state as string | null) ?? undefined);
    if (name in SIM_SUBCOMMANDS) return await runSimCommand(name, parsed, statePath, out, err);
    if (name === 'logs') {
      const { logsCommand } = await import('../novasim/logs.js');
      return await logsCommand(statePath, { services: ns.services as string[], requestId: ns.request_id as string | null, follow: ns.follow as boolean }, out);
    }
    if (name === 'config') {
      await ensureState(statePath, err);
      const config = await import('../novasim/config.js');
      const option = ns.option as string | null;
      out(ns.value === null ? config.showConfig(statePath, option ?? undefined) : await config.setConfig(statePath, option as string, ns.value as string));
      return 0;
    }
    if (name === 'blkdebug') {
      await ensureState(statePath, err);
      const { blkdebugCommand } = await import('../novasim/blkdebug.js');
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
    const kind = e instanceof Error ? ((e as { kind?: unknown }).kind as string | undefined) ?? e.name : 'Exception';
    err(`ERROR (${kind}): ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

export async function run(): Promise<void> {
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
  process.exit(process.exitCode);
}
