// nova-sim fault: set, list or clear faults at named points of every layer (fault.ts plans
// the command and says which argument is wrong; that is a usage error here).
import { refuseIfServed } from '../served.js';
import { Command } from 'commander';
import { FAULT_POINTS } from '../../../common/faults.js';
import { act, ensureState, operands, type SimContext } from '../context.js';
import { epilog, usageError } from '../options.js';

interface FaultCliOptions {
  error?: string;
  once?: true;
  times?: string;
  afterBytes?: string;
}

export function faultCommand(ctx: SimContext): Command {
  const cmd = new Command('fault')
    .description('Set, list or clear faults on purpose at named points of every layer (Cinder, RPC, volume driver, libvirt, the state write).')
    .argument('[action]', "add a rule, list the rules, or clear them (all, or one point's): add, list or clear.", 'list')
    .argument('[point]', 'Where the fault fires, e.g. cinder.reserve_volume or libvirt.blockJobAbort.pivot.')
    .option(
      '--error <text>',
      "What the failure says (Cinder's HTTP 500 message, the libvirtError's or os-brick's text); state.write: ENOSPC (default), EIO or short.",
    )
    .option('--once', 'Fire the first time the point is reached in each command only.')
    .option('--times <n>', 'Fire the first n times in each command. Default: every time.')
    .option('--after-bytes <n>', 'state.write only: n bytes land before the write fails.');
  epilog(
    cmd,
    "Rules stay in the state until 'fault clear'; one rule per point ('add' replaces it). Counts are per process: each nova or " +
      'nova-sim command counts afresh, so --once fails the first time the point is reached in each command. ' +
      `Points: ${FAULT_POINTS.join(', ')}.`,
  );
  return act(cmd, ctx, async () => {
    const [action, point] = operands<[string, string | undefined]>(cmd);
    const o = cmd.opts<FaultCliOptions>();
    const fault = await import('../../fault.js');
    let plan: import('../../fault.js').FaultPlan;
    try {
      plan = fault.planFaultCommand({ action, point: point ?? null, error: o.error ?? null, once: o.once === true, times: o.times ?? null, afterBytes: o.afterBytes ?? null });
    } catch (e) {
      if (e instanceof fault.FaultArgumentError) usageError(cmd, `argument ${e.argument}: ${e.message}`);
      throw e;
    }
    const statePath = ctx.statePath();
    refuseIfServed(statePath, 'fault');
    await ensureState(statePath, ctx.err);
    const r = await fault.runFaultCommand(statePath, plan);
    if (r.table) ctx.out(`${(await import('../../../novaclient/table.js')).renderTable(r.table.header, r.table.rows)}\n`);
    for (const line of r.lines) ctx.out(`${line}\n`);
    return 0;
  });
}
