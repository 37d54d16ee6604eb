// Which cloud a command talks to. With an auth URL or an endpoint override (flags or
// OS_AUTH_URL, OS_ENDPOINT_OVERRIDE, --bypass-url), a remote one over HTTP, as novaclient
// does; an explicit --state names a novasim world instead. A world owned by a live
// `nova-sim serve` (its <state>.serve.json) is reached through that server, as its user
// (OS_USERNAME / OS_PROJECT_NAME, defaults as the embedded mode's; OS_PASSWORD, default
// `secret`); any other world is opened in this process (the embedded cloud).
import { resolveStatePath } from '../state/paths.js';
import { servedBy } from '../state/serve-record.js';
import { embeddedConnector } from './embedded.js';
import type { RemoteTarget } from './remote.js';
import type { CloudConnection, CloudConnector, ConnectContext } from './shell.js';

async function openRemoteConnection(target: RemoteTarget, ctx: ConnectContext): Promise<CloudConnection> {
  const { openRemote } = await import('./remote.js');
  const conn = await openRemote(target, { debug: ctx.debug, userAgent: ctx.userAgent, missing: ctx.missing });
  return { ...conn, cloud: null };
}

/** the target of a world a live server owns: its Keystone, the user the embedded mode would be */
export function servedTarget(authUrl: string, t: RemoteTarget): RemoteTarget {
  const username = t.username ?? 'demo';
  return {
    ...t,
    authUrl,
    authType: null,
    endpointOverride: null,
    username,
    userId: null,
    password: t.password ?? 'secret',
    projectName: t.projectName ?? (username === 'admin' ? 'admin' : 'demo'),
    projectId: null,
    userDomainId: null,
    userDomainName: 'Default',
    projectDomainId: null,
    projectDomainName: 'Default',
    regionName: null,
    insecure: false,
    cacert: null,
  };
}

export const defaultConnector: CloudConnector = {
  prefetch() {
    embeddedConnector.prefetch?.();
  },
  async open(stateFlag, onNotice, ctx) {
    const t = ctx?.target;
    if (ctx && t && !stateFlag && (t.authUrl || t.endpointOverride || (t.authType ?? '').toLowerCase() === 'none')) {
      return openRemoteConnection(t, ctx);
    }
    if (ctx && t) {
      const owner = servedBy(resolveStatePath(stateFlag));
      if (owner) return openRemoteConnection(servedTarget(owner.authUrl, t), ctx);
    }
    return embeddedConnector.open(stateFlag, onNotice);
  },
};
