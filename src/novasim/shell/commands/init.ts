// nova-sim init: create the state file (and its volume images) from a fixture (world.ts), or
// from a generated world of a given size (generate.ts).
import { refuseIfServed } from '../served.js';
import { Command, Option } from 'commander';
import { act, type SimContext } from '../context.js';

/** a generated world of more records than this (servers + volumes) is kept in SQLite */
const SQLITE_ABOVE = 1000;

export function initCommand(ctx: SimContext): Command {
  const cmd = new Command('init')
    .description('Create the state file (and its volume images) from a fixture.')
    .option('--fixture <name|path>', 'Fixture name (in fixtures/) or path to a fixture JSON file.', 'default')
    .option('--generate <servers=N,volumes=M>', 'Generate a world of N servers (each with an attached volume) and M volumes in all, instead of a fixture.')
    .option('--seed <n>', 'Seed of a generated world (the same seed gives the same world).', '1')
    .addOption(new Option('--format <json|sqlite>', 'How the state file keeps the world: one JSON document, or SQLite (for large worlds; nova-sim export gives its JSON). Default: json, sqlite for a generated world of more than 1000 servers and volumes.').choices(['json', 'sqlite']))
    .option('--force', 'Replace an existing state file.');
  return act(cmd, ctx, async () => {
    const o = cmd.opts<{ fixture: string; generate?: string; seed: string; format?: string; force?: true }>();
    const format = o.format as 'json' | 'sqlite' | undefined;
    const { initWorld } = await import('../../world.js');
    refuseIfServed(ctx.statePath(), 'init');
    if (o.generate !== undefined) {
      const { generateFixture, parseGenerateSpec } = await import('../../generate.js');
      const spec = parseGenerateSpec(o.generate, /^\d+$/.test(o.seed) ? Number(o.seed) : NaN);
      const fmt = format ?? (spec.servers + spec.volumes > SQLITE_ABOVE ? 'sqlite' : 'json');
      const r = await initWorld(ctx.statePath(), generateFixture(spec), o.force === true, fmt);
      ctx.out(`${r.created ? 'Created' : 'Replaced'} ${r.path}: ${spec.servers} servers, ${spec.volumes} volumes (seed ${spec.seed}, ${fmt === 'sqlite' ? 'SQLite' : 'JSON'})\n`);
      return 0;
    }
    const r = await initWorld(ctx.statePath(), o.fixture, o.force === true, format ?? 'json');
    ctx.out(`${r.created ? 'Created' : 'Replaced'} ${r.path} from fixture ${o.fixture}\n`);
    return 0;
  });
}
