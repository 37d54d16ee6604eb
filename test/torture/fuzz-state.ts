// Torture campaign fuzz-state: hostile state files (test/fuzz/state-files.test.ts) with
// large counts, no KNOWN exclusions. Guest bytes lost: bytes of a file outside the state
// directory that a command wrote, and image bytes a refused command changed.
import fc from 'fast-check';
import { stateCase } from '../fuzz/support/state-arbs.js';
import { StateFuzz } from '../fuzz/support/state-case.js';
import { FuzzWorld } from '../fuzz/support/world.js';
import { runCases, type CampaignOptions, type CampaignResult } from './campaign.js';

export async function run(opts: CampaignOptions): Promise<CampaignResult> {
  const world = await FuzzWorld.create();
  try {
    const fuzz = new StateFuzz(world);
    const inputs = fc.sample(stateCase, { numRuns: opts.cases, seed: opts.seed });
    let known: { owner: string } | undefined;
    return await runCases(
      inputs,
      async (c) => {
        const r = await fuzz.run(c);
        known = r.known;
        return r;
      },
      opts,
      () => known,
    );
  } finally {
    world.close();
  }
}
