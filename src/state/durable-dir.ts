// The last step of replacing a file by rename: the rename itself is durable only once the
// directory that holds the name is. Shared by the JSON store and the SQLite store's
// whole-file writes.
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';

/** fsync(2) of a directory; a file system that refuses it (some do) is left as it is: the
 * rename has happened either way */
export function fsyncDirectory(dir: string): void {
  try {
    const dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // refused: see above
  }
}
