// Helpers the do_* functions of cinderclient/v2/shell.py share.
import type { ArgSpec } from '../../novaclient/argparse.js';
import { errText } from '../../novaclient/commands/common.js';
import { CommandError } from '../../novaclient/exceptions.js';
import type { Output } from '../types.js';
import { findResource } from '../utils.js';
import type { Client } from '../v2/client.js';
import type { Volume } from '../v2/volumes.js';

/** utils.find_volume(cs, volume) */
export function findVolume(cs: Client, volume: string): Promise<Volume> {
  return findResource(cs.volumes, volume);
}

export function volumesArg(help: string): ArgSpec {
  return { dest: 'volume', metavar: '<volume>', nargs: '+', help };
}

/**
 * The loop of do_delete, do_force_delete and do_reset_state: each volume in turn, a failure
 * printed on stdout and the next one tried; the CommandError at the end when `fails` says
 * the failures are too many (all of them, or any).
 */
export async function eachVolume(
  out: Output,
  volumes: string[],
  act: (volume: string) => Promise<string | null>,
  failed: (volume: string, e: unknown) => string,
  fails: (count: number) => boolean,
  errorMsg: string,
): Promise<void> {
  let count = 0;
  for (const volume of volumes) {
    try {
      const ok = await act(volume);
      if (ok !== null) out.out(`${ok}\n`);
    } catch (e) {
      count++;
      out.out(`${failed(volume, e)}\n`);
    }
  }
  if (count && fails(count)) throw new CommandError(errorMsg);
}

export { errText };
