// cinderclient.shell.OpenStackCinderShell (python-cinderclient 1.6.x, Mitaka): global
// options, subcommand dispatch, help, and the one place that turns errors into exit codes
// ("ERROR: <message>", exit 1). It reaches the same embedded cloud as `nova`, through the
// same connector, state file and users.
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
} from '../novaclient/argparse.js';
import { CommandError, KeyboardInterrupt } from '../novaclient/exceptions.js';
import type { CloudConnection, CloudConnector, ShellIO } from '../novaclient/shell.js';
import { remoteTarget } from '../novaclient/target.js';
import { COMMANDS, loadCommand } from './commands/index.js';
import type { CommandDef, ShellContext } from './types.js';

/** python-cinderclient's version at mitaka-eol */
export const CINDERCLIENT_VERSION = '1.6.0';
/** DEFAULT_OS_VOLUME_API_VERSION */
const DEFAULT_VOLUME_API_VERSION = '2';

const o = (flags: string[], dest: string, metavar: string, help: string | null, dflt: unknown = null): ArgSpec => ({
  flags,
  dest,
  metavar,
  help,
  default: dflt,
});
/** the underscore spellings cinderclient keeps hidden (argparse.SUPPRESS) */
const hidden = (flag: string, dest: string): ArgSpec => ({ flags: [flag], dest, help: SUPPRESS });

/** get_base_parser() with _append_global_identity_args and keystoneclient's session options */
export function globalSpec(env: NodeJS.ProcessEnv = process.env): ParserSpec {
  const e = (...names: string[]): string | null => {
    for (const n of names) if (env[n]) return env[n] as string;
    return null;
  };
  return {
    prog: 'cinder',
    description: 'Command-line interface to the OpenStack Cinder API.',
    epilog: 'Run "cinder help SUBCOMMAND" for help on a subcommand.',
    args: [
      { flags: ['-h', '--help'], dest: 'help', action: 'store_true', default: false, help: SUPPRESS },
      { flags: ['--version'], dest: 'version', action: 'version', help: "show program's version number and exit" },
      { flags: ['-d', '--debug'], dest: 'debug', action: 'store_true', default: Boolean(e('CINDERCLIENT_DEBUG')), help: 'Shows debugging output.' },
      o(['--os-auth-system'], 'os_auth_system', '<auth-system>', 'Defaults to env[OS_AUTH_SYSTEM].', e('OS_AUTH_SYSTEM')),
      hidden('--os_auth_system', 'os_auth_system'),
      o(['--service-type'], 'service_type', '<service-type>', 'Service type. For most actions, default is volume.'),
      hidden('--service_type', 'service_type'),
      o(['--service-name'], 'service_name', '<service-name>', 'Service name. Default=env[CINDER_SERVICE_NAME].', e('CINDER_SERVICE_NAME')),
      hidden('--service_name', 'service_name'),
      o(['--volume-service-name'], 'volume_service_name', '<volume-service-name>', 'Volume service name. Default=env[CINDER_VOLUME_SERVICE_NAME].', e('CINDER_VOLUME_SERVICE_NAME')),
      hidden('--volume_service_name', 'volume_service_name'),
      o(
        ['--os-endpoint-type'],
        'os_endpoint_type',
        '<os-endpoint-type>',
        'Endpoint type, which is publicURL or internalURL. Default=env[OS_ENDPOINT_TYPE] or nova env[CINDER_ENDPOINT_TYPE] or publicURL.',
        e('CINDER_ENDPOINT_TYPE', 'OS_ENDPOINT_TYPE') ?? 'publicURL',
      ),
      hidden('--os_endpoint_type', 'os_endpoint_type'),
      o(['--endpoint-type'], 'endpoint_type', '<endpoint-type>', 'DEPRECATED! Use --os-endpoint-type.'),
      hidden('--endpoint_type', 'endpoint_type'),
      o(['--os-volume-api-version'], 'os_volume_api_version', '<volume-api-ver>', 'Block Storage API version. Valid values are 1 or 2. Default=env[OS_VOLUME_API_VERSION].', e('OS_VOLUME_API_VERSION')),
      hidden('--os_volume_api_version', 'os_volume_api_version'),
      o(['--bypass-url'], 'bypass_url', '<bypass-url>', 'Use this API endpoint instead of the Service Catalog. Defaults to env[CINDERCLIENT_BYPASS_URL].', e('CINDERCLIENT_BYPASS_URL')),
      hidden('--bypass_url', 'bypass_url'),
      { flags: ['--retries'], dest: 'retries', metavar: '<retries>', type: 'int', default: 0, help: 'Number of retries.' },
      o(
        ['--os-auth-strategy'],
        'os_auth_strategy',
        '<auth-strategy>',
        'Authentication strategy (Env: OS_AUTH_STRATEGY, default keystone). For now, any other value will disable the authentication.',
        e('OS_AUTH_STRATEGY') ?? 'keystone',
      ),
      hidden('--os_auth_strategy', 'os_auth_strategy'),
      o(['--os-username'], 'os_username', '<auth-user-name>', 'OpenStack user name. Default=env[OS_USERNAME].', e('OS_USERNAME', 'CINDER_USERNAME')),
      hidden('--os_username', 'os_username'),
      o(['--os-password'], 'os_password', '<auth-password>', 'Password for OpenStack user. Default=env[OS_PASSWORD].', e('OS_PASSWORD', 'CINDER_PASSWORD')),
      hidden('--os_password', 'os_password'),
      o(['--os-tenant-name'], 'os_tenant_name', '<auth-tenant-name>', 'Tenant name. Default=env[OS_TENANT_NAME].', e('OS_TENANT_NAME', 'CINDER_PROJECT_ID')),
      hidden('--os_tenant_name', 'os_tenant_name'),
      o(['--os-tenant-id'], 'os_tenant_id', '<auth-tenant-id>', 'ID for the tenant. Default=env[OS_TENANT_ID].', e('OS_TENANT_ID', 'CINDER_TENANT_ID')),
      hidden('--os_tenant_id', 'os_tenant_id'),
      o(['--os-auth-url'], 'os_auth_url', '<auth-url>', 'URL for the authentication service. Default=env[OS_AUTH_URL].', e('OS_AUTH_URL', 'CINDER_URL')),
      hidden('--os_auth_url', 'os_auth_url'),
      o(['--os-user-id'], 'os_user_id', '<auth-user-id>', 'Authentication user ID (Env: OS_USER_ID).', e('OS_USER_ID')),
      hidden('--os_user_id', 'os_user_id'),
      o(['--os-user-domain-id'], 'os_user_domain_id', '<auth-user-domain-id>', 'OpenStack user domain ID. Defaults to env[OS_USER_DOMAIN_ID].', e('OS_USER_DOMAIN_ID')),
      hidden('--os_user_domain_id', 'os_user_domain_id'),
      o(['--os-user-domain-name'], 'os_user_domain_name', '<auth-user-domain-name>', 'OpenStack user domain name. Defaults to env[OS_USER_DOMAIN_NAME].', e('OS_USER_DOMAIN_NAME')),
      hidden('--os_user_domain_name', 'os_user_domain_name'),
      o(
        ['--os-project-id'],
        'os_project_id',
        '<auth-project-id>',
        'Another way to specify tenant ID. This option is mutually exclusive with  --os-tenant-id. Defaults to env[OS_PROJECT_ID].',
        e('OS_PROJECT_ID'),
      ),
      hidden('--os_project_id', 'os_project_id'),
      o(
        ['--os-project-name'],
        'os_project_name',
        '<auth-project-name>',
        'Another way to specify tenant name. This option is mutually exclusive with  --os-tenant-name. Defaults to env[OS_PROJECT_NAME].',
        e('OS_PROJECT_NAME'),
      ),
      hidden('--os_project_name', 'os_project_name'),
      o(['--os-project-domain-id'], 'os_project_domain_id', '<auth-project-domain-id>', 'Defaults to env[OS_PROJECT_DOMAIN_ID].', e('OS_PROJECT_DOMAIN_ID')),
      o(['--os-project-domain-name'], 'os_project_domain_name', '<auth-project-domain-name>', 'Defaults to env[OS_PROJECT_DOMAIN_NAME].', e('OS_PROJECT_DOMAIN_NAME')),
      o(['--os-region-name'], 'os_region_name', '<region-name>', 'Region name. Default=env[OS_REGION_NAME].', e('OS_REGION_NAME', 'CINDER_REGION_NAME')),
      hidden('--os_region_name', 'os_region_name'),
      o(['--os-token'], 'os_token', '<token>', 'Defaults to env[OS_TOKEN].', e('OS_TOKEN')),
      hidden('--os_token', 'os_token'),
      o(['--os-url'], 'os_url', '<url>', 'Defaults to env[OS_URL].', e('OS_URL')),
      hidden('--os_url', 'os_url'),
      // keystoneclient.session.Session.register_cli_options
      {
        flags: ['--insecure'],
        dest: 'insecure',
        action: 'store_true',
        default: false,
        help: 'Explicitly allow client to perform "insecure" TLS (https) requests. The server\'s certificate will not be verified against any certificate authorities. This option should be used with caution.',
      },
      o(['--os-cacert'], 'os_cacert', '<ca-certificate>', 'Specify a CA bundle file to use in verifying a TLS (https) server certificate. Defaults to env[OS_CACERT].', e('OS_CACERT')),
      o(['--os-cert'], 'os_cert', '<certificate>', 'Defaults to env[OS_CERT].', e('OS_CERT')),
      o(['--os-key'], 'os_key', '<key>', 'Defaults to env[OS_KEY].', e('OS_KEY')),
      o(['--timeout'], 'timeout', '<seconds>', 'Set request timeout (in seconds).', 600),
      o(['--state'], 'state', '<state-file>', 'novasim: the state file of the embedded cloud. Defaults to env[NOVASIM_STATE].'),
    ],
    subcommands: { metavar: '<subcommand>', choices: [] },
  };
}

const HELP_COMMAND: CommandDef = {
  name: 'help',
  doc: '\n        Shows help about this program or one of its subcommands.\n        ',
  args: [{ dest: 'command', metavar: '<subcommand>', nargs: '?', default: null, help: 'Shows help for <subcommand>.' }],
  async run() {
    return 0;
  },
};

/** _find_actions: the summary is the docstring's first line, the description all of it */
function summary(cmd: CommandDef): string {
  return cmd.doc.trim().split('\n')[0];
}

export function commandSpec(cmd: CommandDef): ParserSpec {
  return {
    prog: `cinder ${cmd.name}`,
    description: cmd.doc,
    args: [{ flags: ['-h', '--help'], dest: 'help', action: 'help', help: SUPPRESS }, ...cmd.args],
  };
}

async function fullHelp(env: NodeJS.ProcessEnv): Promise<string> {
  const cmds = (await Promise.all(Object.keys(COMMANDS).map((n) => loadCommand(n)))).filter((c): c is CommandDef => !!c);
  const choices = [...cmds, HELP_COMMAND].map((c) => ({ name: c.name, help: summary(c) }));
  return formatHelp({ ...globalSpec(env), subcommands: { metavar: '<subcommand>', choices } });
}

export class OpenStackCinderShell {
  constructor(
    private readonly io: ShellIO,
    private readonly connector: CloudConnector,
  ) {}

  /** cinderclient.shell.main(): returns the exit code */
  async main(argv: string[]): Promise<number> {
    try {
      return await this.run(argv);
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
        this.io.err('... terminating cinder client\n');
        return 130;
      }
      // cinderclient prints the message alone; a bug of ours still says it is one
      const line = errorLine(e);
      this.io.err(`ERROR: ${line.internal ? `(${line.cls}) ${line.msg}` : line.msg}\n`);
      return 1;
    }
  }

  private async run(argv: string[]): Promise<number> {
    const env = this.io.env;
    const gspec = globalSpec(env);
    const { ns: g, extras, rest } = parseKnownArgs(gspec, argv, CINDERCLIENT_VERSION);
    if (g.help || argv.length === 0) {
      this.io.out(await fullHelp(env));
      return 0;
    }
    if (!rest || rest.length === 0) {
      if (extras.length) throw new UsageError(gspec, `unrecognized arguments: ${extras.join(' ')}`);
      // Python 3's argparse: no subcommand means no args.func
      throw new Error("'Namespace' object has no attribute 'func'");
    }
    const name = rest[0];
    if (name !== 'help' && Object.prototype.hasOwnProperty.call(COMMANDS, name)) this.connector.prefetch?.();
    const cmd = name === 'help' ? HELP_COMMAND : await loadCommand(name);
    if (!cmd) {
      const choices = [...Object.keys(COMMANDS), 'help'].map((c) => `'${c}'`).join(', ');
      throw new UsageError(gspec, `argument <subcommand>: invalid choice: '${name}' (choose from ${choices})`);
    }
    const cspec = commandSpec(cmd);
    const parsed = parseKnownArgs(cspec, rest.slice(1));
    const args: Namespace = parsed.ns;
    const invalid = cmd.check?.(args);
    if (invalid) throw new UsageError(cspec, invalid);
    const unknown = [...extras, ...parsed.extras];
    if (unknown.length) throw new UsageError(gspec, `unrecognized arguments: ${unknown.join(' ')}`);

    if (cmd === HELP_COMMAND) {
      const sub = args.command as string | null;
      if (!sub) {
        this.io.out(await fullHelp(env));
        return 0;
      }
      const target = sub === 'help' ? HELP_COMMAND : await loadCommand(sub);
      if (!target) throw new CommandError(`'${sub}' is not a valid subcommand`);
      this.io.out(formatHelp(commandSpec(target)));
      return 0;
    }
    return this.runCommand(cmd, args, g);
  }

  private async runCommand(cmd: CommandDef, args: Namespace, g: Namespace): Promise<number> {
    const io = this.io;
    const debug = g.debug as boolean;
    let removeSink: (() => void) | undefined;
    if (debug) {
      // the embedded services' oslo.log records, as their log files would show them
      const { addLogSink, formatOslo } = await import('../common/log.js');
      removeSink = addLogSink((rec) => io.err(`${formatOslo(rec)}\n`));
    }
    let conn: CloudConnection;
    const debugLog = debug ? (line: string) => io.err(`${line}\n`) : undefined;
    try {
      const target = remoteTarget({ ...g, endpoint_type: g.os_endpoint_type ?? g.endpoint_type }, io.env, {
        projectName: (g.os_tenant_name as string | null) ?? (g.os_project_name as string | null) ?? null,
        projectId: (g.os_tenant_id as string | null) ?? (g.os_project_id as string | null) ?? null,
      });
      conn = await this.connector.open((g.state as string | null) ?? undefined, (line) => io.err(`${line}\n`), {
        target,
        debug: debugLog,
        userAgent: 'python-cinderclient',
      });
    } catch (e) {
      removeSink?.();
      throw e;
    }
    // Ctrl-C: the request in flight is finished by the services (the state stays whole),
    // then the client gives up as a killed cinderclient would
    let interrupted = false;
    io.setInterruptHandler(() => {
      interrupted = true;
    });
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
      const project = (g.os_tenant_name as string | null) ?? (g.os_project_name as string | null) ?? (user === 'admin' ? 'admin' : 'demo');
      // the API version is read from the catalog's endpoint URL (…/v2): another one asked for is refused
      const endpointVersion = /\/v(\d+)(?:\/|$)/.exec(conn.endpoints.volumev2)?.[1] ?? DEFAULT_VOLUME_API_VERSION;
      const requested = (g.os_volume_api_version as string | null) ?? DEFAULT_VOLUME_API_VERSION;
      if (requested !== endpointVersion) {
        throw new Error(
          `OpenStack Block Storage API version is set to ${requested} but you are accessing a ${endpointVersion} endpoint. ` +
            'Change its value through --os-volume-api-version or env[OS_VOLUME_API_VERSION].',
        );
      }
      const { makeClient } = await import('./v2/client.js');
      const cs = makeClient({
        transport,
        endpoints: conn.endpoints,
        token: conn.token ?? `${user}:${project}`,
        projectId: conn.projectId ?? project,
        debug: debugLog,
        verify: conn.verify,
      });
      const sh: ShellContext = { cs, out: io, debug };
      const code = (await cmd.run(sh, args)) ?? 0;
      if (interrupted) throw new KeyboardInterrupt();
      return code;
    } finally {
      await conn.close();
      io.setInterruptHandler(null);
      removeSink?.();
    }
  }
}
