// Concurrency (issue 8): `nova` processes run at once over the default world's servers and
// volumes — volume-attach, volume-detach, volume-update and nova list — lose no update and
// leave Nova's BDMs, Cinder's attachments and the domains agreeing: every process exits 0,
// or 1 with one Nova error line (never a 500, a JavaScript error or a stack); the final
// mapping of every volume is what some serial order of the operations that exited 0 gives;
// and `nova-sim doctor` finds only what Mitaka itself leaves (the stale persistent XML of
// each disk swapped successfully, exactly where that order leaves one, and the connection
// a swap failed by nova-compute saved in the BDM). Two swaps of one disk at once end as
// Mitaka's do: one succeeds, the other gets Nova's 400 and changes nothing; a swap onto a
// volume racing two attaches of it leaves one winner. The engine is
// test/torture/concurrency.mjs, which `npm run torture` runs with more rounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- a plain ES module shared with `npm run torture`
import * as conc from '../torture/concurrency.mjs';
// @ts-ignore -- a plain ES module shared with `npm run torture`
import { disposeTemplate } from '../torture/crash-instants.mjs';
import { build } from './helpers.js';

interface Op {
  kind: string;
  args: string[];
  result: { code: number | null; stdout: string; stderr: string };
}
interface Round {
  ops: Op[];
  failures: string[];
  unreadable: boolean;
}

const show = (r: Round) => r.ops.map((o) => `nova ${o.args.join(' ')} => exit ${o.result.code}: ${o.result.stderr.trim().split('\n').at(-1) ?? ''}`).join('\n');

beforeAll(() => build());
afterAll(() => disposeTemplate());

describe('nova processes at once over shared servers and volumes', () => {
  it.each([11, 12, 13])('8 processes mixing attach, detach, swaps and list (seed %i): no lost update, BDMs/Cinder/domains agree', async (seed) => {
    const r: Round = await conc.round(conc.mixedOps(seed, 8));
    expect(r.unreadable).toBe(false);
    expect(r.failures, show(r)).toEqual([]);
    // the round did something: some operations went through
    expect(r.ops.filter((o) => o.kind !== 'list' && o.result.code === 0).length, show(r)).toBeGreaterThan(0);
  }, 60_000);

  it.each([1, 2, 3])('two swaps of web-1 vdb at once (round %i): one succeeds, the other gets Nova 400', async () => {
    let race: { winner: string; loser: string; error: string } | null = null;
    const r: Round = await conc.raceRound({ onRace: (x: typeof race) => (race = x) });
    expect(r.failures, show(r)).toEqual([]);
    expect(race).not.toBeNull();
    expect(race!.error).toMatch(/^ERROR \(BadRequest\): .+ \(HTTP 400\) \(Request-ID: req-[0-9a-f-]+\)$/);
  }, 60_000);

  // The losers are refused with a 400 — and when the swap passed its checks and lost the
  // os-reserve afterwards (a 400 too, where Mitaka let a 500 out), its old volume stays
  // 'detaching' as in Mitaka (docs/reliability.md); round() then checks that the doctor
  // finds exactly that and repairs it.
  it.each([1, 2, 3])('a swap onto spare and two attaches of spare at once (round %i): one wins, the others change nothing', async () => {
    const r: Round & { known?: number } = await conc.round(conc.reserveRaceOps());
    expect(r.failures, show(r)).toEqual([]);
    expect(r.ops.filter((o) => o.result.code === 0), show(r)).toHaveLength(1);
    if (r.known) console.info(`the swap lost the os-reserve race: a 400, its old volume left 'detaching', repaired by the doctor\n${show(r)}`);
  }, 60_000);
});

describe('the lost-update check', () => {
  const initial = new Map([
    ['web-data', 'web-1 /dev/vdb'],
    ['db-data', 'db-1 /dev/vdb'],
  ]);
  const attach = { kind: 'attach', server: 'web-1', vol: 'spare', device: '/dev/vdc' };
  const swap = { kind: 'swap', server: 'web-1', old: 'web-data', vol: 'new-web-data' };
  const detach = { kind: 'detach', server: 'db-1', vol: 'db-data' };

  it('explains a final state some order of the successful operations gives, with the stale XML it leaves', () => {
    const final = new Map([
      ['new-web-data', 'web-1 /dev/vdb'],
      ['spare', 'web-1 /dev/vdc'],
    ]);
    expect([...conc.explanations(initial, [attach, swap, detach], final)]).toEqual(['web-1']);
  });

  it('finds none when an update is lost (an attach that exited 0 is not in the final state)', () => {
    const final = new Map([
      ['new-web-data', 'web-1 /dev/vdb'],
      ['db-data', 'db-1 /dev/vdb'],
    ]);
    expect(conc.explanations(initial, [attach, swap], final).size).toBe(0);
  });

  it('finds none when two operations that exited 0 cannot both have happened (one volume swapped in twice)', () => {
    const swap2 = { kind: 'swap', server: 'db-1', old: 'db-data', vol: 'new-web-data' };
    const final = new Map([
      ['new-web-data', 'web-1 /dev/vdb'],
      ['db-data', 'db-1 /dev/vdb'],
    ]);
    expect(conc.explanations(initial, [swap, swap2], final).size).toBe(0);
  });
});
