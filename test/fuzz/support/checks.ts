// The properties every fuzzed command, state file and request must keep, as pure checks:
// each returns the list of what is wrong (empty: the case passed). Shared by the CI
// property tests (test/fuzz/*.test.ts) and the torture campaigns (test/torture/fuzz-*.ts).

/** What a command printed and how it ended. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Words that only a JavaScript failure prints: an error class name, a stack frame, V8's
 * own messages. Generated input never contains them (see `clean` in cli-arbs.ts), so any
 * hit in the output comes from the program.
 */
export const JS_LEAKS: RegExp[] = [
  /\b(?:TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError|InternalError)\b/,
  /^\s*at .*(?:\(|\s)(?:\/|node:|file:)\S*:\d+(?::\d+)?\)?\s*$/m,
  /Cannot read propert/,
  /Cannot set propert/,
  /undefined is not/,
  /is not iterable/,
  /is not a function/,
  /is not a constructor/,
  /Maximum call stack/,
  /Invalid array length/,
  /\[object Object\]/,
  // a raw Node.js error: the class novasim should have named, or a syscall's errno text
  /^ERROR \((?:Error|Exception)\): /m,
  /\bE[A-Z]{2,}: [a-z][^\n,]*, (?:open|close|read|write|ftruncate|fsync|fdatasync|rename|mkdir|unlink|rmdir|stat|lstat|scandir|copyfile|access|link|symlink|utime|chmod)\b/,
];

export function leaks(text: string): string[] {
  return JS_LEAKS.filter((re) => re.test(text)).map((re) => {
    const m = text.match(re) as RegExpMatchArray;
    const line = text.slice(text.lastIndexOf('\n', m.index ?? 0) + 1).split('\n')[0];
    return `JavaScript leaks into the output (${re.source}): ${line.slice(0, 200)}`;
  });
}

/** a novaclient error line (`ERROR (Class): …`) or the parser's `error: …` after the usage */
const ERROR_LINE = /^(?:ERROR \(\w[\w.]*\): |error: )/;

/**
 * Exit code in {0, 1, 2}; one error at most: exit 2 is the parser's usage + `error:` line (+ the
 * "Try … for more information." hint), exit 1 is exactly one `ERROR (X): …`
 * line (a failed swap's one explanatory line after it is allowed) or, for a checker
 * (`findings`: nova-sim doctor), its report on stdout; exit 0 has none; no JavaScript in
 * the output.
 */
export function checkOutcome(o: Outcome, opts: { allowed?: number[]; findings?: boolean } = {}): string[] {
  const allowed = opts.allowed ?? [0, 1, 2];
  const problems: string[] = [];
  if (o.code === null || !allowed.includes(o.code)) problems.push(`exit code ${o.code} is not one of ${allowed.join(', ')}`);
  const errLines = o.stderr.split('\n').filter((l) => ERROR_LINE.test(l));
  if (errLines.length > 1) problems.push(`${errLines.length} error lines on stderr: ${errLines.map((l) => l.slice(0, 120)).join(' | ')}`);
  if (o.code === 2) {
    // argparse's `usage: …` (nova, cinder) or commander's `Usage: …` (nova-sim)
    if (!/^usage: /i.test(o.stderr)) problems.push(`exit 2 without a usage line: ${o.stderr.slice(0, 200)}`);
    if (!errLines.some((l) => l.startsWith('error: '))) problems.push(`exit 2 without an 'error:' line: ${o.stderr.slice(0, 200)}`);
  }
  // a checker (nova-sim doctor) exits 1 when it found something, its report on stdout
  const report = opts.findings && o.stdout.trim() !== '' && errLines.length === 0;
  if (o.code === 1 && !report && !errLines.some((l) => l.startsWith('ERROR ('))) {
    problems.push(`exit 1 without an ERROR (X) line: ${o.stderr.slice(-300)}`);
  }
  if (o.code === 0 && errLines.length) problems.push(`exit 0 with an error line: ${errLines[0].slice(0, 200)}`);
  problems.push(...leaks(o.stdout), ...leaks(o.stderr));
  return problems;
}

/** The state file's bytes must not change when a command fails (exit ≠ 0). */
export function checkStateKept(o: Outcome, before: Buffer | null, after: Buffer | null, why = ''): string[] {
  if (o.code === 0) return [];
  if (before === null && after === null) return [];
  if (before !== null && after !== null && before.equals(after)) return [];
  const sizes = `${before?.length ?? 'none'} → ${after?.length ?? 'none'} bytes`;
  return [`exit ${o.code} but the state file changed (${sizes})${why ? ` ${why}` : ''}`];
}

/** argv as a shell line, for one-line reproductions */
export function shellQuote(argv: string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .map((a) => (a.length > 80 ? `${a.slice(0, 40)}…(${a.length} chars)` : a))
    .join(' ');
}
