// The state lock is waited for, not forever: a holder that is stopped (SIGSTOP, a debugger,
// a frozen VM) or stuck makes every other command give up after the lock timeout with one
// line that names it, and change nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NOVA_SIM, World, build, stateLockHeld } from './helpers.js';

const require = createRequire(import.meta.url);

let worlds: World[] = [];
let holders: ChildProcess[] = [];
afterEach(() => {
  for (const h of holders) h.kill('SIGKILL');
  holders = [];
  for (const w of worlds) w.cleanup();
  worlds = [];
});
beforeAll(() => build());

function freshWorld(): World {
  const w = new World();
  worlds.push(w);
  expect(w.sim(['init', '--state', w.state]).code).toBe(0);
  return w;
}

/** a process that takes the state's lock, says so, then stops itself (SIGSTOP) holding it */
function stoppedHolder(w: World): Promise<ChildProcess> {
  const code = `
    const { flockSync } = require(${JSON.stringify(require.resolve('fs-ext'))});
    const fd = require('node:fs').openSync(${JSON.stringify(`${w.state}.lock`)}, 'a');
    flockSync(fd, 'ex');
    process.stdout.write('locked\\n');
    process.kill(process.pid, 'SIGSTOP');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => {
      // wait until the kernel shows it stopped
      const t = setInterval(() => {
        const st = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        if (st.slice(st.lastIndexOf(')') + 2).startsWith('T')) {
          clearInterval(t);
          resolve(child);
        }
      }, 5);
    });
    child.once('error', reject);
  });
}

describe("the harness's own lock check", () => {
  // freezeOutsideLock relies on it: a check that always said "free" let a guest runner be
  // frozen inside a save, and the swap after it then waited out the lock timeout
  it('stateLockHeld sees a lock another process holds, and a free lock as free', async () => {
    const w = freshWorld();
    expect(stateLockHeld(w.state)).toBe(false);
    const holder = await stoppedHolder(w);
    expect(stateLockHeld(w.state)).toBe(true);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(stateLockHeld(w.state)).toBe(false);
  });
});

describe('a stopped lock holder', () => {
  it('a changing command gives up after NOVASIM_LOCK_TIMEOUT with one line naming the holder; nothing changes', async () => {
    const w = freshWorld();
    const holder = await stoppedHolder(w);
    const before = readFileSync(w.state);
    const t0 = Date.now();
    const r = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo', NOVASIM_LOCK_TIMEOUT: '0.5' });
    const took = Date.now() - t0;
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `ERROR (StateLockTimeout): ${w.state} is locked by process ${holder.pid} (stopped); gave up after 0.5 s (NOVASIM_LOCK_TIMEOUT); nothing was changed`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(took).toBeLessThan(10_000);
    expect(readFileSync(w.state).equals(before)).toBe(true);
    // a reading command does not need the lock at all
    expect(w.nova(['show', 'web-1'], { NOVASIM_LOCK_TIMEOUT: '0.5' }).code).toBe(0);
    // once the holder goes, the same command goes through
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const again = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo', NOVASIM_LOCK_TIMEOUT: '0.5' });
    expect(again.code).toBe(0);
    expect(w.nova(['volume-show', 'new-web-data']).stdout).toMatch(/\| status +\| in-use +\|/);
  });

  it('nova stop reports it as novaclient reports any failure of one of several servers', async () => {
    const w = freshWorld();
    const holder = await stoppedHolder(w);
    const r = w.nova(['stop', 'web-1'], { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo', NOVASIM_LOCK_TIMEOUT: '0.3' });
    expect(r.code).toBe(1);
    // utils.do_action_on_many prints the error and raises CommandError
    expect(r.stdout).toContain(`is locked by process ${holder.pid} (stopped); gave up after 0.3 s`);
    expect(r.stderr.trim()).toBe('ERROR (CommandError): Unable to stop the specified server(s).');
  });

  it('nova-sim commands give up the same way', async () => {
    const w = freshWorld();
    const holder = await stoppedHolder(w);
    const before = readFileSync(w.state);
    const r = spawnSim(w, ['config', 'libvirt.disk_cachemodes', 'file=none']);
    const res = await r;
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(`is locked by process ${holder.pid} (stopped); gave up after 0.2 s`);
    expect(readFileSync(w.state).equals(before)).toBe(true);
  });
});

function spawnSim(w: World, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env = { ...w.env(), NOVASIM_STATE: w.state, NOVASIM_LOCK_TIMEOUT: '0.2' };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NOVA_SIM, ...args], { env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}
