// Runs a bundled CLI script with V8's code cache (written at build time next to it), so
// that start-up skips compiling it. A cache from another Node/V8 is rejected by V8 and
// the script simply compiles as usual.
'use strict';
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');
const Module = require('node:module');

module.exports = function launch(name) {
  const file = join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`);
  const cacheFile = `${file}.cache`;
  let source;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    // (not an "ERROR (…)" line: those come from the CLI itself, which is what is missing)
    process.stderr.write(`${name}: ${file} is missing: run 'npm run build' (npm ci does it)\n`);
    // no process.exit(): it could cut the message short on a slow pipe
    process.exitCode = 1;
    return undefined;
  }
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // ora and chalk are ES modules: the bundle imports them through this launcher
  globalThis.__novasimImportEsm = (specifier) => import(specifier);
  const wrapper = `(function (exports, require, module, __filename, __dirname, __novasimUrl) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename: file, cachedData });
  if (process.env.NOVASIM_CODE_CACHE === 'write') {
    process.on('exit', () => {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    });
  }
  const mod = { exports: {} };
  const fn = script.runInThisContext();
  fn(mod.exports, Module.createRequire(file), mod, file, join(file, '..'), pathToFileURL(file).href);
  return mod.exports.run();
};
