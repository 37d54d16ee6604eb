// Faults on purpose (`nova-sim fault add POINT …`): rules kept in the state file, armed in
// each process that reads it, checked at named points in every layer. A rule fires in a
// deterministic way: the first N times its point is reached in a process (--once, --times N),
// or every time; `afterBytes` lets some bytes through first (a short write, a copy that dies
// part-way). Nothing here knows the layers: each one names its own points and decides what a
// firing means there (an HTTP fault from Cinder, a libvirtError, ENOSPC from write(2)).

/** Every point a fault can be set at, by layer. */
export const FAULT_POINTS = [
  'cinder.reserve_volume',
  'cinder.begin_detaching',
  'cinder.initialize_connection',
  'cinder.terminate_connection',
  'cinder.migrate_volume_completion',
  'rpc.cast',
  'driver.connect_volume',
  'libvirt.undefine',
  'libvirt.blockRebase',
  'libvirt.blockJobAbort.pivot',
  'libvirt.blockResize',
  'libvirt.defineXML',
  'state.write',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** One rule as the state keeps it. */
export interface FaultRule {
  point: FaultPoint;
  /** what the failure says (a layer's default when null); for state.write: ENOSPC, EIO or short */
  error: string | null;
  /** fires the first `times` times the point is reached in a process (null: every time) */
  times: number | null;
  /** bytes that get through before the fault fires (state.write; null: none) */
  afterBytes: number | null;
}

export function isFaultPoint(v: unknown): v is FaultPoint {
  return typeof v === 'string' && (FAULT_POINTS as readonly string[]).includes(v);
}

interface Armed {
  rule: FaultRule;
  fired: number;
}

let armedKey = '';
let armed: Armed[] = [];

/** Arms the rules a state file holds (called by the state store on each read); a process
 * that reads the same rules again keeps its counts. */
export function armFaults(rules: readonly FaultRule[] | undefined): void {
  const key = rules && rules.length ? JSON.stringify(rules) : '';
  if (key === armedKey) return;
  armedKey = key;
  armed = (rules ?? []).map((rule) => ({ rule, fired: 0 }));
}

/** The rule that fires now at `point`, counted as fired; null when none does. */
export function faultAt(point: FaultPoint): FaultRule | null {
  for (const a of armed) {
    if (a.rule.point !== point) continue;
    if (a.rule.times !== null && a.fired >= a.rule.times) continue;
    a.fired++;
    return a.rule;
  }
  return null;
}
