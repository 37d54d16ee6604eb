// The ownership record of a served world (src/serve/ownership.ts): what liveServer() accepts
// as the owner, and what it treats as stale.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isServeProcess, liveServer, ownershipPath, readOwnership, removeOwnership, writeOwnership } from '../../../src/serve/ownership.js';

let dir: string;
let state: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-own-'));
  state = join(dir, 'state.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (pid: number) => ({ pid, url: 'http://127.0.0.1:1', authUrl: 'http://127.0.0.1:1/identity/v3', startedAt: '2026-01-01T00:00:00.000Z' });

describe('the ownership record', () => {
  it('is written next to the state and read back', () => {
    writeOwnership(state, record(process.pid));
    expect(ownershipPath(state)).toBe(`${state}.serve.json`);
    expect(readOwnership(state)).toEqual(record(process.pid));
  });

  it('a missing, corrupt or incomplete record is no record', () => {
    expect(readOwnership(state)).toBeNull();
    writeFileSync(ownershipPath(state), '{"pid": ');
    expect(readOwnership(state)).toBeNull();
    writeFileSync(ownershipPath(state), JSON.stringify({ pid: -3, url: 'x', authUrl: 'y', startedAt: 'z' }));
    expect(readOwnership(state)).toBeNull();
    writeFileSync(ownershipPath(state), JSON.stringify({ pid: 12, url: 'x' }));
    expect(readOwnership(state)).toBeNull();
  });

  it('is stale when its process is gone', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('close', r));
    writeOwnership(state, record(child.pid as number));
    expect(liveServer(state)).toBeNull();
  });

  it('is stale when its process is alive but not a nova-sim serve (this test runner)', () => {
    writeOwnership(state, record(process.pid));
    expect(isServeProcess(process.pid)).toBe(false);
    expect(liveServer(state)).toBeNull();
  });

  it('names a live `nova-sim … serve` process as the owner', async () => {
    // a process whose command line reads as nova-sim's serve (it only sleeps)
    const fake = join(dir, 'nova-sim.cjs');
    writeFileSync(fake, 'setTimeout(() => {}, 30000);\n');
    const child = spawn(process.execPath, [fake, '--state', state, 'serve']);
    try {
      await new Promise((r) => setTimeout(r, 100));
      writeOwnership(state, record(child.pid as number));
      expect(liveServer(state)).toEqual({ url: 'http://127.0.0.1:1', authUrl: 'http://127.0.0.1:1/identity/v3', pid: child.pid });
    } finally {
      child.kill();
    }
  });

  it("is removed by its own process only", () => {
    writeOwnership(state, record(process.pid + 100000));
    removeOwnership(state);
    expect(existsSync(ownershipPath(state))).toBe(true);
    writeOwnership(state, record(process.pid));
    removeOwnership(state);
    expect(existsSync(ownershipPath(state))).toBe(false);
  });
});
