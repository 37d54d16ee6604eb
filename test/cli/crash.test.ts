// A `nova volume-update` killed with SIGKILL at any instant of the swap: the state file is
// still readable (atomic writes under the lock) and the guest's disk — whichever image the
// domain uses after the crash — still holds every byte it held before.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { digest } from '../support/world.js';
import { NOVA, World, build } from './helpers.js';

let worlds: World[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

function killAfter(w: World, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NOVA, '--state', w.state, 'volume-update', 'web-1', 'web-data', 'new-web-data'], {
      env: w.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' }),
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('SIGKILL during a swap', () => {
  // from the API call, through the copy and the 0.5 s poll, to the pivot and the BDM update
  beforeAll(() => build());
  it.each([40, 120, 250, 400, 550, 700])('killed after %i ms: readable state, no guest data lost', async (ms) => {
    const w = new World();
    worlds.push(w);
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
    const path = (vol: string) => w.sim(['volume-path', '--state', w.state, vol]).stdout.trim();
    const before = digest(path('web-data'));

    await killAfter(w, ms);

    // the next command reads the state (and drops the dead process's block job)
    const list = w.nova(['list']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const state = JSON.parse(readFileSync(w.state, 'utf8'));
    const domain = state.libvirt.domains.find((d: { name: string }) => d.name === 'instance-00000001');
    const vdb = domain.def.disks.find((d: { targetDev: string }) => d.targetDev === 'vdb');
    // the image the guest now uses holds the guest's data, and the old image was never touched
    expect(digest(vdb.source)).toBe(before);
    expect(digest(path('web-data'))).toBe(before);
  });
});
