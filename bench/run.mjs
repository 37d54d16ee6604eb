#!/usr/bin/env node
// npm run bench: every benchmark, each printing its closing line(s).
// Pass names to run a subset: node bench/run.mjs startup | mirror | serve
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['startup', 'mirror', 'serve'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
let failed = false;
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark '${name}' (known: ${all.join(', ')})`);
    process.exit(2);
  }
  // start-up is measured for both commands the budget names
  const variants = name === 'startup' ? [['list'], ['show']] : [[]];
  for (const args of variants) {
    const r = spawnSync(process.execPath, [join(here, `${name}.mjs`), ...args], { stdio: 'inherit' });
    if (r.status !== 0) failed = true;
  }
}
process.exit(failed ? 1 : 0);
