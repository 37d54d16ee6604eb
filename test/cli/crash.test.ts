// Crash at any instant (issue 8): `nova volume-update web-1 web-data new-web-data` on a fresh
// default world, killed with SIGKILL at 50 seeded instants spread over the whole swap (from
// the process's start to its exit, as measured here first), half of them with a guest
// writing (`nova-sim guest-load web-1 --disk vdb --rate 20MiB/s --seed N`: the swap's process
// runs the guest). After each kill the state parses and `nova list` reads it (and says what
// was interrupted), `nova-sim doctor --fix` repairs everything and `nova-sim doctor` then
// finds nothing, the guest's data is all there on whichever volume vdb uses now
// (`guest-load --verify`; without a guest, web-data's bytes), and a new swap of vdb works —
// or, when the first swap had completed, ends exactly as it does after any completed Mitaka
// swap (VolumeBDMNotFound: the BDM's serial still names web-data). The engine is
// test/torture/crash-instants.mjs, which `npm run torture` runs with more instants.
//
// Two kills at a time; the guest is verified after the kill (the campaign also after the next swap).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- a plain ES module shared with `npm run torture`
import * as crash from '../torture/crash-instants.mjs';
import { build } from './helpers.js';

const INSTANTS = 50;
/** kills a few ms after the pivot line: the end of the swap is short, and a loaded machine
 * stretches the swap past the instants measured on a quiet one, so these make sure the
 * after-pivot phase is hit every run */
const AFTER_PIVOT = 4;
const SEED = 8;

interface CaseResult {
  index: number;
  guest: boolean;
  instant: number;
  seed: number;
  step: string;
  phase: string;
  failures: string[];
  unreadable: boolean;
  bytesLost: number;
}

let duration: { idle: number; guest: number };
let results: CaseResult[] = [];

beforeAll(async () => {
  build();
  duration = await crash.measureSwap();
  const cases = [...crash.plan(INSTANTS, SEED, duration), ...crash.planAfterPivot(AFTER_PIVOT, SEED, INSTANTS)];
  results = await crash.runCases(cases, { parallel: 2, verifyAfterNextSwap: false });
}, 600_000);
afterAll(() => crash.disposeTemplate());

describe(`SIGKILL of nova volume-update at ${INSTANTS} seeded instants and ${AFTER_PIVOT} just after the pivot (seed ${SEED})`, () => {
  it('the instants cover the swap: before the API accepted it, during the mirror, after the pivot or once done', () => {
    expect(results).toHaveLength(INSTANTS + AFTER_PIVOT);
    const phases = new Set(results.map((r) => r.phase));
    const steps = results.map((r) => `${r.guest ? 'guest' : 'idle'} ${r.instant} ms: ${r.step}`);
    const hit: Record<string, number> = {};
    for (const r of results) hit[r.step] = (hit[r.step] ?? 0) + 1;
    const byPhase: Record<string, number> = {};
    for (const r of results) byPhase[r.phase] = (byPhase[r.phase] ?? 0) + 1;
    console.info(
      `swap ${duration.idle} ms (idle), ${duration.guest} ms (guest writing); ` +
        `phases hit: ${['before-api', 'before-mirror', 'mirroring', 'after-pivot', 'done'].filter((p) => byPhase[p]).map((p) => `${p} ${byPhase[p]}`).join(', ')}; ` +
        `steps hit: ${crash.STEPS.filter((s: string) => hit[s]).map((s: string) => `${s} ${hit[s]}`).join(', ')}`,
    );
    expect(phases.has('before-api'), steps.join('\n')).toBe(true);
    expect(phases.has('mirroring'), steps.join('\n')).toBe(true);
    expect(phases.has('after-pivot') || phases.has('done'), steps.join('\n')).toBe(true);
    // the kills hit the journal in the middle of the swap too, with and without a guest
    for (const guest of [false, true]) {
      const mid = results.filter((r) => r.guest === guest && r.step !== 'none' && r.step !== 'done');
      expect(mid.length, steps.join('\n')).toBeGreaterThan(0);
    }
    // every step recorded is one of the swap's, and its phase is the one it belongs to
    for (const r of results) {
      expect(crash.STEPS).toContain(r.step);
      expect(r.phase).toBe(crash.phaseOf(r.step));
    }
  });

  it.each(Array.from({ length: INSTANTS + AFTER_PIVOT }, (_, i) => i))(
    'kill %i: readable state, the doctor repairs it, no byte lost, a new swap goes on',
    (i) => {
      const r = results[i];
      const what = `${r.guest ? 'guest writing' : 'idle guest'}, killed at ${r.instant} ms of ${r.guest ? duration.guest : duration.idle} ms, step ${r.step}`;
      expect(r.unreadable, what).toBe(false);
      expect(r.failures, what).toEqual([]);
      expect(r.bytesLost, what).toBe(0);
    },
  );
});
