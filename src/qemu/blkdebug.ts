// block/blkdebug.c's rules, as a drive is configured with them: hold the block job's
// requests at an event for a while (novasim's timed form of blkdebug's break/resume), or
// fail its source reads / target writes with an errno. Armed on a QEMU process when it
// starts, so `count` counts within that process. Every firing is told to `log`.
import type { BlkdebugEvent } from './block-backend.js';
import { strerror } from './errors.js';
import type { QemuProcess } from './process.js';

export type DriveRule = { device: string; label: string; count: number | null } & (
  | { action: 'delay'; event: BlkdebugEvent; ms: number }
  | { action: 'error'; op: 'read' | 'write'; errno: 'EIO' | 'ENOSPC' }
);

export interface BlkdebugLog {
  info(msg: string): void;
  warning(msg: string): void;
}

/** how often a rule with this count fires, in words (the log's and `nova-sim blkdebug`'s) */
export function times(count: number | null): string {
  return count === null ? 'every time' : count === 1 ? 'once' : `the first ${count} times`;
}

/** A delay: a breakpoint whose hit resumes after `ms` and re-arms, for `count` requests or every one. */
function armDelay(proc: QemuProcess, rule: DriveRule & { action: 'delay' }, log: BlkdebugLog): void {
  let left = rule.count ?? Infinity;
  let fired = 0;
  const arm = (): void => {
    const bp = proc.setBreakpoint(rule.device, rule.event);
    void bp.hit.then(() => {
      fired++;
      // re-armed before the held request resumes: the next one is held too
      if (--left > 0) {
        try {
          arm();
        } catch {
          // the process is exiting: nothing more to hold
        }
      }
      log.info(`${rule.label}: ${rule.event} #${fired} held for ${rule.ms} ms`);
      setTimeout(bp.resume, rule.ms);
    });
  };
  arm();
  log.info(`${rule.label}: armed: delay ${rule.event} by ${rule.ms} ms, ${times(rule.count)}`);
}

export function armBlkdebug(proc: QemuProcess, rules: readonly DriveRule[], log: BlkdebugLog): void {
  const fired = new Map<string, { read: number; write: number }>();
  for (const rule of rules) {
    if (rule.action === 'delay') {
      armDelay(proc, rule, log);
      continue;
    }
    proc.injectIoError({ device: rule.device, op: rule.op, count: rule.count ?? Infinity, errno: rule.errno });
    log.info(`${rule.label}: armed: the block job's ${rule.op === 'read' ? 'source reads' : 'target writes'} fail with ${rule.errno}, ${times(rule.count)}`);
    const bb = proc.drives.get(rule.device);
    if (!bb || fired.has(rule.device)) continue;
    const n = { read: 0, write: 0 };
    fired.set(rule.device, n);
    bb.onFault = (op, errno) =>
      log.warning(`${rule.label}: block job ${op === 'read' ? 'source read' : 'target write'} #${++n[op]} fails with ${errno} (${strerror(errno)})`);
  }
}
