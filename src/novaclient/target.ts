// The remote cloud a client shell's global options and environment name (novaclient's and
// cinderclient's shells; keystoneauth's loading reads the OS_* variables the options lack).
import type { Namespace } from './argparse.js';
import type { RemoteTarget } from './remote.js';

/** the remote target the global options and the environment (keystoneauth's OS_* defaults) name */
export function remoteTarget(g: Namespace, env: NodeJS.ProcessEnv, extra: { projectName?: string | null; projectId?: string | null } = {}): RemoteTarget {
  const s = (v: unknown, ...names: string[]): string | null => {
    if (typeof v === 'string' && v) return v;
    for (const n of names) if (env[n]) return env[n] as string;
    return null;
  };
  const timeout = s(g.timeout);
  return {
    authUrl: s(g.os_auth_url, 'OS_AUTH_URL'),
    authType: s(g.os_auth_type, 'OS_AUTH_TYPE'),
    endpointOverride: s(env.OS_ENDPOINT_OVERRIDE) ?? s(g.bypass_url),
    username: s(g.os_username, 'OS_USERNAME'),
    userId: s(g.os_user_id, 'OS_USER_ID'),
    password: s(g.os_password, 'OS_PASSWORD'),
    projectName: extra.projectName !== undefined ? extra.projectName : s(g.os_project_name, 'OS_PROJECT_NAME', 'OS_TENANT_NAME'),
    projectId: extra.projectId !== undefined ? extra.projectId : s(g.os_project_id, 'OS_PROJECT_ID', 'OS_TENANT_ID'),
    userDomainName: s(g.os_user_domain_name, 'OS_USER_DOMAIN_NAME'),
    userDomainId: s(g.os_user_domain_id, 'OS_USER_DOMAIN_ID'),
    projectDomainName: s(g.os_project_domain_name, 'OS_PROJECT_DOMAIN_NAME'),
    projectDomainId: s(g.os_project_domain_id, 'OS_PROJECT_DOMAIN_ID'),
    regionName: s(g.os_region_name, 'OS_REGION_NAME'),
    endpointType: s(g.endpoint_type, 'OS_ENDPOINT_TYPE'),
    insecure: g.insecure === true,
    cacert: s(g.os_cacert, 'OS_CACERT'),
    cert: s(g.os_cert, 'OS_CERT'),
    key: s(g.os_key, 'OS_KEY'),
    timeout: timeout !== null && Number.isFinite(Number(timeout)) ? Number(timeout) : null,
  };
}

