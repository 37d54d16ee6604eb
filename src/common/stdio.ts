// How the CLIs end: only once stdout and stderr are drained, and quietly when the reader of
// a pipe goes away (`nova-sim logs | head`).
//
// NOTE: a write to a pipe whose reader is slower than us is queued by Node; process.exit()
// right after it drops the queue, so `nova-sim logs | grep` used to see only the first
// 64 KiB (the pipe's buffer). A CLI therefore waits for both streams before it exits.

type Stream = NodeJS.WriteStream;

const closed = new WeakSet<Stream>();
const gone = new AbortController();

/** aborted when the reader of stdout has gone away (EPIPE): a command that follows stops */
export const stdoutGone: AbortSignal = gone.signal;

/**
 * A reader that closes its end of the pipe (head, a grep -q that matched) makes the next
 * write fail with EPIPE. As a C program killed by SIGPIPE would, the CLI stops writing to
 * that stream, without a stack trace; what it was doing goes on (a swap is never cut half-way
 * by a closed pipe) and a command that only prints ends with its own exit code.
 */
export function guardStdio(stdout: Stream = process.stdout, stderr: Stream = process.stderr): void {
  for (const s of [stdout, stderr]) {
    // EPIPE is the usual one; no failure of the terminal is a reason for a stack trace
    s.on('error', () => {
      closed.add(s);
      if (s === stdout) gone.abort();
    });
  }
}

/** write unless the reader has gone away */
export function writeTo(s: Stream, text: string): void {
  if (closed.has(s) || s.destroyed) return;
  s.write(text);
}

/** resolves once everything written to the stream so far has been handed to the OS (or failed) */
function drained(s: Stream): Promise<void> {
  if (closed.has(s) || s.destroyed || !s.writable) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('error', () => resolve());
    s.write('', () => resolve());
  });
}

/** exit with `code` once stdout and stderr are drained */
export async function exitWhenDrained(code: number, stdout: Stream = process.stdout, stderr: Stream = process.stderr): Promise<never> {
  await Promise.all([drained(stdout), drained(stderr)]);
  process.exit(code);
}
