// The ownership record a running `nova-sim serve` keeps next to the state file it serves
// (<state>.serve.json: pid, url, authUrl, startedAt; the served-mode contract). While that
// server lives, it is the one owner of the world: the command lines talk HTTP to it instead
// of opening the state, and nova-sim's changing commands refuse. A record whose process is
// gone, or is not a nova-sim serve, is stale and means nothing.
import { readFileSync } from 'node:fs';

export interface ServeRecord {
  pid: number;
  /** the server's base URL, e.g. http://127.0.0.1:8774 */
  url: string;
  /** its Keystone v3, e.g. http://127.0.0.1:8774/identity/v3 */
  authUrl: string;
  startedAt: string;
}

export function serveRecordPath(statePath: string): string {
  return `${statePath}.serve.json`;
}

/** the process `pid` is alive and runs `nova-sim serve` (its /proc cmdline says so) */
function isLiveServe(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: alive, someone else's; the cmdline below decides
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => /(^|\/)nova-sim(\.c?js)?$/.test(a)) && argv.includes('serve');
  } catch {
    return false;
  }
}

/** the live server that owns `statePath`, or null (no record, a stale one, an unreadable one) */
export function servedBy(statePath: string): ServeRecord | null {
  let text: string;
  try {
    text = readFileSync(serveRecordPath(statePath), 'utf8');
  } catch {
    return null;
  }
  let rec: Partial<ServeRecord>;
  try {
    rec = JSON.parse(text) as Partial<ServeRecord>;
  } catch {
    return null;
  }
  if (!rec || typeof rec !== 'object' || !Number.isInteger(rec.pid) || (rec.pid as number) <= 0 || typeof rec.url !== 'string') return null;
  if (!/^https?:\/\//.test(rec.url)) return null;
  if (!isLiveServe(rec.pid as number)) return null;
  const url = rec.url.replace(/\/+$/, '');
  return { pid: rec.pid as number, url, authUrl: typeof rec.authUrl === 'string' ? rec.authUrl : `${url}/identity/v3`, startedAt: String(rec.startedAt ?? '') };
}
