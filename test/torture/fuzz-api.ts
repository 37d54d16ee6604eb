// Torture campaign fuzz-api: requests to every nova-api and cinder-api route
// (test/fuzz/api-bodies.test.ts) with large counts, no KNOWN exclusions.
import fc from 'fast-check';
import { apiRequest } from '../fuzz/support/api-arbs.js';
import { runApiCase } from '../fuzz/support/api-case.js';
import { knownApi } from '../fuzz/support/known.js';
import { FuzzWorld } from '../fuzz/support/world.js';
import { runCases, type CampaignOptions, type CampaignResult } from './campaign.js';

export async function run(opts: CampaignOptions): Promise<CampaignResult> {
  const world = await FuzzWorld.create();
  try {
    const inputs = fc.sample(apiRequest, { numRuns: opts.cases, seed: opts.seed });
    return await runCases(inputs, (r) => runApiCase(world, r), opts, knownApi);
  } finally {
    world.close();
  }
}
