// src/state/sqlite-store.ts: a large world kept in SQLite. The state read from it is the same
// document a JSON state holds (export is byte-identical, import(export) round-trips), saves
// write only the rows that changed and are checked like a JSON save, a refused or failed save
// changes nothing, and a file that is no novasim SQLite state is refused in one line.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateFixture } from '../../../src/novasim/generate.js';
import { initWorld } from '../../../src/novasim/world.js';
import { append, byKey, matching, pick, remove, where } from '../../../src/state/collections.js';
import { StateCheckError, StateFileError, StateStore, StateWriteError } from '../../../src/state/store.js';
import { exportState, importState } from '../../../src/state/transfer.js';
import type { State } from '../../../src/state/types.js';

interface Db {
  prepare(sql: string): { all(...p: unknown[]): unknown[]; get(...p: unknown[]): unknown; run(...p: unknown[]): unknown };
  exec(sql: string): void;
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (p: string, o?: object) => Db;

let dir: string;
let sqlitePath: string;
let jsonPath: string;

const FX = generateFixture({ servers: 12, volumes: 30, seed: 7 });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-sqlite-'));
  sqlitePath = join(dir, 'state.json');
  await initWorld(sqlitePath, FX, false, 'sqlite');
  // the same world as JSON, in a folder of its own (the images are named by absolute path)
  const jdir = mkdtempSync(join(dir, 'json-'));
  jsonPath = join(jdir, 'state.json');
  await initWorld(jsonPath, FX, false, 'json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** the JSON text of a state at `path`, with its folder written as DIR and its times blanked */
function normalised(text: string, path: string): string {
  return text.split(join(path, '..')).join('DIR').replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}"/g, '"T"');
}

function rows(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('a world kept in SQLite is the same document as a JSON one', () => {
  it('starts with the SQLite header and exports the JSON the JSON world holds', () => {
    expect(readFileSync(sqlitePath).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const fromSqlite = exportState(sqlitePath);
    expect(normalised(fromSqlite, sqlitePath)).toBe(normalised(readFileSync(jsonPath, 'utf8'), jsonPath));
  });

  it('export(import(x)) is x, byte for byte, and import --format json writes x itself', async () => {
    const x = exportState(sqlitePath);
    await importState(sqlitePath, x, 'x.json', { force: true, format: 'sqlite' });
    expect(exportState(sqlitePath)).toBe(x);
    await importState(sqlitePath, x, 'x.json', { force: true, format: 'json' });
    expect(readFileSync(sqlitePath, 'utf8')).toBe(x);
  });

  it('import refuses a document whose images are not the state file’s, and changes nothing', async () => {
    const before = readFileSync(sqlitePath);
    const err = await caught(() => importState(sqlitePath, readFileSync(jsonPath, 'utf8'), jsonPath, { force: true, format: 'sqlite' }));
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toMatch(/not a novasim state file for .*state\.json: .*is not an image of this state/);
    expect(readFileSync(sqlitePath).equals(before)).toBe(true);
  });

  it('import without --force keeps an existing state', async () => {
    const err = await caught(() => importState(sqlitePath, exportState(sqlitePath), 'x.json', { force: false, format: 'sqlite' }));
    expect((err as Error).message).toMatch(/already exists; use --force/);
  });
});

describe('indexed look-ups load only what they find, and agree with the arrays', () => {
  it('byKey, where and matching give the records a plain search gives', () => {
    const lazy = new StateStore(sqlitePath).read();
    const plain = JSON.parse(readFileSync(jsonPath, 'utf8')) as State;
    const srv = plain.nova.instances[3];
    expect(byKey(lazy, 'instances', srv.uuid)?.name).toBe(srv.name);
    expect(byKey(lazy, 'instances', 'no-such-uuid')).toBeUndefined();
    expect(where(lazy, 'bdms', 'instanceUuid', srv.uuid).map((b) => b.id)).toEqual(plain.nova.bdms.filter((b) => b.instanceUuid === srv.uuid).map((b) => b.id));
    const re = /server-0[12]/;
    expect(matching(lazy, 'instances', 'name', (v) => re.test(String(v))).map((i) => i.uuid)).toEqual(plain.nova.instances.filter((i) => re.test(i.name)).map((i) => i.uuid));
    expect(matching(lazy, 'instances', 'name', (v) => String(v).includes('er-01'), 'er-01').map((i) => i.name)).toEqual(['server-01']);
    // nothing was read whole: the arrays are still unread
    expect(Object.getOwnPropertyDescriptor(lazy.nova, 'instances')?.get).toBeTypeOf('function');
    expect(Object.getOwnPropertyDescriptor(lazy.cinder, 'volumes')?.get).toBeTypeOf('function');
  });

  it('pick gives the fields the records hold (booleans and nulls kept), without reading them', () => {
    const lazy = new StateStore(sqlitePath).read();
    const plain = JSON.parse(readFileSync(jsonPath, 'utf8')) as State;
    const fields = ['instanceUuid', 'volumeId', 'deleteOnTermination', 'bootIndex'] as const;
    expect(pick(lazy, 'bdms', [...fields])).toEqual(plain.nova.bdms.map((b) => ({ instanceUuid: b.instanceUuid, volumeId: b.volumeId, deleteOnTermination: b.deleteOnTermination, bootIndex: b.bootIndex })));
    expect(pick(lazy, 'bdms', ['instanceUuid', 'volumeId', 'destinationType'], 'volumeId')).toEqual(
      plain.nova.bdms.filter((b) => b.volumeId !== null).map((b) => ({ instanceUuid: b.instanceUuid, volumeId: b.volumeId, destinationType: b.destinationType })),
    );
    expect(Object.getOwnPropertyDescriptor(lazy.nova, 'bdms')?.get).toBeTypeOf('function');
  });

  it('a record found by key is the one the array holds once it is read', () => {
    const lazy = new StateStore(sqlitePath).read();
    const v = byKey(lazy, 'volumes', FX.volumes[5].id);
    expect(lazy.cinder.volumes.find((x) => x.id === FX.volumes[5].id)).toBe(v);
  });
});

describe('a read is one snapshot for the synchronous work that follows it', () => {
  it('another connection commits meanwhile (write-ahead log), unseen by the reading task until it yields', async () => {
    const store = new StateStore(sqlitePath);
    const state = store.read();
    const other = new Database(sqlitePath, { timeout: 0 });
    try {
      // a reader never holds a writer up: the commit lands in the log at once
      expect(() => other.exec('DELETE FROM instances WHERE seq = (SELECT MAX(seq) FROM instances)')).not.toThrow();
      // the rows read lazily now are of the snapshot the read began
      expect(state.nova.instances).toHaveLength(12);
      await new Promise((r) => setImmediate(r));
      expect(store.read().nova.instances).toHaveLength(11);
    } finally {
      other.close();
    }
  });
});

describe('a save writes the rows that changed, checked, in one transaction', () => {
  it('changes one record: only its row is written again, the rest keep their text', async () => {
    const store = new StateStore(sqlitePath);
    const before = rows(sqlitePath, 'SELECT seq, json FROM volumes') as Array<{ seq: number; json: string }>;
    await store.update((s) => {
      const v = byKey(s, 'volumes', FX.volumes[20].id);
      if (v) v.displayName = 'renamed';
    });
    const after = rows(sqlitePath, 'SELECT seq, json FROM volumes') as Array<{ seq: number; json: string }>;
    const changed = after.filter((r, i) => r.json !== before[i].json);
    expect(changed.map((r) => r.seq)).toEqual([21]);
    expect(rows(sqlitePath, "SELECT name FROM volumes WHERE name = 'renamed'")).toHaveLength(1);
    expect(byKey(store.read(), 'volumes', FX.volumes[20].id)?.displayName).toBe('renamed');
  });

  it('adds and removes through the arrays, in order, as a JSON state would', async () => {
    const sqlite = new StateStore(sqlitePath);
    const json = new StateStore(jsonPath);
    const change = (s: State) => {
      s.cinder.volumes = s.cinder.volumes.filter((v) => v.id !== FX.volumes[29].id);
      const copy = { ...structuredClone(s.cinder.volumes[25]), id: 'added-volume-1', displayName: 'added' };
      s.cinder.volumes.push(copy);
      s.nova.bdms.sort((a, b) => b.id - a.id); // a new order: the table is written again
    };
    // appended without reading the collection; found by index in the same change
    const appendAction = (s: State) => {
      const first = where(s, 'instanceActions', 'instanceUuid', FX.servers[2].uuid)[0];
      append(s, 'instanceActions', { ...structuredClone(first), requestId: 'req-appended' });
      expect(where(s, 'instanceActions', 'instanceUuid', FX.servers[2].uuid).map((a) => a.requestId).at(-1)).toBe('req-appended');
    };
    await sqlite.update(appendAction);
    await json.update(appendAction);
    expect(Object.getOwnPropertyDescriptor(sqlite.read().nova, 'instanceActions')?.get).toBeTypeOf('function');
    await sqlite.update(change);
    await json.update(change);
    expect(normalised(exportState(sqlitePath), sqlitePath)).toBe(normalised(exportState(jsonPath), jsonPath));
  });

  it('a save that would break the state is refused (StateCheckError) and nothing changes', async () => {
    const store = new StateStore(sqlitePath);
    const before = exportState(sqlitePath);
    // a duplicate key against a row the save did not touch
    let err = await caught(() =>
      store.update((s) => {
        const v = byKey(s, 'volumes', FX.volumes[1].id);
        if (v) v.id = FX.volumes[2].id;
      }),
    );
    expect(err).toBeInstanceOf(StateCheckError);
    expect((err as Error).message).toMatch(/state\.cinder\.volumes: id .* is a duplicate/);
    // a counter behind the ids in use
    err = await caught(() => store.update((s) => void (s.nova.nextBdmId = 1)));
    expect((err as Error).message).toMatch(/nextBdmId must be greater than every BDM id/);
    // a record of the wrong shape
    err = await caught(() =>
      store.update((s) => {
        const i = byKey(s, 'instances', FX.servers[0].uuid);
        if (i) (i as unknown as Record<string, unknown>).vmState = 42;
      }),
    );
    expect((err as Error).message).toMatch(/vmState must be a string/);
    // a path that is no image of the state
    err = await caught(() =>
      store.update((s) => {
        const b = where(s, 'bdms', 'instanceUuid', FX.servers[0].uuid).find((x) => x.connectionInfo);
        if (b) b.connectionInfo = (b.connectionInfo ?? '').replace(/volume-[0-9a-f-]+/, 'volume-elsewhere');
      }),
    );
    expect((err as Error).message).toMatch(/is not an image of this state/);
    expect(exportState(sqlitePath)).toBe(before);
  });

  it('a failing write (the state.write fault) rolls back: the old state stays, readable', async () => {
    const store = new StateStore(sqlitePath);
    await store.update((s) => void (s.faults = [{ point: 'state.write', error: 'ENOSPC', times: 1, afterBytes: null }]));
    const before = exportState(sqlitePath);
    const err = await caught(() => store.update((s) => void (s.nova.instances[0].name = 'lost')));
    expect(err).toBeInstanceOf(StateWriteError);
    expect(exportState(sqlitePath)).toBe(before);
  });

  it('an exception in the change leaves the file as it was', async () => {
    const store = new StateStore(sqlitePath);
    const before = readFileSync(sqlitePath);
    const doc = exportState(sqlitePath);
    await expect(
      store.update((s) => {
        s.nova.instances[0].name = 'half-done';
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(readFileSync(sqlitePath).equals(before)).toBe(true);
    // (a commit would be in the log, not the file: the document says it all)
    expect(exportState(sqlitePath)).toBe(doc);
  });
});

describe('remove() deletes records without reading the collection', () => {
  const server = FX.servers[3].uuid;
  const spare = FX.volumes[29].id;
  /** the change, the same on either store: a server's BDMs and a spare volume go */
  const change = (s: State): void => {
    const bdms = where(s, 'bdms', 'instanceUuid', server);
    expect(bdms.length).toBeGreaterThan(0);
    remove(s, 'bdms', bdms);
    remove(s, 'volumes', [byKey(s, 'volumes', spare), undefined]);
    // gone at once from every look-up of the same change
    expect(where(s, 'bdms', 'instanceUuid', server)).toEqual([]);
    expect(byKey(s, 'volumes', spare)).toBeUndefined();
  };

  it('on SQLite only their rows are deleted (the rest keep row and text, the tables are not read); the document is what JSON gives', async () => {
    const beforeBdms = rows(sqlitePath, 'SELECT seq, instance_uuid, json FROM bdms') as Array<{ seq: number; instance_uuid: string; json: string }>;
    const beforeVols = rows(sqlitePath, 'SELECT seq, id, json FROM volumes') as Array<{ seq: number; id: string; json: string }>;
    await new StateStore(sqlitePath).update((s) => {
      change(s);
      // neither collection was read whole for it
      expect(Object.getOwnPropertyDescriptor(s.nova, 'bdms')?.get).toBeTypeOf('function');
      expect(Object.getOwnPropertyDescriptor(s.cinder, 'volumes')?.get).toBeTypeOf('function');
    });
    await new StateStore(jsonPath).update(change);
    expect(rows(sqlitePath, 'SELECT seq, instance_uuid, json FROM bdms')).toEqual(beforeBdms.filter((r) => r.instance_uuid !== server));
    expect(rows(sqlitePath, 'SELECT seq, id, json FROM volumes')).toEqual(beforeVols.filter((r) => r.id !== spare));
    expect(normalised(exportState(sqlitePath), sqlitePath)).toBe(normalised(exportState(jsonPath), jsonPath));
  });

  it('a record appended and removed in the same change is not written; an array read after a removal lacks it', async () => {
    const appendRemove = (s: State): void => {
      const first = where(s, 'instanceActions', 'instanceUuid', server)[0];
      const added = { ...structuredClone(first), requestId: 'req-short-lived' };
      append(s, 'instanceActions', added);
      remove(s, 'instanceActions', [added]);
      const gone = where(s, 'bdms', 'instanceUuid', server)[0];
      remove(s, 'bdms', [gone]);
      // the whole array, read after the removal, lacks the removed row
      expect(s.nova.bdms.some((b) => b.id === gone.id)).toBe(false);
      expect(s.nova.bdms.length).toBe(FX.servers.length * 2 - 1);
      expect(s.nova.instanceActions?.some((a) => a.requestId === 'req-short-lived')).toBe(false);
    };
    await new StateStore(sqlitePath).update(appendRemove);
    await new StateStore(jsonPath).update(appendRemove);
    expect(rows(sqlitePath, "SELECT 1 FROM instanceActions WHERE json LIKE '%req-short-lived%'")).toEqual([]);
    expect(normalised(exportState(sqlitePath), sqlitePath)).toBe(normalised(exportState(jsonPath), jsonPath));
  });

  it('on JSON it removes in place, keeping the order of the rest', () => {
    const s = new StateStore(jsonPath).read();
    const arr = s.cinder.volumes;
    const ids = arr.map((v) => v.id);
    remove(s, 'volumes', [arr[3], arr[7]]);
    expect(s.cinder.volumes).toBe(arr);
    expect(arr.map((v) => v.id)).toEqual(ids.filter((_, i) => i !== 3 && i !== 7));
  });
});

describe('a file that is no novasim SQLite state is refused in one line', () => {
  it('another program’s SQLite database', () => {
    const other = join(dir, 'other.json');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    db.close();
    const err = (() => {
      try {
        new StateStore(other).read();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toMatch(/^.*other\.json: not a novasim state file: a SQLite database, but no novasim state/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('a truncated database', () => {
    const cut = join(dir, 'cut.json');
    copyFileSync(sqlitePath, cut);
    truncateSync(cut, Math.floor(statSync(cut).size / 3));
    let err: unknown;
    try {
      const s = new StateStore(cut).read();
      // the damage may be met only when the rows are read
      JSON.stringify(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).not.toContain('\n');
  });

  it('a SQLite header on garbage', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4000, 7)]));
    let err: unknown;
    try {
      new StateStore(bad).read();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toMatch(/bad\.json: not a readable SQLite state \(/);
  });
});
