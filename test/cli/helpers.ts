// Runs the built launchers (bin/nova.cjs, bin/nova-sim.cjs) as a user would, against a
// temporary state file. Build first: npm run build (npm test does).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';

export const NOVA = fileURLToPath(new URL('../../bin/nova.cjs', import.meta.url));
export const NOVA_SIM = fileURLToPath(new URL('../../bin/nova-sim.cjs', import.meta.url));
export const CINDER = fileURLToPath(new URL('../../bin/cinder.cjs', import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'novasim-cli-'));
  readonly state = join(this.dir, 'state.json');

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: '80', ...extra };
    for (const k of ['OS_USERNAME', 'OS_PROJECT_NAME', 'OS_TENANT_NAME', 'OS_COMPUTE_API_VERSION', 'OS_VOLUME_API_VERSION', 'ALL_TENANTS', 'NOVASIM_STATE', 'NO_COLOR']) {
      if (!(k in extra)) delete env[k];
    }
    return env;
  }

  nova(args: string[], extra: NodeJS.ProcessEnv = {}): Result {
    const r = spawnSync(process.execPath, [NOVA, '--state', this.state, ...args], { env: this.env(extra), encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** bin/cinder against this world */
  cinder(args: string[], extra: NodeJS.ProcessEnv = {}): Result {
    const r = spawnSync(process.execPath, [CINDER, '--state', this.state, ...args], { env: this.env(extra), encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** as admin, scoped to the demo project (where the fixture's servers live) */
  admin(args: string[]): Result {
    return this.nova(args, { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' });
  }

  sim(args: string[]): Result {
    const r = spawnSync(process.execPath, [NOVA_SIM, ...args], { env: this.env(), encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** start nova, send SIGINT once stderr matches `when`, collect the result */
  novaInterrupted(args: string[], when: RegExp, extra: NodeJS.ProcessEnv = {}): Promise<Result & { signalled: boolean }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [NOVA, '--state', this.state, ...args], { env: this.env(extra) });
      let stdout = '';
      let stderr = '';
      let signalled = false;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!signalled && when.test(stderr)) {
          signalled = true;
          child.kill('SIGINT');
        }
      });
      child.on('close', (code) => resolve({ code, stdout, stderr, signalled }));
    });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A fresh default world (`nova-sim init`) for each test of the file, handed to `use`, and
 * removed after the test; returns `nova-sim ARGS --state <that world>`.
 */
export function worldPerTest(use: (w: World) => void): (...args: string[]) => Result {
  let current: World | null = null;
  beforeEach(() => {
    current = new World();
    const r = current.sim(['init', '--state', current.state]);
    if (r.code !== 0) throw new Error(`nova-sim init failed: ${r.stderr}`);
    use(current);
  });
  afterEach(() => current?.cleanup());
  return (...args) => {
    if (!current) throw new Error('no world outside a test');
    return current.sim([...args, '--state', current.state]);
  };
}

/** The CLI tests run the bundle that `npm run build` makes (npm test builds first). Building
 * here would race with the other test files running the bins, so a stale bundle is refused. */
export function build(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const bundle = join(root, 'dist', 'bundle', 'nova.cjs');
  let built = 0;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    throw new Error(`${bundle} is missing: run 'npm run build' (npm test does)`);
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (newest(join(root, 'src')) > built) throw new Error(`${bundle} is older than src/: run 'npm run build' (npm test does)`);
}

/** a prettytable: +---+ rule, header, rule, rows, rule */
export function tableRows(out: string): string[][] {
  const lines = out.trimEnd().split('\n');
  return lines.filter((l) => l.startsWith('| ')).map((l) => l.slice(2, -2).split(' | ').map((c) => c.trimEnd()));
}

/** Whether some process holds the state's lock now (an exclusive flock on <state>.lock). */
export function stateLockHeld(statePath: string): boolean {
  // flockSync: fs-ext's flock() is asynchronous (it runs on libuv's pool, after the close
  // below) and never throws, so a check built on it always said "free"
  const { flockSync } = createRequire(import.meta.url)('fs-ext') as { flockSync: (fd: number, how: string) => void };
  const fd = openSync(`${statePath}.lock`, 'a');
  try {
    flockSync(fd, 'exnb');
    flockSync(fd, 'un');
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EWOULDBLOCK') return true;
    throw e;
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGSTOP a host process, but never inside a save: a process frozen while it holds the state's
 * lock would block every other command for good, which is not what a test of a frozen guest
 * runner or block job means. Waits until the kernel shows it stopped, then checks the lock;
 * if it was caught holding it, lets it run a moment and tries again.
 */
function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return 'Tt'.includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    });
  } catch {
    return false;
  }
}

export async function freezeOutsideLock(child: ChildProcess, statePath: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    child.kill('SIGSTOP');
    const t0 = Date.now();
    // every thread stopped, not just the main one: a flock() running on libuv's pool could
    // otherwise still take the lock after the check below; a thread that does not stop in
    // time (in uninterruptible I/O on a loaded machine) means: try again
    let stopped = false;
    while (Date.now() - t0 < 2000) {
      if ((stopped = allThreadsStopped(child.pid!))) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    if (stopped && !stateLockHeld(statePath)) {
      // and still so a moment later, with every thread still stopped
      await new Promise((r) => setTimeout(r, 20));
      if (allThreadsStopped(child.pid!) && !stateLockHeld(statePath)) return;
    }
    child.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 5 + attempt));
  }
  throw new Error(`process ${child.pid} held the state lock at every attempt to freeze it`);
}
