// Property-based fuzzing of the arguments of every `nova` and `nova-sim` subcommand, run in
// this process against a default world (reset before each case). Properties: exit code in
// {0, 1, 2}; one error at most (`ERROR (X): …`, or the parser's usage + `error:`); no
// JavaScript error in the output; the state file's bytes unchanged when the command
// failed. test/fuzz/binary-sample.test.ts checks a sample on the real binaries.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { novaCase, novaCommands, PROTO_NAMES, simCase, simCommands, type CliCase, type Cmd } from './support/cli-arbs.js';
import { runCliCase } from './support/cli-case.js';
import { knownCli } from './support/known.js';
import { CaseFailed, params } from './support/settings.js';
import { FuzzWorld } from './support/world.js';

let world: FuzzWorld;
let nova: Cmd[];
let sim: Cmd[];
beforeAll(async () => {
  world = await FuzzWorld.create();
  nova = await novaCommands();
  sim = simCommands();
});
afterAll(() => world?.close());

async function check(c: CliCase): Promise<void> {
  const r = await runCliCase(world, c);
  if (r.problems.length) throw new CaseFailed(r.problems, r.repro);
}

/** every argument of a command filled with `v` (positionals and option values alike) */
function allArgs(cmd: Cmd, v: string): string[] {
  const argv: string[] = [];
  for (const a of [...cmd.spec.args, ...(cmd.spec.groups ?? []).flatMap((g) => g.args)]) {
    if (a.action === 'help' || a.action === 'version' || a.flags?.includes('--state') || a.flags?.includes('--follow')) continue;
    if (!a.flags) argv.push(v);
    else if ((a.action ?? 'store') === 'store' || a.action === 'append') argv.push(a.flags[0], v);
    else argv.push(a.flags[0]);
  }
  return argv;
}

describe('the commands fuzzed', () => {
  it("nova-sim's are read from its commander program: every subcommand, virsh's each, with their options and arguments", () => {
    expect(sim.map((c) => c.words.join(' ')).sort()).toEqual(
      ['init', 'export', 'import', 'volume-path', 'logs', 'config', 'blkdebug', 'doctor', 'fault', 'guest-load', 'virsh', 'virsh list', 'virsh domblklist', 'virsh dumpxml', 'virsh blockjob', 'virsh qemu-monitor-command'].sort(),
    );
    const spec = (words: string) => (sim.find((c) => c.words.join(' ') === words) as Cmd).spec;
    expect(spec('guest-load').args.map((a) => [a.flags?.join(',') ?? a.dest, a.metavar ?? null, a.action ?? null, a.nargs ?? null])).toEqual([
      ['-h,--help', null, 'help', null],
      ['--disk', '<dev>', 'store', null],
      ['--rate', '<bytes/s>', 'store', null],
      ['--seed', '<seed>', 'store', null],
      ['--block-sizes', '<sizes>', 'store', null],
      ['--region', '<offset:length>', 'store', null],
      ['--count', '<writes>', 'store', null],
      ['--off', null, 'store_true', null],
      ['--verify', null, 'store_true', null],
      ['--run', '<seconds>', 'store', null],
      ['server', '<server>', null, null],
    ]);
    expect(spec('logs').args.find((a) => !a.flags)).toMatchObject({ dest: 'service', nargs: '*' });
    expect(spec('blkdebug').args.filter((a) => !a.flags).map((a) => a.nargs ?? null)).toEqual([null, '?']);
  });
});

describe("Object.prototype's names are names like any other", () => {
  // nova-sim looked its subcommands up in plain objects: `nova-sim constructor` found
  // Object's constructor and died with "TypeError: spec.args is not iterable"
  for (const name of PROTO_NAMES) {
    it(`nova-sim ${name}, nova-sim virsh ${name}, nova ${name}, nova help ${name}: a usage error`, async () => {
      for (const c of [
        { tool: 'nova-sim', argv: [name] },
        { tool: 'nova-sim', argv: ['virsh', name] },
        { tool: 'nova-sim', argv: [name, 'web-1'] },
        { tool: 'nova', argv: [name] },
      ] as const) {
        const r = await runCliCase(world, { ...c, argv: [...c.argv], user: 'admin' });
        expect(r.problems, r.repro).toEqual([]);
        expect(r.outcome?.code, r.repro).toBe(2);
        // argparse's words in nova, commander's in nova-sim
        expect(r.outcome?.stderr, r.repro).toContain(c.tool === 'nova' ? `invalid choice: '${name}'` : `unknown command '${name}'`);
      }
      const help = await runCliCase(world, { tool: 'nova', argv: ['help', name], user: 'admin' });
      expect(help.outcome?.stderr).toBe(`ERROR (CommandError): '${name}' is not a valid subcommand\n`);
    });
  }

  it('as every option value and positional of every command', async () => {
    const failures: string[] = [];
    for (const [tool, cmds] of [
      ['nova', nova],
      ['nova-sim', sim],
    ] as const) {
      for (const cmd of cmds) {
        for (const name of PROTO_NAMES) {
          const c: CliCase = { tool, argv: [...cmd.words, ...allArgs(cmd, name)], user: 'admin' };
          const known = knownCli(c);
          if (known) continue;
          const r = await runCliCase(world, c);
          if (r.problems.length) failures.push(`${r.repro}: ${r.problems.join('; ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120000);
});

describe("the issue's commands", () => {
  it('volume-create of a size no disk holds, a 40,000-character name, an unwritable log directory', async () => {
    const long = 'a'.repeat(40000);
    const cases: CliCase[] = [
      ...['99999999999', '100000', '2147483648', '1e308'].map((n) => ({ tool: 'nova' as const, argv: ['volume-create', n], user: 'admin' as const })),
      { tool: 'nova', argv: ['show', long], user: 'admin' },
      { tool: 'nova', argv: ['list', '--name', '('.repeat(40000)], user: 'admin' },
      { tool: 'nova', argv: ['volume-update', 'web-1', long, 'spare'], user: 'admin' },
      { tool: 'nova-sim', argv: ['volume-path', long], user: 'admin' },
      { tool: 'nova-sim', argv: ['virsh', 'dumpxml', long], user: 'admin' },
      { tool: 'nova-sim', argv: ['guest-load', long, '--seed', '1'], user: 'admin' },
      // metadata keys are the user's: the state must still read after the boot
      { tool: 'nova', argv: ['boot', '--flavor', 'm1.tiny', '--image', 'cirros-0.3.4-x86_64-uec', '--meta', 'constructor=x', 'vm'], user: 'admin' },
      { tool: 'nova', argv: ['boot', '--flavor', 'm1.tiny', '--image', 'cirros-0.3.4-x86_64-uec', '--meta', '__proto__=x', 'vm'], user: 'admin' },
      // a trace file that cannot be written
      { tool: 'nova', argv: ['--trace-file', '@DIR@/nosuchdir/trace', 'lock', 'web-1'], user: 'admin' },
    ];
    const failures: string[] = [];
    for (const c of cases) {
      if (knownCli(c)) continue;
      const r = await runCliCase(world, c);
      if (r.problems.length) failures.push(`${r.repro}: ${r.problems.join('; ')}`);
    }
    expect(failures).toEqual([]);
    // the services cannot write their logs (the logs folder is a file): commands still work
    const logs = join(world.live, 'state.images', 'logs');
    const unwritable = () => writeFileSync(logs, 'not a folder\n');
    try {
      for (const c of [
        { tool: 'nova', argv: ['list'], user: 'demo' },
        { tool: 'nova', argv: ['volume-create', '1'], user: 'admin' },
        { tool: 'nova-sim', argv: ['virsh', 'list', '--all'], user: 'admin' },
      ] as CliCase[]) {
        const r = await runCliCase(world, c, { setup: unwritable });
        expect(r.problems, r.repro).toEqual([]);
        expect(r.outcome?.code, `${r.repro}: ${r.outcome?.stderr}`).toBe(0);
      }
    } finally {
      rmSync(logs, { force: true });
    }
  }, 120000);
});

describe('fuzzed arguments', () => {
  it('nova: every subcommand, global options, stray tokens', async () => {
    await fc.assert(
      fc.asyncProperty(novaCase(nova).filter((c) => !knownCli(c)), check),
      params(120),
    );
  }, 240000);

  it('nova-sim: every subcommand (virsh\'s too)', async () => {
    await fc.assert(
      fc.asyncProperty(simCase(sim).filter((c) => !knownCli(c)), check),
      params(100),
    );
  }, 240000);
});
