// The owner's reads of a world kept in SQLite (nova-sim serve): one lazily loaded state is
// shared by its readers until the database changes, by a save of the owner or a commit of
// another process; each change is seen by the next read, never a state from before it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateFixture } from '../../../src/novasim/generate.js';
import { initWorld } from '../../../src/novasim/world.js';
import { byKey, where } from '../../../src/state/collections.js';
import { OwnedStateStore } from '../../../src/state/owned-store.js';
import { SqliteWorld } from '../../../src/state/sqlite-store.js';
import { StateStore } from '../../../src/state/store.js';

interface Db {
  prepare(sql: string): { get(...p: unknown[]): unknown; run(...p: unknown[]): unknown };
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (p: string, o?: object) => Db;

const FX = generateFixture({ servers: 12, volumes: 30, seed: 7 });
let dir: string;
let statePath: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-owned-sqlite-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, FX, false, 'sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const nextTask = () => new Promise((r) => setImmediate(r));

describe('OwnedStateStore on a world kept in SQLite', () => {
  it('hands every reader the same state, with the records it loaded, while nothing changes', async () => {
    const store = new OwnedStateStore(statePath);
    const a = store.read();
    const uuid = a.nova.instances[3].uuid;
    const inst = byKey(a, 'instances', uuid);
    await nextTask();
    const b = store.read();
    expect(b).toBe(a);
    expect(byKey(b, 'instances', uuid)).toBe(inst);
    // a plain store (a CLI command) still gets a state of its own
    expect(new StateStore(statePath).read()).not.toBe(a);
  });

  it("a save of the owner's is seen by the next read", async () => {
    const store = new OwnedStateStore(statePath);
    const before = store.read();
    const uuid = before.nova.instances[0].uuid;
    expect(byKey(before, 'instances', uuid)?.name).not.toBe('renamed-by-owner');
    await store.update((s) => {
      const i = byKey(s, 'instances', uuid);
      if (i) i.name = 'renamed-by-owner';
    });
    const after = store.read();
    expect(after).not.toBe(before);
    expect(byKey(after, 'instances', uuid)?.name).toBe('renamed-by-owner');
    expect(where(after, 'instances', 'uuid', uuid)[0]?.name).toBe('renamed-by-owner');
  });

  it('a state read inside an update is not handed out after the update committed', async () => {
    const store = new OwnedStateStore(statePath);
    const uuid = store.read().nova.instances[1].uuid;
    let inside: unknown = null;
    await store.update((s) => {
      inside = store.read();
      const i = byKey(s, 'instances', uuid);
      if (i) i.name = 'renamed-in-update';
    });
    const after = store.read();
    expect(after).not.toBe(inside);
    expect(byKey(after, 'instances', uuid)?.name).toBe('renamed-in-update');
  });

  it("a commit of another process's is seen by the owner's next read", async () => {
    const store = new OwnedStateStore(statePath);
    const before = store.read();
    const uuid = before.nova.instances[2].uuid;
    expect(byKey(before, 'instances', uuid)?.name).not.toBe('renamed-elsewhere');
    await nextTask();
    const other = new Database(statePath, { timeout: 1000 });
    try {
      const row = other.prepare('SELECT seq, json FROM instances WHERE uuid = ?').get(uuid) as { seq: number; json: string };
      const rec = JSON.parse(row.json) as Record<string, unknown>;
      rec.name = 'renamed-elsewhere';
      other.prepare('UPDATE instances SET json = ? WHERE seq = ?').run(JSON.stringify(rec), row.seq);
    } finally {
      other.close();
    }
    const after = store.read();
    expect(after).not.toBe(before);
    expect(byKey(after, 'instances', uuid)?.name).toBe('renamed-elsewhere');
  });
});

describe('the owner’s saves: committed on the event loop, acknowledged once the log is synced', () => {
  it('update() resolves only after the log’s fdatasync (off the loop) has completed; readers see the commit meanwhile', async () => {
    const store = new OwnedStateStore(statePath);
    const uuid = store.read().nova.instances[2].uuid;
    const world = SqliteWorld.at(statePath);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const real = world.syncLog.bind(world);
    const spy = vi.spyOn(world, 'syncLog').mockImplementation(async () => {
      await gate;
      await real();
    });
    try {
      let acknowledged = false;
      const saving = store.update((s) => void (byKey(s, 'instances', uuid)!.name = 'renamed')).then(() => (acknowledged = true));
      for (let i = 0; i < 5; i++) await nextTask();
      expect(spy).toHaveBeenCalledTimes(1);
      expect(acknowledged).toBe(false);
      // committed (a reader sees it) though not yet acknowledged
      expect(byKey(store.read(), 'instances', uuid)?.name).toBe('renamed');
      release();
      await saving;
      expect(acknowledged).toBe(true);
      // a plain store's commits fsync the log themselves (synchronous=FULL)
      await new StateStore(statePath).update(() => undefined);
      expect(world.db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});
