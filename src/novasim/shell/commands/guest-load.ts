// nova-sim guest-load: set, stop, run or verify a server's seeded guest workload on one of
// its disks (guest-load.ts). One action per command: the settings, --off, --verify or --run.
import { refuseIfServed } from '../served.js';
import { Command, Option } from 'commander';
import { SimError } from '../../../common/errors.js';
import { act, ensureState, interruptibly, operands, type SimContext } from '../context.js';
import { int, rate, region, seconds, sizes } from '../options.js';

interface GuestLoadOptions {
  disk: string;
  rate?: number;
  seed?: number;
  blockSizes?: number[];
  region?: { offset: number; length: number };
  count?: number;
  off?: true;
  verify?: true;
  run?: number;
}

/** the options that set the workload (any of them together, with none of the actions) */
const SETTINGS = ['rate', 'seed', 'blockSizes', 'region', 'count'];

export function guestLoadCommand(ctx: SimContext): Command {
  const cmd = new Command('guest-load')
    .description("Set, stop, run or verify a server's seeded guest workload on one of its disks.")
    .argument('<server>', 'Name or ID of the server.')
    .option('--disk <dev>', 'Target of the disk the guest writes to.', 'vdb')
    .option('--rate <bytes/s>', 'How fast the guest writes, e.g. 20MiB/s.', rate)
    .option('--seed <seed>', 'Seed of the write plan (offsets, sizes, data).', int)
    .option('--block-sizes <sizes>', 'Write sizes to pick from, e.g. 4K,16K,64K.', sizes)
    .option('--region <offset:length>', 'Part of the disk the writes land in, e.g. 0:256M. Default: the whole disk.', region)
    .option('--count <writes>', 'Stop after this many writes.', int)
    .addOption(new Option('--off', 'Stop the guest load (its writes stay verifiable).').conflicts([...SETTINGS, 'verify', 'run']))
    .addOption(new Option('--verify', 'Replay the workload and compare with the image the disk uses now.').conflicts([...SETTINGS, 'run']))
    .addOption(new Option('--run <seconds>', "Run the server's QEMU here for that long and let the guest write.").argParser(seconds).conflicts(SETTINGS));
  return act(cmd, ctx, async () => {
    const [server] = operands<[string]>(cmd);
    const o = cmd.opts<GuestLoadOptions>();
    const statePath = ctx.statePath();
    refuseIfServed(statePath, 'guest-load');
    await ensureState(statePath, ctx.err);
    const gl = await import('../../guest-load.js');
    const { out } = ctx;
    const disk = o.disk;

    if (SETTINGS.some((k) => cmd.getOptionValue(k) !== undefined)) {
      const v = await gl.configureGuestLoad(statePath, server, disk, { rate: o.rate, seed: o.seed, blockSizes: o.blockSizes, region: o.region, count: o.count });
      out(`${gl.describeLoad(v)}\n`);
      return 0;
    }
    if (o.off) {
      out(`${gl.describeLoad(await gl.stopGuestLoad(statePath, server, disk))}\n`);
      return 0;
    }
    if (o.verify) {
      const v = gl.verifyGuestLoad(statePath, server, disk);
      const r = v.result;
      if (r.ok) {
        out(`${v.serverName} ${v.disk}: ${r.writes} writes (${gl.formatBytes(r.bytes)}, ${r.blocks} blocks of 4 KiB) replayed; ${v.path} holds the last write of every block\n`);
        return 0;
      }
      const exp = `write ${r.expected.index} of segment ${r.expected.segment} (seed ${r.expected.seed})`;
      let found: string;
      if (typeof r.found === 'string') found = r.found;
      else {
        found = `write ${r.found.index} of segment ${r.found.segment} (seed ${r.found.seed})`;
        const recorded = v.recorded[r.found.segment];
        if (recorded !== undefined && r.found.index >= recorded) found += `, past the ${recorded} writes the state records (the host process was killed before recording them)`;
      }
      throw new SimError('GuestDataMismatch', `${v.serverName} ${v.disk}: ${v.path} differs at offset ${r.offset}: expected ${exp}, found ${found}`);
    }
    if (o.run !== undefined) {
      const runFor = o.run;
      return interruptibly(async (signal) => {
        const r = await gl.runGuestLoad(statePath, server, runFor, signal);
        if (r.handedOver) {
          // another host process took the guest over (SIGUSR2): one line, exit 0
          const to = r.handedOver.to === null ? 'handed over (no process has claimed it yet)' : `handed over to process ${r.handedOver.to}`;
          const disks = r.disks.map((d) => `${d.disk} ${d.writes} writes (${gl.formatBytes(d.bytes)})`).join(', ');
          out(`Guest of ${r.serverName} ${to} after ${r.seconds.toFixed(2)} s${disks ? `: ${disks}` : ''}\n`);
          return 0;
        }
        for (const d of r.disks) out(`${r.serverName} ${d.disk}: ${d.writes} writes (${gl.formatBytes(d.bytes)}) in ${r.seconds.toFixed(2)} s\n`);
        return signal.aborted ? 130 : 0;
      });
    }
    const views = gl.listGuestLoads(statePath, server);
    if (!views.length) {
      out(`No guest load for ${server}\n`);
      return 0;
    }
    for (const v of views) out(`${gl.describeLoad(v)}\n`);
    return 0;
  });
}
