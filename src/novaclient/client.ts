// novaclient.client.SessionClient + the bits of keystoneauth's Session the CLI shows:
// every request crosses a Transport (in-process to the embedded cloud, or a real socket
// later), carries the noauth2 token and the negotiated microversion, is logged curl-style
// under --debug, and non-2xx answers become novaclient exceptions.
import type { HttpRequest, HttpResponse, Transport } from '../http/types.js';
import { instrument } from '../trace/tracer.js';
import { ClientException, CommandError, fromResponse, getHeader, UnsupportedVersion } from './exceptions.js';
import { pyJson } from './pyfmt.js';
import { logRequest, logResponse, type VerifyOptions } from './session-log.js';

export type ServiceType = 'compute' | 'volumev2';

/** Mitaka's novaclient.API_MIN_VERSION / API_MAX_VERSION */
export const API_MIN_VERSION = '2.1';
export const API_MAX_VERSION = '2.25';
export const USER_AGENT = 'python-novaclient';

export interface ClientOptions {
  transport: Transport;
  /** service catalog: compute …/v2.1, volumev2 …/v2/<project_id> */
  endpoints: { compute: string; volumev2: string };
  /** noauth2 token "<user>:<project>" */
  token: string;
  projectId: string;
  /** --os-compute-api-version / OS_COMPUTE_API_VERSION ("2.latest" when unset) */
  requestedVersion?: string;
  /** where --debug lines go (stderr); absent = no logging */
  debug?: (line: string) => void;
  /** how TLS is verified (shown on the --debug curl lines) */
  verify?: VerifyOptions;
  /** the client's User-Agent (python-novaclient unless another client shares this session) */
  userAgent?: string;
}

export interface ApiResponse {
  resp: HttpResponse;
  body: unknown;
}

export interface APIVersion {
  major: number;
  minor: number;
  latest: boolean;
}

export function parseVersion(v: string): APIVersion {
  const m = /^(\d+)(?:\.(\d+|latest))?$/.exec(v.trim());
  if (!m) {
    throw new UnsupportedVersion(
      `The major version should be specified as X or X.latest, or as X.Y (where X and Y are integers). Got: '${v}'`,
    );
  }
  const major = Number(m[1]);
  if (m[2] === 'latest') return { major, minor: 0, latest: true };
  return { major, minor: m[2] === undefined ? 0 : Number(m[2]), latest: false };
}

const cmp = (a: APIVersion, b: APIVersion): number => a.major - b.major || a.minor - b.minor;
export const versionString = (v: APIVersion): string => (v.latest ? `${v.major}.latest` : `${v.major}.${v.minor}`);

/** volumev2 catalog URLs carry the project: …/v2/%(project_id)s, or a bare …/v2 */
function substituteProject(url: string, projectId: string): string {
  const placeholder = /%\(tenant_id\)s|%\(project_id\)s|\$\(tenant_id\)s|\$\(project_id\)s|<project_id>/g;
  if (placeholder.test(url)) return url.replace(placeholder, projectId);
  const bare = url.replace(/\/+$/, '');
  return /\/v\d+(\.\d+)?$/.test(bare) ? `${bare}/${projectId}` : bare;
}

/** utils.record_time: (what, start, end), times in seconds since the epoch */
export type Timing = [string, number, number];

/** time.time(): seconds, with the sub-millisecond part Python's clock has */
const now = (): number => (performance.timeOrigin + performance.now()) / 1000;

export class SessionClient {
  readonly endpoints: { compute: string; volumev2: string };
  apiVersion: APIVersion = { major: 2, minor: 0, latest: false };
  /** SessionClient.times: every request, as "METHOD url" (the url as the manager gave it) */
  readonly times: Timing[] = [];

  constructor(private readonly opts: ClientOptions) {
    this.endpoints = {
      compute: opts.endpoints.compute.replace(/\/+$/, ''),
      volumev2: substituteProject(opts.endpoints.volumev2, opts.projectId).replace(/\/+$/, ''),
    };
  }

  /** api_versions.discover_version: GET the compute endpoint, settle on min(client, server) */
  async discoverVersion(): Promise<APIVersion> {
    const requested = parseVersion(this.opts.requestedVersion || '2.latest');
    const clientMin = parseVersion(API_MIN_VERSION);
    const clientMax = parseVersion(API_MAX_VERSION);
    if (!requested.latest && cmp(requested, { major: 2, minor: 0, latest: false }) > 0) {
      if (cmp(requested, clientMin) < 0 || cmp(requested, clientMax) > 0) {
        throw new CommandError(
          `The specified version isn't supported by client. The valid version range is '${API_MIN_VERSION}' to '${API_MAX_VERSION}'`,
        );
      }
    }
    const { body } = await this.request('compute', 'GET', this.endpoints.compute, undefined, { noVersion: true, absolute: true });
    const version = (body as { version?: { version?: string; min_version?: string } } | null)?.version;
    const serverMax = version?.version ? parseVersion(version.version) : null;
    const serverMin = version?.min_version ? parseVersion(version.min_version) : null;
    let chosen: APIVersion;
    if (!requested.latest && requested.major === 2 && requested.minor === 0) {
      chosen = requested;
    } else if (!requested.latest) {
      if (!serverMax || !serverMin) throw new UnsupportedVersion("Server doesn't support microversions");
      if (cmp(requested, serverMin) < 0 || cmp(requested, serverMax) > 0) {
        throw new UnsupportedVersion(
          `The specified version isn't supported by server. The valid version range is '${versionString(serverMin)}' to '${versionString(serverMax)}'`,
        );
      }
      chosen = requested;
    } else if (!serverMax || !serverMin) {
      chosen = { major: 2, minor: 0, latest: false };
    } else if (cmp(clientMin, serverMax) > 0 || cmp(clientMax, serverMin) < 0) {
      const which = cmp(clientMin, serverMax) > 0 ? 'old' : 'new';
      throw new UnsupportedVersion(
        `Server version is too ${which}. The client valid version range is '${API_MIN_VERSION}' to '${API_MAX_VERSION}'. ` +
          `The server valid version range is '${versionString(serverMin)}' to '${versionString(serverMax)}'.`,
      );
    } else {
      chosen = cmp(clientMax, serverMax) <= 0 ? clientMax : serverMax;
    }
    this.apiVersion = chosen;
    return chosen;
  }

  async request(
    service: ServiceType,
    method: string,
    path: string,
    body?: unknown,
    flags: { noVersion?: boolean; absolute?: boolean } = {},
  ): Promise<ApiResponse> {
    const url = flags.absolute ? path : `${this.endpoints[service]}${path}`;
    const headers: Record<string, string> = {
      'User-Agent': this.opts.userAgent ?? USER_AGENT,
      Accept: 'application/json',
      'X-Auth-Token': this.opts.token,
    };
    let data: string | undefined;
    if (body !== undefined) {
      data = pyJson(body);
      headers['Content-Type'] = 'application/json';
    }
    const v = this.apiVersion;
    if (!flags.noVersion && (v.major > 2 || v.minor > 0)) headers['X-OpenStack-Nova-API-Version'] = versionString(v);
    const req: HttpRequest = { method, url, headers, body: data };
    if (this.opts.debug) logRequest(this.opts.debug, req, this.opts.verify);
    const start = now();
    const resp = await this.opts.transport.request(req);
    this.times.push([`${method} ${path}`, start, now()]);
    if (this.opts.debug) logResponse(this.opts.debug, resp, method, url, service);
    let parsed: unknown = null;
    if (resp.body) {
      try {
        parsed = JSON.parse(resp.body);
      } catch {
        parsed = null;
      }
    }
    if (resp.status >= 400) throw fromResponse(resp, parsed, url, method);
    return { resp, body: parsed };
  }

  get(service: ServiceType, path: string): Promise<ApiResponse> {
    return this.request(service, 'GET', path);
  }
  post(service: ServiceType, path: string, body: unknown): Promise<ApiResponse> {
    return this.request(service, 'POST', path, body);
  }
  put(service: ServiceType, path: string, body: unknown): Promise<ApiResponse> {
    return this.request(service, 'PUT', path, body);
  }
  delete(service: ServiceType, path: string): Promise<ApiResponse> {
    return this.request(service, 'DELETE', path);
  }
}

export function isClientException(e: unknown): e is ClientException {
  return e instanceof ClientException;
}

// --trace: every request the client sends, and the answer it got (keystoneauth's
// Session.request is where novaclient's REQ/RESP lines come from)
instrument(
  SessionClient.prototype,
  'request',
  { name: 'Session.request()', location: 'keystoneauth1/session.py', layer: 'keystoneauth1', service: 'novaclient', kind: 'http-client' },
  function (this: SessionClient, service: ServiceType, method: string, path: string, body?: unknown, flags: { absolute?: boolean } = {}) {
    return { method, url: flags.absolute ? path : `${this.endpoints[service]}${path}`, ...(body !== undefined ? { body } : {}) };
  },
  (r: ApiResponse) => {
    const rid = getHeader(r.resp.headers, 'x-openstack-request-id') ?? getHeader(r.resp.headers, 'x-compute-request-id');
    return `HTTP ${r.resp.status}${rid ? ` ${rid}` : ''}`;
  },
);
