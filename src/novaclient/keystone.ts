// keystoneauth1 (Mitaka: 2.4.x) as novaclient's and cinderclient's shells use it: the generic
// password plugin (identity/generic/password.py) discovers the identity API behind an
// unversioned auth URL, asks Keystone v3 for a project-scoped token, and the service catalog
// of that token names the endpoints (access/service_catalog.py: by service type, interface
// and region).
import { SimError } from '../common/errors.js';
import { UnknownConnectionError } from '../http/socket.js';
import type { HttpRequest, HttpResponse, Transport } from '../http/types.js';
import { getHeader } from './exceptions.js';
import { logRequest, logResponse, type DebugLog, type VerifyOptions } from './session-log.js';

/** keystoneauth1.exceptions.DiscoveryFailure */
export class DiscoveryFailure extends SimError {
  constructor(message = 'Discovery of client versions failed.') {
    super('DiscoveryFailure', message);
  }
}

/** keystoneauth1.exceptions.EndpointNotFound */
export class EndpointNotFound extends SimError {
  constructor(message = 'Could not find requested endpoint in Service Catalog.') {
    super('EndpointNotFound', message);
  }
}

/** keystoneauth1.exceptions.http.*: "<message> (HTTP <status>)[ (Request-ID: <id>)]" */
export class KeystoneHttpError extends SimError {
  constructor(
    kind: string,
    readonly status: number,
    message: string,
    readonly requestId: string | null,
  ) {
    super(kind, `${message} (HTTP ${status})${requestId ? ` (Request-ID: ${requestId})` : ''}`);
  }
}

/** keystoneauth1.exceptions.http._code_map: the class and default message of each status */
const HTTP_ERRORS: Record<number, [string, string]> = {
  300: ['MultipleChoices', 'Multiple Choices'],
  400: ['BadRequest', 'Bad Request'],
  401: ['Unauthorized', 'Unauthorized'],
  402: ['PaymentRequired', 'Payment Required'],
  403: ['Forbidden', 'Forbidden'],
  404: ['NotFound', 'Not Found'],
  405: ['MethodNotAllowed', 'Method Not Allowed'],
  406: ['NotAcceptable', 'Not Acceptable'],
  407: ['ProxyAuthenticationRequired', 'Proxy Authentication Required'],
  408: ['RequestTimeout', 'Request Timeout'],
  409: ['Conflict', 'Conflict'],
  410: ['Gone', 'Gone'],
  411: ['LengthRequired', 'Length Required'],
  412: ['PreconditionFailed', 'Precondition Failed'],
  413: ['RequestEntityTooLarge', 'Request Entity Too Large'],
  414: ['RequestUriTooLong', 'Request-URI Too Long'],
  415: ['UnsupportedMediaType', 'Unsupported Media Type'],
  416: ['RequestedRangeNotSatisfiable', 'Requested Range Not Satisfiable'],
  417: ['ExpectationFailed', 'Expectation Failed'],
  422: ['UnprocessableEntity', 'Unprocessable Entity'],
  500: ['InternalServerError', 'Internal Server Error'],
  501: ['HttpNotImplemented', 'Not Implemented'],
  502: ['BadGateway', 'Bad Gateway'],
  503: ['ServiceUnavailable', 'Service Unavailable'],
  504: ['GatewayTimeout', 'Gateway Timeout'],
  505: ['HttpVersionNotSupported', 'HTTP Version Not Supported'],
};

/** keystoneauth1.exceptions.http.from_response */
export function keystoneFromResponse(resp: HttpResponse): KeystoneHttpError {
  const requestId = getHeader(resp.headers, 'x-openstack-request-id') ?? null;
  const known = HTTP_ERRORS[resp.status];
  const [kind, dflt] = known ?? (resp.status >= 500 ? ['HttpServerError', 'HTTP Server Error'] : resp.status >= 400 ? ['HTTPClientError', 'HTTP Client Error'] : ['HttpError', 'HTTP Error']);
  let message = dflt;
  if ((getHeader(resp.headers, 'content-type') ?? '').startsWith('application/json')) {
    try {
      const body = JSON.parse(resp.body) as { error?: { message?: unknown } };
      if (body && typeof body.error === 'object' && body.error && typeof body.error.message === 'string' && body.error.message) message = body.error.message;
    } catch {
      // not JSON after all: the default message
    }
  }
  return new KeystoneHttpError(kind, resp.status, message, requestId);
}

export interface PasswordAuth {
  authUrl: string;
  username: string | null;
  userId: string | null;
  password: string;
  projectName: string | null;
  projectId: string | null;
  userDomainName: string | null;
  userDomainId: string | null;
  projectDomainName: string | null;
  projectDomainId: string | null;
}

export interface CatalogEndpoint {
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
}

export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export interface AccessInfo {
  token: string;
  projectId: string;
  userId: string | null;
  catalog: CatalogService[];
}

interface Session {
  transport: Transport;
  debug?: DebugLog;
  verify?: VerifyOptions;
  userAgent: string;
}

async function send(s: Session, req: HttpRequest, log: boolean): Promise<HttpResponse> {
  if (log && s.debug) logRequest(s.debug, req, s.verify);
  const resp = await s.transport.request(req);
  if (log && s.debug) logResponse(s.debug, resp, req.method, req.url, 'identity');
  return resp;
}

interface VersionEntry {
  id?: string;
  status?: string;
  links?: { rel?: string; href?: string }[];
}

/** discover.get_version_data: the versions a GET of the auth URL lists ({"versions": …} or {"version": …}) */
function versionData(body: unknown): VersionEntry[] {
  if (!body || typeof body !== 'object') return [];
  const b = body as { versions?: unknown; version?: unknown };
  if (b.versions && typeof b.versions === 'object') {
    const values = Array.isArray(b.versions) ? b.versions : (b.versions as { values?: unknown }).values;
    if (Array.isArray(values)) return values as VersionEntry[];
  }
  if (b.version && typeof b.version === 'object') return [b.version as VersionEntry];
  return [];
}

/**
 * The identity v3 URL behind `authUrl`: GET it (unauthenticated, logged), take the newest
 * stable v3.x it lists; an auth URL whose path is already /v3 is used as it is when
 * discovery fails, as the generic plugin falls back on the URL's own version.
 */
export async function discoverIdentityV3(s: Session, authUrl: string): Promise<string> {
  let path: string;
  try {
    path = new URL(authUrl).pathname;
  } catch {
    throw new UnknownConnectionError(authUrl, `Invalid URL '${authUrl}': No schema supplied`);
  }
  const versioned = /\/v3\/?$/.test(path);
  let resp: HttpResponse;
  try {
    resp = await send(s, { method: 'GET', url: authUrl, headers: { Accept: 'application/json', 'User-Agent': s.userAgent } }, true);
  } catch (e) {
    // the generic plugin falls back on the URL's version when discovery cannot connect
    if (versioned && e instanceof SimError) return authUrl.replace(/\/+$/, '');
    throw e;
  }
  let body: unknown = null;
  try {
    body = JSON.parse(resp.body);
  } catch {
    body = null;
  }
  if (resp.status !== 200 && resp.status !== 300) {
    if (versioned) return authUrl.replace(/\/+$/, '');
    throw keystoneFromResponse(resp);
  }
  const v3 = versionData(body)
    .filter((v) => /^v3(\.\d+)?$/.test(v.id ?? '') && !/^(deprecated|experimental)$/i.test(v.status ?? ''))
    .map((v) => ({ minor: Number((v.id ?? 'v3.0').split('.')[1] ?? 0), href: v.links?.find((l) => l.rel === 'self')?.href }))
    .filter((v): v is { minor: number; href: string } => !!v.href)
    .sort((a, b) => b.minor - a.minor)[0];
  if (v3) return new URL(v3.href, authUrl).toString().replace(/\/+$/, '');
  if (versioned) return authUrl.replace(/\/+$/, '');
  throw new DiscoveryFailure('Could not determine a suitable URL for the plugin');
}

/** identity/v3/password.py: the body of POST /v3/auth/tokens for a project-scoped token */
export function passwordAuthBody(a: PasswordAuth): unknown {
  const user: Record<string, unknown> = { password: a.password };
  if (a.userId) user.id = a.userId;
  if (a.username) user.name = a.username;
  if (!a.userId) {
    if (a.userDomainId) user.domain = { id: a.userDomainId };
    else user.domain = { name: a.userDomainName ?? 'Default' };
  }
  const project: Record<string, unknown> = {};
  if (a.projectId) project.id = a.projectId;
  if (a.projectName) project.name = a.projectName;
  if (!a.projectId) {
    if (a.projectDomainId) project.domain = { id: a.projectDomainId };
    else project.domain = { name: a.projectDomainName ?? 'Default' };
  }
  return { auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } };
}

/** the generic password plugin's get_auth_ref: discovery, then a v3 token (its request is not logged, as keystoneauth 2.4 sends it with log=False) */
export async function authenticate(s: Session, a: PasswordAuth): Promise<AccessInfo> {
  const v3 = await discoverIdentityV3(s, a.authUrl);
  const req: HttpRequest = {
    method: 'POST',
    url: `${v3}/auth/tokens`,
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'User-Agent': s.userAgent },
    body: JSON.stringify(passwordAuthBody(a)),
  };
  const resp = await send(s, req, false);
  if (resp.status >= 400) throw keystoneFromResponse(resp);
  const token = getHeader(resp.headers, 'x-subject-token');
  let body: { token?: { project?: { id?: string }; user?: { id?: string }; catalog?: CatalogService[] } } = {};
  try {
    body = JSON.parse(resp.body) as typeof body;
  } catch {
    body = {};
  }
  if (!token || !body.token) throw new DiscoveryFailure('Invalid response from the identity service: no token');
  return {
    token,
    projectId: body.token.project?.id ?? a.projectId ?? '',
    userId: body.token.user?.id ?? null,
    catalog: Array.isArray(body.token.catalog) ? body.token.catalog : [],
  };
}

/** novaclient's endpoint_type (publicURL, internal, adminURL …) as a v3 interface */
export function interfaceOf(endpointType: string | null | undefined): string {
  const t = (endpointType ?? 'publicURL').replace(/URL$/, '');
  return t || 'public';
}

/** ServiceCatalogV3.url_for(service_type, interface, region_name): null when absent */
export function urlFor(catalog: CatalogService[], serviceType: string, iface: string, region: string | null | undefined): string | null {
  for (const svc of catalog) {
    if (svc.type !== serviceType) continue;
    for (const ep of svc.endpoints ?? []) {
      if (ep.interface !== iface) continue;
      if (region && ep.region !== region && ep.region_id !== region) continue;
      return ep.url;
    }
  }
  return null;
}
