// Where the embedded services' logs go: one file per service under the state's logs
// folder (nova-api.log, nova-compute.log, cinder-api.log, cinder-volume.log, libvirtd.log,
// qemu-monitor.log), in oslo.log's layout, each kept under a size bound by rotating
// to <file>.1 as logrotate would.
//
// A log that cannot be written never stops a command (oslo.log's handlers report their
// own errors and let the service go on): the first failure prints one warning on stderr,
// and the process logs no more to files.
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatOslo, type LogSink } from './log.js';

export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;

export function fileLogSink(
  dir: string,
  maxBytes = DEFAULT_MAX_LOG_BYTES,
  warn: (line: string) => void = (line) => void process.stderr.write(line),
  /** a long-running server's: lines are gathered and appended once per turn of the event
   * loop (one write per file instead of one per request), and on exit */
  buffered = false,
): LogSink {
  let made = false;
  let broken = false;
  const sizes = new Map<string, number>();
  const append = (file: string, text: string): void => {
    if (broken) return;
    try {
      if (!made) {
        mkdirSync(dir, { recursive: true });
        made = true;
      }
      let size = sizes.get(file);
      if (size === undefined) {
        try {
          size = statSync(file).size;
        } catch {
          size = 0;
        }
      }
      if (size + text.length > maxBytes && size > 0) {
        renameSync(file, `${file}.1`);
        size = 0;
      }
      appendFileSync(file, text);
      sizes.set(file, size + Buffer.byteLength(text));
    } catch (err) {
      broken = true;
      const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
      warn(`WARNING: cannot write the services' logs to ${dir}: ${code}; going on without them\n`);
    }
  };
  if (!buffered) return (rec) => append(join(dir, `${rec.service}.log`), formatOslo(rec) + '\n');
  const pending = new Map<string, string[]>();
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    for (const [file, lines] of pending) append(file, lines.join(''));
    pending.clear();
  };
  process.once('exit', flush);
  return (rec) => {
    if (broken) return;
    const file = join(dir, `${rec.service}.log`);
    let lines = pending.get(file);
    if (!lines) pending.set(file, (lines = []));
    lines.push(formatOslo(rec) + '\n');
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
