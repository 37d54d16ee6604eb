// nova-sim doctor: what a crash, a failed save or a fault left inconsistent, and --fix (doctor.ts).
import { refuseIfServed } from '../served.js';
import { Command } from 'commander';
import { act, ensureState, type SimContext } from '../context.js';
import { epilog } from '../options.js';

export function doctorCommand(ctx: SimContext): Command {
  const cmd = new Command('doctor')
    .description('List what a crash, a failed save or a fault left inconsistent (exit 1 if anything); --fix repairs it.')
    .option('--fix', 'Repair what is found, then look again.');
  epilog(
    cmd,
    "--fix repairs the way an operator would: cinder reset-state, nova reset-state, virsh define, finishing or undoing an " +
    'interrupted pivot from the disk the domain really uses, so the data the guest wrote is kept.',
  );
  return act(cmd, ctx, async () => {
    const statePath = ctx.statePath();
    if (cmd.opts<{ fix?: true }>().fix === true) refuseIfServed(statePath, 'doctor --fix');
    // doctor lists an interrupted operation itself: no notice first
    await ensureState(statePath, ctx.err, true);
    const doctor = await import('../../doctor.js');
    const r = await doctor.doctorCommand(statePath, cmd.opts<{ fix?: true }>().fix === true);
    ctx.out(r.out);
    return r.code;
  });
}
