// Runs `nova` and `nova-sim` in this process (the shell and simMain with captured output),
// or as the real binaries (bin/nova.cjs, bin/nova-sim.cjs) for the properties that only a
// process shows: its exit code, what reaches the terminal, the state file after it exits.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedConnector } from '../../../src/novaclient/embedded.js';
import { NovaShell, type ShellIO } from '../../../src/novaclient/shell.js';
import { simMain } from '../../../src/novasim/shell/main.js';
import type { Outcome } from './checks.js';

/** the package's root: the first folder up from this module that holds bin/nova.cjs (this
 * module also runs bundled, from dist/torture/) */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'nova.cjs'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no bin/nova.cjs above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const NOVA_BIN = join(packageRoot(), 'bin', 'nova.cjs');
export const NOVA_SIM_BIN = join(packageRoot(), 'bin', 'nova-sim.cjs');

/** the environment of every fuzzed command: 80 columns, no colour, the given user */
export function fuzzEnv(user: 'admin' | 'demo', extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { COLUMNS: '80', NO_COLOR: '1', ...extra };
  if (user === 'admin') Object.assign(env, { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' });
  return env;
}

/** `nova --state STATE ARGV…` in this process */
export async function novaInProcess(statePath: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  const o = { stdout: '', stderr: '' };
  const io: ShellIO = {
    out: (t) => void (o.stdout += t),
    err: (t) => void (o.stderr += t),
    stderrIsTTY: false,
    stderrColumns: 0,
    env,
    setInterruptHandler: () => undefined,
  };
  let code: number | null;
  try {
    code = await new NovaShell(io, embeddedConnector).main(['--state', statePath, ...argv]);
  } catch (e) {
    // what bin/nova's run() would print for an exception that escapes the shell
    o.stderr += `ERROR (${e instanceof Error ? e.name : 'Exception'}): ${e instanceof Error ? e.message : String(e)}\n`;
    code = 1;
  }
  return { code, ...o };
}

/** `nova-sim ARGV… --state STATE` in this process */
export async function simInProcess(statePath: string, argv: string[]): Promise<Outcome> {
  const o = { stdout: '', stderr: '' };
  const prev = process.env.COLUMNS;
  process.env.COLUMNS = '80';
  let code: number | null;
  try {
    code = await simMain(
      ['--state', statePath, ...argv],
      (t) => void (o.stdout += t),
      (t) => void (o.stderr += t),
    );
  } catch (e) {
    o.stderr += `ERROR (${e instanceof Error ? e.name : 'Exception'}): ${e instanceof Error ? e.message : String(e)}\n`;
    code = 1;
  } finally {
    if (prev === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = prev;
  }
  return { code, ...o };
}

/** the real binary, as a user runs it; `timeoutMs` ends a command that hangs (a failure) */
export function runBinary(bin: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 20000, cwd?: string): Outcome & { signal: string | null } {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
  const r = spawnSync(process.execPath, [bin, ...argv], { env: { ...base, ...env }, cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', signal: r.signal };
}
