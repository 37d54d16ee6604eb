// A Transport over real sockets (node:http / node:https), for a client pointed at a served
// novasim or at a real cloud: what python-requests is to keystoneauth's Session. One
// keep-alive agent per scheme, so every request of a command reuses one connection.
//
// Failures to reach the server become keystoneauth1's exceptions (Mitaka: 2.4.x,
// session._send_request), which novaclient's shell prints as "ERROR (<class>): <message>":
//   refused, unreachable, unknown host, reset → ConnectFailure "Unable to establish connection to <url>"
//   --timeout elapsed                         → ConnectTimeout "Request to <url> timed out"
//   TLS verification or handshake             → SSLError "SSL exception connecting to <url>: <error>"
import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { LookupFunction } from 'node:net';
import { createRequire } from 'node:module';
import { SimError } from '../common/errors.js';
import type { HttpRequest, HttpResponse, Transport } from './types.js';

/** keystoneauth1.exceptions.ConnectFailure */
export class ConnectFailure extends SimError {
  constructor(url: string) {
    super('ConnectFailure', `Unable to establish connection to ${url}`);
  }
}

/** keystoneauth1.exceptions.ConnectTimeout */
export class ConnectTimeout extends SimError {
  constructor(url: string) {
    super('ConnectTimeout', `Request to ${url} timed out`);
  }
}

/** keystoneauth1.exceptions.SSLError */
export class SSLError extends SimError {
  constructor(url: string, error: string) {
    super('SSLError', `SSL exception connecting to ${url}: ${error}`);
  }
}

/** keystoneauth1.exceptions.UnknownConnectionError */
export class UnknownConnectionError extends SimError {
  constructor(url: string, error: string) {
    super('UnknownConnectionError', `Unexpected exception for ${url}: ${error}`);
  }
}

export interface SocketTransportOptions {
  /** --insecure: do not verify the server's certificate */
  insecure?: boolean;
  /** --os-cacert / OS_CACERT: a CA bundle (PEM) to verify the server's certificate with */
  cacert?: string | null;
  /** --os-cert / --os-key: a client certificate */
  cert?: string | null;
  key?: string | null;
  /** --timeout: seconds a request may take (connect and answer); none by default, as requests */
  timeoutSeconds?: number | null;
  /** name resolution (tests inject failures); node's dns.lookup by default */
  lookup?: LookupFunction;
}

/** the TLS errors Node reports by code (certificate checks and handshakes) */
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_OSSL_)/;
/** the socket errors requests reports as a ConnectionError */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EPIPE', 'EADDRNOTAVAIL', 'ECONNABORTED']);

// node:http and node:https load on the first request: `nova list` on the embedded cloud never pays for them
const require = createRequire(import.meta.url);

/** the error a failed request becomes, as keystoneauth words it */
export function connectionError(url: string, err: NodeJS.ErrnoException): SimError {
  const code = err.code ?? '';
  if (TLS_CODES.test(code)) {
    // Python's ssl module names a failed verification CERTIFICATE_VERIFY_FAILED; Node's code says why
    const verify = !/^ERR_(TLS|SSL|OSSL)_/.test(code);
    return new SSLError(url, verify ? `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (${code})` : `[SSL] ${err.message}`);
  }
  if (CONNECT_CODES.has(code)) return new ConnectFailure(url);
  return new UnknownConnectionError(url, err.message);
}

export class SocketTransport implements Transport {
  private agents = new Map<string, HttpAgent>();
  /** sockets opened so far (tests check that keep-alive reuses one) */
  connections = 0;

  constructor(private readonly opts: SocketTransportOptions = {}) {}

  private agent(protocol: string): HttpAgent {
    let agent = this.agents.get(protocol);
    if (agent) return agent;
    if (protocol === 'https:') {
      const https = require('node:https') as typeof import('node:https');
      agent = new https.Agent({
        keepAlive: true,
        maxSockets: 10,
        rejectUnauthorized: !this.opts.insecure,
        ...(this.opts.cacert ? { ca: readFileSync(this.opts.cacert) } : {}),
        ...(this.opts.cert ? { cert: readFileSync(this.opts.cert) } : {}),
        ...(this.opts.key ? { key: readFileSync(this.opts.key) } : {}),
      });
    } else {
      const http = require('node:http') as typeof import('node:http');
      agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    }
    this.agents.set(protocol, agent);
    return agent;
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    let u: URL;
    try {
      u = new URL(req.url);
    } catch {
      // requests.exceptions.InvalidURL / MissingSchema
      return Promise.reject(new UnknownConnectionError(req.url, `Invalid URL '${req.url}': No schema supplied`));
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      return Promise.reject(new UnknownConnectionError(req.url, `No connection adapters were found for '${req.url}'`));
    }
    const mod = (u.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http');
    const headers: Record<string, string | number> = { ...req.headers };
    const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    if (body) headers['Content-Length'] = body.length;
    const options: RequestOptions = {
      method: req.method,
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || undefined,
      path: `${u.pathname}${u.search}`,
      headers,
      agent: this.agent(u.protocol),
      ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
    };
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (e: SimError): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      const r: ClientRequest = mod.request(options, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e: NodeJS.ErrnoException) => fail(connectionError(req.url, e)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: rawHeaders(res.rawHeaders), body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      r.on('socket', (s) => {
        // a socket the agent hands back already connected is a reused one
        if (!s.remoteAddress || s.connecting) this.connections++;
      });
      r.on('error', (e: NodeJS.ErrnoException) => fail(connectionError(req.url, e)));
      const t = this.opts.timeoutSeconds;
      if (t && t > 0) {
        r.setTimeout(t * 1000, () => {
          fail(new ConnectTimeout(req.url));
          r.destroy();
        });
      }
      r.end(body);
    });
  }

  /** closes the kept-alive connections (the process may exit without waiting for them) */
  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/** the response's headers as the server wrote them (names keep their case, as requests shows them) */
function rawHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const existing = Object.keys(out).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing) out[existing] = `${out[existing]}, ${raw[i + 1]}`;
    else out[name] = raw[i + 1];
  }
  return out;
}
