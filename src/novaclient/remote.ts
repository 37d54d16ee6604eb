// A cloud reached over real sockets: a served novasim (`nova-sim serve`) or a real
// OpenStack. Keystone v3 password authentication through keystoneauth's generic plugin
// (discovery, token, catalog), or no authentication at all (OS_AUTH_TYPE=none with an
// endpoint override, against a Nova running with auth_strategy=noauth2).
import { SocketTransport } from '../http/socket.js';
import type { HttpRequest, Transport } from '../http/types.js';
import { CommandError } from './exceptions.js';
import { authenticate, EndpointNotFound, interfaceOf, urlFor, type PasswordAuth } from './keystone.js';
import { logRequest, logResponse, type DebugLog, type VerifyOptions } from './session-log.js';

/** What the shell's global options and environment say about reaching a remote cloud. */
export interface RemoteTarget extends Omit<PasswordAuth, 'authUrl' | 'password'> {
  authUrl: string | null;
  /** --os-auth-type / OS_AUTH_TYPE: password (default) or none */
  authType: string | null;
  /** OS_ENDPOINT_OVERRIDE / --bypass-url: the compute (or volume) endpoint itself */
  endpointOverride: string | null;
  password: string | null;
  regionName: string | null;
  endpointType: string | null;
  insecure: boolean;
  cacert: string | null;
  cert: string | null;
  key: string | null;
  timeout: number | null;
}

/** the shell's wording of a missing credential (novaclient's and cinderclient's differ) */
export interface MissingMessages {
  user: string;
  project: string;
  password: string;
}

export const NOVA_MISSING: MissingMessages = {
  user: 'You must provide a username or user ID via --os-username, --os-user-id, env[OS_USERNAME] or env[OS_USER_ID]',
  project:
    'You must provide a project name or project ID via --os-project-name, --os-project-id, env[OS_PROJECT_ID] or env[OS_PROJECT_NAME]. You may use os-project and os-tenant interchangeably.',
  password: 'Expecting a password provided via either --os-password, env[OS_PASSWORD], or prompted response',
};

export interface RemoteConnection {
  transport: Transport;
  endpoints: { compute: string; volumev2: string };
  token: string;
  projectId: string;
  verify: VerifyOptions;
  close(): Promise<void>;
}

/** the noauth2 token nova-api's NoAuthMiddleware reads: "<user>:<project>" */
function noauthToken(t: RemoteTarget): { token: string; projectId: string } {
  const user = t.username ?? t.userId ?? 'demo';
  const project = t.projectName ?? t.projectId ?? (user === 'admin' ? 'admin' : 'demo');
  return { token: `${user}:${project}`, projectId: project };
}

/**
 * Without a catalog, a volume endpoint can only be found by asking: GET <origin>/volume/
 * (where a served novasim and devstack put Cinder) and take the v2 it lists, if it does.
 */
async function discoverVolumeV2(transport: Transport, compute: string, userAgent: string, debug?: DebugLog): Promise<string> {
  const url = `${new URL(compute).origin}/volume/`;
  const req: HttpRequest = { method: 'GET', url, headers: { Accept: 'application/json', 'User-Agent': userAgent } };
  try {
    if (debug) logRequest(debug, req);
    const resp = await transport.request(req);
    if (debug) logResponse(debug, resp, 'GET', url, 'volumev2');
    if (resp.status !== 200 && resp.status !== 300) return '';
    const body = JSON.parse(resp.body) as { versions?: { id?: string; links?: { rel?: string; href?: string }[] }[] | { values?: { id?: string; links?: { rel?: string; href?: string }[] }[] } };
    const list = Array.isArray(body.versions) ? body.versions : (body.versions?.values ?? []);
    const v2 = list.find((v) => /^v2(\.0)?$/.test(v.id ?? ''));
    const href = v2?.links?.find((l) => l.rel === 'self')?.href;
    return href ? new URL(href, url).toString().replace(/\/+$/, '') : '';
  } catch {
    return '';
  }
}

export async function openRemote(
  t: RemoteTarget,
  o: { debug?: DebugLog; userAgent: string; missing?: MissingMessages; wrap?: (t: Transport) => Transport },
): Promise<RemoteConnection> {
  const verify: VerifyOptions = { insecure: t.insecure, cacert: t.cacert };
  const socket = new SocketTransport({ insecure: t.insecure, cacert: t.cacert, cert: t.cert, key: t.key, timeoutSeconds: t.timeout });
  const transport = o.wrap ? o.wrap(socket) : socket;
  const close = async (): Promise<void> => socket.close();
  try {
    if ((t.authType ?? '').toLowerCase() === 'none' || (!t.authUrl && t.endpointOverride)) {
      if (!t.endpointOverride) throw new CommandError('An endpoint must be given with --bypass-url or env[OS_ENDPOINT_OVERRIDE] when OS_AUTH_TYPE is none');
      const compute = t.endpointOverride.replace(/\/+$/, '');
      const { token, projectId } = noauthToken(t);
      const volumev2 = await discoverVolumeV2(transport, compute, o.userAgent, o.debug);
      return { transport, endpoints: { compute, volumev2 }, token, projectId, verify, close };
    }
    const missing = o.missing ?? NOVA_MISSING;
    if (!t.username && !t.userId) throw new CommandError(missing.user);
    if (!t.projectName && !t.projectId) throw new CommandError(missing.project);
    if (t.password === null || t.password === undefined) throw new CommandError(missing.password);
    const access = await authenticate(
      { transport, debug: o.debug, verify, userAgent: o.userAgent },
      {
        authUrl: t.authUrl as string,
        username: t.username,
        userId: t.userId,
        password: t.password,
        projectName: t.projectName,
        projectId: t.projectId,
        userDomainName: t.userDomainName,
        userDomainId: t.userDomainId,
        projectDomainName: t.projectDomainName,
        projectDomainId: t.projectDomainId,
      },
    );
    const iface = interfaceOf(t.endpointType);
    const compute = t.endpointOverride ?? urlFor(access.catalog, 'compute', iface, t.regionName);
    if (!compute) throw new EndpointNotFound();
    const volumev2 = urlFor(access.catalog, 'volumev2', iface, t.regionName) ?? '';
    return { transport, endpoints: { compute: compute.replace(/\/+$/, ''), volumev2 }, token: access.token, projectId: access.projectId, verify, close };
  } catch (e) {
    await close();
    throw e;
  }
}
