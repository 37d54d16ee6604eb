#!/usr/bin/env node
// CLI startup budget: `nova list` on the default world against a bare `node -e 0`,
// median of paired runs (alternating, so machine noise hits both sides alike).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.env.RUNS ?? 21);
const nova = fileURLToPath(new URL('../bin/nova.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'novasim-bench-'));
const env = { ...process.env, NOVASIM_STATE: join(dir, 'state.json') };
delete env.OS_USERNAME;
delete env.OS_PROJECT_NAME;

function time(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
  const cmdArgs = cmd === 'show' ? [nova, 'show', 'web-1'] : [nova, 'list'];
  const novaT = [];
  const bare = [];
  for (let i = 0; i < runs; i++) {
    bare.push(time(['-e', '0']));
    novaT.push(time(cmdArgs));
  }
  const a = median(novaT);
  const b = median(bare);
  console.log(`cli-startup: nova ${cmd} ${a.toFixed(3)} s, node -e 0 ${b.toFixed(3)} s, ratio ${(a / b).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
