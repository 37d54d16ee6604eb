// The one door to the state file: load → operate (a pure, synchronous function) → save,
// atomically and under a real lock (flock on <state>.lock), so concurrent `nova` processes
// never lose each other's updates. A save writes a new file beside the old one, checks that
// every byte landed, fsyncs it, renames it over the old one and fsyncs the directory: a full
// disk, an I/O error or a crash at any instant leaves either the old state or the new one,
// never less.
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { SimError } from '../common/errors.js';
import { armFaults, faultAt } from '../common/faults.js';
import { strerror } from '../common/strerror.js';
import type { State } from './types.js';
import { validateState } from './validate.js';
import { fsyncDirectory } from './durable-dir.js';
import * as SqliteStore from './sqlite-store.js';

/** The state file is missing, unreadable, corrupt or of the wrong schema. */
export class StateFileError extends SimError {
  constructor(readonly path: string, problem: string) {
    super('StateFileError', `${path}: ${problem}`);
  }
}

/** A save failed (full disk, I/O error, …): nothing was replaced, the old state stays. */
export class StateWriteError extends SimError {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super('StateWriteError', `cannot save the state to ${path}: ${strerror(code)} (${code}); the state file is unchanged`);
  }
}

/** A save was committed (readers see it) but could not be made durable: a crash of the
 * machine (not of the process) before the next sync could lose it. */
export class StateSyncError extends SimError {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super('StateWriteError', `the change to ${path} was saved, but the disk did not confirm it: ${strerror(code)} (${code}); a power loss could still undo it`);
  }
}

/** A change would leave a state the next command could not read: it is not saved. */
export class StateCheckError extends SimError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super('StateCheckError', `not saved: the change would leave ${path} unreadable (${problem}); the state file is unchanged`);
  }
}

// The lock is loaded on the first write only: a read-only command (nova list, nova show)
// never pays for it.
interface WriteLibs {
  flockSync: (fd: number, how: 'exnb' | 'un') => void;
}
let writeLibs: Promise<WriteLibs> | null = null;
function loadWriteLibs(): Promise<WriteLibs> {
  // fs-ext is a CommonJS native addon: required, not imported
  writeLibs ??= Promise.resolve().then(() => {
    const req = createRequire(import.meta.url);
    return { flockSync: (req('fs-ext') as { flockSync: WriteLibs['flockSync'] }).flockSync };
  });
  return writeLibs;
}

let tmpSeq = 0;

/** write(2) as the state's writer sees it: the `state.write` fault can cut it short or fail it. */
function writeChunk(fd: number, buf: Buffer, off: number): number {
  const rule = faultAt('state.write');
  if (rule) {
    // `afterBytes` of the file land before the fault
    const room = Math.max(0, (rule.afterBytes ?? 0) - off);
    const kind = (rule.error ?? 'ENOSPC').toUpperCase();
    if (kind === 'SHORT') {
      // write(2) may land fewer bytes than asked and say so; the caller must go on
      return writeSync(fd, buf, off, Math.max(1, Math.min(buf.length - off, room || 4096)));
    }
    if (room > 0) return writeSync(fd, buf, off, Math.min(buf.length - off, room));
    throw Object.assign(new Error(kind), { code: kind === 'EIO' ? 'EIO' : 'ENOSPC' });
  }
  return writeSync(fd, buf, off, buf.length - off);
}

/** Replaces `path` with `text`, durably, or throws StateWriteError and leaves it as it was. */
export function writeFileDurably(path: string, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${++tmpSeq}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    let off = 0;
    while (off < buf.length) {
      const n = writeChunk(fd, buf, off);
      if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
      off += n;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    if (statSync(tmp).size !== buf.length) throw Object.assign(new Error('short file'), { code: 'EIO' });
    renameSync(tmp, path);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
    throw new StateWriteError(path, (err as NodeJS.ErrnoException).code ?? 'EIO');
  }
  // the rename itself is durable only once the directory is
  fsyncDirectory(dir);
}

/** How long a command waits for another process's hold on the state lock (NOVASIM_LOCK_TIMEOUT, seconds). */
export function lockTimeoutMs(): number {
  const raw = process.env.NOVASIM_LOCK_TIMEOUT;
  const s = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(s) && s >= 0 ? Math.min(s, 86_400) * 1000 : DEFAULT_LOCK_TIMEOUT_MS;
}
/** a save holds the lock for milliseconds; a minute means its holder is stopped or stuck */
const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/** Another process held the state lock for longer than the lock timeout: nothing was changed. */
export class StateLockTimeout extends SimError {
  constructor(
    readonly path: string,
    readonly holder: number | null,
    waitedMs: number,
  ) {
    const who = holder === null ? 'another process' : `process ${holder}${describeProcess(holder)}`;
    super('StateLockTimeout', `${path} is locked by ${who}; gave up after ${formatWait(waitedMs)} (NOVASIM_LOCK_TIMEOUT); nothing was changed`);
  }
}

function formatWait(ms: number): string {
  return `${+(ms / 1000).toFixed(3)} s`;
}

/** " (stopped)" etc.: the holder's state from /proc, when it tells something useful */
function describeProcess(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (st === 'T' || st === 't') return ' (stopped)';
    if (st === 'D') return ' (in uninterruptible I/O)';
    if (st === 'Z') return ' (a zombie)';
    return '';
  } catch {
    return ' (gone)';
  }
}

/** the pid holding an flock on `fd`'s file, from /proc/locks (null when unknown) */
function lockHolder(fd: number): number | null {
  try {
    const st = fstatSync(fd);
    const inode = String(st.ino);
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      // 1: FLOCK  ADVISORY  WRITE 12345 08:01:123456 0 EOF
      const f = line.trim().split(/\s+/);
      if (f[1] !== 'FLOCK' || f.length < 6) continue;
      if (f[5].split(':')[2] === inode) return Number(f[4]);
    }
  } catch {
    // no /proc: the message says "another process"
  }
  return null;
}

/**
 * Takes the exclusive lock on `fd`, waiting at most the lock timeout for another holder.
 * It polls with LOCK_NB rather than blocking in flock(2) on libuv's pool: a blocked flock
 * cannot be given up, and it would hold one of the pool's four threads meanwhile.
 */
async function lockExclusive(fd: number, path: string): Promise<WriteLibs> {
  const libs = await loadWriteLibs();
  const limit = lockTimeoutMs();
  const t0 = Date.now();
  let pause = 1;
  for (;;) {
    try {
      libs.flockSync(fd, 'exnb');
      return libs;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw err;
    }
    const waited = Date.now() - t0;
    if (waited >= limit) throw new StateLockTimeout(path, lockHolder(fd), limit);
    await new Promise((r) => setTimeout(r, Math.min(pause, limit - waited)));
    pause = Math.min(pause * 2, 20);
  }
}

/** Serialises this process's own transactions before they queue for the file lock. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const mutexes = new Map<string, Mutex>();

export class StateStore {
  private readonly mutex: Mutex;
  private cache: { key: string; text: string } | null = null;

  /** runs on the state of every update() before it is saved, under the same lock: lets the
   * owner of the process (the simulator) keep records of its own in step with the cloud's */
  private readonly beforeSave?: (state: State) => void;

  constructor(
    readonly path: string,
    opts: { beforeSave?: (state: State) => void } = {},
  ) {
    this.beforeSave = opts.beforeSave;
    let m = mutexes.get(path);
    if (!m) mutexes.set(path, (m = new Mutex()));
    this.mutex = m;
  }

  exists(): boolean {
    try {
      statSync(this.path);
      return true;
    } catch {
      return false;
    }
  }

  /** A consistent snapshot (writers replace the file by rename, so no lock is needed).
   * Each call gets its own copy; a file already validated is only parsed again.
   * A large world kept in SQLite (sqlite-store.ts) is read lazily instead. */
  read(): State {
    let text: string;
    let key: string;
    try {
      const st = statSync(this.path, { bigint: true });
      key = `${st.ino}:${st.mtimeNs}:${st.size}`;
      if (this.cache && this.cache.key === key) {
        const cached = JSON.parse(this.cache.text) as State;
        armFaults(cached.faults);
        return cached;
      }
      if (sqlite(this.path)) return this.readSqlite(sqlite(this.path) as typeof SqliteStore);
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StateFileError(this.path, code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(err)}`);
    }
    const state = parseState(this.path, text);
    this.cache = { key, text };
    armFaults(state.faults);
    return state;
  }

  /** read() of a file known to be a state kept in SQLite (`ino`: its inode, just stat'ed) */
  protected readSqlite(mod: typeof SqliteStore = SqliteStore, ino?: number, shared = false): State {
    try {
      const state = mod.SqliteWorld.at(this.path, ino).read(shared);
      armFaults(state.faults);
      return state;
    } catch (err) {
      throw sqliteReadError(this.path, err, mod);
    }
  }

  /** whether this store's saves to a SQLite world leave the log's fsync off the event loop
   * (SqliteWorld.deferLogSync): the owner of a served world's do */
  protected deferSqliteSync(): boolean {
    return false;
  }

  /** update() on a state kept in SQLite: one transaction that writes the rows that changed,
   * durable when the promise resolves */
  private async updateSqlite<T>(mod: typeof SqliteStore, fn: (state: State) => T): Promise<T> {
    let world: SqliteStore.SqliteWorld;
    try {
      world = mod.SqliteWorld.at(this.path);
    } catch (err) {
      throw sqliteReadError(this.path, err, mod);
    }
    const result = this.commitSqlite(world, fn);
    try {
      await world.syncLog();
    } catch (err) {
      throw new StateSyncError(this.path, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
    return result;
  }

  private commitSqlite<T>(world: SqliteStore.SqliteWorld, fn: (state: State) => T): T {
    world.deferLogSync(this.deferSqliteSync());
    try {
      return world.transact(
        (state) => {
          armFaults(state.faults);
          const result = fn(state);
          this.beforeSave?.(state);
          return result;
        },
        () => {
          // the `state.write` fault fails the commit as it fails a JSON file's write
          const rule = faultAt('state.write');
          if (rule) throw new StateWriteError(this.path, (rule.error ?? 'ENOSPC').toUpperCase() === 'EIO' ? 'EIO' : 'ENOSPC');
        },
        (problem) => new StateCheckError(this.path, problem),
      );
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_')) {
        throw new StateWriteError(this.path, code.startsWith('SQLITE_FULL') ? 'ENOSPC' : code.startsWith('SQLITE_BUSY') ? 'EBUSY' : 'EIO');
      }
      throw err;
    }
  }

  /** Runs `fn` on the current state under the lock and saves what it changed; if `fn`
   * throws, nothing is written and the error propagates. */
  update<T>(fn: (state: State) => T): Promise<T> {
    return this.mutex.run(async () => {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(`${this.path}.lock`, 'a');
      try {
        const libs = await lockExclusive(fd, this.path);
        const mod = sqlite(this.path);
        // (awaited here: the lock is held until the save is durable)
        if (mod) return await this.updateSqlite(mod, fn);
        const state = this.readForUpdate();
        const result = fn(state);
        this.beforeSave?.(state);
        this.write(libs, state);
        return result;
      } finally {
        closeSync(fd); // closing the descriptor releases the flock
      }
    });
  }

  /** Creates the file from `build` (init), under the same lock. With `replace` false an
   * existing file is kept and false is returned. `build` may write the world's images. */
  create(build: () => State, replace: boolean, format: StateFormat = 'json'): Promise<boolean> {
    return this.mutex.run(async () => {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(`${this.path}.lock`, 'a');
      try {
        const libs = await lockExclusive(fd, this.path);
        if (!replace && this.exists()) return false;
        const state = build();
        if (format === 'sqlite') {
          const problem = validateState(state, this.path);
          if (problem) throw new StateCheckError(this.path, problem);
          const mod = await loadSqliteStore();
          try {
            mod.writeSqliteState(this.path, state);
          } catch (err) {
            const code = (err as { code?: unknown }).code;
            throw new StateWriteError(this.path, typeof code === 'string' && /FULL|ENOSPC/.test(code) ? 'ENOSPC' : typeof code === 'string' && code.startsWith('E') ? code : 'EIO');
          }
          this.cache = null;
          return true;
        }
        const wasSqlite = isSqliteHeader(this.path);
        this.write(libs, state);
        // the log of the SQLite world this JSON file replaced (its commits are of that world)
        if (wasSqlite) SqliteStore.removeSideFiles(this.path);
        return true;
      } finally {
        closeSync(fd);
      }
    });
  }

  private write(libs: WriteLibs, state: State): void {
    void libs; // held: the lock is what makes this write the only one
    const text = JSON.stringify(state, null, 1) + '\n';
    // a change that would leave a file the next command refuses is not saved: what is
    // written is exactly what reads back
    const doc = JSON.parse(text) as State;
    const problem = validateState(doc, this.path);
    if (problem) throw new StateCheckError(this.path, problem);
    this.cache = null;
    writeFileDurably(this.path, text);
    // a SQLite world this JSON file replaced (init --format json over it) is closed
    sqliteLoaded.SqliteWorld.closeAt(this.path);
    this.saved(doc, text);
  }

  /** the state an update() works on, read under the lock (an owner's store hands a copy of
   * what it keeps in memory: src/state/owned-store.ts) */
  protected readForUpdate(): State {
    return this.read();
  }

  /** called with each saved state, as read back from `text` (what was written), once it is durable */
  protected saved(state: State, text: string): void {
    void state;
    void text;
  }
}

/** how a state file keeps the world: one JSON document, or SQLite (large worlds) */
export type StateFormat = 'json' | 'sqlite';

// The SQLite store's native binding is loaded only for a state kept in SQLite (sqlite-store.ts
// requires it on first use): a JSON world never pays for it.
const sqliteLoaded = SqliteStore;
/** kept for callers that load the store ahead (it is part of this module now) */
export function loadSqliteStore(): Promise<typeof SqliteStore> {
  return Promise.resolve(SqliteStore);
}

/** the file's first bytes say SQLite: the store's module (null for a JSON file) */
function sqlite(path: string): typeof SqliteStore | null {
  return isSqliteHeader(path) ? SqliteStore : null;
}

function isSqliteHeader(path: string): boolean {
  return SqliteStore.isSqliteFile(path);
}

// a row that cannot be read when a collection is first used: one line naming the file
SqliteStore.setReadProblem((err, path) => {
  const e = err as { code?: string; message?: string };
  if (err instanceof StateFileError || !e.code?.startsWith('SQLITE_')) return err as Error;
  return new StateFileError(path, `not a readable SQLite state (${(e.message ?? e.code).replace(/\s+/g, ' ')})`);
});

function sqliteReadError(path: string, err: unknown, mod: typeof SqliteStore): Error {
  if (err instanceof StateFileError) return err;
  if (err instanceof mod.SqliteProblem) {
    return new StateFileError(path, err.code === 'NOT_A_STATE' ? `not a novasim state file: ${err.message}` : `not a readable SQLite state (${err.message})`);
  }
  const e = err as { code?: string; message?: string };
  if (e.code?.startsWith('SQLITE_')) return new StateFileError(path, `not a readable SQLite state (${(e.message ?? e.code).replace(/\s+/g, ' ')})`);
  return err as Error;
}

/** the host's own storage under the state failed or stayed locked: not an answer of any API's */
export function isHostStateError(err: unknown): err is StateWriteError | StateSyncError | StateCheckError | StateLockTimeout {
  return err instanceof StateWriteError || err instanceof StateSyncError || err instanceof StateCheckError || err instanceof StateLockTimeout;
}

export function parseState(path: string, text: string): State {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const why = text.trim() === '' ? 'the file is empty' : `not valid JSON (${(err as Error).message.replace(/\s+/g, ' ')})`;
    throw new StateFileError(path, why);
  }
  const problem = validateState(doc, path);
  if (problem) throw new StateFileError(path, `not a novasim state file: ${problem}`);
  return doc as State;
}
