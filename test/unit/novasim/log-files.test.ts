// src/common/log-files.ts: the services' log files (issue 8). A logs folder that cannot be
// written (a file in its place, a path under a file, a full disk) never stops a command: the
// sink says so once and goes on without files.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileLogSink } from '../../../src/common/log-files.js';
import type { LogRecord } from '../../../src/common/log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-logs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rec = (message: string): LogRecord => ({ time: new Date(2016, 4, 3, 10, 0, 0, 123), pid: 4242, level: 'INFO', logger: 'nova.compute.manager', service: 'nova-compute', message });

describe('fileLogSink', () => {
  it('writes each service its file', () => {
    const sink = fileLogSink(join(dir, 'logs'), 1024 * 1024, () => {
      throw new Error('no warning expected');
    });
    sink(rec('one'));
    sink(rec('two'));
    expect(readFileSync(join(dir, 'logs', 'nova-compute.log'), 'utf8')).toMatch(/INFO nova\.compute\.manager \[-\] one\n.*two\n$/);
  });

  const cases: [string, () => string, string][] = [
    ['a file where the logs folder should be', () => (writeFileSync(join(dir, 'logs'), 'x'), join(dir, 'logs')), 'EEXIST'],
    ['a logs folder under a file', () => (writeFileSync(join(dir, 'f'), 'x'), join(dir, 'f', 'logs')), 'ENOTDIR'],
    ['a folder where the log file should be', () => (mkdirSync(join(dir, 'logs', 'nova-compute.log'), { recursive: true }), join(dir, 'logs')), 'EISDIR'],
  ];
  for (const [what, make, code] of cases) {
    it(`${what}: no throw, one warning line naming the folder and ${code}, then silence`, () => {
      const logs = make();
      const warnings: string[] = [];
      const sink = fileLogSink(logs, 1024 * 1024, (l) => warnings.push(l));
      expect(() => {
        for (let i = 0; i < 5; i++) sink(rec(`m${i}`));
      }).not.toThrow();
      expect(warnings).toEqual([`WARNING: cannot write the services' logs to ${logs}: ${code}; going on without them\n`]);
    });
  }
});
