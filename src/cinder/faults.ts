// What a `nova-sim fault` at a Cinder point means: the volume action fails inside cinder-api
// (its volume manager, or the backend behind it) before it changes anything, and
// FaultWrapper answers as it does for any unexpected exception — HTTP 500 with webob's
// generic explanation (cinder/api/middleware/fault.py hides the exception's text), so Nova's
// CinderAPI sees cinderclient's ClientException for a 500. `--error TEXT` makes TEXT the
// fault's message instead (an exception Cinder marks safe to show).
import { faultAt, type FaultPoint } from '../common/faults.js';
import { getLogger } from '../common/log.js';
import { HttpFault, WEBOB_500 } from '../http/wsgi.js';

const LOG = getLogger('cinder.api.middleware.fault', 'cinder-api');

/** webob.exc.HTTPInternalServerError's explanation, what FaultWrapper returns for a 500 */
export const CINDER_GENERIC_500 = WEBOB_500;

/** The volume actions Nova calls that a fault can be set at, by their request body's key. */
export const CINDER_ACTION_POINTS: Readonly<Record<string, FaultPoint>> = {
  'os-reserve': 'cinder.reserve_volume',
  'os-begin_detaching': 'cinder.begin_detaching',
  'os-initialize_connection': 'cinder.initialize_connection',
  'os-terminate_connection': 'cinder.terminate_connection',
  'os-migrate_volume_completion': 'cinder.migrate_volume_completion',
};

/** Fails the volume action `action` (e.g. 'os-reserve') when a fault is set at its point. */
export function cinderActionFault(action: string | undefined): void {
  const point = action !== undefined && Object.hasOwn(CINDER_ACTION_POINTS, action) ? CINDER_ACTION_POINTS[action] : undefined;
  const rule = point ? faultAt(point) : null;
  if (!rule) return;
  LOG.error(`Caught error: ${point} failed (fault set with nova-sim fault add)${rule.error ? `: ${rule.error}` : ''}`);
  LOG.info(`volume action ${action} returned with HTTP 500`);
  throw new HttpFault(500, rule.error ?? CINDER_GENERIC_500);
}
