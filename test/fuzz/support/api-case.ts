// One request to nova-api or cinder-api, handled in this process by an embedded cloud on
// the world (opened for the request, drained, closed). Properties: a status Nova or
// Cinder answers (never a 500, nor an exception out of the handler); a JSON body (a fault
// {"<name>": {"code", "message"}} for an error) with no JavaScript in it; the state's
// bytes unchanged when the request was refused.
import { openSimulatedCloud } from '../../../src/novasim/cloud.js';
import { leaks } from './checks.js';
import type { CaseResult } from './cli-case.js';
import { readable } from './cli-case.js';
import type { ApiRequest } from './api-arbs.js';
import type { FuzzWorld } from './world.js';

/** what nova-api and cinder-api answer (Mitaka): success, client errors, 501 for an action the driver lacks */
export const API_STATUSES = [200, 201, 202, 204, 400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 501];

export function apiRepro(r: ApiRequest): string {
  const body = r.body === undefined ? '' : ` ${r.body.length > 200 ? `${r.body.slice(0, 100)}…(${r.body.length} chars)` : r.body}`;
  return `${r.method} ${r.url.length > 200 ? `${r.url.slice(0, 150)}…` : r.url} token=${r.token}${r.version ? ` version=${r.version}` : ''}${body}`;
}

export async function runApiCase(world: FuzzWorld, r: ApiRequest): Promise<CaseResult> {
  world.reset();
  const before = world.readState();
  const problems: string[] = [];
  const cloud = await openSimulatedCloud({ statePath: world.statePath, blockJobPollMs: 50 });
  let status = 0;
  let text = '';
  try {
    const headers: Record<string, string> = { 'X-Auth-Token': r.token, 'Content-Type': 'application/json', Accept: 'application/json' };
    if (r.version !== undefined) headers['X-OpenStack-Nova-API-Version'] = r.version;
    try {
      const res = await cloud.transport.request({ method: r.method, url: r.url, headers, body: r.body });
      status = res.status;
      text = res.body;
    } catch (e) {
      problems.push(`the handler threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
    try {
      await cloud.drain();
    } catch (e) {
      problems.push(`draining the casts threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  } finally {
    await cloud.close();
  }
  if (status && !API_STATUSES.includes(status)) problems.push(`HTTP ${status}: ${text.slice(0, 300)}`);
  if (text) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      problems.push(`the body is not JSON: ${text.slice(0, 200)}`);
    }
    if (status >= 400 && doc !== undefined) {
      const fault = doc && typeof doc === 'object' ? Object.values(doc as object)[0] : undefined;
      if (!fault || typeof fault !== 'object' || typeof (fault as { message?: unknown }).message !== 'string') problems.push(`HTTP ${status} without a fault body: ${text.slice(0, 200)}`);
    }
    problems.push(...leaks(text));
  }
  const after = world.readState();
  if (status >= 400 && before !== null && after !== null && !before.equals(after)) problems.push(`HTTP ${status} but the state file changed (${before.length} → ${after.length} bytes)`);
  const unreadable = readable(before, world.statePath) && !readable(after, world.statePath);
  if (unreadable) problems.push('the state no longer reads');
  const bytesLost = status >= 400 || status === 0 ? world.lostBytes() : 0;
  if (bytesLost) problems.push(`HTTP ${status} but ${bytesLost} bytes of the world's images changed`);
  return { problems, unreadable, bytesLost, repro: apiRepro(r), outcome: { code: status, stdout: text, stderr: '' } };
}
