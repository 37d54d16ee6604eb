// Failures the fuzzing found and nobody has fixed yet, each with how to reproduce it and
// whose file it is. The CI properties leave exactly these inputs out of their generators (so
// CI stays green and deterministic); the torture campaigns still run them and mark their
// failures KNOWN. Empty now: the seven found while issue 8 was worked on are fixed (see
// docs/reliability.md, "Fuzzing"). Remove an entry when its owner has fixed it.
import type { ApiRequest } from './api-arbs.js';
import type { CliCase } from './cli-arbs.js';

export interface Known<C> {
  /** one line: the command (or input) and what goes wrong */
  repro: string;
  /** the file whose owner fixes it */
  owner: string;
  matches(c: C): boolean;
}

export const KNOWN_CLI: Known<CliCase>[] = [];

export function knownCli(c: CliCase): Known<CliCase> | undefined {
  return KNOWN_CLI.find((k) => k.matches(c));
}

export const KNOWN_API: Known<ApiRequest>[] = [];

export function knownApi(r: ApiRequest): Known<ApiRequest> | undefined {
  return KNOWN_API.find((k) => k.matches(r));
}

/** a state case as applied: what the mutations changed (one line each), and the command */
export interface AppliedState {
  changes: string[];
  argv: string[];
}

export const KNOWN_STATE: Known<AppliedState>[] = [];

export function knownState(c: AppliedState): Known<AppliedState> | undefined {
  return KNOWN_STATE.find((k) => k.matches(c));
}
