// nova-sim config: show or set the nova.conf options the embedded services honour (config.ts).
import { refuseIfServed } from '../served.js';
import { Command } from 'commander';
import { act, ensureState, operands, type SimContext } from '../context.js';

export function configCommand(ctx: SimContext): Command {
  const cmd = new Command('config')
    .description('Show or set the nova.conf options the embedded services honour.')
    .argument('[section.option]', 'The option, e.g. libvirt.disk_cachemodes. Default: show them all.')
    .argument('[value]', 'New value; a list takes comma-separated items ("" empties it). nova-compute reads it when it next starts.');
  return act(cmd, ctx, async () => {
    const [option, value] = operands<[string | undefined, string | undefined]>(cmd);
    const statePath = ctx.statePath();
    if (value !== undefined) refuseIfServed(statePath, 'config');
    await ensureState(statePath, ctx.err);
    const config = await import('../../config.js');
    ctx.out(value === undefined ? config.showConfig(statePath, option) : await config.setConfig(statePath, option as string, value));
    return 0;
  });
}
