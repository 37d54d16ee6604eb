// The store of a process that owns its state file (`nova-sim serve`): the parsed state is
// kept in memory and every read is answered from it, where a plain StateStore reads and
// parses the file again for each request.
//
// Writes are unchanged: each update runs under the file lock and is durable on disk before
// it is acknowledged. An update works on a copy of the snapshot; the snapshot is replaced
// only once the save has landed, by the state read back from the text that was written,
// so a reader sees the state before an update or after it, never half of one. Readers must
// not change the snapshot: with `freeze` (NOVASIM_FREEZE_STATE=1; the tests set it) it is
// deep-frozen, so code that would change what it read throws instead of changing what every
// other request sees. It is not frozen by default because V8 walks frozen arrays several
// times slower (a filter over the BDMs of a 1,000-server world: 64 µs frozen, 7 µs not).
//
// The owner is the only writer by contract (the ownership record, src/serve/ownership.ts),
// but a change made behind its back (an old client that ignored the record) is not lost:
// each update first checks, under the lock, that the file is still the one it last saved.
//
// A world kept in SQLite (src/state/sqlite-store.ts) needs none of this: its reads load only
// the rows they use and its saves write only the rows that changed, in one transaction, so
// the owner reads and writes it as any process does, except that its reads share one lazily
// loaded state (with the rows it has loaded) until the database changes: the same contract
// as the snapshot of a JSON world, never modify what read() returns; and that its commits
// leave the fsync of the log to libuv's pool, awaited before the save is acknowledged, so
// the requests that only read never wait for the disk.
import { readFileSync, statSync } from 'node:fs';
import { armFaults } from '../common/faults.js';
import { SqliteWorld, isSqliteFile } from './sqlite-store.js';
import { StateFileError, StateStore, parseState } from './store.js';
import type { State } from './types.js';

/** Object.freeze, all the way down */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return value;
}

/** A state that must not be changed: what OwnedStateStore.read() hands out. */
export type FrozenState = State;

export class OwnedStateStore extends StateStore {
  private snapshot: State | null = null;
  /** the text the snapshot was read from: an update starts from a fresh parse of it (V8's
   * JSON.parse is quicker than structuredClone on a big state) */
  private text = '';
  /** the file the snapshot came from (inode, mtime, size): a change behind our back shows here */
  private fileKey = '';

  private readonly freeze: boolean;

  constructor(path: string, opts: { beforeSave?: (state: State) => void; freeze?: boolean } = {}) {
    super(path, opts);
    this.freeze = opts.freeze ?? process.env.NOVASIM_FREEZE_STATE === '1';
  }

  /** The current state, shared (and frozen with `freeze`): never modify it (use update()). */
  override read(): FrozenState {
    // a world kept in SQLite: read as any process reads it (its format and inode are known;
    // within a read snapshot already open on it, the file was looked at by the first read)
    // It is shared, as the snapshot of a JSON world is, until the database changes.
    if ((this.isSqlite && this.formatKey && SqliteWorld.inSnapshot(this.path)) || this.sqlite()) return this.readSqlite(undefined, this.ino, true);
    if (!this.snapshot) this.load();
    return this.snapshot as State;
  }

  /** A save to a world kept in SQLite is durable before update() resolves, as any process's,
   * but its fsync runs off the event loop (SqliteWorld.deferLogSync): the requests that only
   * read are answered meanwhile. */
  protected override deferSqliteSync(): boolean {
    return true;
  }

  /** Forgets the snapshot: the next read loads the file again. */
  reload(): void {
    this.snapshot = null;
  }

  /** whether the file keeps its world in SQLite (checked when the file changes) */
  private sqlite(): boolean {
    const key = this.currentKey();
    if (key !== this.formatKey) {
      this.formatKey = key;
      this.isSqlite = isSqliteFile(this.path);
    }
    return this.isSqlite;
  }
  private formatKey = '';
  private isSqlite = false;

  protected override readForUpdate(): State {
    if (!this.snapshot || this.currentKey() !== this.fileKey) this.load();
    // the update changes a copy; readers keep the snapshot until the save has landed
    return JSON.parse(this.text) as State;
  }

  protected override saved(state: State, text: string): void {
    // validated by the save, as read back from the text written
    this.fileKey = this.currentKey();
    this.text = text;
    this.install(state);
  }

  private load(): void {
    const key = this.currentKey();
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StateFileError(this.path, code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(err)}`);
    }
    const state = parseState(this.path, text);
    this.fileKey = key;
    this.text = text;
    this.install(state);
  }

  private install(state: State): void {
    this.snapshot = this.freeze ? deepFreeze(state) : state;
    armFaults(state.faults);
  }

  /** the file's inode at the last currentKey() */
  private ino = -1;

  private currentKey(): string {
    try {
      const st = statSync(this.path, { bigint: true });
      this.ino = Number(st.ino);
      return `${st.ino}:${st.mtimeNs}:${st.size}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StateFileError(this.path, code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(err)}`);
    }
  }
}

