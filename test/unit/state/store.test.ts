// src/state/: the one door to the state file (store.ts) and the shape check it trusts
// (validate.ts). A bad file is refused with one StateFileError naming the file and the
// problem, and is never touched; writes are atomic; concurrent processes lose nothing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initWorld, loadFixture, materialize } from '../../../src/novasim/world.js';
import { StateFileError, StateStore, parseState } from '../../../src/state/store.js';
import { validateState } from '../../../src/state/validate.js';
import type { State } from '../../../src/state/types.js';

let dir: string;
let statePath: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-state-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'empty', false);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** the error a call throws, for assertions on its fields */
async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

function snapshot(path: string) {
  const st = statSync(path, { bigint: true });
  return { bytes: readFileSync(path), ino: st.ino, mtimeNs: st.mtimeNs };
}

describe('StateStore.read: a bad file is one StateFileError naming the file and the problem', () => {
  const valid = () => readFileSync(statePath, 'utf8');
  const cases: [string, () => string, RegExp][] = [
    ['an empty file', () => '', /: the file is empty$/],
    ['a file of blanks', () => '  \n\t\n', /: the file is empty$/],
    ['a truncated file', () => valid().slice(0, Math.floor(valid().length / 2)), /: not valid JSON \(.+\)$/],
    ['a corrupt file', () => '\u0000\u0001garbage{{', /: not valid JSON \(.+\)$/],
    ['JSON of another program', () => JSON.stringify({ hello: 'world' }), /: not a novasim state file: state\.schemaVersion is missing$/],
    ['a JSON array', () => '[1,2,3]', /: not a novasim state file: state must be an object$/],
    [
      'a newer schema version',
      () => JSON.stringify({ ...JSON.parse(valid()), schemaVersion: 2 }),
      /: not a novasim state file: state\.schemaVersion is 2, expected 1$/,
    ],
    [
      'a field of the wrong type',
      () => {
        const s = JSON.parse(valid()) as State;
        (s.nova as unknown as Record<string, unknown>).nextBdmId = 'one';
        return JSON.stringify(s);
      },
      /: not a novasim state file: state\.nova\.nextBdmId must be an integer$/,
    ],
  ];

  it.each(cases)('%s', async (_name, content, problem) => {
    writeFileSync(statePath, content());
    const before = snapshot(statePath);
    const err = await caught(() => new StateStore(statePath).read());
    expect(err).toBeInstanceOf(StateFileError);
    const e = err as StateFileError;
    expect(e.kind).toBe('StateFileError');
    expect(e.path).toBe(statePath);
    expect(e.message.startsWith(`${statePath}: `)).toBe(true);
    expect(e.message).toMatch(problem);
    // the message is one line: one error, not a stack of them
    expect(e.message.split('\n')).toHaveLength(1);
    expect(snapshot(statePath)).toEqual(before);
  });

  it.each(cases)('update() on %s throws the same error, never calls fn and leaves the file untouched', async (_name, content, problem) => {
    writeFileSync(statePath, content());
    const before = snapshot(statePath);
    let called = false;
    const err = await caught(() =>
      new StateStore(statePath).update(() => {
        called = true;
      }),
    );
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toMatch(problem);
    expect(called).toBe(false);
    expect(snapshot(statePath)).toEqual(before);
  });

  it('a missing file is "no such file"', async () => {
    const missing = join(dir, 'nope.json');
    const err = await caught(() => new StateStore(missing).read());
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toBe(`${missing}: no such file`);
  });

  it('a path that cannot be read as a file (a directory) is "cannot read: EISDIR"', async () => {
    const d = join(dir, 'adir.json');
    mkdirSync(d);
    const err = await caught(() => new StateStore(d).read());
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toBe(`${d}: cannot read: EISDIR`);
  });

  it('parseState names the file it was given', () => {
    expect(() => parseState('/x/y.json', '')).toThrow(new StateFileError('/x/y.json', 'the file is empty'));
  });
});

describe('StateStore.update: load → operate → save, atomically', () => {
  it('saves what fn changed and returns its result; a fresh store reads it back', async () => {
    const store = new StateStore(statePath);
    const r = await store.update((s) => {
      s.nova.nextBdmId = 42;
      return 'done';
    });
    expect(r).toBe('done');
    expect(new StateStore(statePath).read().nova.nextBdmId).toBe(42);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).nova.nextBdmId).toBe(42);
  });

  it('replaces the file by rename (a new inode), leaving no temporary file behind', async () => {
    const store = new StateStore(statePath);
    const before = statSync(statePath).ino;
    await store.update((s) => {
      s.host = 'other';
    });
    expect(statSync(statePath).ino).not.toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith('state.json') && f !== 'state.json' && f !== 'state.json.lock')).toEqual([]);
  });

  it('writes nothing when fn throws, and the error propagates', async () => {
    const store = new StateStore(statePath);
    const before = snapshot(statePath);
    const boom = new Error('boom');
    await expect(
      store.update((s) => {
        s.host = 'changed';
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(snapshot(statePath)).toEqual(before);
    expect(store.read().host).toBe('devstack');
  });

  it('read() hands out copies: a caller mutating its snapshot changes nothing', () => {
    const store = new StateStore(statePath);
    const a = store.read();
    a.host = 'mutated';
    a.users.length = 0;
    const b = store.read();
    expect(b.host).toBe('devstack');
    expect(b.users.length).toBeGreaterThan(0);
  });

  it('serialises this process\'s concurrent updates (read-modify-write loses nothing)', async () => {
    const stores = [new StateStore(statePath), new StateStore(statePath), new StateStore(statePath)];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stores[i % 3].update((s) => {
          s.nova.nextInstanceId += 1;
        }),
      ),
    );
    expect(new StateStore(statePath).read().nova.nextInstanceId).toBe(1 + 30);
  });

  it('a failed update does not block the ones queued after it', async () => {
    const store = new StateStore(statePath);
    const results = await Promise.allSettled([
      store.update(() => {
        throw new Error('first fails');
      }),
      store.update((s) => {
        s.nova.nextBdmId = 7;
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(store.read().nova.nextBdmId).toBe(7);
  });

  it('create(build, replace=false) keeps an existing file; replace=true overwrites it', async () => {
    const store = new StateStore(statePath);
    const before = snapshot(statePath);
    const other = { ...store.read(), host: 'replaced' };
    expect(await store.create(() => other, false)).toBe(false);
    expect(snapshot(statePath)).toEqual(before);
    expect(await store.create(() => other, true)).toBe(true);
    expect(store.read().host).toBe('replaced');
  });
});

describe('StateStore beforeSave: the owner of the process keeps its records in step, in the same save', () => {
  it('runs on the state fn changed, and what it changes is saved with it', async () => {
    const seen: number[] = [];
    const store = new StateStore(statePath, {
      beforeSave: (s) => {
        seen.push(s.nova.nextBdmId);
        s.host = `host-${s.nova.nextBdmId}`;
      },
    });
    await store.update((s) => {
      s.nova.nextBdmId = 9;
    });
    expect(seen).toEqual([9]);
    const saved = new StateStore(statePath).read();
    expect([saved.nova.nextBdmId, saved.host]).toEqual([9, 'host-9']);
  });

  it('does not run when fn throws (nothing is written)', async () => {
    let runs = 0;
    const store = new StateStore(statePath, { beforeSave: () => void runs++ });
    const before = snapshot(statePath);
    await expect(store.update(() => { throw new Error('no'); })).rejects.toThrow('no');
    expect(runs).toBe(0);
    expect(snapshot(statePath)).toEqual(before);
  });

  it('a hook that throws fails the update and writes nothing', async () => {
    const store = new StateStore(statePath, { beforeSave: () => { throw new Error('hook'); } });
    const before = snapshot(statePath);
    await expect(store.update((s) => { s.host = 'x'; })).rejects.toThrow('hook');
    expect(snapshot(statePath)).toEqual(before);
  });
});

describe('concurrent updates from several real processes never lose an update', () => {
  // the children import the compiled store (tsc of src/state/store.ts and its imports)
  // from a private build directory inside the package, so they resolve fs-ext and
  // write-file-atomic from its node_modules like the installed CLI does
  const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
  const outDir = join(root, 'node_modules', '.cache', `novasim-unit-state-${process.pid}`);

  beforeAll(() => {
    mkdirSync(outDir, { recursive: true });
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--outDir', outDir, '--rootDir', join(root, 'src'),
        '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022',
        '--esModuleInterop', '--skipLibCheck', '--strict', '--types', 'node',
        join(root, 'src', 'state', 'store.ts'),
      ],
      { cwd: root, stdio: 'pipe' },
    );
  }, 60_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  const CHILD = `
    const { StateStore } = await import(process.env.STORE_URL);
    const store = new StateStore(process.env.STATE);
    const n = Number(process.env.N);
    for (let i = 0; i < n; i++) {
      await store.update((s) => {
        const seen = s.nova.nextInstanceId;
        // widen the read-modify-write window: a lost update would show
        const until = Date.now() + 1;
        while (Date.now() < until) {}
        s.nova.nextInstanceId = seen + 1;
        s.images.push({ id: process.env.WHO + '-' + i, name: 'x' });
      });
    }
  `;

  function child(who: string, n: number): Promise<number> {
    return new Promise((res, rej) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
        env: { ...process.env, STORE_URL: pathToFileURL(join(outDir, 'state', 'store.js')).href, STATE: statePath, N: String(n), WHO: who },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('error', rej);
      p.on('exit', (code) => (code === 0 ? res(code) : rej(new Error(`child ${who} exited ${code}: ${err}`))));
    });
  }

  it('6 processes × 15 updates, plus this process, all land', async () => {
    const start = new StateStore(statePath).read();
    const mine = new StateStore(statePath);
    const local = (async () => {
      for (let i = 0; i < 15; i++) {
        await mine.update((s) => {
          s.nova.nextInstanceId += 1;
          s.images.push({ ...s.images[0], id: `local-${i}` });
        });
      }
    })();
    await Promise.all([...Array.from({ length: 6 }, (_, k) => child(`c${k}`, 15)), local]);
    const end = new StateStore(statePath).read();
    expect(end.nova.nextInstanceId).toBe(start.nova.nextInstanceId + 7 * 15);
    const ids = end.images.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(start.images.length + 7 * 15);
    // and the file is still a valid state
    expect(validateState(JSON.parse(readFileSync(statePath, 'utf8')))).toBeNull();
  }, 30_000);
});

describe('validateState: the first bad field, by its path', () => {
  let world: State;
  beforeAll(() => {
    const d = mkdtempSync(join(tmpdir(), 'novasim-validate-'));
    world = materialize(join(d, 'x.json'), loadFixture('default'));
    rmSync(d, { recursive: true, force: true });
  });
  const good = (): any => structuredClone(world);

  it('a materialized world (running, shut-off, transient and managed-save domains) is valid', () => {
    expect(validateState(good())).toBeNull();
  });

  const cases: [string, (s: any) => void, string][] = [
    ['a missing top-level table', (s) => delete s.cinder, 'state.cinder is missing'],
    ['a wrong schema version', (s) => (s.schemaVersion = 0), 'state.schemaVersion is 0, expected 1'],
    ['an instance with a non-boolean locked', (s) => (s.nova.instances[1].locked = 'yes'), 'state.nova.instances[1].locked must be a boolean'],
    ['a task_state that is neither string nor null', (s) => (s.nova.instances[0].taskState = 3), 'state.nova.instances[0].taskState must be a string or null'],
    ['a volume size that is not an integer', (s) => (s.cinder.volumes[2].size = 1.5), 'state.cinder.volumes[2].size must be an integer'],
    ['an unknown attach_status', (s) => (s.cinder.volumes[0].attachStatus = 'maybe'), 'state.cinder.volumes[0].attachStatus must be one of "attached", "detached", "attaching"'],
    ['an unknown domain state', (s) => (s.libvirt.domains[0].state = 'crashed'), 'state.libvirt.domains[0].state must be one of "running", "paused", "shutoff", "pmsuspended"'],
    ['a disk of an unknown type', (s) => (s.libvirt.domains[0].def.disks[1].type = 'nbd'), 'state.libvirt.domains[0].def.disks[1].type must be one of "file", "block", "network"'],
    ['a persistent definition that is not an object', (s) => (s.libvirt.domains[0].persistentDef = 'x'), 'state.libvirt.domains[0].persistentDef must be an object'],
    ['a mirror without progress', (s) => (s.libvirt.domains[0].mirrors.vdb = { dev: 'vdb', source: '/x', format: 'raw', ready: false, end: 0, ownerPid: 1 }), 'state.libvirt.domains[0].mirrors.vdb.cur is missing'],
    ['bdms that are not an array', (s) => (s.nova.bdms = {}), 'state.nova.bdms must be an array'],
    [
      'an unknown disk cache mode',
      (s) => (s.libvirt.domains[0].def.disks[1].cache = 'turbo'),
      'state.libvirt.domains[0].def.disks[1].cache must be one of "default", "none", "writethrough", "writeback", "directsync", "unsafe"',
    ],
    ['a nova.conf list that is not a list', (s) => (s.novaConf = { libvirt: { disk_cachemodes: 'block=unsafe' } }), 'state.novaConf.libvirt.disk_cachemodes must be an array'],
    ['a nova.conf without its section', (s) => (s.novaConf = {}), 'state.novaConf.libvirt is missing'],
    [
      'a disk_cachemodes item with an unknown mode',
      (s) => (s.novaConf = { libvirt: { disk_cachemodes: ['block=none', 'file=turbo'] } }),
      'state.novaConf.libvirt.disk_cachemodes[1]: Invalid cachemode turbo specified for disk type file.',
    ],
    [
      'a disk_cachemodes item without a disk type',
      (s) => (s.novaConf = { libvirt: { disk_cachemodes: ['unsafe'] } }),
      "state.novaConf.libvirt.disk_cachemodes[0]: 'unsafe' is not of the form <disk type>=<cache mode>",
    ],
    [
      'a blkdebug delay longer than the CLI allows',
      (s) => (s.blkdebug = [{ server: 'u', disk: 'vdb', count: null, action: 'delay', event: 'flush_to_disk', ms: 99999999 }]),
      'state.blkdebug[0].ms must be at most 60000',
    ],
    [
      'two blkdebug error rules of one drive with different errnos',
      (s) =>
        (s.blkdebug = [
          { server: 'u', disk: 'vdb', count: 1, action: 'error', op: 'write', errno: 'EIO' },
          { server: 'u', disk: 'vdb', count: null, action: 'error', op: 'read', errno: 'ENOSPC' },
        ]),
      'state.blkdebug[1].errno must be EIO, as the other error rule of vdb',
    ],
  ];
  it.each(cases)('%s', (_name, mutate, problem) => {
    const s = good();
    mutate(s);
    expect(validateState(s)).toBe(problem);
  });

  it('files from before disk cache modes and nova.conf (no cache, no novaConf) are valid', () => {
    const s = good();
    for (const d of s.libvirt.domains) for (const k of ['def', 'persistentDef']) for (const disk of d[k]?.disks ?? []) delete disk.cache;
    delete s.novaConf;
    expect(validateState(s)).toBeNull();
    s.novaConf = { libvirt: { disk_cachemodes: ['block=unsafe'] } };
    expect(validateState(s)).toBeNull();
  });

  it('a null persistentDef (a transient domain) is valid', () => {
    const s = good();
    s.libvirt.domains[0].persistentDef = null;
    expect(validateState(s)).toBeNull();
  });
});
