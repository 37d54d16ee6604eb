#!/usr/bin/env node
// Large worlds (issue 10): the commands an operator runs, on a generated world of
// LARGE_SERVERS servers (default 10,000, each with an attached volume) and LARGE_VOLUMES
// volumes (default 3 × servers), against the same command on the default small world.
// One line each:  large-<command>: X s, RSS Y MiB, small-world Z s
// (the median of LARGE_REPEAT runs, 3 by default; RSS the highest of them)
// The world is built once and kept under os.tmpdir(), keyed by the generator's parameters
// and the code that builds it; the swap is undone afterwards so the kept world stays
// as built (from a copy taken when it was built). Peak RSS is the kernel's (GNU time's %M, the process's VmHWM).
// The swap's "control plane" is its wall time less the copy and Mitaka's 0.5 s polls: the
// time from the first BlockDevice.wait_for_job() to the end of the last one is taken out,
// the polls' own work put back (from the command's --trace-file).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nova = join(root, 'bin/nova.cjs');
const novaSim = join(root, 'bin/nova-sim.cjs');
const servers = Number(process.env.LARGE_SERVERS ?? 10_000);
const volumes = Number(process.env.LARGE_VOLUMES ?? servers * 3);
const seed = Number(process.env.LARGE_SEED ?? 1);
const only = process.argv.slice(2);
/** each command runs this many times, alternating large and small; the median is printed */
const repeat = Math.max(1, Number(process.env.LARGE_REPEAT ?? 3));
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const codeVersion = createHash('sha1');
for (const f of ['package.json', 'src/novasim/generate.ts', 'src/novasim/world.ts', 'src/state/types.ts', 'src/state/store.ts']) {
  codeVersion.update(readFileSync(join(root, f)));
}
for (const f of ['src/state/sqlite-store.ts']) if (existsSync(join(root, f))) codeVersion.update(readFileSync(join(root, f)));
const key = `s${servers}-v${volumes}-seed${seed}-${codeVersion.digest('hex').slice(0, 12)}`;
const cacheRoot = join(tmpdir(), 'novasim-bench-large');
const largeDir = join(cacheRoot, key);
const largeState = join(largeDir, 'state.json');

const baseEnv = { ...process.env, OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };
delete baseEnv.NOVASIM_STATE;

/** runs `args` under GNU time: wall seconds and peak RSS (MiB) */
function run(cmd, args, state, extra = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cmd, ...args], {
    env: { ...baseEnv, NOVASIM_STATE: state, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const errLines = r.stderr.toString().trimEnd().split('\n');
  const kib = Number(errLines.at(-1));
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${errLines.slice(-4).join('\n')}`);
  return { s, mib: kib / 1024, stdout: r.stdout.toString() };
}

function ensureLarge() {
  // the state names its images by absolute path: it is built where it is kept, and marked
  // complete once built
  const done = join(largeDir, '.complete');
  if (existsSync(done)) return;
  // an older key's world (or a half-built one) is of no more use
  rmSync(cacheRoot, { recursive: true, force: true });
  mkdirSync(largeDir, { recursive: true });
  const r = run(novaSim, ['init', '--generate', `servers=${servers},volumes=${volumes}`, '--seed', String(seed)], largeState);
  console.log(`large-init: ${r.s.toFixed(2)} s, RSS ${r.mib.toFixed(0)} MiB (${servers} servers, ${volumes} volumes)`);
  // the swap changes the world: each run starts from this copy of it
  copyFileSync(largeState, join(largeDir, 'state.pristine'));
  writeFileSync(done, '');
}

/** the kept world as it was built (a swap of an earlier run undone) */
function resetLarge() {
  // a log (-wal) or its index (-shm) left beside the state belongs to the file replaced:
  // SQLite would apply it to the copy
  for (const side of ['-wal', '-shm', '-journal']) rmSync(`${largeState}${side}`, { force: true });
  copyFileSync(join(largeDir, 'state.pristine'), largeState);
}

/** the generated world's first active, unlocked, persistent server, its volume and a spare */
async function swapSubjects() {
  const { generateFixture } = await import(join(root, 'dist/novasim/generate.js'));
  const fx = generateFixture({ servers, volumes, seed });
  const srv = fx.servers.find((s) => s.state === 'active' && !s.locked && !s.transient);
  const spare = fx.volumes.find((v) => v.name.startsWith('spare-') && v.size === 1);
  return { server: srv.name, uuid: srv.uuid, volume: srv.volumes[0].volume, spare: spare.id };
}

/** wall time less the copy and the polls, from the swap's trace */
function swap(state, server, from, to) {
  const dir = mkdtempSync(join(tmpdir(), 'novasim-bench-trace-'));
  try {
    const trace = join(dir, 'trace.json');
    const r = run(nova, ['--trace-file', trace, 'volume-update', server, from, to], state);
    const spans = JSON.parse(readFileSync(trace, 'utf8')).spans.filter((x) => x.name === 'BlockDevice.wait_for_job()');
    let waited = 0;
    if (spans.length) {
      const first = spans[0].start;
      const last = Math.max(...spans.map((x) => x.start + x.duration));
      waited = (last - first - spans.reduce((a, x) => a + x.duration, 0)) / 1000;
    }
    return { ...r, s: r.s - waited, total: r.s };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const smallDir = mkdtempSync(join(tmpdir(), 'novasim-bench-small-'));
const smallState = join(smallDir, 'state.json');
try {
  ensureLarge();
  run(novaSim, ['init'], smallState);
  const sub = await swapSubjects();
  const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
  const cases = [
    ['show-name', (st, big) => run(nova, ['show', big ? sub.server : 'web-1'], st)],
    ['show-uuid', (st, big) => run(nova, ['show', big ? sub.uuid : WEB1], st)],
    ['list', (st) => run(nova, ['list'], st)],
    ['volume-list', (st) => run(nova, ['volume-list'], st)],
    [
      'swap',
      (st, big) => {
        const [server, from, to] = big ? [sub.server, sub.volume, sub.spare] : ['web-1', 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03'];
        // (Mitaka cannot swap a volume back: the BDM is found by the first volume's serial)
        if (big) resetLarge();
        else run(novaSim, ['init', '--force'], st);
        const r = swap(st, server, from, to);
        if (big) resetLarge();
        return r;
      },
    ],
  ];
  let failed = false;
  for (const [name, fn] of cases) {
    if (only.length && !only.includes(name)) continue;
    try {
      const bigs = [];
      const smalls = [];
      for (let i = 0; i < repeat; i++) {
        bigs.push(fn(largeState, true));
        smalls.push(fn(smallState, false));
      }
      const s = median(bigs.map((r) => r.s));
      const mib = Math.max(...bigs.map((r) => r.mib));
      const small = median(smalls.map((r) => r.s));
      const extra = bigs[0].total !== undefined ? ` (wall ${median(bigs.map((r) => r.total)).toFixed(2)} s with the copy and polls)` : '';
      console.log(`large-${name}: ${s.toFixed(3)} s, RSS ${mib.toFixed(0)} MiB, small-world ${small.toFixed(3)} s${extra}`);
    } catch (err) {
      failed = true;
      console.log(`large-${name}: failed: ${err.message.split('\n')[0]}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(smallDir, { recursive: true, force: true });
}
