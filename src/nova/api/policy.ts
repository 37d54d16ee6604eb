// The Mitaka policy.json rules the operator APIs check ("rule:admin_api" = is_admin:True),
// as extensions.os_compute_authorizer applies them: a refusal is a 403 naming the rule.
import type { RequestContext } from '../../common/context.js';
import { HttpFault } from '../../http/wsgi.js';

/** authorize(context, action=…) against an admin_api rule */
export function authorizeAdmin(ctx: RequestContext, rule: string): void {
  if (!ctx.isAdmin) throw new HttpFault(403, `Policy doesn't allow ${rule} to be performed.`);
}

/** common.get_pagination_params → utils.validate_integer(value, name, min_value=0) */
export function intParam(q: URLSearchParams, name: string): number | null {
  const raw = q.get(name);
  if (raw === null) return null;
  // Python's int(str(value)): optional sign, digits, surrounding whitespace
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new HttpFault(400, `Invalid input received: ${name} must be an integer`);
  const v = Number.parseInt(raw, 10);
  if (v < 0) throw new HttpFault(400, `Invalid input received: ${name} must be >= 0`);
  return v;
}

/** CONF.osapi_max_limit */
export const OSAPI_MAX_LIMIT = 1000;

/** common.get_limit_and_marker: a limit of 0 (or none) is osapi_max_limit, and so is a bigger one */
export function limitAndMarker(q: URLSearchParams): { limit: number; marker: string | null } {
  const limit = intParam(q, 'limit');
  return { limit: limit ? Math.min(limit, OSAPI_MAX_LIMIT) : OSAPI_MAX_LIMIT, marker: q.get('marker') };
}
