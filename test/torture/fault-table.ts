// Torture campaign fault-table: the fault table of test/cli/faults.test.ts
// (test/support/fault-table.ts), run over and over. Case i runs point i mod the table's
// length, in passes over the whole table (a campaign cut short by its deadline still covers
// every point). The runs of a swap point alternate between an idle guest and a guest writing
// on vdb (`nova-sim guest-load web-1 --disk vdb --rate 20MiB/s --seed <n>` before the
// operation; the swap's process hosts it), starting staggered, so each pass has both. With a
// guest the end states (volumes, BDMs, domain) and the doctor's findings are the same, and
// the image-bytes checks become `guest-load --verify` after `doctor --fix` and after the new
// swap; bytes lost are counted block by block from the replayed writes. Every run also checks
// that `nova list` reads the state after the operation (unreadable otherwise).
//
// Runs the built launchers (`npm run torture` builds first).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CASES, caseName, isSwap, runFaultCase, writeFixture, type FaultCase } from '../support/fault-table.js';
import { runCases, type CampaignOptions, type CampaignResult } from './campaign.js';

interface Run {
  /** the case's index in the campaign */
  index: number;
  /** the table's point */
  point: FaultCase;
  /** which run of that point this is (0, 1, …) */
  pass: number;
  /** a guest writes on vdb with this seed (swap points, every second run) */
  guestSeed?: number;
}

/** mulberry32: a small seeded PRNG, [0, 1) */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function plan(cases: number, seed: number): Run[] {
  const rnd = prng(seed);
  return Array.from({ length: cases }, (_, index) => {
    const k = index % CASES.length;
    const pass = Math.floor(index / CASES.length);
    const point = CASES[k];
    const guestSeed = 1 + Math.floor(rnd() * 1e6);
    return { index, point, pass, ...(isSwap(point) && (pass + k) % 2 === 1 ? { guestSeed } : {}) };
  });
}

export async function run(opts: CampaignOptions): Promise<CampaignResult> {
  const dir = mkdtempSync(join(tmpdir(), 'novasim-fault-table-'));
  try {
    const fixture = writeFixture(dir);
    const runs = plan(opts.cases, opts.seed);
    return await runCases(
      runs,
      async (r) => {
        const o = await runFaultCase(r.point, fixture, { guestSeed: r.guestSeed, listAfter: true, keepFailed: true });
        const repro = `${caseName(r.point)}, run ${r.pass + 1} (case ${r.index}, ${r.guestSeed === undefined ? 'idle guest' : `guest seed ${r.guestSeed}`})`;
        return { ...o, repro };
      },
      opts,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
