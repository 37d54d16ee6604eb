// What nova-api wraps around every controller: noauth2, the microversion header,
// expected_errors and the FaultWrapper (nova/api/openstack/wsgi.py, extensions.py).
import { SimError } from '../../common/errors.js';
import type { RequestContext } from '../../common/context.js';
import { getLogger } from '../../common/log.js';
import { HttpFault } from '../../http/wsgi.js';
import { NovaException } from '../exception.js';
import { isHostStateError } from '../../state/store.js';

const LOG = getLogger('nova.api.openstack.extensions', 'nova-api');

export const MIN_VERSION = '2.1';
/** Mitaka's highest microversion */
export const MAX_VERSION = '2.25';

export interface ApiVersion {
  major: number;
  minor: number;
}

export function parseVersion(v: string): ApiVersion | null {
  const m = v.match(/^(\d+)\.(\d+)$/);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function versionString(v: ApiVersion): string {
  return `${v.major}.${v.minor}`;
}

export function cmpVersion(a: ApiVersion, b: ApiVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** The Python class name upstream's "Unexpected API Error" message shows. */
export function pyClassOf(err: unknown): string {
  if (err instanceof NovaException) {
    if (/^(BadRequest|Forbidden|NotFound|Conflict|ClientException)$/.test(err.kind)) return `cinderclient.exceptions.${err.kind}`;
    return `nova.exception.${err.kind}`;
  }
  if (err instanceof SimError) {
    if (err.kind === 'libvirtError') return 'libvirt.libvirtError';
    return `nova.exception.${err.kind}`;
  }
  if (err instanceof TypeError) return 'exceptions.TypeError';
  return 'exceptions.Exception';
}

/** @extensions.expected_errors: an unexpected exception becomes a 500 that names its class */
export async function expectedErrors<T>(codes: number[], ctx: RequestContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // the host's own storage failed (a full disk under the state file): not an answer of
    // the API's — the command reports it as it is, in one line
    if (isHostStateError(err)) throw err;
    if (err instanceof HttpFault) {
      if (codes.includes(err.status) || err.status === 403) throw err;
    } else if (err instanceof NovaException && err.code === 403) {
      throw new HttpFault(403, err.message);
    }
    LOG.error(`Unexpected exception in API method: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { context: ctx });
    throw new HttpFault(
      500,
      `Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class '${pyClassOf(err)}'>`,
    );
  }
}

/** common.raise_http_conflict_for_instance_invalid_state */
export function conflictForInvalidState(err: { attr: string; state: string }, action: string, serverId: string): HttpFault {
  if (err.attr && err.state && err.state !== 'None') {
    return new HttpFault(409, `Cannot '${action}' instance ${serverId} while it is in ${err.attr} ${err.state}`);
  }
  return new HttpFault(409, `Instance ${serverId} is in an invalid state for '${action}'`);
}
