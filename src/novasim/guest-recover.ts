// A guest load whose host process died (kill -9, a crash): the state records the write
// count of its last checkpoint (every 250 ms), but more writes may have landed since. Writes
// land one at a time in plan order, and every 512-byte sector names the write it belongs to,
// so the writes that landed are the longest prefix of the plan whose every sector holds
// that write or a later one. `nova-sim doctor --fix` records that count, so that
// `guest-load --verify` checks every write the guest made, on whichever image holds them.
import { closeSync, openSync, readSync } from 'node:fs';
import { pidAlive } from '../common/process.js';
import { isoMicros } from '../common/time.js';
import { describeSector, fillSectors, planWrite, type WorkloadSpec } from '../qemu/guest-workload.js';
import type { GuestLoad, State } from '../state/types.js';

const SECTOR = 512;

export interface LandedWrites {
  /** writes 0..landed-1 of the segment are in the image */
  landed: number;
  /** write `landed` is in the image in part (the kernel stops a buffered write between
   * pages when the process is killed): the guest never saw it complete */
  torn: boolean;
}

/** How many writes of segment `segment` the image holds, from `recorded` (known landed) on. */
export function landedWrites(image: string, spec: WorkloadSpec, segment: number, recorded: number): LandedWrites {
  const fd = openSync(image, 'r');
  try {
    const sectorsOf = (i: number): ('later' | 'this' | 'other')[] => {
      const w = planWrite(spec, segment, i);
      const got = Buffer.alloc(w.size);
      const n = readSync(fd, got, 0, w.size, w.offset);
      const want = Buffer.alloc(SECTOR);
      const out: ('later' | 'this' | 'other')[] = [];
      for (let k = 0; k < w.size / SECTOR; k++) {
        const sector = got.subarray(k * SECTOR, (k + 1) * SECTOR);
        const d = (k + 1) * SECTOR <= n ? describeSector(sector) : null;
        if (!d || d.seed !== spec.seed >>> 0 || d.segment !== segment || d.index < i) out.push('other');
        else if (d.index > i) out.push('later');
        else {
          fillSectors(want, spec, segment, i, w, k);
          out.push(want.equals(sector) ? 'this' : 'other');
        }
      }
      return out;
    };
    let i = recorded;
    for (; spec.limit === null || i < spec.limit; i++) {
      if (sectorsOf(i).includes('other')) break;
    }
    const torn = (spec.limit === null || i < spec.limit) && sectorsOf(i).includes('this');
    return { landed: i, torn };
  } finally {
    closeSync(fd);
  }
}

export interface GuestLoadFinding {
  kind: string;
  line: string;
  repair: string;
}

/**
 * Guest loads recorded as run by a process that is gone: records the writes the disk's
 * image holds (and releases the load), on `s` itself. Loads of `busy` instances are left.
 */
export function settleGuestLoads(s: State, busy: Set<string>): GuestLoadFinding[] {
  const found: GuestLoadFinding[] = [];
  for (const load of s.guestLoads ?? []) {
    if (load.runnerPid === null || pidAlive(load.runnerPid) || busy.has(load.server)) continue;
    const inst = s.nova.instances.find((i) => i.uuid === load.server);
    const name = inst ? `${inst.name} (${inst.uuid})` : load.server;
    const disk = s.libvirt.domains.find((d) => d.uuid === load.server)?.def.disks.find((d) => d.targetDev === load.disk);
    const segIdx = load.segments.length - 1;
    const seg = load.segments[segIdx];
    const pid = load.runnerPid;
    let landed: LandedWrites | null = null;
    if (disk && seg) {
      try {
        landed = landedWrites(disk.source, seg, segIdx, seg.writes);
      } catch {
        landed = null;
      }
    }
    const recorded = seg?.writes ?? 0;
    const more = landed && landed.landed > recorded ? `; ${disk?.source} holds ${landed.landed - recorded} more` : '';
    const torn = landed?.torn ? `, and write ${landed.landed} in part (it was in flight; the guest never saw it complete)` : '';
    found.push({
      kind: 'guest-load-host-gone',
      line: `the guest load of server ${name} on ${load.disk} was run by process ${pid}, which is gone: the state records ${recorded} writes of segment ${segIdx}${more}${torn}`,
      repair: landed ? `record the ${landed.landed} writes the image holds, and release the load` : 'release the load (its image cannot be read)',
    });
    release(load, landed?.landed ?? recorded);
  }
  return found;
}

function release(load: GuestLoad, writes: number): void {
  const seg = load.segments.at(-1);
  if (seg) seg.writes = Math.max(seg.writes, writes);
  load.runnerPid = null;
  load.updatedAt = isoMicros();
}
