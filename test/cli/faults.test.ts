// `nova-sim fault`, point by point, through the built binaries: the fault table of
// test/support/fault-table.ts (set the fault, run the operation that reaches it, check that
// the world is what Mitaka leaves, then `fault clear`, `doctor`, `doctor --fix`, `doctor`,
// and a new swap works), each point once; `npm run torture` runs the same table more times,
// some with a guest writing (test/torture/fault-table.ts).
//
// One fresh world per case; the cases run concurrently (each is a chain of processes).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES, caseName, endState, freshWorld, nova, OPS, runFaultCase, sim, state, writeFixture } from '../support/fault-table.js';
import { build } from './helpers.js';

const fixtureDir = mkdtempSync(join(tmpdir(), 'novasim-faults-fixture-'));
let fixturePath = '';

beforeAll(() => {
  build();
  // the default world, with cache-1's domain defined like the others, so that a fresh world
  // has nothing for doctor to report
  fixturePath = writeFixture(fixtureDir);
});
afterAll(() => rmSync(fixtureDir, { recursive: true, force: true }));

describe.concurrent('a fault at each point leaves what Mitaka leaves, and doctor --fix recovers it', () => {
  it.each(CASES.map((c) => ({ ...c, name: caseName(c) })))(
    '$name',
    async (c) => {
      expect(await runFaultCase(c, fixturePath)).toEqual({ problems: [], unreadable: false, bytesLost: 0 });
    },
    120_000,
  );

  it('libvirt.undefine --once: delete_configuration retries with undefine() and the swap goes through', async () => {
    const w = await freshWorld(fixturePath);
    try {
      expect((await sim(w, 'fault', 'add', 'libvirt.undefine', '--once')).code).toBe(0);
      const r = await nova(w, ...OPS.swap);
      expect(r.stderr).toMatch(/Swapped volume web-data -> new-web-data on web-1/);
      expect(r.code).toBe(0);
      const jobs: string[] = [];
      expect(endState(w, jobs).domain).toBe('persistent, vdb on new-web-data, config vdb on web-data');
      expect(jobs, 'no block job outlives the command that ran it').toEqual([]);
    } finally {
      w.cleanup();
    }
  }, 60_000);

  it('state.write: ENOSPC/EIO after some bytes fail the command in one line, the state and its directory unchanged; a short write is resumed', async () => {
    const w = await freshWorld(fixturePath);
    try {
      for (const [errno, text] of [
        ['ENOSPC', 'No space left on device'],
        ['EIO', 'Input/output error'],
      ]) {
        expect((await sim(w, 'fault', 'add', 'state.write', '--error', errno, '--after-bytes', '2000')).stdout).toMatch(
          new RegExp(`^fault set: state\\.write: write\\(2\\) fails with ${errno} after 2000 bytes, fires every time it is reached`),
        );
        const before = readFileSync(w.state, 'utf8');
        const files = readdirSync(w.dir).sort();
        const r = await nova(w, 'volume-create', '1', '--display-name', 'extra');
        expect(r.code).toBe(1);
        expect(r.stderr.split('\n').filter((l) => l.startsWith('ERROR'))).toEqual([
          `ERROR (StateWriteError): cannot save the state to ${w.state}: ${text} (${errno}); the state file is unchanged`,
        ]);
        expect(readFileSync(w.state, 'utf8')).toBe(before);
        expect(readdirSync(w.dir).sort(), 'no temporary file is left behind').toEqual(files);
      }
      const short = await sim(w, 'fault', 'add', 'state.write', '--error', 'short');
      expect([short.code, short.stderr]).toEqual([0, '']);
      const created = await nova(w, 'volume-create', '1', '--display-name', 'extra');
      expect([created.code, created.stderr]).toEqual([0, expect.not.stringMatching(/ERROR/)]);
      expect((await sim(w, 'fault', 'clear', 'state.write')).stdout).toBe('fault cleared: state.write\n');
      expect(state(w).cinder.volumes.filter((v) => v.displayName === 'extra')).toHaveLength(1);
    } finally {
      w.cleanup();
    }
  }, 60_000);

  it('refuses an unknown point or a nonsense count (usage error, exit 2) and lists the rules as a table', async () => {
    const w = await freshWorld(fixturePath);
    try {
      const before = readFileSync(w.state, 'utf8');
      const bad = await sim(w, 'fault', 'add', 'libvirt.blockJobAbort');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: argument <point>: invalid point: 'libvirt\.blockJobAbort'; the points are: cinder\.reserve_volume, .*, libvirt\.blockJobAbort\.pivot, .*state\.write$/m);
      for (const args of [['--times', '0'], ['--times', '-3'], ['--times', 'many'], ['--once', '--times', '2'], ['--after-bytes', '10']]) {
        const r = await sim(w, 'fault', 'add', 'rpc.cast', ...args);
        expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(/^error: argument --(times|after-bytes): /m)]);
      }
      expect(readFileSync(w.state, 'utf8'), 'a refused command changes nothing').toBe(before);
      await sim(w, 'fault', 'add', 'libvirt.blockJobAbort.pivot', '--times', '2', '--error', 'QEMU went away');
      await sim(w, 'fault', 'add', 'rpc.cast');
      const list = await sim(w, 'fault', 'list');
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('| libvirt.blockJobAbort.pivot | libvirtd raises libvirtError "operation failed: QEMU went away"');
      expect(list.stdout).toContain('fires the first 2 times it is reached in each command');
      expect(list.stdout).toMatch(/\| rpc\.cast +\| the cast is accepted and never consumed \(nova-compute down\) +\| fires every time it is reached/);
      const help = await sim(w, 'fault', '--help');
      expect(help.stdout.replace(/\s+/g, ' ')).toContain('each nova or nova-sim command counts afresh');
    } finally {
      w.cleanup();
    }
  }, 60_000);
});
