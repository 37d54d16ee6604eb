// Issue 8: a save that cannot complete (a full disk, an I/O error, a short write) never
// replaces the state with less; a multi-step operation whose later save fails leaves a
// journal entry that the next command reports and `nova-sim doctor --fix` repairs; a signal
// that comes once the pivot has begun is not reported as a rollback.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NOVA, NOVA_SIM, World, build, tableRows } from './helpers.js';

let worlds: World[] = [];
afterEach(() => {
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

/** sets state.faults by hand (what `nova-sim fault add` stores) */
function setFaults(w: World, faults: unknown[]): void {
  const s = JSON.parse(readFileSync(w.state, 'utf8'));
  s.faults = faults;
  writeFileSync(w.state, JSON.stringify(s, null, 1) + '\n');
}

describe('a save that fails leaves the old state', () => {
  it.each([
    ['ENOSPC after 4096 bytes (the defect: a file cut at 4 KiB, exit 0)', { error: 'ENOSPC', afterBytes: 4096 }, 'No space left on device (ENOSPC)'],
    ['EIO at once', { error: 'EIO', afterBytes: null }, 'Input/output error (EIO)'],
  ])('%s: one line, exit 1, the state bytes unchanged', (_name, fault, text) => {
    const w = freshWorld();
    setFaults(w, [{ point: 'state.write', error: fault.error, times: null, afterBytes: fault.afterBytes }]);
    const before = readFileSync(w.state);
    const r = w.admin(['volume-create', '--display-name', 'extra', '1']);
    expect(r.code).toBe(1);
    // novaclient's own deprecation warning of volume-create aside
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('WARNING: Command'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot save the state to ${w.state}: ${text}; the state file is unchanged`);
    expect(r.stderr).not.toMatch(/TypeError|RangeError|\n\s+at /);
    expect(readFileSync(w.state).equals(before)).toBe(true);
    // no temporary file is left beside the state
    expect(execFileSync('ls', ['-a', w.dir], { encoding: 'utf8' })).not.toMatch(/\.tmp/);
    // and the world still works
    expect(w.admin(['volume-list']).code).toBe(0);
  });

  it('a short write (write(2) landing fewer bytes than asked) is carried on to the full length', () => {
    const w = freshWorld();
    setFaults(w, [{ point: 'state.write', error: 'short', times: null, afterBytes: 1000 }]);
    const r = w.admin(['volume-create', '--display-name', 'extra', '1']);
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(w.state, 'utf8'));
    expect(s.cinder.volumes.some((v: { displayName: string }) => v.displayName === 'extra')).toBe(true);
  });
});

describe('a really full disk (a 64 MiB tmpfs)', () => {
  let mnt = '';
  afterEach(() => {
    if (mnt) spawnSync('umount', [mnt]);
    if (mnt) rmSync(mnt, { recursive: true, force: true });
    mnt = '';
  });

  function tmpfs(w: World): string | null {
    const dir = join(w.dir, 'mnt');
    mkdirSync(dir);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
    if (r.status !== 0) return null;
    mnt = dir;
    return dir;
  }

  it('volume-create with 8 KiB free: exit 1, one line, the state intact and readable', (ctx) => {
    const w = new World();
    worlds.push(w);
    const dir = tmpfs(w);
    if (!dir) return ctx.skip('mount -t tmpfs is not permitted here (needs root); the injected ENOSPC test above covers the writer');
    const state = join(dir, 'state.json');
    const env = w.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' });
    expect(spawnSync(process.execPath, [NOVA_SIM, 'init', '--state', state], { env }).status).toBe(0);
    // fill the file system up to 8 KiB
    const free = () => Number(execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).trim().split('\n')[1]);
    writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, free() - 8192)));
    const before = readFileSync(state);
    const r = spawnSync(process.execPath, [NOVA, '--state', state, 'volume-create', '1'], { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('WARNING: '))).toHaveLength(1);
    expect(r.stderr).toContain('No space left on device (ENOSPC)');
    expect(readFileSync(state).equals(before)).toBe(true);
    const list = spawnSync(process.execPath, [NOVA, '--state', state, 'volume-list'], { env, encoding: 'utf8' });
    expect(list.status).toBe(0);
  });

  it('a swap whose copy and rollback hit ENOSPC leaves a journal entry; the next command says so and doctor --fix repairs', (ctx) => {
    const w = new World();
    worlds.push(w);
    const dir = tmpfs(w);
    if (!dir) return ctx.skip('mount -t tmpfs is not permitted here (needs root)');
    const state = join(dir, 'state.json');
    const env = w.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' });
    const nova = (...a: string[]) => spawnSync(process.execPath, [NOVA, '--state', state, ...a], { env, encoding: 'utf8' });
    const sim = (...a: string[]) => spawnSync(process.execPath, [NOVA_SIM, ...a, '--state', state], { env, encoding: 'utf8' });
    expect(sim('init').status).toBe(0);
    // room for a few saves, not for web-data's 7 MiB of data
    const free = () => Number(execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).trim().split('\n')[1]);
    writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, free() - 2 * 1024 * 1024)));
    const swap = nova('volume-update', 'web-1', 'web-data', 'new-web-data');
    expect(swap.status).toBe(1);
    expect(swap.stderr).not.toMatch(/TypeError|RangeError|\n\s+at /);
    // whatever got saved, the file reads
    expect(nova('list').status).toBe(0);
    // the disk gets room again: the next command reports the interrupted swap (if its end could not be saved)
    rmSync(join(dir, 'filler'));
    const s = JSON.parse(readFileSync(state, 'utf8'));
    // the rollback could not be saved: the journal still holds the swap
    expect(s.operations).toHaveLength(1);
    expect(s.operations[0]).toMatchObject({ kind: 'swap', device: '/dev/vdb' });
    const next = nova('volume-list');
    expect(next.status).toBe(0);
    expect(next.stderr).toMatch(/^WARNING: the swap of volume web-data .* was interrupted .*nova-sim doctor --fix/m);
    expect(sim('doctor', '--fix').status).toBe(0);
    expect(sim('doctor').status).toBe(0);
    const rows = tableRows(nova('volume-list').stdout);
    const status = (name: string) => rows.find((r) => r[2] === name)?.[1];
    expect(status('web-data')).toBe('in-use');
    expect(status('new-web-data')).toBe('available');
    // and the volume can be swapped now
    expect(nova('volume-update', 'web-1', 'web-data', 'new-web-data').status).toBe(0);
  });
});

describe('a signal once the pivot has begun', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s right after the pivot line: the tool says the swap completed, as the end state shows', async (sig) => {
    const w = freshWorld();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [NOVA, '--state', w.state, 'volume-update', 'web-1', 'web-data', 'new-web-data'], {
        env: w.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' }),
      });
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!sent && /volume-update: pivot:/.test(stderr)) {
          sent = true;
          child.kill(sig);
        }
      });
      child.on('close', (code: number | null) => resolve({ code, stderr }));
    });
    const attachments = tableRows(w.admin(['volume-attachments', 'web-1']).stdout);
    const vdb = attachments.find((row) => row[1] === '/dev/vdb');
    const list = tableRows(w.admin(['volume-list']).stdout);
    const newId = list.find((row) => row[2] === 'new-web-data')?.[0];
    if (vdb?.[3] === newId) {
      // swapped: the output must not claim a rollback
      expect(r.stderr).not.toContain('rolled back');
      expect(r.stderr).toMatch(/swap completed|Swapped volume/);
      expect(r.code).toBe(0);
    } else {
      expect(r.stderr).toContain('rolled back');
      expect(r.code).toBe(130);
    }
  });
});
