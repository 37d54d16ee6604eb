// nova-sim init: create the state file (and its volume images) from a fixture (world.ts), or
// from a generated world of a given size (generate.ts).
import { Command } from 'commander';
import { act, type SimContext } from '../context.js';

export function initCommand(ctx: SimContext): Command {
  const cmd = new Command('init')
    .description('Create the state file (and its volume images) from a fixture.')
    .option('--fixture <name|path>', 'Fixture name (in fixtures/) or path to a fixture JSON file.', 'default')
    .option('--generate <servers=N,volumes=M>', 'Generate a world of N servers (each with an attached volume) and M volumes in all, instead of a fixture.')
    .option('--seed <n>', 'Seed of a generated world (the same seed gives the same world).', '1')
    .option('--force', 'Replace an existing state file.');
  return act(cmd, ctx, async () => {
    const o = cmd.opts<{ fixture: string; generate?: string; seed: string; force?: true }>();
    const { initWorld } = await import('../../world.js');
    if (o.generate !== undefined) {
      const { generateFixture, parseGenerateSpec } = await import('../../generate.js');
      const spec = parseGenerateSpec(o.generate, /^\d+$/.test(o.seed) ? Number(o.seed) : NaN);
      const r = await initWorld(ctx.statePath(), generateFixture(spec), o.force === true);
      ctx.out(`${r.created ? 'Created' : 'Replaced'} ${r.path}: ${spec.servers} servers, ${spec.volumes} volumes (seed ${spec.seed})\n`);
      return 0;
    }
    const r = await initWorld(ctx.statePath(), o.fixture, o.force === true);
    ctx.out(`${r.created ? 'Created' : 'Replaced'} ${r.path} from fixture ${o.fixture}\n`);
    return 0;
  });
}
