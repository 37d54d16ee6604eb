// nova-sim serve: host the embedded cloud of a state file on a socket, for real clients
// (python-novaclient, openstackclient, curl) and for novasim's own commands (src/serve/).
import { Command } from 'commander';
import { act, ensureState, interruptibly, type SimContext } from '../context.js';
import { epilog, int, seconds, usageError } from '../options.js';

interface ServeOpts {
  host: string;
  port: number;
  password?: string;
  tokenTtl: number;
  noauth?: true;
  clientTimeout: number;
}

export function serveCommand(ctx: SimContext): Command {
  const cmd = new Command('serve')
    .description('Serve the embedded cloud of the state file over HTTP (Nova v2.1, Keystone v3, Cinder v2/v3, Glance v2) until Ctrl-C.')
    .option('--host <address>', 'Address to listen on.', '127.0.0.1')
    .option('--port <port>', 'Port to listen on (0: any free port).', int, 8774)
    .option('--password <password>', "Every user's password. Defaults to env[NOVASIM_PASSWORD], else 'secret'.")
    .option('--token-ttl <seconds>', 'Seconds a Keystone token lives.', seconds, 3600)
    .option('--noauth', "Nova's auth_strategy=noauth2: X-Auth-Token is \"<user>:<project>\" and no Keystone token is needed.")
    .option('--client-timeout <seconds>', 'Seconds a client has to send a whole request (its headers: at most 20).', seconds, 60);
  epilog(
    cmd,
    'The server owns the state while it runs: it writes <state>.serve.json (its pid and URL), and nova, cinder and nova-sim ' +
      'on that state talk to it. SIGINT or SIGTERM stop it once the requests in flight are answered and a running swap is settled.',
  );
  return act(cmd, ctx, async () => {
    const o = cmd.opts<ServeOpts>();
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usageError(cmd, `option '--port <port>' argument '${o.port}' is invalid. Expected a port number (0-65535).`);
    const statePath = ctx.statePath();
    // the interrupted operations are told once, by the cloud as it opens
    await ensureState(statePath, ctx.err, true);
    const { startServer } = await import('../../../serve/server.js');
    return interruptibly(async (signal) => {
      const running = await startServer({
        statePath,
        host: o.host,
        port: o.port,
        password: o.password ?? process.env.NOVASIM_PASSWORD ?? 'secret',
        tokenTtl: o.tokenTtl,
        noauth: o.noauth === true,
        requestTimeout: o.clientTimeout,
        headersTimeout: Math.min(20, o.clientTimeout),
        onListening: (base, authUrl) => ctx.out(`Serving ${statePath} at ${base} (identity ${authUrl}); Ctrl-C stops.\n`),
        onNotice: (line) => ctx.err(`${line}\n`),
      });
      const onAbort = () => {
        ctx.err('Stopping: answering the requests in flight, settling running jobs...\n');
        void running.stop();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      await running.stopped;
      ctx.out('Stopped.\n');
      return 0;
    });
  });
}
