// The one door to the state file: load → operate (a pure, synchronous function) → save,
// atomically (temp file, fsync, rename) and under a real lock (flock on <state>.lock), so
// concurrent `nova` processes never lose each other's updates.
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { SimError } from '../common/errors.js';
import type { State } from './types.js';
import { validateState } from './validate.js';

/** The state file is missing, unreadable, corrupt or of the wrong schema. */
export class StateFileError extends SimError {
  constructor(readonly path: string, problem: string) {
    super('StateFileError', `${path}: ${problem}`);
  }
}

// The lock and the atomic writer are loaded on the first write only: a read-only
// command (nova list, nova show) never pays for them.
interface WriteLibs {
  flock: (fd: number, how: 'ex' | 'un', cb: (err: Error | null) => void) => void;
  writeSync: (path: string, data: string, opts: { fsync: boolean; mode: number }) => void;
}
let writeLibs: Promise<WriteLibs> | null = null;
function loadWriteLibs(): Promise<WriteLibs> {
  // both are CommonJS packages (fs-ext a native addon): required, not imported
  writeLibs ??= Promise.resolve().then(() => {
    const req = createRequire(import.meta.url);
    return {
      flock: (req('fs-ext') as { flock: WriteLibs['flock'] }).flock,
      writeSync: (req('write-file-atomic') as { sync: WriteLibs['writeSync'] }).sync,
    };
  });
  return writeLibs;
}

async function flockAsync(fd: number, how: 'ex' | 'un'): Promise<WriteLibs> {
  const libs = await loadWriteLibs();
  await new Promise<void>((resolve, reject) => libs.flock(fd, how, (err) => (err ? reject(err) : resolve())));
  return libs;
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

  constructor(readonly path: string) {
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
   * Each call gets its own copy; a file already validated is only parsed again. */
  read(): State {
    let text: string;
    let key: string;
    try {
      const st = statSync(this.path, { bigint: true });
      key = `${st.ino}:${st.mtimeNs}:${st.size}`;
      if (this.cache && this.cache.key === key) return JSON.parse(this.cache.text) as State;
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StateFileError(this.path, code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(err)}`);
    }
    const state = parseState(this.path, text);
    this.cache = { key, text };
    return state;
  }

  /** Runs `fn` on the current state under the lock and saves what it changed; if `fn`
   * throws, nothing is written and the error propagates. */
  update<T>(fn: (state: State) => T): Promise<T> {
    return this.mutex.run(async () => {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(`${this.path}.lock`, 'a');
      try {
        const libs = await flockAsync(fd, 'ex');
        const state = this.read();
        const result = fn(state);
        this.write(libs, state);
        return result;
      } finally {
        closeSync(fd); // closing the descriptor releases the flock
      }
    });
  }

  /** Creates the file from `build` (init), under the same lock. With `replace` false an
   * existing file is kept and false is returned. `build` may write the world's images. */
  create(build: () => State, replace: boolean): Promise<boolean> {
    return this.mutex.run(async () => {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(`${this.path}.lock`, 'a');
      try {
        const libs = await flockAsync(fd, 'ex');
        if (!replace && this.exists()) return false;
        this.write(libs, build());
        return true;
      } finally {
        closeSync(fd);
      }
    });
  }

  private write(libs: WriteLibs, state: State): void {
    libs.writeSync(this.path, JSON.stringify(state, null, 1) + '\n', { fsync: true, mode: 0o644 });
    this.cache = null;
  }
}

export function parseState(path: string, text: string): State {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const why = text.trim() === '' ? 'the file is empty' : `not valid JSON (${(err as Error).message})`;
    throw new StateFileError(path, why);
  }
  const problem = validateState(doc);
  if (problem) throw new StateFileError(path, `not a novasim state file: ${problem}`);
  return doc as State;
}
