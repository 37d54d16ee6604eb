// nova-sim blkdebug: make the block job's I/O on a server's disk misbehave, or list/clear
// the rules (blkdebug.ts checks every value and says what is wrong).
import { refuseIfServed } from '../served.js';
import { Command } from 'commander';
import { act, ensureState, operands, type SimContext } from '../context.js';
import { epilog } from '../options.js';

interface BlkdebugOptions {
  delay?: string;
  injectError?: string;
  errno?: string;
  count?: string;
  clear?: true;
}

export function blkdebugCommand(ctx: SimContext): Command {
  const cmd = new Command('blkdebug')
    .description("Make the block job's I/O on a server's disk misbehave (blkdebug-style rules), or list/clear the rules.")
    .argument('<server>', 'Name or ID of the server.')
    .argument('[disk]', 'Target of the disk, e.g. vdb (needed to set a rule). Default: every disk.')
    .option(
      '--delay <event=ms>',
      "Hold the job's requests at the event for that many ms: flush_to_disk (the target flush, e.g. before READY) or write_aio (target writes).",
    )
    .option('--inject-error <read|write>', "Fail the job's source reads (read) or target writes (write).")
    .option('--errno <EIO|ENOSPC>', 'The error --inject-error gives. Default: EIO.')
    .option('--count <n>', 'Only the first n requests. Default: every one.')
    .option('--clear', "Remove the server's rules (on the disk, if given).");
  epilog(
    cmd,
    'Rules stay in the state until --clear and are armed whenever a process starts the QEMU of the server ' +
      '(nova volume-update, nova-sim guest-load --run); --count counts within that QEMU.',
  );
  return act(cmd, ctx, async () => {
    const [server, disk] = operands<[string, string | undefined]>(cmd);
    const o = cmd.opts<BlkdebugOptions>();
    const statePath = ctx.statePath();
    if (o.delay !== undefined || o.injectError !== undefined || o.count !== undefined || o.clear === true) refuseIfServed(statePath, 'blkdebug');
    await ensureState(statePath, ctx.err);
    const blkdebug = await import('../../blkdebug.js');
    ctx.out(
      await blkdebug.blkdebugCommand(statePath, {
        server,
        disk: disk ?? null,
        delay: o.delay ?? null,
        injectError: o.injectError ?? null,
        errno: o.errno ?? null,
        count: o.count ?? null,
        clear: o.clear === true,
      }),
    );
    return 0;
  });
}
