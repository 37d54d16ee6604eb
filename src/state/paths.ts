// Where the state file and the volume images live.
import { lstatSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SimError } from '../common/errors.js';

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

/**
 * An id that can name a file in the images folder (volume-<id>, instances/<uuid>/): letters,
 * digits, '.', '_' and '-', starting with a letter or digit (so never '.' or '..'), at most
 * 255 characters. Every id the tool makes is a UUID; state validation refuses any other.
 */
export function isSafeId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(id);
}

/** the id cannot name a file: the images folder is never left through one */
export class UnsafeIdError extends SimError {
  constructor(what: string, id: string) {
    super('CommandError', `${what} ${JSON.stringify(id.length > 80 ? `${id.slice(0, 77)}...` : id)} cannot name an image: ids are letters, digits, '.', '_' and '-'`);
  }
}

/** Cinder's LVM-style name for a volume's image: volume-<uuid> */
export function volumeImagePath(statePath: string, volumeId: string): string {
  if (!isSafeId(volumeId)) throw new UnsafeIdError('Volume id', volumeId);
  return join(imagesDir(statePath), 'volumes', `volume-${volumeId}`);
}

/** Nova's instance directory: instances/<uuid>/disk */
export function instanceDiskPath(statePath: string, instanceUuid: string): string {
  if (!isSafeId(instanceUuid)) throw new UnsafeIdError('Instance uuid', instanceUuid);
  return join(imagesDir(statePath), 'instances', instanceUuid, 'disk');
}

/**
 * The first symbolic link met on the way from the images folder down to `path` (a folder
 * of it, or the image itself), or null. The images folder itself may be a link (images on
 * another disk): it is named by the state's own path, not by a value in the state.
 */
export function symlinkBelowImages(statePath: string, path: string, seen?: Map<string, 'link' | 'ok' | 'missing'>): string | null {
  const root = imagesDir(statePath);
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  let cur = root;
  for (const part of rel.split(sep)) {
    cur = join(cur, part);
    let kind = seen?.get(cur);
    if (kind === undefined) {
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(cur, { throwIfNoEntry: false });
      } catch {
        st = undefined; // ENOTDIR, EACCES…: no image can be opened there either
      }
      kind = !st ? 'missing' : st.isSymbolicLink() ? 'link' : 'ok';
      seen?.set(cur, kind);
    }
    if (kind === 'link') return cur;
    // nothing below a missing entry exists either
    if (kind === 'missing') return null;
  }
  return null;
}

export function logsDir(statePath: string): string {
  return join(imagesDir(statePath), 'logs');
}

/**
 * The image a disk's source names, as derived from the id of the volume or server it is the
 * image of; null when it is no image of this state. Code that opens a disk's image opens
 * this path, never the string the state holds (validation makes them equal, this keeps
 * them so).
 */
export function derivedImagePath(
  statePath: string,
  state: { cinder: { volumes: Array<{ id: string }> }; nova: { instances: Array<{ uuid: string }> } },
  source: string,
): string | null {
  for (const v of state.cinder.volumes) {
    if (!isSafeId(v.id)) continue;
    const p = volumeImagePath(statePath, v.id);
    if (p === source) return p;
  }
  for (const i of state.nova.instances) {
    if (!isSafeId(i.uuid)) continue;
    const p = instanceDiskPath(statePath, i.uuid);
    if (p === source) return p;
  }
  return null;
}
