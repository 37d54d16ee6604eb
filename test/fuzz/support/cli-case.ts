// One fuzzed command against the world: run it, then check the properties. Used by the CI
// tests (in-process, and on the real binaries for a sample) and the fuzz-cli campaign.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseState } from '../../../src/state/store.js';
import { checkOutcome, checkStateKept, shellQuote, type Outcome } from './checks.js';
import { materializeArgv, type CliCase } from './cli-arbs.js';
import { fuzzEnv, NOVA_BIN, NOVA_SIM_BIN, novaInProcess, runBinary, simInProcess } from './run.js';
import type { FuzzWorld } from './world.js';

export interface CaseResult {
  problems: string[];
  /** the state read before the command and does not after it */
  unreadable: boolean;
  /** bytes of the guest's data (or of files outside the world) that changed */
  bytesLost: number;
  /** one line that reproduces the case */
  repro: string;
  outcome?: Outcome;
}

/** the state file parses and validates */
export function readable(bytes: Buffer | null, path = 'state.json'): boolean {
  if (bytes === null) return false;
  try {
    parseState(path, bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * A command that failed after part of it was done, as in Mitaka: one that acts on several
 * servers one by one (novaclient's do_action_on_many, reset-state) fails as a whole when
 * one of them failed, after the others were done; a swap that nova-compute failed after
 * the API had answered 202 (the member's swap Cinder refuses to complete, a rollback).
 * The state then changed with exit 1.
 */
export function partlyDone(o: Outcome): boolean {
  return /has been accepted\.|succeeded; new state is/.test(o.stdout) || /after the API had answered 202/.test(o.stderr);
}

/** nova-sim doctor: exit 1 means "found something", reported on stdout */
export function isChecker(c: { tool: string; argv: string[] }): boolean {
  return c.tool === 'nova-sim' && c.argv.find((a) => !a.startsWith('-')) === 'doctor';
}

export function reproOf(c: CliCase, statePath: string): string {
  const user = c.user === 'admin' ? 'OS_USERNAME=admin OS_PROJECT_NAME=demo ' : '';
  return c.tool === 'nova' ? `${user}nova --state ${statePath} ${shellQuote(c.argv)}` : `nova-sim --state ${statePath} ${shellQuote(c.argv)}`;
}

/** Runs one case on a reset world (then `setup`). `binary` runs the built bin/ launchers instead. */
export async function runCliCase(world: FuzzWorld, c: CliCase, opts: { binary?: boolean; setup?: () => void } = {}): Promise<CaseResult> {
  world.reset();
  opts.setup?.();
  const scratch = join(world.dir, 'scratch');
  mkdirSync(scratch, { recursive: true });
  const argv = materializeArgv(c.argv, scratch);
  const before = world.readState();
  let o: Outcome;
  // a process cannot be given an argument with a NUL byte (no user can type one): in-process
  // in the scratch folder: a fuzzed relative path (`export -o constructor`) lands there, never
  // in the folder the tests were started from
  if (opts.binary && !argv.some((a) => a.includes('\u0000'))) {
    const env = fuzzEnv(c.user);
    o = c.tool === 'nova' ? runBinary(NOVA_BIN, ['--state', world.statePath, ...argv], env, undefined, scratch) : runBinary(NOVA_SIM_BIN, ['--state', world.statePath, ...argv], env, undefined, scratch);
  } else {
    const cwd = process.cwd();
    process.chdir(scratch);
    try {
      o = c.tool === 'nova' ? await novaInProcess(world.statePath, argv, fuzzEnv(c.user)) : await simInProcess(world.statePath, argv);
    } finally {
      process.chdir(cwd);
    }
  }
  const after = world.readState();
  const problems = checkOutcome(o, { findings: isChecker(c) });
  if (!partlyDone(o)) problems.push(...checkStateKept(o, before, after));
  const unreadable = readable(before, world.statePath) && !readable(after, world.statePath);
  if (unreadable) problems.push('the state file no longer reads');
  // a command that failed wrote no image either
  const bytesLost = o.code !== 0 && !partlyDone(o) ? world.lostBytes() : 0;
  if (bytesLost) problems.push(`exit ${o.code} but ${bytesLost} bytes of the world's images changed`);
  return { problems, unreadable, bytesLost, repro: reproOf({ ...c, argv }, world.statePath), outcome: o };
}
