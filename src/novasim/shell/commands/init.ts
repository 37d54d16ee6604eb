// nova-sim init: create the state file (and its volume images) from a fixture (world.ts).
import { refuseIfServed } from '../served.js';
import { Command } from 'commander';
import { act, type SimContext } from '../context.js';

export function initCommand(ctx: SimContext): Command {
  const cmd = new Command('init')
    .description('Create the state file (and its volume images) from a fixture.')
    .option('--fixture <name|path>', 'Fixture name (in fixtures/) or path to a fixture JSON file.', 'default')
    .option('--force', 'Replace an existing state file.');
  return act(cmd, ctx, async () => {
    const o = cmd.opts<{ fixture: string; force?: true }>();
    const { initWorld } = await import('../../world.js');
    refuseIfServed(ctx.statePath(), 'init');
    const r = await initWorld(ctx.statePath(), o.fixture, o.force === true);
    ctx.out(`${r.created ? 'Created' : 'Replaced'} ${r.path} from fixture ${o.fixture}\n`);
    return 0;
  });
}
