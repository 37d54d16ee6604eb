// nova-sim logs: the embedded services' logs, merged by time (logs.ts).
import { Command } from 'commander';
import { stdoutGone } from '../../../common/stdio.js';
import { act, operands, type SimContext } from '../context.js';

export function logsCommand(ctx: SimContext): Command {
  const cmd = new Command('logs')
    .description("Show the embedded services' logs (oslo.log format), merged by time.")
    .argument('[service...]', "nova-api, nova-compute, cinder-api, cinder-volume, libvirtd, qemu-monitor or qemu (the guest's and blkdebug's). Default: all.")
    .option('--request-id <request-id>', 'Only the records of this request (req-… as nova-api returned it).')
    .option('-f, --follow', 'Keep printing records as the services write them, until Ctrl-C (exit 0).');
  return act(cmd, ctx, async () => {
    const [services] = operands<[string[]]>(cmd);
    const o = cmd.opts<{ requestId?: string; follow?: true }>();
    const logs = await import('../../logs.js');
    return logs.logsCommand(ctx.statePath(), { services, requestId: o.requestId ?? null, follow: o.follow === true, until: stdoutGone }, ctx.out);
  });
}
