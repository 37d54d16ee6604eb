#!/usr/bin/env node
// Bundles each CLI into one CommonJS script (dist/bundle/nova.cjs, nova-sim.cjs, cinder.cjs) instead of
// a hundred small ES modules, and records V8's code cache for it: Node's ESM loader costs
// about a millisecond per file and compiling the bundle another ten, and `nova list` must
// start in 1.5× a bare `node -e 0`. The launchers in bin/ run the script through vm.Script,
// the one way on Node 20 to hand V8 a code cache (require() takes none). Modules reached by a
// dynamic import() stay lazy inside the bundle (initialised on first import). Packages only
// some commands use stay packages: ajv (request bodies), ora/chalk (the spinner, ESM-only,
// imported through the launcher), and fs-ext (a native addon). tsc still type-checks and
// emits dist/ for the tests.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    nova: join(root, 'src/novaclient/main.ts'),
    'nova-sim': join(root, 'src/novasim/shell/main.ts'),
    cinder: join(root, 'src/cinderclient/main.ts'),
  },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['fs-ext', 'ajv', 'ora', 'chalk', 'better-sqlite3'],
  alias: { 'emoji-regex': join(root, 'scripts/shims/emoji-regex.cjs') },
  // the launcher passes the bundle's own file URL in
  define: { 'import.meta.url': '__novasimUrl' },
  logLevel: 'warning',
  legalComments: 'none',
  // smaller to parse; class and function names are kept for error messages
  minify: process.env.NOVASIM_BUNDLE_PLAIN !== "1",
  keepNames: true,
});

// Warm the code cache: run the commands whose start-up is measured, on a throw-away world
// (never the user's state), each writing the cache when it exits (NOVASIM_CODE_CACHE=write in
// bin/launch.cjs). V8 compiles a function when it is first called, so only a cache made after
// a run holds the bytecode of what the command executed. The two nova runs share one cache
// file and the second starts from the first's, so it ends up with what both need; the third
// makes nova-sim's. docs/architecture.md#start-up explains the whole design.
const dir = mkdtempSync(join(tmpdir(), 'novasim-cache-'));
try {
  for (const [bin, args] of [
    ['nova.cjs', ['list']],
    ['nova.cjs', ['show', 'web-1']],
    ['nova-sim.cjs', ['volume-path', 'web-data']],
    ['cinder.cjs', ['list']],
  ]) {
    const r = spawnSync(process.execPath, [join(root, 'bin', bin), ...args], {
      env: { ...process.env, NOVASIM_STATE: join(dir, 'state.json'), NOVASIM_CODE_CACHE: 'write' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) throw new Error(`warming the code cache with ${bin} ${args.join(' ')} failed: ${r.stderr}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
