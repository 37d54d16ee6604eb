// Torture campaign fuzz-cli: the CLI properties of test/fuzz/cli-args.test.ts with large
// counts (half `nova`, half `nova-sim`), every tenth case on the real binaries, and no
// KNOWN exclusions: a known failure counts, marked with its owner.
import fc from 'fast-check';
import { novaCase, novaCommands, simCase, simCommands } from '../fuzz/support/cli-arbs.js';
import { runCliCase } from '../fuzz/support/cli-case.js';
import { knownCli } from '../fuzz/support/known.js';
import { FuzzWorld } from '../fuzz/support/world.js';
import { runCases, type CampaignOptions, type CampaignResult } from './campaign.js';

export async function run(opts: CampaignOptions): Promise<CampaignResult> {
  const world = await FuzzWorld.create();
  try {
    const arb = fc.oneof(novaCase(await novaCommands()), simCase(simCommands()));
    const inputs = fc.sample(arb, { numRuns: opts.cases, seed: opts.seed });
    return await runCases(inputs, (c, i) => runCliCase(world, c, { binary: i % 10 === 9 }), opts, knownCli);
  } finally {
    world.close();
  }
}
