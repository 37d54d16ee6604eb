// What stands in front of the services when novasim serves a world on a socket: the
// devstack-like path prefixes (Nova at /v2.1 and the legacy /v2/{tenant_id}, Keystone at
// /identity, Cinder at /volume/v2|v3/{project_id}, Glance at /image), keystonemiddleware's
// auth_token (a valid X-Auth-Token or a 401), and the hand-over to the same in-process
// handlers the CLI uses, with the validated identity as the noauth2 token the handlers read.
//
// The services answer with links on their in-process origins (127.0.0.1:8774 and :8776);
// the front door rewrites those to the address the server listens on.
import { randomUUID } from 'node:crypto';
import { header } from '../common/auth.js';
import type { EmbeddedCloud } from '../cloud/types.js';
import { CINDER_PORT, NOVA_PORT } from '../http/ports.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { faultResponse, httpDate, jsonResponse } from '../http/wsgi.js';
import { discoverableExtensions } from '../nova/api/extension_info.js';
import { isUuidLike } from '../nova/api/schemas.js';
import type { StateStore } from '../state/store.js';
import { glanceHandle } from './glance.js';
import type { Keystone, Token } from './keystone.js';

const NOVA_ORIGIN = `http://127.0.0.1:${NOVA_PORT}`;
const CINDER_ORIGIN = `http://127.0.0.1:${CINDER_PORT}`;

/** the novasim extension: a domain's block jobs as its libvirt knows them */
export const BLOCK_JOBS_EXTENSION = {
  name: 'NovasimBlockJobs',
  alias: 'os-novasim-block-jobs',
  description: 'The block jobs of a server as its libvirt knows them now (a novasim extension).',
  namespace: 'http://docs.openstack.org/compute/ext/fake_xml',
  updated: '2016-05-01T00:00:00Z',
  links: [],
};

export interface FrontDoorOptions {
  cloud: EmbeddedCloud;
  keystone: Keystone;
  /** what the front door itself reads (the users, Glance's images) */
  store: StateStore;
  /** http://HOST:PORT the server listens on */
  base: string;
  /** Nova's auth_strategy=noauth2: the client's X-Auth-Token goes to the services as it is */
  noauth: boolean;
}

export type FrontDoor = (req: HttpRequest) => Promise<HttpResponse>;

function withHeaders(res: HttpResponse, headers: Record<string, string>): HttpResponse {
  return { ...res, headers: { ...res.headers, ...headers } };
}

/** a body whose text changed: its Content-Length follows */
function withBody(res: HttpResponse, body: string): HttpResponse {
  return { ...res, body, headers: { ...res.headers, 'Content-Length': String(Buffer.byteLength(body)) } };
}

function novaRequestId(): string {
  return `req-${randomUUID()}`;
}

/** Nova's fault body, with the request id nova-api's compute_req_id middleware adds */
function novaFault(status: number, message: string): HttpResponse {
  return faultResponse(status, message, { 'x-compute-request-id': novaRequestId(), Date: httpDate() });
}

export function createFrontDoor(opts: FrontDoorOptions): FrontDoor {
  const { cloud, keystone, base } = opts;
  const rewriteNova = base !== NOVA_ORIGIN;

  /** the identity the services see: keystonemiddleware's validated token as noauth2's "user:project" */
  const identity = (req: HttpRequest): { token: string; auth: Token | null } | null => {
    const given = header(req.headers, 'X-Auth-Token');
    if (opts.noauth) return given ? { token: given, auth: null } : null;
    const t = keystone.validate(given);
    return t ? { token: `${t.user.name}:${t.project.projectId}`, auth: t } : null;
  };

  const forward = (origin: string, pathAndQuery: string, req: HttpRequest, token: string, drop: string[] = [], body = req.body): Promise<HttpResponse> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      const lk = k.toLowerCase();
      if (lk === 'x-auth-token' || lk === 'host' || drop.includes(lk)) continue;
      headers[k] = v;
    }
    headers['X-Auth-Token'] = token;
    return cloud.transport.request({ method: req.method, url: `${origin}${pathAndQuery}`, headers, body });
  };

  const novaLinks = (res: HttpResponse, from = `${NOVA_ORIGIN}/`, to = `${base}/`): HttpResponse =>
    rewriteNova || from !== `${NOVA_ORIGIN}/` || to !== `${base}/` ? (res.body.includes(from) ? withBody(res, res.body.split(from).join(to)) : res) : res;

  /** GET /v2.1/servers/{id}/os-novasim-block-jobs */
  const blockJobs = async (req: HttpRequest, serverId: string, token: string): Promise<HttpResponse> => {
    if (req.method !== 'GET') return novaFault(405, 'The method is not allowed for the requested route.');
    // the server as the caller may see it: its 404 and its policy are nova-api's
    const shown = await forward(NOVA_ORIGIN, `/v2.1/servers/${encodeURIComponent(serverId)}`, { ...req, method: 'GET', body: undefined }, token);
    if (shown.status !== 200) return novaLinks(shown);
    const uuid = (JSON.parse(shown.body) as { server: { id: string } }).server.id;
    const jobs = cloud.blockJobs ? await cloud.blockJobs(uuid) : [];
    return jsonResponse(200, { block_jobs: jobs }, { 'x-compute-request-id': shown.headers['x-compute-request-id'] ?? novaRequestId(), Date: httpDate() });
  };

  /** GET /v2.1/extensions (and /extensions/{alias}): nova-api's list with the novasim extension */
  const extensions = async (req: HttpRequest, rest: string, token: string, prefix: string): Promise<HttpResponse | null> => {
    if (req.method !== 'GET') return null;
    if (rest === `/extensions/${BLOCK_JOBS_EXTENSION.alias}`) {
      return jsonResponse(200, { extension: BLOCK_JOBS_EXTENSION }, { 'x-compute-request-id': novaRequestId(), Date: httpDate() });
    }
    if (rest !== '/extensions') return null;
    const res = await forward(NOVA_ORIGIN, `${prefix}/extensions`, req, token);
    if (res.status !== 200) return res;
    const doc = JSON.parse(res.body) as { extensions: { alias: string }[] };
    doc.extensions.push(BLOCK_JOBS_EXTENSION);
    doc.extensions.sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
    return withBody(res, JSON.stringify(doc));
  };

  /** /v2.1/… */
  const nova = async (req: HttpRequest, path: string, search: string): Promise<HttpResponse> => {
    // the version documents need no token
    if (req.method === 'GET' && (path === '/' || path === '/v2.1' || path === '/v2.1/')) {
      return novaLinks(await forward(NOVA_ORIGIN, path + search, req, ''));
    }
    const who = identity(req);
    if (!who) return withHeaders(keystone.rejectResponse(), { 'x-compute-request-id': novaRequestId() });
    const jobs = path.match(/^\/v2\.1\/servers\/([^/]+)\/os-novasim-block-jobs\/?$/);
    if (jobs) return blockJobs(req, decodeSegment(jobs[1]), who.token);
    const ext = await extensions(req, path.slice('/v2.1'.length), who.token, '/v2.1');
    if (ext) return novaLinks(ext);
    return novaLinks(await forward(NOVA_ORIGIN, path + search, req, who.token));
  };

  /** the legacy /v2 API (/v2/{tenant_id}/…): the v2.1 handlers without microversions,
   * the contrib VolumeAttachmentController.update's own checks and messages */
  const legacy = async (req: HttpRequest, path: string, search: string): Promise<HttpResponse> => {
    if (path === '/v2' || path === '/v2/') {
      if (req.method !== 'GET') return novaFault(405, 'The method is not allowed for the requested route.');
      return jsonResponse(200, { version: legacyVersionDoc(base) }, { 'x-compute-request-id': novaRequestId(), Date: httpDate() });
    }
    const who = identity(req);
    if (!who) return withHeaders(keystone.rejectResponse(), { 'x-compute-request-id': novaRequestId() });
    const m = path.match(/^\/v2\/([^/]+)(\/.*)?$/);
    if (!m) return novaFault(404, 'The resource could not be found.');
    const tenant = decodeSegment(m[1]);
    const rest = m[2] ?? '';
    // wsgi.Resource._process_stack: the URL's project must be the token's
    if (who.auth && tenant !== who.auth.project.projectId) {
      return novaFault(400, `Malformed request URL: URL's project_id '${tenant}' doesn't match Context's project_id '${who.auth.project.projectId}'`);
    }
    if (rest === '' || rest === '/') return novaFault(404, 'The resource could not be found.');
    const fromV21 = `${base}/v2.1/`;
    const toV2 = `${base}/v2/${tenant}/`;
    const relink = (res: HttpResponse) => novaLinks(novaLinks(res), fromV21, toV2);
    const upd = rest.match(/^\/servers\/([^/]+)\/os-volume_attachments\/([^/]+)$/);
    if (upd && req.method === 'PUT') return relink(await legacyUpdate(req, decodeSegment(upd[1]), decodeSegment(upd[2]), who.token));
    const jobs = rest.match(/^\/servers\/([^/]+)\/os-novasim-block-jobs\/?$/);
    if (jobs) return blockJobs(req, decodeSegment(jobs[1]), who.token);
    const ext = await extensions(req, rest, who.token, '/v2.1');
    if (ext) return relink(ext);
    // the legacy API has no microversions: the v2.1 handlers at 2.1
    return relink(await forward(NOVA_ORIGIN, `/v2.1${rest}${search}`, req, who.token, ['x-openstack-nova-api-version']));
  };

  /** legacy_v2/contrib/volumes.py VolumeAttachmentController.update (the seed) */
  const legacyUpdate = async (req: HttpRequest, serverId: string, oldVolumeId: string, token: string): Promise<HttpResponse> => {
    // the os-volume-attachment-update extension must be loaded (a bare 400 otherwise)
    if (!discoverableExtensions().has('os-volume-attachment-update')) {
      return novaFault(400, 'The server could not comply with the request since it is either malformed or otherwise incorrect.');
    }
    let body: unknown;
    try {
      body = req.body ? JSON.parse(req.body) : null;
    } catch {
      return novaFault(400, 'Malformed request body');
    }
    // is_valid_body(body, 'volumeAttachment')
    const att = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).volumeAttachment : undefined;
    if (!att || typeof att !== 'object' || Array.isArray(att)) return novaFault(400, 'volumeAttachment not specified');
    const project = token.split(':')[1] ?? '';
    const volume = (id: string) => forward(CINDER_ORIGIN, `/v2/${project}/volumes/${encodeURIComponent(id)}`, { ...req, method: 'GET', body: undefined }, token);
    // volume_api.get: VolumeNotFound is no webob error here; FaultWrapper answers its 404
    const old = await volume(oldVolumeId);
    if (old.status === 404) return novaFault(404, 'The resource could not be found.');
    if (!('volumeId' in att)) return novaFault(400, 'volumeId must be specified.');
    const newVolumeId = (att as Record<string, unknown>).volumeId;
    // _validate_volume_id
    if (typeof newVolumeId !== 'string' || !isUuidLike(newVolumeId)) {
      return novaFault(400, `Bad volumeId format: volumeId is not in proper format (${String(newVolumeId)})`);
    }
    const neu = await volume(newVolumeId);
    if (neu.status === 404) return novaFault(404, 'The resource could not be found.');
    // the swap itself is the v2.1 controller's (common.get_instance, the BDMs, swap_volume)
    const res = await forward(NOVA_ORIGIN, `/v2.1/servers/${encodeURIComponent(serverId)}/os-volume_attachments/${encodeURIComponent(oldVolumeId)}`, req, token, ['x-openstack-nova-api-version'], JSON.stringify({ volumeAttachment: { volumeId: newVolumeId } }));
    if (res.status === 404 && res.body.includes('The volume was either invalid or not attached to the instance.')) {
      return withHeaders(novaFault(404, `volume_id not found: ${oldVolumeId}`), { 'x-compute-request-id': res.headers['x-compute-request-id'] ?? novaRequestId() });
    }
    return res;
  };

  /** /volume/… */
  const cinder = async (req: HttpRequest, path: string, search: string): Promise<HttpResponse> => {
    const reqId = { 'x-openstack-request-id': novaRequestId() };
    if (path === '/volume' || path === '/volume/') {
      if (req.method !== 'GET') return withHeaders(faultResponse(405, 'The method is not allowed for the requested route.'), reqId);
      return withHeaders(jsonResponse(300, { versions: [cinderVersion(base, 'v2'), cinderVersion(base, 'v3')] }), reqId);
    }
    const m = path.match(/^\/volume\/(v2|v3)(\/.*)?$/);
    if (!m) return withHeaders(faultResponse(404, 'The resource could not be found.'), reqId);
    const [, v, rest = ''] = m;
    if ((rest === '' || rest === '/') && req.method === 'GET') return withHeaders(jsonResponse(200, { versions: [cinderVersion(base, v)] }), reqId);
    const who = identity(req);
    if (!who) return withHeaders(keystone.rejectResponse(), reqId);
    const res = await forward(CINDER_ORIGIN, `/v2${rest}${search}`, req, who.token);
    const from = `${CINDER_ORIGIN}/v2/`;
    return res.body.includes(from) ? withBody(res, res.body.split(from).join(`${base}/volume/${v}/`)) : res;
  };

  /** /image/… */
  const glance = async (req: HttpRequest, path: string, query: URLSearchParams): Promise<HttpResponse> => {
    const rest = path.slice('/image'.length);
    if (rest !== '' && rest !== '/' && rest !== '/versions' && !identity(req)) return keystone.rejectResponse();
    return glanceHandle(req.method === 'HEAD' ? 'GET' : req.method, rest, query, opts.store.read().images, base);
  };

  return async (req) => {
    const u = new URL(req.url);
    const path = u.pathname;
    if (path === '/identity' || path.startsWith('/identity/')) {
      let body: unknown = null;
      if (req.body) {
        try {
          body = JSON.parse(req.body);
        } catch {
          return jsonResponse(400, { error: { message: 'The server could not comply with the request since it is either malformed or otherwise incorrect.', code: 400, title: 'Bad Request' } });
        }
      }
      return keystone.handle(req, path.slice('/identity'.length), body);
    }
    if (path === '/' || path === '/v2.1' || path.startsWith('/v2.1/')) return nova(req, path, u.search);
    if (path === '/v2' || path.startsWith('/v2/')) return legacy(req, path, u.search);
    if (path === '/volume' || path.startsWith('/volume/')) return cinder(req, path, u.search);
    if (path === '/image' || path.startsWith('/image/')) return glance(req, path, u.searchParams);
    return novaFault(404, 'The resource could not be found.');
  };
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** nova's v2.0 version document (the legacy API has no microversions) */
function legacyVersionDoc(base: string): Record<string, unknown> {
  return {
    id: 'v2.0',
    status: 'SUPPORTED',
    version: '',
    min_version: '',
    updated: '2011-01-21T11:33:21Z',
    links: [
      { rel: 'self', href: `${base}/v2/` },
      { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }],
  };
}

/** cinder's version entry (Mitaka: v2 CURRENT; v3 arrived in Mitaka as 3.0) */
function cinderVersion(base: string, v: string): Record<string, unknown> {
  return {
    id: v === 'v3' ? 'v3.0' : 'v2.0',
    status: v === 'v3' ? 'CURRENT' : 'SUPPORTED',
    version: v === 'v3' ? '3.0' : '',
    min_version: v === 'v3' ? '3.0' : '',
    updated: v === 'v3' ? '2016-02-08T12:20:21Z' : '2014-06-28T12:20:21Z',
    links: [{ rel: 'self', href: `${base}/volume/${v}/` }],
    'media-types': [{ base: 'application/json', type: `application/vnd.openstack.volume+json;version=${v === 'v3' ? 3 : 2}` }],
  };
}
