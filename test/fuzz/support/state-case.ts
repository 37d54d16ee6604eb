// One hostile state file and one command run on it. Properties: those of every command
// (exit code, one error line, no JavaScript); the state file's bytes unchanged when the
// command failed; a state that read before still reads after; nothing outside the state
// directory written (a canary file's bytes, counted as guest bytes lost when they change)
// or copied into a volume; a state naming a path outside its directory refused (exit 1);
// a state the command wrote keeps unique ids and its counters ahead of them.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simCommands } from './cli-arbs.js';
import { checkOutcome, checkStateKept, shellQuote, type Outcome } from './checks.js';
import { isChecker, partlyDone, readable, type CaseResult } from './cli-case.js';
import { fuzzEnv, novaInProcess, simInProcess } from './run.js';
import { knownState, type Known, type AppliedState } from './known.js';
import { applyMutations, hasHostilePath, STATE_COMMANDS, type PathTargets, type StateCase, type StateCommand } from './state-arbs.js';
import type { FuzzWorld } from './world.js';

const CANARY_SIZE = 64 * 1024;
const MARK = Buffer.from('NOVASIM-FUZZ-CANARY-OUTSIDE-THE-STATE-DIR:');

function canaryBytes(): Buffer {
  const b = Buffer.alloc(CANARY_SIZE);
  for (let off = 0; off < CANARY_SIZE; off += MARK.length) MARK.copy(b, off);
  return b;
}

/** the commands of the state campaign, with nova-sim doctor once it exists */
export function stateCommands(): StateCommand[] {
  const extra: StateCommand[] = simCommands().some((c) => c.words.join(' ') === 'doctor')
    ? [
        { tool: 'nova-sim', argv: ['doctor'], writes: false },
        { tool: 'nova-sim', argv: ['doctor', '--fix'], writes: true },
      ]
    : [];
  return [...STATE_COMMANDS, ...extra];
}

export class StateFuzz {
  readonly targets: PathTargets;
  private readonly outside: string;
  private readonly canary = canaryBytes();

  constructor(readonly world: FuzzWorld) {
    this.outside = join(world.dir, 'outside');
    const imagesRoot = join(world.live, 'state.images');
    this.targets = {
      canary: join(this.outside, 'canary.img'),
      canaryDir: join(this.outside, 'dir'),
      symlink: join(imagesRoot, 'volumes', 'volume-fuzz-link'),
      imagesRoot,
      stateDir: world.live,
    };
    this.restoreOutside();
  }

  private restoreOutside(): void {
    rmSync(this.outside, { recursive: true, force: true });
    mkdirSync(this.targets.canaryDir, { recursive: true });
    writeFileSync(this.targets.canary, this.canary);
  }

  /** bytes of the canary that changed, and files that appeared outside the state dir */
  private outsideDamage(): { bytes: number; files: string[] } {
    let bytes = 0;
    let now: Buffer | null = null;
    try {
      now = readFileSync(this.targets.canary);
    } catch {
      now = null;
    }
    if (now === null) bytes = CANARY_SIZE;
    else {
      bytes += Math.abs(now.length - CANARY_SIZE);
      const n = Math.min(now.length, CANARY_SIZE);
      for (let i = 0; i < n; i++) if (now[i] !== this.canary[i]) bytes++;
    }
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p !== this.targets.canary) files.push(p);
      }
    };
    if (existsSync(this.outside)) walk(this.outside);
    return { bytes, files };
  }

  /** a file the command wrote in the world that now holds the canary's bytes */
  private copiedCanary(): string[] {
    const hits: string[] = [];
    const buf = Buffer.alloc(4096);
    for (const f of this.world.changedFiles()) {
      if (f === this.targets.symlink) continue;
      let fd: number;
      try {
        fd = openSync(f, 'r');
      } catch {
        continue;
      }
      try {
        const n = readSync(fd, buf, 0, buf.length, 0);
        if (buf.subarray(0, n).includes(MARK)) hits.push(f);
      } finally {
        closeSync(fd);
      }
    }
    return hits;
  }

  repro(c: StateCase, changes: string[]): string {
    const user = c.user === 'admin' ? 'OS_USERNAME=admin OS_PROJECT_NAME=demo ' : '';
    return `default state with ${changes.join(', ') || 'no change'}; ${user}${c.command.tool} ${shellQuote(c.command.argv)}`;
  }

  async run(c: StateCase): Promise<CaseResult & { known?: Known<AppliedState> }> {
    const { text, changes } = applyMutations(this.world.initialState.toString('utf8'), c.mutations, this.targets);
    this.world.reset(text);
    this.restoreOutside();
    symlinkSync(this.targets.canary, this.targets.symlink);
    const before = this.world.readState();
    const wasReadable = readable(before, this.world.statePath);
    let o: Outcome;
    if (c.command.tool === 'nova') o = await novaInProcess(this.world.statePath, c.command.argv, fuzzEnv(c.user));
    else o = await simInProcess(this.world.statePath, c.command.argv);
    const after = this.world.readState();
    const problems = checkOutcome(o, { findings: isChecker(c.command) });
    if (!partlyDone(o)) problems.push(...checkStateKept(o, before, after));
    const unreadable = wasReadable && !readable(after, this.world.statePath);
    if (unreadable) problems.push('the state read before the command and no longer reads');
    const damage = this.outsideDamage();
    if (damage.bytes) problems.push(`${damage.bytes} bytes of a file outside the state directory changed (${this.targets.canary})`);
    if (damage.files.length) problems.push(`files written outside the state directory: ${damage.files.join(', ')}`);
    const copied = this.copiedCanary();
    if (copied.length) problems.push(`the bytes of a file outside the state directory were copied into ${copied.join(', ')}`);
    if (hasHostilePath(changes) && wasReadable && o.code === 0 && before !== null && !sameHostile(before, this.targets)) {
      // the mutation landed on a field the state names a path in, and the command went on
      problems.push('a state naming a path outside its directory was not refused');
    }
    if (o.code === 0 && after !== null && before !== null && !after.equals(before)) problems.push(...invariants(after));
    // a refused state costs no image its bytes
    const lost = o.code !== 0 && !partlyDone(o) ? this.world.lostBytes() : 0;
    if (lost) problems.push(`exit ${o.code} but ${lost} bytes of the world's images changed`);
    const known = knownState({ changes, argv: c.command.argv });
    return { problems, unreadable, bytesLost: damage.bytes + lost, repro: this.repro(c, changes), outcome: o, known: known && problems.length ? known : undefined };
  }
}

/** true when no path in the state points outside it (the hostile value did not land) */
function sameHostile(state: Buffer, t: PathTargets): boolean {
  const text = state.toString('utf8');
  const outsideRef = [t.canary, t.canaryDir, t.symlink, '/../', '\\u0000'].some((s) => text.includes(JSON.stringify(s).slice(1, -1)));
  const relative = /"(?:source|device_path|devicePath|path)"\s*:\s*"(?!\/)[^"]+"/.test(text) || /\\"device_path\\": ?\\"(?!\/)/.test(text);
  const imagesRoot = text.includes(`"${t.imagesRoot}"`) || text.includes(`\\"${t.imagesRoot}\\"`);
  const empty = /"source"\s*:\s*""/.test(text) || /\\"device_path\\": ?\\"\\"/.test(text);
  return !(outsideRef || relative || imagesRoot || empty);
}

/** what a state written by a successful command must keep */
function invariants(bytes: Buffer): string[] {
  let s: any;
  try {
    s = JSON.parse(bytes.toString('utf8'));
  } catch {
    return ['the command wrote a state that is not JSON'];
  }
  const problems: string[] = [];
  const unique = (what: string, xs: unknown[] | undefined, key: string): void => {
    if (!Array.isArray(xs)) return;
    const seen = new Set<unknown>();
    for (const x of xs as Array<Record<string, unknown>>) {
      if (x && typeof x === 'object' && seen.has(x[key])) problems.push(`the state written has two ${what} with ${key} ${String(x[key])}`);
      seen.add(x?.[key]);
    }
  };
  unique('instances', s?.nova?.instances, 'uuid');
  unique('instances', s?.nova?.instances, 'id');
  unique('BDMs', s?.nova?.bdms, 'id');
  unique('volumes', s?.cinder?.volumes, 'id');
  unique('domains', s?.libvirt?.domains, 'uuid');
  const counter = (what: string, next: unknown, xs: unknown[] | undefined): void => {
    if (!Array.isArray(xs) || next === undefined) return;
    const max = Math.max(0, ...xs.map((x) => Number((x as Record<string, unknown>).id)).filter(Number.isFinite));
    if (!Number.isSafeInteger(next) || (next as number) <= max) problems.push(`the state written has ${what} ${String(next)} (largest id ${max})`);
  };
  counter('nextBdmId', s?.nova?.nextBdmId, s?.nova?.bdms);
  counter('nextInstanceId', s?.nova?.nextInstanceId, s?.nova?.instances);
  return problems;
}
