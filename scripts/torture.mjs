#!/usr/bin/env node
// `npm run torture`: the reliability report. Runs each campaign with counts larger than CI's
// and ends with one line per campaign: `<campaign>: N cases, N failed, N states unreadable,
// N guest bytes lost`; exits 1 if any campaign failed (a failed case, an unreadable state, a
// lost byte, a crash or a timeout). Options: --only a,b  --seed S (printed; replays a run)
// --cases N (every campaign)  --minutes M (each campaign's limit). NOVASIM_FUZZ_RUNS=N sets
// the fuzz-* campaigns' counts.
//
// HOW TO ADD A CAMPAIGN
// 1. Write test/torture/<name>.ts (bundled here with esbuild) or scripts/torture/<name>.mjs,
//    exporting `async function run({ cases, seed, progress, deadline })`.
// 2. It resolves to { cases, failed, unreadable, bytesLost, failures: string[] } — the types and
//    runCases(), a loop that counts cases and keeps one repro line per failure, are in
//    test/torture/campaign.ts. Derive every random choice from `seed` (same seed, same run).
// 3. Call progress(done, total, failed) after each case; stop early once Date.now() > deadline.
// 4. Add { name, module, cases, minutes } to CAMPAIGNS below. Each campaign runs in its own
//    process, killed after `minutes`; a throw or a timeout fails the campaign. A campaign whose
//    module does not exist yet is listed as "not written yet" and fails nothing.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzRuns = Number.parseInt(process.env.NOVASIM_FUZZ_RUNS ?? '', 10) || null;

/** name, module (from the package root), torture count, time limit in minutes */
const CAMPAIGNS = [
  { name: 'fuzz-cli', module: 'test/torture/fuzz-cli.ts', cases: fuzzRuns ?? 1000, minutes: 20 },
  { name: 'fuzz-state', module: 'test/torture/fuzz-state.ts', cases: fuzzRuns ?? 700, minutes: 20 },
  { name: 'fuzz-api', module: 'test/torture/fuzz-api.ts', cases: fuzzRuns ?? 1000, minutes: 20 },
  { name: 'crash-instants', module: 'test/torture/crash-instants.mjs', cases: 300, minutes: 30 },
  // fault-table: each of the table's 20 points three times, every second run of a swap with a guest writing
  { name: 'fault-table', module: 'test/torture/fault-table.ts', cases: 60, minutes: 30 },
  // concurrency: a case is a round of 8 processes at once (125 rounds: 1,000 operations)
  { name: 'concurrency', module: 'test/torture/concurrency.mjs', cases: 125, minutes: 30 },
];

// ------------------------------------------------------------------ a campaign's process
if (process.argv[2] === '--child') {
  const mod = await import(pathToFileURL(process.argv[3]).href);
  process.on('message', async (opts) => {
    let last = 0;
    const progress = (done, total, failed) => {
      const now = Date.now();
      if (now - last < 2000 && done !== total) return;
      last = now;
      process.send({ type: 'progress', done, total, failed });
    };
    try {
      const r = await mod.run({ ...opts, progress });
      process.send({ type: 'result', result: r }, () => process.exit(0));
    } catch (e) {
      process.send({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () => process.exit(1));
    }
  });
} else {
  await main();
}

function parseArgs(argv) {
  const o = { only: null, seed: null, cases: null, minutes: null };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].split(/=(.*)/s);
    const v = () => inline ?? argv[++i];
    if (k === '--only') o.only = v().split(',');
    else if (k === '--seed') o.seed = Number.parseInt(v(), 10);
    else if (k === '--cases') o.cases = Number.parseInt(v(), 10);
    else if (k === '--minutes') o.minutes = Number(v());
    else {
      process.stderr.write(`torture: unknown option ${argv[i]} (--only a,b --seed S --cases N --minutes M)\n`);
      process.exit(2);
    }
  }
  return o;
}

/** a .ts campaign bundled into one ES module under dist/torture/ (packages stay packages) */
async function compile(c) {
  const src = join(root, c.module);
  if (!src.endsWith('.ts')) return src;
  const { build } = await import('esbuild');
  const out = join(root, 'dist', 'torture', `${c.name}.mjs`);
  mkdirSync(dirname(out), { recursive: true });
  await build({ entryPoints: [src], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', keepNames: true, logLevel: 'error' });
  return out;
}

function runCampaign(c, file, opts) {
  return new Promise((resolve) => {
    const started = Date.now();
    const limitMs = (opts.minutes ?? c.minutes) * 60_000;
    const child = fork(join(root, 'scripts', 'torture.mjs'), ['--child', file], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, seconds: (Date.now() - started) / 1000 });
    };
    // the campaign is told its deadline; past it by a minute more, it is killed
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ cases: 0, failed: 0, unreadable: 0, bytesLost: 0, failures: [], crashed: `timed out after ${opts.minutes ?? c.minutes} min (killed)` });
    }, limitMs + 60_000);
    child.on('message', (m) => {
      if (m.type === 'progress') {
        const s = ((Date.now() - started) / 1000).toFixed(0);
        process.stderr.write(`torture: ${c.name}: ${m.done}/${m.total} cases, ${m.failed} failed, ${s} s\n`);
      } else if (m.type === 'result') finish(m.result);
      else if (m.type === 'error') finish({ cases: 0, failed: 0, unreadable: 0, bytesLost: 0, failures: [], crashed: `the campaign threw: ${m.error}` });
    });
    child.on('exit', (code, signal) => {
      if (!settled) finish({ cases: 0, failed: 0, unreadable: 0, bytesLost: 0, failures: [], crashed: `its process ended (${signal ?? `exit ${code}`}) without a result` });
    });
    child.send({ cases: opts.cases ?? c.cases, seed: opts.seed, deadline: Date.now() + limitMs });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  opts.seed ??= Number.parseInt(process.env.NOVASIM_FUZZ_SEED ?? '', 10) || Math.floor(Math.random() * 2 ** 31);
  const chosen = CAMPAIGNS.filter((c) => !opts.only || opts.only.includes(c.name));
  if (opts.only) for (const n of opts.only) if (!CAMPAIGNS.some((c) => c.name === n)) process.stderr.write(`torture: no campaign named ${n}\n`);
  process.stderr.write(`torture: seed ${opts.seed} (replay: npm run torture -- --seed ${opts.seed}${opts.only ? ` --only ${opts.only.join(',')}` : ''})\n`);
  const lines = [];
  let bad = false;
  for (const c of chosen) {
    if (!existsSync(join(root, c.module))) {
      lines.push(`${c.name}: 0 cases, 0 failed, 0 states unreadable, 0 guest bytes lost (not written yet: ${c.module})`);
      continue;
    }
    process.stderr.write(`torture: ${c.name}: ${opts.cases ?? c.cases} cases from ${c.module}, at most ${opts.minutes ?? c.minutes} min\n`);
    let r;
    try {
      r = await runCampaign(c, await compile(c), opts);
    } catch (e) {
      r = { cases: 0, failed: 0, unreadable: 0, bytesLost: 0, failures: [], crashed: `could not be built: ${e instanceof Error ? e.message : String(e)}`, seconds: 0 };
    }
    const failures = r.failures ?? [];
    if (failures.length) {
      process.stdout.write(`\n${c.name}: ${failures.length} failure(s)\n`);
      for (const f of failures.slice(0, 30)) process.stdout.write(`  ${f.length > 600 ? `${f.slice(0, 600)}…` : f}\n`);
      if (failures.length > 30) process.stdout.write(`  … and ${failures.length - 30} more\n`);
    }
    if (r.crashed) process.stdout.write(`\n${c.name}: ${r.crashed}\n`);
    const failed = r.failed + (r.crashed ? 1 : 0);
    if (failed || r.unreadable || r.bytesLost) bad = true;
    process.stderr.write(`torture: ${c.name}: done in ${r.seconds.toFixed(0)} s\n`);
    lines.push(`${c.name}: ${r.cases} cases, ${failed} failed, ${r.unreadable} states unreadable, ${r.bytesLost} guest bytes lost${r.crashed ? ' (the campaign did not finish)' : ''}`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  process.exit(bad ? 1 : 0);
}
