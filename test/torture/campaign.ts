// What a torture campaign returns (see scripts/torture.mjs), and a loop that runs cases,
// counts them and keeps the failures' one-line reproductions.

export interface CampaignOptions {
  /** how many cases to run */
  cases: number;
  /** the seed every random choice derives from */
  seed: number;
  /** called after each case (the runner prints progress from it) */
  progress?: (done: number, total: number, failed: number) => void;
  /** Date.now() past which a campaign stops early and reports the cases it ran */
  deadline?: number;
}

export interface CampaignResult {
  cases: number;
  failed: number;
  /** states that read before a case and no longer read after it */
  unreadable: number;
  /** bytes of guest data (or of files outside the state directory) that changed */
  bytesLost: number;
  /** one line per failure: what to run to see it, and what went wrong */
  failures: string[];
}

export interface CaseOutcome {
  problems: string[];
  unreadable: boolean;
  bytesLost: number;
  repro: string;
}

/** runs `one` on each input in turn; `known` marks failures already left to an owner */
export async function runCases<T>(
  inputs: T[],
  one: (input: T, index: number) => Promise<CaseOutcome>,
  opts: CampaignOptions,
  known: (input: T) => { owner: string } | undefined = () => undefined,
): Promise<CampaignResult> {
  const result: CampaignResult = { cases: 0, failed: 0, unreadable: 0, bytesLost: 0, failures: [] };
  for (let i = 0; i < inputs.length; i++) {
    if (opts.deadline && Date.now() > opts.deadline) break;
    let r: CaseOutcome;
    try {
      r = await one(inputs[i], i);
    } catch (e) {
      r = { problems: [`the harness threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`], unreadable: false, bytesLost: 0, repro: JSON.stringify(inputs[i]).slice(0, 300) };
    }
    result.cases++;
    if (r.unreadable) result.unreadable++;
    result.bytesLost += r.bytesLost;
    if (r.problems.length || r.unreadable || r.bytesLost) {
      result.failed++;
      const k = known(inputs[i]);
      result.failures.push(`${k ? `KNOWN (owner ${k.owner}) ` : ''}${r.repro} — ${r.problems.join('; ')}`);
    }
    opts.progress?.(result.cases, inputs.length, result.failed);
  }
  return result;
}
