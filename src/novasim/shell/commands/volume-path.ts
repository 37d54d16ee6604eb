// nova-sim volume-path: the absolute path of a volume's image file (world.ts).
import { Command } from 'commander';
import { act, operands, type SimContext } from '../context.js';

export function volumePathCommand(ctx: SimContext): Command {
  const cmd = new Command('volume-path').description("Print the absolute path of a volume's image file.").argument('<volume>', 'Name or ID of the volume.');
  return act(cmd, ctx, async () => {
    const [volume] = operands<[string]>(cmd);
    const { volumePath } = await import('../../world.js');
    ctx.out(`${await volumePath(ctx.statePath(), volume, (line) => ctx.err(`${line}\n`))}\n`);
    return 0;
  });
}
