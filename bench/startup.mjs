#!/usr/bin/env node
// CLI startup budget: `nova list` on the default world against a bare `node -e 0`,
// median of paired runs (alternating, so machine noise hits both sides alike).
// BASELINE=<another checkout, built> also times that checkout's `nova` in the same rotation and
// prints the ratio to it: "no slower than before" measured in one run, under the same load.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.env.RUNS ?? 21);
const nova = fileURLToPath(new URL('../bin/nova.cjs', import.meta.url));
const baseline = process.env.BASELINE ? join(process.env.BASELINE, 'bin/nova.cjs') : null;
const dir = mkdtempSync(join(tmpdir(), 'novasim-bench-'));
const env = { ...process.env, NOVASIM_STATE: join(dir, 'state.json') };
delete env.BASELINE;
// each checkout reads a world of its own making (the state's schema may differ between them)
const baseEnv = { ...env, NOVASIM_STATE: join(dir, 'baseline-state.json') };
delete env.OS_USERNAME;
delete env.OS_PROJECT_NAME;

function time(args, withEnv = env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env: withEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return s;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  time([nova, 'list']); // creates the world from the default fixture; not timed
  time(['-e', '0']);
  const cmd = process.argv[2] ?? 'list';
  const argsOf = (bin) => (cmd === 'show' ? [bin, 'show', 'web-1'] : [bin, 'list']);
  const novaT = [];
  const bare = [];
  const base = [];
  if (baseline) time([baseline, 'list'], baseEnv); // creates its world; not timed
  for (let i = 0; i < runs; i++) {
    bare.push(time(['-e', '0']));
    novaT.push(time(argsOf(nova)));
    if (baseline) base.push(time(argsOf(baseline), baseEnv));
  }
  const a = median(novaT);
  const b = median(bare);
  let line = `cli-startup: nova ${cmd} ${a.toFixed(3)} s, node -e 0 ${b.toFixed(3)} s, ratio ${(a / b).toFixed(2)}`;
  if (baseline) {
    const c = median(base);
    line += `; baseline ${c.toFixed(3)} s (ratio ${(c / b).toFixed(2)}), this / baseline ${(a / c).toFixed(2)}`;
  }
  console.log(line);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
