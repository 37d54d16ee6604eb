// A world kept in SQLite logs ahead (journal_mode=WAL, synchronous=FULL): a commit is in
// <state>-wal, fsynced, before the save is acknowledged, and is copied into the database file
// only later. These check what that must not break: a save acknowledged by a process killed
// -9 at once is read back (by the CLI, export and doctor), and every command that replaces a
// state (init --force, import) neither loses the log's commits to a later reader nor lets a
// log of the replaced world be applied to the new one.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build, World } from './helpers.js';

beforeAll(build);

const STORE = fileURLToPath(new URL('../../dist/state/store.js', import.meta.url));
const OWNED = fileURLToPath(new URL('../../dist/state/owned-store.js', import.meta.url));
const COLLECTIONS = fileURLToPath(new URL('../../dist/state/collections.js', import.meta.url));
const SLOW = 120_000;

let w: World;
beforeEach(() => {
  w = new World();
  const r = w.sim(['init', '--generate', 'servers=30,volumes=90', '--seed', '5', '--format', 'sqlite', '--state', w.state]);
  expect(r.code, r.stderr).toBe(0);
}, SLOW);
afterEach(() => w?.cleanup());

/** renames server `uuid` in a child process that is killed -9 as soon as the save is
 * acknowledged (update() resolved), before it could close the database; `owner`: through
 * the store of a served world's owner (its commits' fsync is left to libuv's pool) */
async function saveThenKill(state: string, uuid: string, name: string, owner = false): Promise<void> {
  const script = `
    const { ${owner ? 'OwnedStateStore: Store' : 'StateStore: Store'} } = await import(${JSON.stringify(owner ? OWNED : STORE)});
    const { byKey } = await import(${JSON.stringify(COLLECTIONS)});
    const store = new Store(${JSON.stringify(state)});
    // the owner reads before it writes, as a server does
    store.read();
    await store.update((s) => { byKey(s, 'instances', ${JSON.stringify(uuid)}).name = ${JSON.stringify(name)}; });
    process.stdout.write('acknowledged\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      if (String(d).includes('acknowledged')) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('close', (code, sig) => (sig === 'SIGKILL' ? undefined : reject(new Error(`child exited ${code}: ${err}`))));
  });
  await new Promise((r) => child.on('close', r));
}

/** the world's first server: uuid and name, from nova list */
function firstServer(): { uuid: string; name: string } {
  const out = w.sim(['export', '--state', w.state]).stdout;
  const doc = JSON.parse(out) as { nova: { instances: Array<{ uuid: string; name: string }> } };
  return doc.nova.instances[0];
}

describe('a save acknowledged before a kill -9 is kept', () => {
  it('is in the log, not yet in the database file, and every reader sees it', async () => {
    const { uuid, name } = firstServer();
    const before = readFileSync(w.state);
    const doctorBefore = w.sim(['doctor', '--state', w.state]);
    await saveThenKill(w.state, uuid, 'renamed-before-kill');
    // the commit is in <state>-wal (the database file itself is unchanged): the case is real
    expect(existsSync(`${w.state}-wal`)).toBe(true);
    expect(readFileSync(w.state).equals(before)).toBe(true);
    const show = w.admin(['--state', w.state, 'show', uuid]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/\| name\s+\| renamed-before-kill/);
    const exp = w.sim(['export', '--state', w.state]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).toContain('"name": "renamed-before-kill"');
    // (a generated world has a few transient domains on purpose): what it said before
    const doctor = w.sim(['doctor', '--state', w.state]);
    expect([doctor.code, doctor.stdout.split('renamed-before-kill').join(name), doctor.stderr]).toEqual([doctorBefore.code, doctorBefore.stdout, doctorBefore.stderr]);
  }, SLOW);
});

describe('the owner of a served world (its fsync off the event loop)', () => {
  it('a save it acknowledged before a kill -9 is kept, and nothing else changed', async () => {
    const { uuid, name } = firstServer();
    const before = w.sim(['export', '--state', w.state]).stdout;
    await saveThenKill(w.state, uuid, 'renamed-by-owner', true);
    expect(existsSync(`${w.state}-wal`)).toBe(true);
    const after = w.sim(['export', '--state', w.state]);
    expect(after.code, after.stderr).toBe(0);
    // (the save also stamps the server's updatedAt)
    const blank = (t: string): string => t.replace(/"updatedAt": "[^"]*"/g, '"updatedAt": "T"');
    expect(blank(after.stdout.split('renamed-by-owner').join(name))).toBe(blank(before));
    expect(after.stdout).toContain('renamed-by-owner');
  }, SLOW);
});

describe('replacing a state kept in SQLite', () => {
  it('init --force replaces it in place (same file), and nothing of the log of the old world comes back', async () => {
    const { uuid } = firstServer();
    const doctorBefore = w.sim(['doctor', '--state', w.state]);
    await saveThenKill(w.state, uuid, 'renamed-before-kill');
    const ino = statSync(w.state).ino;
    const r = w.sim(['init', '--force', '--generate', 'servers=30,volumes=90', '--seed', '5', '--format', 'sqlite', '--state', w.state]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(w.state).ino).toBe(ino);
    const exp = w.sim(['export', '--state', w.state]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).not.toContain('renamed-before-kill');
    expect(w.sim(['doctor', '--state', w.state]).stdout).toBe(doctorBefore.stdout);
  }, SLOW);

  it('import as JSON over it leaves no log beside the JSON; importing back gives the document exactly', async () => {
    const { uuid } = firstServer();
    await saveThenKill(w.state, uuid, 'renamed-before-kill');
    const doc = join(w.dir, 'doc.json');
    expect(w.sim(['export', '-o', doc, '--state', w.state]).code).toBe(0);
    expect(readFileSync(doc, 'utf8')).toContain('renamed-before-kill');
    let r = w.sim(['import', doc, '--force', '--format', 'json', '--state', w.state]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(w.state, 'utf8').startsWith('{')).toBe(true);
    expect(existsSync(`${w.state}-wal`)).toBe(false);
    expect(existsSync(`${w.state}-shm`)).toBe(false);
    r = w.sim(['import', doc, '--force', '--format', 'sqlite', '--state', w.state]);
    expect(r.code, r.stderr).toBe(0);
    const back = join(w.dir, 'back.json');
    expect(w.sim(['export', '-o', back, '--state', w.state]).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(doc, 'utf8'));
  }, SLOW);

  it('a stale log beside a JSON state is not applied to the SQLite world imported over it', async () => {
    const { uuid } = firstServer();
    await saveThenKill(w.state, uuid, 'renamed-before-kill');
    // another world's log left beside a JSON state (a copy by hand, an older novasim)
    const wal = readFileSync(`${w.state}-wal`);
    const doc = join(w.dir, 'doc.json');
    expect(w.sim(['export', '-o', doc, '--state', w.state]).code).toBe(0);
    const original = readFileSync(doc, 'utf8').replace('renamed-before-kill', 'named-in-the-document');
    writeFileSync(doc, original);
    expect(w.sim(['import', doc, '--force', '--format', 'json', '--state', w.state]).code).toBe(0);
    writeFileSync(`${w.state}-wal`, wal);
    const r = w.sim(['import', doc, '--force', '--format', 'sqlite', '--state', w.state]);
    expect(r.code, r.stderr).toBe(0);
    const back = join(w.dir, 'back.json');
    expect(w.sim(['export', '-o', back, '--state', w.state]).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe(original);
  }, SLOW);
});
