// Keystone v3, as much of it as clients need to reach the served cloud: the version
// documents, password authentication (POST /v3/auth/tokens → 201 with X-Subject-Token and a
// token body holding the catalog), token validation (GET/HEAD /v3/auth/tokens), and
// keystonemiddleware's answer to a request without a valid token. Users are the state's
// (devstack's demo and admin); they all have one password (`secret` unless told otherwise).
// Tokens are random and live in the server's memory until they expire.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthUser } from '../common/auth.js';
import { header } from '../common/auth.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { emptyResponse, jsonResponse } from '../http/wsgi.js';

export const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const;

export interface Token {
  id: string;
  user: AuthUser;
  project: AuthUser['projects'][number];
  issuedAt: Date;
  expiresAt: Date;
  auditId: string;
}

export interface KeystoneOptions {
  /** e.g. http://127.0.0.1:8774 */
  base: string;
  password: string;
  /** seconds a token lives */
  tokenTtl: number;
  users: () => readonly AuthUser[];
}

/** keystone's ISO 8601 with microseconds: 2016-05-03T09:12:44.000000Z */
function isoMicro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** a stable role id for a role name (Keystone's are uuid4 hex) */
function roleId(name: string): string {
  return createHash('md5').update(`role:${name}`).digest('hex');
}

/** keystone.exception.Unauthorized (the identity API's own 401) */
function unauthorized(message: string): HttpResponse {
  return jsonResponse(401, { error: { message, code: 401, title: 'Unauthorized' } });
}

function badRequest(message: string): HttpResponse {
  return jsonResponse(400, { error: { message, code: 400, title: 'Bad Request' } });
}

function notFound(message: string): HttpResponse {
  return jsonResponse(404, { error: { message, code: 404, title: 'Not Found' } });
}

export class Keystone {
  private tokens = new Map<string, Token>();

  constructor(private readonly opts: KeystoneOptions) {}

  get authUrl(): string {
    return `${this.opts.base}/identity/v3`;
  }

  /** the catalog every token carries (region RegionOne; public, internal and admin alike) */
  catalog(projectId: string): Record<string, unknown>[] {
    const b = this.opts.base;
    const services: [string, string, string][] = [
      ['compute', 'nova', `${b}/v2.1`],
      ['volumev2', 'cinderv2', `${b}/volume/v2/${projectId}`],
      ['volumev3', 'cinderv3', `${b}/volume/v3/${projectId}`],
      ['image', 'glance', `${b}/image`],
      ['identity', 'keystone', `${b}/identity/v3`],
    ];
    return services.map(([type, name, url]) => {
      const id = createHash('md5').update(`service:${type}`).digest('hex');
      return {
        id,
        type,
        name,
        endpoints: ['public', 'internal', 'admin'].map((iface) => ({
          id: createHash('md5').update(`endpoint:${type}:${iface}`).digest('hex'),
          interface: iface,
          region: 'RegionOne',
          region_id: 'RegionOne',
          url,
        })),
      };
    });
  }

  /** the token an X-Auth-Token names, if it is known and not expired */
  validate(id: string | undefined): Token | null {
    if (!id) return null;
    const t = this.tokens.get(id);
    if (!t) return null;
    if (t.expiresAt.getTime() <= Date.now()) {
      this.tokens.delete(id);
      return null;
    }
    return t;
  }

  /** keystonemiddleware's 401 (auth_token _reject_request) */
  rejectResponse(): HttpResponse {
    const res = jsonResponse(401, { error: { message: 'The request you have made requires authentication.', code: 401, title: 'Unauthorized' } });
    res.headers['WWW-Authenticate'] = `Keystone uri='${this.opts.base}/identity'`;
    return res;
  }

  /** GET /identity: the versions Keystone serves (v3 only here) */
  versions(status: number): HttpResponse {
    return jsonResponse(status, { versions: { values: [this.v3Doc()] } });
  }

  private v3Doc(): Record<string, unknown> {
    return {
      id: 'v3.6',
      status: 'stable',
      updated: '2016-04-04T00:00:00Z',
      links: [{ rel: 'self', href: `${this.opts.base}/identity/v3/` }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
    };
  }

  /** Every request under /identity. `path` is the path after /identity. */
  async handle(req: HttpRequest, path: string, body: unknown): Promise<HttpResponse> {
    if (path === '' || path === '/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return jsonResponse(405, { error: { message: 'The method is not allowed for the requested URL.', code: 405, title: 'Method Not Allowed' } });
      // Keystone answers its versions list with 300 Multiple Choices
      return this.versions(300);
    }
    if (path === '/v3' || path === '/v3/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return jsonResponse(405, { error: { message: 'The method is not allowed for the requested URL.', code: 405, title: 'Method Not Allowed' } });
      return jsonResponse(200, { version: this.v3Doc() });
    }
    if (path === '/v3/auth/tokens') {
      if (req.method === 'POST') return this.issue(body);
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') {
        const caller = this.validate(header(req.headers, 'X-Auth-Token'));
        if (!caller) return unauthorized('The request you have made requires authentication.');
        const subjectId = header(req.headers, 'X-Subject-Token');
        const subject = this.validate(subjectId);
        if (!subject || !subjectId) return notFound(`Could not find token: ${subjectId ?? ''}`);
        if (req.method === 'DELETE') {
          this.tokens.delete(subjectId);
          return emptyResponse(204);
        }
        const res = jsonResponse(200, { token: this.tokenBody(subject) }, { 'X-Subject-Token': subjectId });
        return req.method === 'HEAD' ? { ...res, body: '' } : res;
      }
      return jsonResponse(405, { error: { message: 'The method is not allowed for the requested URL.', code: 405, title: 'Method Not Allowed' } });
    }
    // the rest of the identity API (users, projects, catalog …) is not served
    return notFound('The resource could not be found.');
  }

  /** POST /v3/auth/tokens with the password method */
  private issue(body: unknown): HttpResponse {
    const auth = (body as { auth?: { identity?: { methods?: unknown; password?: { user?: Record<string, unknown> } }; scope?: unknown } } | null)?.auth;
    const identity = auth?.identity;
    if (!identity || !Array.isArray(identity.methods)) return badRequest("Expecting to find identity in auth. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
    if (!identity.methods.includes('password')) return unauthorized('The request you have made requires authentication.');
    const u = identity.password?.user;
    if (!u || typeof u !== 'object') return badRequest('Expecting to find user in password. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
    const users = this.opts.users();
    const user = users.find((x) => (typeof u.id === 'string' && x.id === u.id) || (typeof u.name === 'string' && x.name === u.name));
    if (!user || !this.passwordMatches(u.password)) return unauthorized('The request you have made requires authentication.');
    // a scope names a project by id, or by name within a domain; none: the default project
    const scope = auth?.scope as { project?: { id?: unknown; name?: unknown } } | 'unscoped' | undefined;
    let project: AuthUser['projects'][number] | undefined;
    if (scope && typeof scope === 'object' && scope.project) {
      const p = scope.project;
      project = user.projects.find((x) => (typeof p.id === 'string' && x.projectId === p.id) || (typeof p.name === 'string' && x.projectName === p.name));
      if (!project) return unauthorized(`User ${user.id} has no access to project ${String(p.id ?? p.name)}`);
    } else {
      project = user.projects.find((x) => x.projectName === user.defaultProject || x.projectId === user.defaultProject);
      if (!project) return unauthorized('The request you have made requires authentication.');
    }
    const now = new Date();
    const token: Token = {
      id: randomBytes(16).toString('hex'),
      user,
      project,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + this.opts.tokenTtl * 1000),
      auditId: randomBytes(16).toString('base64url').slice(0, 22),
    };
    this.tokens.set(token.id, token);
    return jsonResponse(201, { token: this.tokenBody(token) }, { 'X-Subject-Token': token.id });
  }

  private passwordMatches(given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.opts.password);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private tokenBody(t: Token): Record<string, unknown> {
    return {
      methods: ['password'],
      user: { domain: DEFAULT_DOMAIN, id: t.user.id, name: t.user.name },
      audit_ids: [t.auditId],
      expires_at: isoMicro(t.expiresAt),
      issued_at: isoMicro(t.issuedAt),
      project: { domain: DEFAULT_DOMAIN, id: t.project.projectId, name: t.project.projectName },
      is_domain: false,
      roles: t.project.roles.map((name) => ({ id: roleId(name), name })),
      catalog: this.catalog(t.project.projectId),
    };
  }
}
