// How many cases and which seed: CI runs a fixed seed and small counts (the whole fuzz
// folder in well under a minute on two cores); `npm run torture` and a developer hunting
// a bug raise them. NOVASIM_FUZZ_RUNS=N sets every property's count, NOVASIM_FUZZ_SEED=S
// the seed (a failure prints the seed and path that replay it).
import fc from 'fast-check';

export const SEED = Number.parseInt(process.env.NOVASIM_FUZZ_SEED ?? '', 10) || 20160407;

/** the number of cases of a property: `ci` unless NOVASIM_FUZZ_RUNS says otherwise */
export function runs(ci: number): number {
  const n = Number.parseInt(process.env.NOVASIM_FUZZ_RUNS ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : ci;
}

/** fast-check's parameters for a CI property: fixed seed, bounded count, a short report */
export function params(ci: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: runs(ci), endOnFailure: false, verbose: 0 };
}

/** a property's failure: the problems and the one line that reproduces the case */
export class CaseFailed extends Error {
  constructor(problems: string[], repro: string) {
    super(`${problems.join('; ')}\n    repro: ${repro}`);
    this.name = 'CaseFailed';
  }
}
