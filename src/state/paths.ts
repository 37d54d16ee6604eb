// Where the state file and the volume images live.
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** --state PATH, else $NOVASIM_STATE, else $XDG_STATE_HOME/novasim/state.json */
export function resolveStatePath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.NOVASIM_STATE) return resolve(env.NOVASIM_STATE);
  const xdg = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(xdg, 'novasim', 'state.json');
}

/** The folder next to the state file that holds its images: state.json → state.images/ */
export function imagesDir(statePath: string): string {
  const base = basename(statePath).replace(/\.json$/, '');
  return join(dirname(statePath), `${base}.images`);
}

/** Cinder's LVM-style name for a volume's image: volume-<uuid> */
export function volumeImagePath(statePath: string, volumeId: string): string {
  return join(imagesDir(statePath), 'volumes', `volume-${volumeId}`);
}

/** Nova's instance directory: instances/<uuid>/disk */
export function instanceDiskPath(statePath: string, instanceUuid: string): string {
  return join(imagesDir(statePath), 'instances', instanceUuid, 'disk');
}

export function logsDir(statePath: string): string {
  return join(imagesDir(statePath), 'logs');
}
