// `nova-sim guest-load --run` in one terminal, `nova volume-update` in another, as built
// binaries against a temporary state (npm run build first). One process at a time hosts a
// domain's guest: the swap's host asks the runner to hand the guest over (SIGUSR2), the
// runner records its exact write count and exits, and the swap's host goes on with the
// same seeded plan from that count, so the mirror sees every later write. A hand-over that
// cannot happen fails the swap (rolled back) instead of letting two processes write.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NOVA, NOVA_SIM, World, build, freezeOutsideLock, tableRows, type Result } from './helpers.js';

const NEW_WEB_DATA = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';

interface Load {
  runnerPid: number | null;
  writes: number;
}

let w: World;
const children: ChildProcess[] = [];
beforeAll(() => build());
beforeEach(() => {
  w = new World();
  expect(w.sim(['init', '--state', w.state]).code).toBe(0);
});
afterEach(() => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
  }
  w.cleanup();
});

const sim = (...args: string[]) => w.sim([...args, '--state', w.state]);

/** web-1's load on vdb as the state file records it now */
function load(): Load {
  for (;;) {
    try {
      const l = JSON.parse(readFileSync(w.state, 'utf8')).guestLoads[0];
      return { runnerPid: l.runnerPid, writes: l.segments.at(-1).writes };
    } catch {
      // a read racing the atomic rename: try again
    }
  }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `nova-sim guest-load web-1 --run SECONDS` in the background, once it has written */
async function startRunner(seconds: number): Promise<{ child: ChildProcess; done: Promise<Result> }> {
  const child = spawn(process.execPath, [NOVA_SIM, 'guest-load', 'web-1', '--run', String(seconds), '--state', w.state], { env: w.env() });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  await until(() => {
    const l = load();
    return l.runnerPid === child.pid && l.writes > 0;
  }, 'the --run process to record writes');
  return { child, done };
}

/** nova volume-update as admin in the demo project; returns its pid too */
function swap(extra: NodeJS.ProcessEnv = {}): Result & { pid: number } {
  const r = spawnSync(process.execPath, [NOVA, '--state', w.state, 'volume-update', 'web-1', 'web-data', 'new-web-data'], {
    env: w.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo', ...extra }),
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
}

function volumeStatus(name: string): string {
  const row = tableRows(w.nova(['volume-list']).stdout).find((cells) => cells[2] === name);
  if (!row) throw new Error(`no volume ${name}`);
  return row[1];
}

/** the image web-1's vdb uses now, as virsh domblklist shows it */
function vdbSource(): string {
  const line = sim('virsh', 'domblklist', 'web-1').stdout.split('\n').find((l) => l.startsWith(' vdb '));
  return (line ?? '').trim().split(/\s+/)[1];
}

describe('nova volume-update while nova-sim guest-load --run hosts the guest', () => {
  it('the runner hands the guest over, the swap goes on with the same plan, and no write is lost (seed 7)', async () => {
    expect(sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '20MiB/s', '--seed', '7').code).toBe(0);
    const { child, done } = await startRunner(30);
    const before = load().writes;

    const s = swap();
    expect(s.stderr).toMatch(/^Swapped volume web-data -> new-web-data on web-1: copied /m);
    expect(s.code).toBe(0);

    // the runner stopped at once (not after 30 s), recorded its writes and named the new host
    const r = await done;
    expect(r.code).toBe(0);
    const m = /^Guest of web-1 handed over to process (\d+) after (\d+\.\d\d) s: vdb (\d+) writes \(\d+(\.\d)? (B|KiB|MiB)\)\n$/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(s.pid);
    expect(Number(m![2])).toBeLessThan(20);
    expect(child.pid).not.toBe(s.pid);
    const handedOver = Number(m![3]);
    expect(handedOver).toBeGreaterThanOrEqual(before);

    // the swap's host went on from that count: the count kept growing across the hand-over
    const after = load();
    expect(after.runnerPid).toBeNull();
    expect(after.writes).toBeGreaterThan(handedOver);

    expect(volumeStatus('new-web-data')).toBe('in-use');
    expect(volumeStatus('web-data')).toBe('available');
    expect(vdbSource()).toMatch(new RegExp(`volume-${NEW_WEB_DATA}$`));
    const v = sim('guest-load', 'web-1', '--verify');
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`^web-1 vdb: ${after.writes} writes .*volume-${NEW_WEB_DATA} holds the last write of every block\n$`));
  });

  it('a runner that does not answer (stopped): the hand-over times out, the swap fails and rolls back, nothing is lost', async () => {
    expect(sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '20MiB/s', '--seed', '11').code).toBe(0);
    const { child, done } = await startRunner(30);
    await freezeOutsideLock(child, w.state);
    const stopped = load().writes;

    const t0 = Date.now();
    const s = swap({ NOVASIM_HANDOVER_TIMEOUT_MS: '1000' });
    expect(Date.now() - t0, s.stderr).toBeLessThan(10_000);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(
      `ERROR (libvirtError): operation failed: the guest of web-1 (instance-00000001) is run by process ${child.pid}, ` +
        'which did not hand it over within 1.0 s; not starting a second writer\n',
    );
    expect(s.stderr).not.toMatch(/^\s+at /m);
    // rolled back: the disk stays on its source, no job is left
    expect(volumeStatus('web-data')).toBe('in-use');
    expect(volumeStatus('new-web-data')).toBe('available');
    expect(vdbSource()).toMatch(new RegExp(`volume-${WEB_DATA}$`));
    expect(JSON.parse(readFileSync(w.state, 'utf8')).libvirt.domains.find((d: { name: string }) => d.name === 'instance-00000001').mirrors).toEqual({});

    // the runner, let go on, gets the request it was sent: it stops, records, exits 0
    child.kill('SIGCONT');
    const r = await done;
    expect(r.code).toBe(0);
    const m = /^Guest of web-1 handed over \(no process has claimed it yet\) after \d+\.\d\d s: vdb (\d+) writes /.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    const after = load();
    expect(after).toEqual({ runnerPid: null, writes: Number(m![1]) });
    expect(after.writes).toBeGreaterThanOrEqual(stopped);
    const v = sim('guest-load', 'web-1', '--verify');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`^web-1 vdb: ${after.writes} writes .*volume-${WEB_DATA} holds the last write of every block\n$`));
  });

  it('a recorded runner that is not a guest-load --run (a live `sleep`): refused at once, not signalled, nothing is lost', async () => {
    expect(sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '20MiB/s', '--seed', '3').code).toBe(0);
    expect(sim('guest-load', 'web-1', '--run', '0.3').code).toBe(0);
    const writes = load().writes;
    expect(writes).toBeGreaterThan(0);
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(sleeper);
    const doc = JSON.parse(readFileSync(w.state, 'utf8'));
    doc.guestLoads[0].runnerPid = sleeper.pid;
    writeFileSync(w.state, JSON.stringify(doc, null, 1) + '\n');

    const s = swap({ NOVASIM_HANDOVER_TIMEOUT_MS: '5000' });
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(
      `ERROR (libvirtError): operation failed: the guest of web-1 (instance-00000001) is run by process ${sleeper.pid}, ` +
        "which is not a 'nova-sim guest-load --run' that could hand it over; not starting a second writer\n",
    );
    // the unrelated process got no signal
    expect(sleeper.exitCode).toBeNull();
    expect(sleeper.signalCode).toBeNull();
    expect(volumeStatus('web-data')).toBe('in-use');
    expect(volumeStatus('new-web-data')).toBe('available');
    expect(vdbSource()).toMatch(new RegExp(`volume-${WEB_DATA}$`));
    expect(load()).toEqual({ runnerPid: sleeper.pid, writes });
    const v = sim('guest-load', 'web-1', '--verify');
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`web-1 vdb: ${writes} writes`);
  });
});

describe('nova-sim guest-load --run ended by a signal', () => {
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} stops the guest the way Ctrl-C does: the exact write count is recorded, --verify passes`, async () => {
      expect(sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '20MiB/s', '--seed', '5').code).toBe(0);
      const { child, done } = await startRunner(30);
      // past a periodic record or two, so that writes land between records
      await new Promise((r) => setTimeout(r, 400));
      child.kill(sig);
      const r = await done;
      expect(r.code, r.stderr).toBe(130);
      const m = /^web-1 vdb: (\d+) writes \(.*\) in \d+\.\d\d s\n$/.exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      const after = load();
      expect(after).toEqual({ runnerPid: null, writes: Number(m![1]) });
      const v = sim('guest-load', 'web-1', '--verify');
      expect(v.stderr).toBe('');
      expect(v.code).toBe(0);
      expect(v.stdout).toContain(`web-1 vdb: ${after.writes} writes`);
    });
  }

  it('--run longer than setTimeout can hold (1e9 s, ~31 years) runs until stopped: no TimeoutOverflowWarning, no exit at once', async () => {
    expect(sim('guest-load', 'web-1', '--disk', 'vdb', '--rate', '1MiB/s', '--seed', '9').code).toBe(0);
    const t0 = Date.now();
    const { child, done } = await startRunner(1e9);
    await new Promise((r) => setTimeout(r, 600));
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    const r = await done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).not.toContain('TimeoutOverflowWarning');
    expect(r.stdout).toMatch(/^web-1 vdb: \d+ writes \(.*\) in \d+\.\d\d s\n$/);
  });
});
