// `nova-sim serve`: one long-running process that owns a world and serves its embedded
// cloud on a socket (docs/serve.md). The state is kept parsed in memory (OwnedStateStore);
// the ownership record tells other commands where the owner listens; SIGINT/SIGTERM stop it
// once the requests in flight are answered and the jobs running are settled the way Ctrl-C
// settles a swap in `nova` (the block job cancelled, nova-compute rolls back).
import { closeSync, openSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CommandError } from '../common/errors.js';
import { getLogger } from '../common/log.js';
import { strerror } from '../common/strerror.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { faultResponse, httpDate } from '../http/wsgi.js';
import { openEmbeddedCloud } from '../cloud/embedded.js';
import { simulatorHooks } from '../novasim/cloud.js';
import { OwnedStateStore } from '../state/owned-store.js';
import { createFrontDoor } from './front-door.js';
import { Keystone } from './keystone.js';
import { liveServer, removeOwnership, writeOwnership } from './ownership.js';

const LOG = getLogger('novasim.serve', 'nova-api');

/** osapi_max_request_body_size (oslo.middleware sizelimit, Nova's and Cinder's default) */
export const MAX_REQUEST_BODY = 114_688;

export interface ServeOptions {
  statePath: string;
  host: string;
  port: number;
  password: string;
  /** seconds a token lives */
  tokenTtl: number;
  noauth: boolean;
  /** seconds a client has to send its headers, and its whole request */
  headersTimeout: number;
  requestTimeout: number;
  /** called once the server listens, with the base URL */
  onListening?: (base: string, authUrl: string) => void;
  onNotice?: (line: string) => void;
}

export interface RunningServer {
  base: string;
  /** resolves once the server has stopped (after stop()) */
  stopped: Promise<void>;
  /** stops accepting, answers what is in flight, settles the jobs, closes the cloud */
  stop(): Promise<void>;
}

/** strerror(3) of what listen(2) and bind(2) fail with */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EACCES: 'Permission denied',
};

/** the one-writer lock of a served world: held on <state>.serve.lock while the server lives */
function takeServeLock(statePath: string): number {
  const fd = openSync(`${statePath}.serve.lock`, 'a');
  const req = createRequire(import.meta.url);
  const { flockSync } = req('fs-ext') as { flockSync: (fd: number, how: 'exnb') => void };
  try {
    flockSync(fd, 'exnb');
  } catch (err) {
    closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return -1;
    throw err;
  }
  return fd;
}

function refusedAsOwned(statePath: string): CommandError {
  const live = liveServer(statePath);
  const who = live ? `process ${live.pid} at ${live.url}` : 'another nova-sim serve';
  return new CommandError(`${statePath} is already served by ${who}; stop it first (kill -TERM ${live?.pid ?? '<pid>'})`);
}

/** Reads a request's body, at most MAX_REQUEST_BODY bytes: null when it is larger. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > MAX_REQUEST_BODY) {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > MAX_REQUEST_BODY) {
        over = true;
        // read no further: the request is answered and the connection closed
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const lockFd = takeServeLock(opts.statePath);
  if (lockFd < 0) throw refusedAsOwned(opts.statePath);
  let lockHeld = true;
  const releaseLock = () => {
    if (!lockHeld) return;
    lockHeld = false;
    closeSync(lockFd);
  };

  let cloud: Awaited<ReturnType<typeof openEmbeddedCloud>>;
  const store = new OwnedStateStore(opts.statePath, { beforeSave: simulatorHooks.beforeSave });
  try {
    cloud = await openEmbeddedCloud({
      statePath: opts.statePath,
      onNotice: opts.onNotice,
      simulator: simulatorHooks,
      store,
      bufferLogs: true,
    });
    store.read();
  } catch (err) {
    releaseLock();
    throw err;
  }

  let base = '';
  let keystone: Keystone | null = null;
  let door: ReturnType<typeof createFrontDoor> | null = null;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const server = createServer(
    {
      headersTimeout: opts.headersTimeout * 1000,
      requestTimeout: opts.requestTimeout * 1000,
      keepAliveTimeout: 5000,
      // how often the timeouts above are checked (Node's default is 30 s)
      connectionsCheckingInterval: Math.max(100, Math.min(1000, opts.headersTimeout * 500)),
    },
    (req, res) => void handle(req, res),
  );

  const send = (req: IncomingMessage, res: ServerResponse, out: HttpResponse, close = false) => {
    const headers: Record<string, string> = { ...out.headers };
    if (close) headers.Connection = 'close';
    res.writeHead(out.status, headers);
    res.end(req.method === 'HEAD' ? undefined : out.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    inFlight++;
    try {
      const body = await readBody(req);
      if (body === null) {
        // oslo.middleware's sizelimit, inside nova-api's FaultWrapper: webob's 413
        send(req, res, faultResponse(413, 'The data value transmitted exceeds the capacity limit.', { Date: httpDate() }), true);
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const hreq: HttpRequest = { method: req.method ?? 'GET', url: `${base}${req.url ?? '/'}`, headers, body: body === '' ? undefined : body };
      let out: HttpResponse;
      try {
        out = await (door as NonNullable<typeof door>)(hreq);
      } catch (err) {
        // the host's own storage failed under a request (a full disk): a 500, logged
        LOG.exception(`error serving ${hreq.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`, err);
        out = faultResponse(500, 'The server has either erred or is incapable of performing the requested operation.');
      }
      send(req, res, out);
    } catch {
      if (!res.headersSent) res.destroy();
    } finally {
      inFlight--;
      if (inFlight === 0) idle?.();
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await cloud.close();
    releaseLock();
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(`cannot listen on ${opts.host}:${opts.port}: ${LISTEN_ERRORS[code ?? ''] ?? strerror(code)} (${code ?? 'EIO'})`);
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  base = `http://${host}:${addr.port}`;
  keystone = new Keystone({ base, password: opts.password, tokenTtl: opts.tokenTtl, users: () => store.read().users });
  door = createFrontDoor({ cloud, keystone, store, base, noauth: opts.noauth });
  writeOwnership(opts.statePath, { pid: process.pid, url: base, authUrl: keystone.authUrl, startedAt: new Date().toISOString() });
  LOG.info(`nova-sim serve: serving ${opts.statePath} at ${base}`);
  opts.onListening?.(base, keystone.authUrl);

  let stopping: Promise<void> | null = null;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // no new connections; idle keep-alive ones are closed, busy ones after their answer
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((r) => (idle = r));
      server.closeAllConnections();
      await closed;
      // a swap running inside the server is settled as Ctrl-C settles it in `nova`
      cloud.interrupt();
      await cloud.drain();
      await cloud.close();
      removeOwnership(opts.statePath);
      releaseLock();
      resolveStopped();
    })();
    return stopping;
  };
  return { base, stopped, stop };
}
