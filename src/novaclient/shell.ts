// novaclient.shell.OpenStackComputeShell: global options, subcommand dispatch, help,
// version discovery, and the one place that turns errors into exit codes.
import type { ComputeEvent, EmbeddedCloud } from '../cloud/types.js';
import { errorLine } from '../common/error-line.js';
import type { Transport } from '../http/types.js';
import {
  EarlyExit,
  formatError,
  formatHelp,
  parseKnownArgs,
  SUPPRESS,
  UsageError,
  type ArgSpec,
  type Namespace,
  type ParserSpec,
} from './argparse.js';
import { COMMANDS, EXTENSION_COMMANDS, loadCommand } from './commands/index.js';
import { CommandError, KeyboardInterrupt } from './exceptions.js';
import type { CommandDef, Output, ShellContext } from './types.js';
import type { Timing } from './client.js';
import type { MissingMessages, RemoteTarget } from './remote.js';
import { remoteTarget } from './target.js';
import type { DebugLog, VerifyOptions } from './session-log.js';
import { pyFloat } from './pyfmt.js';

/** python-novaclient's version at mitaka-eol */
export const NOVACLIENT_VERSION = '3.3.3';

const DESCRIPTION = 'Command-line interface to the OpenStack Nova API.';
const EPILOG = 'See "nova help COMMAND" for help on a specific command.';

const o = (flags: string[], dest: string, metavar: string | undefined, help: string | null, extra: Partial<ArgSpec> = {}): ArgSpec => ({
  flags,
  dest,
  metavar,
  help,
  default: null,
  ...extra,
});
const flag = (f: string, dest: string, help: string | null): ArgSpec => ({ flags: [f], dest, action: 'store_true', default: false, help });

/** argparse's choices=('json', 'mermaid') */
function traceFormat(value: string): string {
  if (value !== 'json' && value !== 'mermaid') throw new Error(`invalid choice: '${value}' (choose from 'json', 'mermaid')`);
  return value;
}

/** get_base_parser(): Mitaka's global options, keystoneauth's session and auth options */
export function globalSpec(env: NodeJS.ProcessEnv = process.env): ParserSpec {
  const e = (...names: string[]): string | null => {
    for (const n of names) if (env[n]) return env[n] as string;
    return null;
  };
  return {
    prog: 'nova',
    description: DESCRIPTION,
    epilog: EPILOG,
    args: [
      { flags: ['-h', '--help'], dest: 'help', action: 'store_true', default: false, help: SUPPRESS },
      { flags: ['--version'], dest: 'version', action: 'version', help: "show program's version number and exit" },
      flag('--debug', 'debug', 'Print debugging output.'),
      flag('--os-cache', 'os_cache', 'Use the auth token cache. Defaults to False if env[OS_CACHE] is not set.'),
      flag('--timings', 'timings', 'Print call timing info.'),
      o(['--os-region-name'], 'os_region_name', '<region-name>', 'Defaults to env[OS_REGION_NAME].', {
        default: e('OS_REGION_NAME', 'NOVA_REGION_NAME'),
      }),
      o(['--service-type'], 'service_type', '<service-type>', 'Defaults to compute for most actions.'),
      o(['--service-name'], 'service_name', '<service-name>', 'Defaults to env[NOVA_SERVICE_NAME].', { default: e('NOVA_SERVICE_NAME') }),
      o(['--volume-service-name'], 'volume_service_name', '<volume-service-name>', 'Defaults to env[NOVA_VOLUME_SERVICE_NAME].', {
        default: e('NOVA_VOLUME_SERVICE_NAME'),
      }),
      o(['--os-endpoint-type'], 'endpoint_type', '<endpoint-type>', 'Defaults to env[NOVA_ENDPOINT_TYPE], env[OS_ENDPOINT_TYPE] or publicURL.', {
        default: e('NOVA_ENDPOINT_TYPE', 'OS_ENDPOINT_TYPE') ?? 'publicURL',
      }),
      o(
        ['--os-compute-api-version'],
        'os_compute_api_version',
        '<compute-api-ver>',
        'Accepts X, X.Y (where X is major and Y is minor part) or "X.latest", defaults to env[OS_COMPUTE_API_VERSION].',
        { default: e('OS_COMPUTE_API_VERSION') ?? '2.latest' },
      ),
      o(
        ['--bypass-url'],
        'bypass_url',
        '<bypass-url>',
        'Use this API endpoint instead of the Service Catalog. Defaults to env[NOVACLIENT_BYPASS_URL].',
        { default: e('NOVACLIENT_BYPASS_URL') },
      ),
      o(['--state'], 'state', '<state-file>', 'novasim: the state file of the embedded cloud. Defaults to env[NOVASIM_STATE].'),
      flag(
        '--trace',
        'trace',
        'novasim: print on stderr, as the request runs, the call chain through every layer (novaclient, nova-api, nova-compute, Cinder, libvirt, QEMU) with arguments, results and durations.',
      ),
      o(['--trace-file'], 'trace_file', '<file>', 'novasim: write the trace of the command to <file> (see --trace-format).'),
      o(['--trace-format'], 'trace_format', '{json,mermaid}', 'novasim: format of --trace-file: json (one span per step) or mermaid (a sequenceDiagram of the services). Default: json.', {
        default: 'json',
        type: traceFormat,
      }),
    ],
    groups: [
      {
        title: 'API Connection Options',
        description: 'Options controlling the HTTP API Connections',
        args: [
          flag(
            '--insecure',
            'insecure',
            'Explicitly allow client to perform "insecure" TLS (https) requests. The server\'s certificate will not be verified against any certificate authorities. This option should be used with caution.',
          ),
          o(['--os-cacert'], 'os_cacert', '<ca-certificate>', 'Specify a CA bundle file to use in verifying a TLS (https) server certificate. Defaults to env[OS_CACERT].'),
          o(['--os-cert'], 'os_cert', '<certificate>', 'Defaults to env[OS_CERT].'),
          o(['--os-key'], 'os_key', '<key>', 'Defaults to env[OS_KEY].'),
          o(['--timeout'], 'timeout', '<seconds>', 'Set request timeout (in seconds).'),
        ],
      },
      {
        title: 'Authentication Options',
        description: 'Options specific to the password plugin.',
        args: [
          o(['--os-auth-type', '--os-auth-plugin'], 'os_auth_type', '<name>', 'Authentication type to use', { default: e('OS_AUTH_TYPE') }),
          o(['--os-auth-url'], 'os_auth_url', 'OS_AUTH_URL', 'Authentication URL', { default: e('OS_AUTH_URL') }),
          o(['--os-domain-id'], 'os_domain_id', 'OS_DOMAIN_ID', 'Domain ID to scope to'),
          o(['--os-domain-name'], 'os_domain_name', 'OS_DOMAIN_NAME', 'Domain name to scope to'),
          o(['--os-project-id', '--os-tenant-id'], 'os_project_id', 'OS_PROJECT_ID', 'Project ID to scope to', {
            default: e('OS_PROJECT_ID', 'OS_TENANT_ID'),
          }),
          o(['--os-project-name', '--os-tenant-name'], 'os_project_name', 'OS_PROJECT_NAME', 'Project name to scope to', {
            default: e('OS_PROJECT_NAME', 'OS_TENANT_NAME'),
          }),
          o(['--os-project-domain-id'], 'os_project_domain_id', 'OS_PROJECT_DOMAIN_ID', 'Domain ID containing project'),
          o(['--os-project-domain-name'], 'os_project_domain_name', 'OS_PROJECT_DOMAIN_NAME', 'Domain name containing project'),
          o(['--os-trust-id'], 'os_trust_id', 'OS_TRUST_ID', 'Trust ID'),
          o(['--os-user-id'], 'os_user_id', 'OS_USER_ID', 'User ID'),
          o(['--os-username', '--os-user-name'], 'os_username', 'OS_USERNAME', 'Username', { default: e('OS_USERNAME', 'NOVA_USERNAME') }),
          o(['--os-user-domain-id'], 'os_user_domain_id', 'OS_USER_DOMAIN_ID', "User's domain id"),
          o(['--os-user-domain-name'], 'os_user_domain_name', 'OS_USER_DOMAIN_NAME', "User's domain name"),
          o(['--os-password'], 'os_password', 'OS_PASSWORD', "User's password", { default: e('OS_PASSWORD', 'NOVA_PASSWORD') }),
        ],
      },
    ],
    subcommands: { metavar: '<subcommand>', choices: [] },
  };
}

const HELP_COMMAND: CommandDef = {
  name: 'help',
  doc: 'Display help about this program or one of its subcommands.',
  args: [{ dest: 'command', metavar: '<subcommand>', nargs: '?', default: null, help: 'Display help for <subcommand>.' }],
  async run() {
    return 0;
  },
};

/** OpenStackComputeShell.do_bash_completion: needs no authentication, prints and returns */
const BASH_COMPLETION_COMMAND: CommandDef = {
  name: 'bash-completion',
  doc: "Prints all of the commands and options to stdout so that the nova.bash_completion script doesn't have to hard code them.",
  args: [],
  async run() {
    return 0;
  },
};

/**
 * The subcommands in the order Mitaka adds its subparsers: novaclient/v2/shell.py's do_*
 * (dir() order), the shell's own (bash-completion, help), the contrib extensions', and the
 * hidden bash_completion alias last.
 */
function subcommandNames(withHidden = false): string[] {
  const pyName = (n: string) => n.replace(/-/g, '_');
  const byDir = (a: string, b: string) => (pyName(a) < pyName(b) ? -1 : pyName(a) > pyName(b) ? 1 : 0);
  const names = Object.keys(COMMANDS);
  return [
    ...names.filter((n) => !EXTENSION_COMMANDS.has(n)).sort(byDir),
    BASH_COMPLETION_COMMAND.name,
    HELP_COMMAND.name,
    ...names.filter((n) => EXTENSION_COMMANDS.has(n)).sort(byDir),
    ...(withHidden ? ['bash_completion'] : []),
  ];
}

async function loadAny(name: string): Promise<CommandDef | undefined> {
  if (name === HELP_COMMAND.name) return HELP_COMMAND;
  if (name === BASH_COMPLETION_COMMAND.name || name === 'bash_completion') return BASH_COMPLETION_COMMAND;
  return loadCommand(name);
}

/** do_bash_completion: every subcommand and every option string of theirs, on one line.
 * Python prints a set (no stable order); novasim prints them sorted. */
async function bashCompletion(): Promise<string> {
  const words = new Set<string>();
  for (const name of subcommandNames(true)) {
    const cmd = await loadAny(name);
    if (!cmd) continue;
    words.add(name);
    for (const a of commandSpec(cmd).args) for (const f of a.flags ?? []) words.add(f);
  }
  words.delete('bash-completion');
  words.delete('bash_completion');
  return `${[...words].sort().join(' ')}\n`;
}

export function commandSpec(cmd: CommandDef): ParserSpec {
  return {
    prog: `nova ${cmd.name}`,
    description: cmd.doc,
    args: [{ flags: ['-h', '--help'], dest: 'help', action: 'help', help: SUPPRESS }, ...cmd.args],
  };
}

async function fullHelp(env: NodeJS.ProcessEnv): Promise<string> {
  const spec = globalSpec(env);
  const cmds = await Promise.all(subcommandNames().map((n) => loadAny(n)));
  const choices = (cmds.filter(Boolean) as CommandDef[]).map((c) => ({ name: c.name, help: c.doc }));
  return formatHelp({ ...spec, subcommands: { metavar: '<subcommand>', choices } });
}

/** what a connection to a cloud gives the shell */
export interface CloudConnection {
  transport: Transport;
  endpoints: { compute: string; volumev2: string };
  /** the embedded cloud this process hosts (null: a remote one, over HTTP) */
  cloud: EmbeddedCloud | null;
  close(): Promise<void>;
  /** a remote cloud's token and project (the embedded one takes the noauth2 "<user>:<project>") */
  token?: string;
  projectId?: string;
  /** how TLS is verified, for the --debug curl lines */
  verify?: VerifyOptions;
}

/** what the shell's options say about reaching a remote cloud (connect.ts decides) */
export interface ConnectContext {
  target: RemoteTarget;
  debug?: DebugLog;
  userAgent: string;
  missing?: MissingMessages;
}

/** how the shell reaches a cloud: the embedded one, a served world, or a remote cloud */
export interface CloudConnector {
  /** start loading the cloud's code early, while the command module loads (optional) */
  prefetch?(): void;
  open(statePath: string | undefined, onNotice: (line: string) => void, ctx?: ConnectContext): Promise<CloudConnection>;
}

export interface ShellIO extends Output {
  /** registers the SIGINT route for the current phase (null = default behaviour) */
  setInterruptHandler(handler: (() => void) | null): void;
}


export class NovaShell {
  constructor(
    private readonly io: ShellIO,
    private readonly connector: CloudConnector,
  ) {}

  /** OpenStackComputeShell().main(argv) wrapped by novaclient.shell.main(): returns the exit code */
  async main(argv: string[]): Promise<number> {
    let debug = argv.includes('--debug');
    try {
      return await this.run(argv, (d) => (debug = d));
    } catch (e) {
      if (e instanceof UsageError) {
        this.io.err(formatError(e.spec, e.message));
        return 2;
      }
      if (e instanceof EarlyExit) {
        this.io.out(e.text);
        return 0;
      }
      if (e instanceof KeyboardInterrupt) {
        this.io.err('... terminating nova client\n');
        return 130;
      }
      const { cls, msg } = errorLine(e);
      if (debug) this.io.err(`DEBUG (shell:1082) ${msg}\n`);
      this.io.err(`ERROR (${cls}): ${msg}\n`);
      return 1;
    }
  }

  private async run(argv: string[], setDebug: (d: boolean) => void): Promise<number> {
    const env = this.io.env;
    const gspec = globalSpec(env);
    const { ns: g, extras, rest } = parseKnownArgs(gspec, argv, NOVACLIENT_VERSION);
    setDebug(g.debug as boolean);
    if (g.help || argv.length === 0) {
      this.io.out(await fullHelp(env));
      return 0;
    }
    if (!rest || rest.length === 0) {
      if (extras.length) throw new UsageError(gspec, `unrecognized arguments: ${extras.join(' ')}`);
      // Mitaka on Python 3: no subcommand means no args.func
      throw Object.assign(new Error("'Namespace' object has no attribute 'func'"), { name: 'AttributeError' });
    }
    const name = rest[0];
    if (name !== 'help' && !g.help && Object.prototype.hasOwnProperty.call(COMMANDS, name)) this.connector.prefetch?.();
    const cmd = await loadAny(name);
    if (!cmd) {
      const choices = subcommandNames(true).map((c) => `'${c}'`).join(', ');
      throw new UsageError(gspec, `argument <subcommand>: invalid choice: '${name}' (choose from ${choices})`);
    }
    const cspec = commandSpec(cmd);
    const parsed = parseKnownArgs(cspec, rest.slice(1));
    const unknown = [...extras, ...parsed.extras];
    if (unknown.length) throw new UsageError(gspec, `unrecognized arguments: ${unknown.join(' ')}`);
    const args: Namespace = parsed.ns;

    if (cmd === HELP_COMMAND) {
      const sub = args.command as string | null;
      if (!sub) {
        this.io.out(await fullHelp(env));
        return 0;
      }
      const target = await loadAny(sub);
      if (!target) throw new CommandError(`'${sub}' is not a valid subcommand`);
      this.io.out(formatHelp(commandSpec(target)));
      return 0;
    }
    // bash-completion needs no authentication: it never reaches the cloud
    if (cmd === BASH_COMPLETION_COMMAND) {
      this.io.out(await bashCompletion());
      return 0;
    }
    return this.runCommand(cmd, args, g, argv);
  }

  private async runCommand(cmd: CommandDef, args: Namespace, g: Namespace, argv: string[]): Promise<number> {
    const io = this.io;
    const debug = g.debug as boolean;
    let removeSink: (() => void) | undefined;
    let trace: { finish(): void } | undefined;
    if (g.trace || g.trace_file) {
      // the printers load only when asked for: `nova list` pays nothing for them
      const { startTrace } = await import('../trace/output.js');
      trace = startTrace({
        live: g.trace ? (text) => io.err(text) : undefined,
        file: (g.trace_file as string | null) ?? null,
        format: g.trace_format as 'json' | 'mermaid',
        command: ['nova', ...argv],
      });
    }
    if (debug) {
      // the embedded services' oslo.log records, as their log files would show them
      const { addLogSink, formatOslo } = await import('../common/log.js');
      removeSink = addLogSink((rec) => io.err(`${formatOslo(rec)}\n`));
    }
    let conn: CloudConnection;
    const debugLog = debug ? (line: string) => io.err(`${line}\n`) : undefined;
    try {
      conn = await this.connector.open((g.state as string | null) ?? undefined, (line) => io.err(`${line}\n`), {
        target: remoteTarget(g, io.env),
        debug: debugLog,
        userAgent: 'python-novaclient',
      });
    } catch (e) {
      removeSink?.();
      trace?.finish();
      throw e;
    }
    // Ctrl-C while this process hosts the cloud: the client gives up (like a killed novaclient),
    // but the services finish what they started, so the state stays consistent; a running
    // block job is cancelled so nova-compute rolls the swap back.
    let interrupted = 0;
    const shellHandler = (): void => {
      interrupted++;
      if (interrupted === 1) conn.cloud?.interrupt();
      else io.err('... still rolling back in the embedded cloud, please wait\n');
    };
    io.setInterruptHandler(shellHandler);
    const transport: Transport = {
      async request(req) {
        if (interrupted) throw new KeyboardInterrupt();
        const resp = await conn.transport.request(req);
        if (interrupted) throw new KeyboardInterrupt();
        return resp;
      },
    };
    try {
      const user = (g.os_username as string | null) ?? 'demo';
      const project = (g.os_project_name as string | null) ?? (user === 'admin' ? 'admin' : 'demo');
      const { makeClient } = await import('./v2/client.js');
      const cs = makeClient({
        transport,
        endpoints: conn.endpoints,
        token: conn.token ?? `${user}:${project}`,
        projectId: conn.projectId ?? project,
        requestedVersion: g.os_compute_api_version as string,
        debug: debugLog,
        verify: conn.verify,
      });
      await cs.api.discoverVersion();
      const sh: ShellContext = {
        cs,
        out: io,
        debug,
        cloud: conn.cloud,
        onInterrupt: (h) => io.setInterruptHandler(h ?? shellHandler),
      };
      const code = (await cmd.run(sh, args)) ?? 0;
      // OpenStackComputeShell.main: the timings once args.func has returned
      if (g.timings) io.out(await dumpTimings(cs.api.times));
      // casts the command sent (stop, attach, …) are handled before this process goes away
      const handled = conn.cloud ? await drainCancelling(conn.cloud, () => interrupted > 0) : [];
      if (interrupted && code !== 130) throw new KeyboardInterrupt();
      // a cast nova-compute failed after the 202 (a swap's is reported by its follower): real
      // Nova fails silently there; this process hosts nova-compute, so it says so
      const failed = code === 0 ? handled.find((ev) => ev.type === 'compute-error' && ev.method !== 'swap_volume') : undefined;
      if (failed?.type === 'compute-error') {
        io.err(`ERROR (${failed.errorClass}): ${failed.message}\n`);
        const { failedAfter202 } = await import('./progress.js');
        io.err(`${failedAfter202(failed.method, failed.requestId)}\n`);
        return 1;
      }
      return code;
    } finally {
      if (conn.cloud && interrupted) await drainCancelling(conn.cloud, () => true);
      await conn.close();
      io.setInterruptHandler(null);
      removeSink?.();
      trace?.finish();
    }
  }
}

/** OpenStackComputeShell._dump_timings: url, seconds of each request, then their Total */
async function dumpTimings(times: Timing[]): Promise<string> {
  const { renderTable } = await import('./table.js');
  const rows: [string, number][] = times.map(([url, start, end]) => [url, end - start]);
  rows.push(['Total', rows.reduce((t, [, s]) => t + s, 0)]);
  return `${renderTable(['url', 'seconds'], rows.map(([u, s]) => [u, pyFloat(s)]))}\n`;
}

/** cloud.drain(), cancelling any block job that runs once the user has pressed Ctrl-C */
async function drainCancelling(cloud: EmbeddedCloud, cancel: () => boolean): Promise<ComputeEvent[]> {
  const off = cloud.on((ev) => {
    if (ev.type === 'job' && (ev.phase === 'copying' || ev.phase === 'ready') && cancel()) cloud.interrupt();
  });
  try {
    return (await cloud.drain()).handled;
  } finally {
    off();
  }
}
