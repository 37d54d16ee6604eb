// The ownership record of a served world: while `nova-sim serve` runs, `<state>.serve.json`
// says which process owns the state and where it listens (the served-mode contract):
//   {"pid": N, "url": "http://127.0.0.1:8774", "authUrl": "http://127.0.0.1:8774/identity/v3", "startedAt": "…"}
// written atomically once the server listens, removed when it stops. A record whose process
// is gone, or is not a `nova-sim serve`, is stale: it is ignored, and replaced by the next
// server. Commands that find a live record talk HTTP to its url instead of opening the state.
import { readFileSync, unlinkSync } from 'node:fs';
import { writeFileDurably } from '../state/store.js';

export interface OwnershipRecord {
  pid: number;
  url: string;
  authUrl: string;
  startedAt: string;
}

/** where the record of the state at `statePath` lives */
export function ownershipPath(statePath: string): string {
  return `${statePath}.serve.json`;
}

/** the record as written, or null when there is none or it cannot be read */
export function readOwnership(statePath: string): OwnershipRecord | null {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(ownershipPath(statePath), 'utf8'));
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const r = doc as Record<string, unknown>;
  if (!Number.isSafeInteger(r.pid) || (r.pid as number) <= 0) return null;
  if (typeof r.url !== 'string' || typeof r.authUrl !== 'string' || typeof r.startedAt !== 'string') return null;
  return { pid: r.pid as number, url: r.url, authUrl: r.authUrl, startedAt: r.startedAt };
}

/** True when `pid` is a running `nova-sim … serve` (its /proc/<pid>/cmdline says so) */
export function isServeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but is another user's; it cannot be ours
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  // a zombie has an empty command line
  return argv.some((a) => /nova-sim(\.c?js)?$/.test(a)) && argv.includes('serve');
}

/** The live server that owns the state, or null (no record, or a stale one). */
export function liveServer(statePath: string): { url: string; authUrl: string; pid: number } | null {
  const r = readOwnership(statePath);
  if (!r || !isServeProcess(r.pid)) return null;
  return { url: r.url, authUrl: r.authUrl, pid: r.pid };
}

/** writes this process's record (atomically: a reader sees the old one or the new one) */
export function writeOwnership(statePath: string, record: OwnershipRecord): void {
  writeFileDurably(ownershipPath(statePath), JSON.stringify(record) + '\n');
}

/** removes the record if it is still this process's */
export function removeOwnership(statePath: string, pid = process.pid): void {
  const r = readOwnership(statePath);
  if (r && r.pid !== pid) return;
  try {
    unlinkSync(ownershipPath(statePath));
  } catch {
    // already gone
  }
}
