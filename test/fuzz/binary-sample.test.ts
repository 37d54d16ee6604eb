// The CLI properties on the real binaries (bin/nova.cjs, bin/nova-sim.cjs, as `npm run
// build` bundles them), for a sample of the fuzzed cases: what only a process shows — its
// exit code, everything that reaches stdout/stderr (no stack trace, no JavaScript error
// name), and the state file after it exited (unchanged when the command failed).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../cli/helpers.js';
import { novaCase, novaCommands, simCase, simCommands, type CliCase, type Cmd } from './support/cli-arbs.js';
import { runCliCase } from './support/cli-case.js';
import { knownCli } from './support/known.js';
import { runs, SEED } from './support/settings.js';
import { FuzzWorld } from './support/world.js';

let world: FuzzWorld;
let nova: Cmd[];
let sim: Cmd[];
beforeAll(async () => {
  build();
  world = await FuzzWorld.create();
  nova = await novaCommands();
  sim = simCommands();
});
afterAll(() => world?.close());

async function sample(cases: CliCase[]): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases) {
    const r = await runCliCase(world, c, { binary: true });
    if (r.problems.length) failures.push(`${r.repro}: ${r.problems.join('; ')}`);
  }
  return failures;
}

describe('the real binaries', () => {
  it("Object.prototype's names, and commands that fail after reading the state", async () => {
    const cases: CliCase[] = [
      { tool: 'nova-sim', argv: ['constructor'], user: 'admin' },
      { tool: 'nova-sim', argv: ['virsh', '__proto__'], user: 'admin' },
      { tool: 'nova', argv: ['toString'], user: 'admin' },
      // failures after the state was read (and for some, locked for writing)
      { tool: 'nova', argv: ['volume-update', 'web-1', 'web-data', 'nosuch'], user: 'admin' },
      { tool: 'nova', argv: ['volume-detach', 'web-1', 'spare'], user: 'admin' },
      { tool: 'nova', argv: ['volume-create', '99999999999'], user: 'admin' },
      { tool: 'nova', argv: ['reset-state', 'nosuch'], user: 'admin' },
      { tool: 'nova-sim', argv: ['blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=99999999'], user: 'admin' },
      { tool: 'nova-sim', argv: ['guest-load', 'web-1', '--disk', 'vdz', '--seed', '1'], user: 'admin' },
    ];
    const failures = await sample(cases.filter((c) => !knownCli(c)));
    expect(failures).toEqual([]);
  }, 120000);

  it('a sample of the fuzzed nova and nova-sim arguments', async () => {
    const n = runs(8);
    const cases = [
      ...fc.sample(novaCase(nova).filter((c) => !knownCli(c)), { numRuns: n, seed: SEED }),
      ...fc.sample(simCase(sim).filter((c) => !knownCli(c)), { numRuns: n, seed: SEED + 1 }),
    ];
    expect(await sample(cases)).toEqual([]);
  }, 240000);
});
