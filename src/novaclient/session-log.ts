// keystoneauth1.session's --debug lines (Session._http_log_request / _http_log_response):
// every request the clients send, to the embedded cloud or over a socket, is shown the same
// way: the curl command line with its headers sorted and the tokens hashed, the answer's
// status and headers, its body when it is JSON or text.
import { createRequire } from 'node:module';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { getHeader } from './exceptions.js';

export type DebugLog = (line: string) => void;

/** how the session verifies TLS, which the curl line shows (keystoneauth: --insecure, --cacert) */
export interface VerifyOptions {
  insecure?: boolean;
  cacert?: string | null;
}

function sortedHeaders(h: Record<string, string>): [string, string][] {
  return Object.entries(h).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const SECRET_HEADERS = new Set(['authorization', 'x-auth-token', 'x-subject-token', 'x-service-token']);

// node:crypto is only needed to log under --debug; loading it costs startup time otherwise
const require = createRequire(import.meta.url);

/** Session._process_header: keystoneauth (Mitaka, 2.4.x) logs a token as the SHA-1 of it */
export function processHeader(name: string, value: string): string {
  if (SECRET_HEADERS.has(name.toLowerCase())) {
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    return `{SHA1}${createHash('sha1').update(value).digest('hex')}`;
  }
  return value;
}

/** Session._http_log_request */
export function logRequest(log: DebugLog, req: HttpRequest, verify: VerifyOptions = {}): void {
  const parts = ['REQ: curl -g -i'];
  if (verify.insecure) parts.push('--insecure');
  else if (verify.cacert) parts.push(`--cacert "${verify.cacert}"`);
  parts.push(`-X ${req.method}`, req.url);
  for (const [k, v] of sortedHeaders(req.headers)) parts.push(`-H "${k}: ${processHeader(k, v)}"`);
  if (req.body) parts.push(`-d '${req.body}'`);
  log(`DEBUG (session:519) ${parts.join(' ')}`);
}

/** Session._http_log_response, then the request id line of the adapter */
export function logResponse(log: DebugLog, resp: HttpResponse, method: string, url: string, service: string): void {
  const parts = ['RESP:', `[${resp.status}]`];
  for (const [k, v] of sortedHeaders(resp.headers)) parts.push(`${k}: ${processHeader(k, v)}`);
  log(`DEBUG (session:550) ${parts.join(' ')}`);
  const ctype = getHeader(resp.headers, 'content-type');
  if (ctype && (ctype.startsWith('application/json') || ctype.startsWith('text/plain'))) {
    log(`DEBUG (session:582) RESP BODY: ${resp.body}`);
  } else {
    log(
      `DEBUG (session:582) RESP BODY: Omitted, Content-Type is set to ${ctype ?? 'None'}. ` +
        'Only application/json, text/plain responses have their bodies logged.',
    );
  }
  const rid = getHeader(resp.headers, 'x-openstack-request-id') ?? getHeader(resp.headers, 'x-compute-request-id');
  if (rid) log(`DEBUG (session:954) ${method} call to ${service} for ${url} used request id ${rid}`);
}
