// The README's examples, and the guides' examples marked as tested, run on the built CLI.
//
// What runs:
// - README.md: every ```sh and ```console block, unless the line before its fence is
//   `<!-- not tested: why -->`;
// - docs/*.md: only the blocks whose fence follows a `<!-- tested -->` line.
// Each document's blocks run in order, on one fresh world of its own, with the built `nova`
// and `nova-sim` on the PATH, HOME in a temporary folder (so the state is the default
// ~/.local/state/novasim/state.json of that HOME) and no OS_* variables set.
//
// How a block reads:
// - ```sh: every line is a command (a trailing `\` continues it); `# …` comments are the
//   shell's. A command must exit 0, unless its comment says `# exit N`.
// - ```console: `$ command` lines, each followed by the output it shows. The output is
//   compared loosely: the shown lines must appear in the command's output (stdout and stderr
//   as the terminal interleaves them), in order, other lines may come between; `…` matches
//   anything and `⋮` lines are skipped; uuids, 32-hex ids, timestamps, durations, sizes,
//   rates, percentages, pids and rule lines are masked on both sides. The command must exit
//   1 if the output shown has an `ERROR (…)` line, else 0.
// - `export …` lines stay in force for the document's later commands, as in a shell.
// - npm's own commands (`npm ci`, `npm test`, `npm link`) are not run, and `npx nova` runs
//   `nova`: the README's first line runs as `OS_USERNAME=admin OS_PROJECT_NAME=demo nova
//   volume-update web-1 web-data new-web-data`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Step {
  /** the command as the document shows it */
  shown: string;
  /** what the test runs (npx and `npm ci &&` dropped), or null: not run */
  run: string | null;
  /** 1-based line in the document */
  line: number;
  expectExit: number;
  /** output lines the document shows (console blocks), else null */
  expected: string[] | null;
}

export interface Block {
  line: number;
  lang: 'sh' | 'console';
  steps: Step[];
}

const TESTED = /^<!--\s*tested\s*-->$/;
const NOT_TESTED = /^<!--\s*not tested\b.*-->$/;

/** npm's own commands are not run; `npx X` runs X; `npm ci && X` runs X */
export function runnable(cmd: string): string | null {
  const c = cmd.replace(/^npm ci\s*&&\s*/, '').replace(/(^|[\s;&|(=])npx\s+/g, '$1');
  if (/^npm\s/.test(c)) return null;
  return c;
}

function shExit(cmd: string): number {
  const m = /#\s*exit\s+(\d+)/.exec(cmd);
  return m ? Number(m[1]) : 0;
}

/** The blocks of a document that the test runs (`all`: every sh/console block unless marked not tested). */
export function testedBlocks(text: string, all: boolean): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let prev = '';
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)\s*$/.exec(lines[i]);
    if (!fence) {
      if (lines[i].trim() !== '') prev = lines[i].trim();
      continue;
    }
    const lang = fence[1];
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end >= lines.length) throw new Error(`line ${start + 1}: a fence that is never closed`);
    const marker = prev;
    prev = '';
    i = end;
    const body = lines.slice(start + 1, end);
    const marked = TESTED.test(marker);
    if (marked && lang !== 'sh' && lang !== 'console') throw new Error(`line ${start + 1}: <!-- tested --> before a \`\`\`${lang} block (only sh and console blocks run)`);
    const wanted = (all && (lang === 'sh' || lang === 'console') && !NOT_TESTED.test(marker)) || marked;
    if (!wanted) continue;
    blocks.push({ line: start + 1, lang: lang as 'sh' | 'console', steps: lang === 'sh' ? shSteps(body, start + 2) : consoleSteps(body, start + 2) });
  }
  // a marker that does not sit right before a fence is a mistake, not a silent no-op
  lines.forEach((l, n) => {
    if (!TESTED.test(l.trim())) return;
    let k = n + 1;
    while (k < lines.length && lines[k].trim() === '') k++;
    if (!/^```/.test(lines[k] ?? '')) throw new Error(`line ${n + 1}: <!-- tested --> is not followed by a code block`);
  });
  return blocks;
}

function shSteps(body: string[], firstLine: number): Step[] {
  const steps: Step[] = [];
  for (let k = 0; k < body.length; k++) {
    const line = firstLine + k;
    let cmd = body[k];
    while (/\\\s*$/.test(cmd) && k + 1 < body.length) cmd = cmd.replace(/\\\s*$/, ' ') + body[++k].trim();
    const t = cmd.trim();
    if (t === '' || t.startsWith('#')) continue;
    steps.push({ shown: t, run: runnable(t), line, expectExit: shExit(t), expected: null });
  }
  return steps;
}

function consoleSteps(body: string[], firstLine: number): Step[] {
  const steps: Step[] = [];
  body.forEach((l, k) => {
    if (l.startsWith('$ ')) {
      const shown = l.slice(2).trim();
      steps.push({ shown, run: runnable(shown), line: firstLine + k, expectExit: 0, expected: [] });
    } else {
      const cur = steps.at(-1);
      if (!cur) throw new Error(`line ${firstLine + k}: output before the first $ command`);
      cur.expected!.push(l);
      if (/^ERROR \(/.test(l)) cur.expectExit = 1;
    }
  });
  return steps;
}

/** what may differ between two runs of the same example */
export function mask(s: string): string {
  return s
    .replace(/\s+$/, '')
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>')
    .replace(/\b[0-9a-f]{8}-…/g, '<uuid>')
    .replace(/\b[0-9a-f]{32}\b/g, '<id>')
    .replace(/\b\d+(\.\d+)? ?(B|KiB|MiB|GiB|TiB)\/s\b/g, '<rate>')
    .replace(/\b\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)\b/g, '<size>')
    .replace(/\(\d+%\)/g, '(<pct>)')
    .replace(/\b\d+(\.\d+)? ?(s|ms)\b/g, '<duration>')
    .replace(/\bprocess \d+\b/g, 'process <pid>')
    .replace(/-{3,}/g, '---');
}

function lineMatcher(expected: string): RegExp {
  const parts = mask(expected).split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/** null if every shown line appears in `actual`, in order; else the first one that does not */
export function missingLine(expected: string[], actual: string): string | null {
  const got = actual.split('\n').map(mask);
  let at = 0;
  for (const e of expected) {
    if (e.trim() === '' || e.trim() === '⋮') continue;
    const re = lineMatcher(e);
    while (at < got.length && !re.test(got[at])) at++;
    if (at >= got.length) return e;
    at++;
  }
  return null;
}

class Shell {
  readonly dir = mkdtempSync(join(tmpdir(), 'novasim-readme-'));
  readonly home = join(this.dir, 'home');
  readonly work = join(this.dir, 'work');
  private readonly bin = join(this.dir, 'bin');
  private readonly exports: string[] = [];

  constructor() {
    for (const d of [this.home, this.work, this.bin]) mkdirSync(d, { recursive: true });
    for (const name of ['nova', 'nova-sim', 'cinder']) {
      const target = join(ROOT, 'bin', `${name}.cjs`);
      if (existsSync(target)) symlinkSync(target, join(this.bin, name));
    }
  }

  get statePath(): string {
    return join(this.home, '.local', 'state', 'novasim', 'state.json');
  }

  run(cmd: string): { code: number | null; out: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: this.home, PATH: `${this.bin}:${process.env.PATH ?? ''}`, COLUMNS: '80' };
    for (const k of ['OS_USERNAME', 'OS_PROJECT_NAME', 'OS_TENANT_NAME', 'OS_COMPUTE_API_VERSION', 'NOVASIM_STATE', 'XDG_STATE_HOME', 'NO_COLOR']) delete env[k];
    const script = ['set -o pipefail', ...this.exports, 'exec 2>&1', cmd].join('\n');
    const r = spawnSync('bash', ['-c', script], { cwd: this.work, env, encoding: 'utf8', timeout: 90_000 });
    if (/^export\s/.test(cmd)) this.exports.push(cmd);
    return { code: r.status, out: r.stdout };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

describe('the README and the guides: their examples parse', () => {
  it('the README starts with the two commands, and every block after them runs', () => {
    const blocks = testedBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), true);
    expect(blocks[0].steps.map((s) => s.shown)).toEqual([
      'npm ci && OS_USERNAME=admin OS_PROJECT_NAME=demo npx nova volume-update web-1 web-data new-web-data',
      'npm test',
    ]);
    expect(blocks[0].steps.map((s) => s.run)).toEqual(['OS_USERNAME=admin OS_PROJECT_NAME=demo nova volume-update web-1 web-data new-web-data', null]);
    const steps = blocks.flatMap((b) => b.steps);
    expect(steps.filter((s) => s.run !== null).length).toBeGreaterThan(10);
    expect(steps.some((s) => s.expected && s.expected.length > 0)).toBe(true);
  });

  it('markers, exits and the loose comparison', () => {
    const doc = [
      '```sh', 'echo untested', '```', '<!-- tested -->', '```console', '$ nova show x', 'ERROR (CommandError): No server with a name or ID of \'x\' exists.',
      '$ npx nova list', '| ID | Name |', '```', '<!-- not tested: why -->', '```sh', 'nova list', '```', '<!-- tested -->', '```sh', 'false   # exit 1', '```',
    ].join('\n');
    expect(testedBlocks(doc, false).map((b) => b.steps.map((s) => [s.run, s.expectExit]))).toEqual([
      [['nova show x', 1], ['nova list', 0]],
      [['false   # exit 1', 1]],
    ]);
    expect(testedBlocks(doc, true).map((b) => b.line)).toEqual([1, 5, 16]);
    expect(() => testedBlocks('<!-- tested -->\ntext\n', false)).toThrow(/not followed by a code block/);
    const out = 'volume-update: done: 7.3 MiB copied\nSwapped volume a -> b on web-1: copied 7.0 MiB (7344128 bytes) in 0.72 s\n';
    expect(missingLine(['Swapped volume a -> b on web-1: copied 7.0 MiB (7344128 bytes) in 0.61 s'], out)).toBeNull();
    expect(missingLine(['Swapped volume a -> b on web-1: copied 7.0 MiB (7344127 bytes) in 0.61 s'], out)).not.toBeNull();
    expect(missingLine(['Swapped …', 'volume-update: done: …'], out)).toBe('volume-update: done: …');
    expect(missingLine(['… [instance: 5b1a0c4e-…] x'], '2016-01-01 00:00:00.000 1 INFO [instance: 5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01] x')).toBeNull();
  });
});

describe('the README and the guides: their links', () => {
  it.each(DOCS)('every relative link of %s names a file of the repository', (doc) => {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    const base = join(ROOT, doc, '..');
    const broken = links.filter((l) => !existsSync(join(base, l.split('#')[0])));
    expect(broken).toEqual([]);
  });
});

for (const doc of DOCS) {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  const blocks = testedBlocks(text, doc === 'README.md');
  if (!blocks.length) continue;

  describe(`${doc}: its examples, in order, on a fresh world`, () => {
    // A block runs on the world the blocks before it left, as a reader's shell would. Run in
    // order, each block follows the previous one in the same shell; run alone or shuffled, a
    // block replays the blocks before it (checking them as well) on a fresh shell first.
    let sh: Shell | null = null;
    let ran = -1; // the index of the last block run in sh
    const freshShell = (): Shell => {
      sh?.cleanup();
      const fresh = new Shell();
      sh = fresh;
      ran = -1;
      if (doc !== 'README.md') {
        const r = fresh.run('nova-sim init');
        if (r.code !== 0) throw new Error(`nova-sim init failed: ${r.out}`);
      }
      return fresh;
    };
    const runBlock = (shell: Shell, k: number): void => {
      const block = blocks[k];
      for (const step of block.steps) {
        if (step.run === null) continue;
        const r = shell.run(step.run);
        const where = `${doc}:${step.line}: ${step.shown}`;
        expect(r.code, `${where}\nexit ${r.code}, output:\n${r.out}`).toBe(step.expectExit);
        if (step.expected) {
          const missing = missingLine(step.expected, r.out);
          expect(missing, `${where}\nthe line shown is not in the output:\n  ${missing}\noutput:\n${r.out}`).toBeNull();
        }
      }
      if (doc === 'README.md' && k === 0) {
        // "created on first use under ~/.local/state/novasim/"
        expect(existsSync(shell.statePath), `${shell.statePath} after the README's first command`).toBe(true);
      }
      ran = k;
    };
    beforeAll(() => build());
    afterAll(() => sh?.cleanup());

    blocks.forEach((block, k) => {
      it(`the ${block.lang} block at ${doc}:${block.line}`, () => {
        let shell = sh;
        if (shell === null || ran !== k - 1) {
          shell = freshShell();
          for (let j = 0; j < k; j++) runBlock(shell, j);
        }
        runBlock(shell, k);
      }, 180_000);
    });
  });
}
