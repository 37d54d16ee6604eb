// Whether another host process (recorded by its pid in the state) is still alive.
import { readFileSync } from 'node:fs';

export function pidAlive(pid: number | null): boolean {
  if (pid === null) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** a process that has exited but is not reaped yet still answers kill(pid, 0) */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    // no procfs (macOS): kill(pid, 0) is all there is to go by
    return false;
  }
}
