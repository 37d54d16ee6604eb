// `nova-sim logs`: the embedded services' log files, read the way an operator reads
// /var/log/nova/nova-compute.log. Each service writes <state>.images/logs/<service>.log in
// oslo.log's layout (src/common/log-files.ts, rotated to <file>.1 at 1 MiB); this reads
// them back, merges several services by time, keeps the records of one request, and
// follows them as they grow. Nothing here writes to the terminal; the nova-sim shell (shell/commands/) prints.
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError } from '../common/errors.js';
import { logsDir } from '../state/paths.js';

/** the services of the embedded cloud that write a log, in the order of the swap path */
export const SERVICES = ['nova-api', 'nova-compute', 'cinder-api', 'cinder-volume', 'libvirtd', 'qemu-monitor'] as const;
/** services that log only when something happens to them (the guest, blkdebug rules) */
const OCCASIONAL = ['qemu'];

/** One log record: its first line and the lines that continue it (LOG.exception's text). */
export interface LogEntry {
  service: string;
  /** "2016-05-03 10:00:00.123": sorts as time */
  time: string;
  lines: string[];
}

// 2016-05-03 10:00:00.123 4242 INFO nova.compute.manager [req-… user project] [instance: …] msg
const RECORD = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \d+ [A-Z]+ \S+ (.*)$/;

/** services that have a log file (the documented ones first, then any other file found) */
export function knownServices(statePath: string): string[] {
  let found: string[] = [];
  try {
    found = readdirSync(logsDir(statePath))
      .filter((f) => f.endsWith('.log'))
      .map((f) => f.slice(0, -'.log'.length));
  } catch {
    // no logs folder (or something else in its place): only the documented services
  }
  const listed: readonly string[] = [...SERVICES, ...OCCASIONAL];
  return [...listed, ...found.filter((s) => !listed.includes(s)).sort()];
}

export function checkServices(statePath: string, services: string[]): string[] {
  const known = knownServices(statePath);
  for (const s of services) {
    const name = s.replace(/\.log$/, '');
    if (!known.includes(name)) {
      throw new CommandError(`No such service: '${s}'. The services that log are: ${known.join(', ')}.`);
    }
  }
  return services.length ? services.map((s) => s.replace(/\.log$/, '')) : known;
}

/** Splits a log file's text into records: a line that does not start a record (the
 * exception text oslo.log writes under an ERROR, which carries no request context)
 * continues the one before. */
export function parseEntries(service: string, text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = RECORD.exec(line);
    const startsRecord = m && (m[2].startsWith('[req-') || m[2].startsWith('[-]'));
    const last = out[out.length - 1];
    if (!startsRecord && last) last.lines.push(line);
    else out.push({ service, time: m ? m[1] : '', lines: [line] });
  }
  return out;
}

/** `req-…` or the bare uuid both match */
export function matchesRequest(entry: LogEntry, requestId: string | null | undefined): boolean {
  if (!requestId) return true;
  const id = requestId.startsWith('req-') ? requestId : `req-${requestId}`;
  return entry.lines[0].includes(`[${id} `);
}

function fileText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Every record of the services (the rotated file first), merged by time. */
export function readLogs(statePath: string, services: string[], requestId?: string | null): LogEntry[] {
  const dir = logsDir(statePath);
  const all: LogEntry[] = [];
  for (const s of services) {
    const file = join(dir, `${s}.log`);
    all.push(...parseEntries(s, fileText(`${file}.1`) + fileText(file)));
  }
  // a stable sort: records of one service keep their order within a millisecond
  return all.filter((e) => matchesRequest(e, requestId)).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** The lines as the files hold them; with more than one service each line is prefixed
 * with its service, as `docker compose logs` does. */
export function formatEntries(entries: LogEntry[], prefix: boolean): string {
  const width = prefix ? Math.max(...entries.map((e) => e.service.length), 0) : 0;
  let out = '';
  for (const e of entries) for (const l of e.lines) out += prefix ? `${e.service.padEnd(width)} | ${l}\n` : `${l}\n`;
  return out;
}

/**
 * Follows the files as the services append to them (tail -F): new complete lines are
 * parsed, filtered and written; a file that was rotated (it shrank) is read from its
 * start. Resolves when `signal` aborts.
 */
export async function followLogs(
  statePath: string,
  services: string[],
  requestId: string | null | undefined,
  write: (text: string) => void,
  signal: AbortSignal,
  pollMs = 200,
): Promise<void> {
  const dir = logsDir(statePath);
  const prefix = services.length > 1;
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  // carry a record's continuation lines to the filter with the record
  const lastMatched = new Map<string, boolean>();
  for (const s of services) {
    try {
      offsets.set(s, statSync(join(dir, `${s}.log`)).size);
    } catch {
      offsets.set(s, 0);
    }
  }
  const poll = (): void => {
    for (const s of services) {
      const file = join(dir, `${s}.log`);
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      let from = offsets.get(s) ?? 0;
      if (size < from) {
        from = 0;
        partial.set(s, '');
      }
      if (size === from) continue;
      const fd = openSync(file, 'r');
      const buf = Buffer.alloc(size - from);
      try {
        readSync(fd, buf, 0, buf.length, from);
      } finally {
        closeSync(fd);
      }
      offsets.set(s, size);
      const text = (partial.get(s) ?? '') + buf.toString('utf8');
      const cut = text.lastIndexOf('\n');
      partial.set(s, text.slice(cut + 1));
      if (cut < 0) continue;
      const entries: LogEntry[] = [];
      for (const line of text.slice(0, cut).split('\n')) {
        if (!line) continue;
        const m = RECORD.exec(line);
        const startsRecord = !!m && (m[2].startsWith('[req-') || m[2].startsWith('[-]'));
        const e: LogEntry = { service: s, time: m ? m[1] : '', lines: [line] };
        const keep = startsRecord ? matchesRequest(e, requestId) : (lastMatched.get(s) ?? !requestId);
        lastMatched.set(s, keep);
        if (keep) entries.push(e);
      }
      if (entries.length) write(formatEntries(entries, prefix));
    }
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(poll, pollMs);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        poll();
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * `nova-sim logs [SERVICE…] [--request-id ID] [--follow]`: returns the exit code. While
 * following, Ctrl-C ends the follow and the command exits 0, as `journalctl -f` does.
 */
export async function logsCommand(
  statePath: string,
  opts: { services: string[]; requestId: string | null; follow: boolean; until?: AbortSignal },
  out: (text: string) => void,
): Promise<number> {
  const services = checkServices(statePath, opts.services);
  const prefix = services.length > 1;
  const entries = readLogs(statePath, services, opts.requestId);
  if (entries.length) out(formatEntries(entries, prefix));
  if (!opts.follow) return 0;
  const ctl = new AbortController();
  // the CLI's own SIGINT handler (exit 130) steps aside while following
  const others = process.listeners('SIGINT');
  process.removeAllListeners('SIGINT');
  const stop = (): void => ctl.abort();
  // the reader of the output went away (`logs -f | grep -m1`): stop as on Ctrl-C
  if (opts.until?.aborted) return 0;
  opts.until?.addEventListener('abort', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await followLogs(statePath, services, opts.requestId, out, ctl.signal);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    opts.until?.removeEventListener('abort', stop);
    for (const l of others) process.on('SIGINT', l as NodeJS.SignalsListener);
  }
  return 0;
}
