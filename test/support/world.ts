// A fresh embedded cloud on a temporary state file, and a tiny client for the tests.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSimulatedCloud } from '../../src/novasim/cloud.js';
import type { CloudEvent, EmbeddedCloud } from '../../src/cloud/types.js';
import { volumeImagePath } from '../../src/state/paths.js';
import type { State } from '../../src/state/types.js';
import { initWorld } from '../../src/novasim/world.js';

/** fixed ids of the default fixture */
export const SERVERS = {
  web1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01',
  db1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c02',
  batch1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c03',
  worker1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c04',
  cache1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c05',
  archive1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c06',
};

export const VOLS = {
  webData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01',
  dbData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c02',
  batchData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c03',
  workerData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c04',
  cacheData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c05',
  archiveData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c06',
  newWebData: 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01',
  bigData: 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d02',
  spare: 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03',
  small: 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d04',
};

export const ADMIN = 'admin:demo';
export const DEMO = 'demo:demo';

export interface World {
  dir: string;
  statePath: string;
  cloud: EmbeddedCloud;
  events: CloudEvent[];
  state(): State;
  image(volumeId: string): Buffer;
  imagePath(volumeId: string): string;
  nova(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any; headers: Record<string, string> }>;
  cinder(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  swap(server: string, oldVol: string, newVol: string, token?: string): Promise<{ status: number; body: any }>;
  /** closes the embedded cloud and opens a new one on the same state, as a new `nova` process would */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export async function openWorld(fixture = 'default'): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'novasim-'));
  const statePath = join(dir, 'state.json');
  await initWorld(statePath, fixture, false);
  // Mitaka's 0.5 s poll: a copy of these small volumes is READY long before the second
  // poll, so the premature-pivot window (offset == len, not ready) is not hit by chance
  let cloud = await openSimulatedCloud({ statePath });
  const events: CloudEvent[] = [];
  cloud.on((e) => events.push(e));
  const call = async (url: string, method: string, body: unknown, token: string) => {
    const res = await cloud.transport.request({
      method,
      url,
      headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', Accept: 'application/json', 'X-OpenStack-Nova-API-Version': '2.25' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: res.body ? JSON.parse(res.body) : null, headers: res.headers };
  };
  const w: World = {
    dir,
    statePath,
    get cloud() {
      return cloud;
    },
    events,
    state: () => JSON.parse(readFileSync(statePath, 'utf8')) as State,
    imagePath: (id) => volumeImagePath(statePath, id),
    image: (id) => readFileSync(volumeImagePath(statePath, id)),
    nova: (method, path, body, token = ADMIN) => call(`http://127.0.0.1:8774/v2.1${path}`, method, body, token),
    cinder: (method, path, body, token = ADMIN) => call(`http://127.0.0.1:8776/v2/demo${path}`, method, body, token),
    swap: (server, oldVol, newVol, token = ADMIN) =>
      call(`http://127.0.0.1:8774/v2.1/servers/${server}/os-volume_attachments/${oldVol}`, 'PUT', { volumeAttachment: { volumeId: newVol } }, token),
    reopen: async () => {
      await cloud.close();
      cloud = await openSimulatedCloud({ statePath });
      cloud.on((e) => events.push(e));
    },
    close: async () => {
      await cloud.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return w;
}

export function volume(s: State, id: string) {
  const v = s.cinder.volumes.find((x) => x.id === id);
  if (!v) throw new Error(`no volume ${id}`);
  return v;
}

export function domainOf(s: State, uuid: string) {
  return s.libvirt.domains.find((d) => d.uuid === uuid);
}

const CHUNK = 16 * 1024 * 1024;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/** [start, end) data extents of an open file within [from, to), by SEEK_DATA / SEEK_HOLE */
function dataExtents(fd: number, from: number, to: number): Array<[number, number]> {
  const { seekSync } = require('fs-ext') as { seekSync: (fd: number, offset: number, whence: number) => number };
  const out: Array<[number, number]> = [];
  for (let pos = from; pos < to; ) {
    let d: number;
    try {
      d = seekSync(fd, pos, SEEK_DATA);
    } catch {
      break; // ENXIO: only a hole follows
    }
    if (d >= to) break;
    const h = Math.min(to, seekSync(fd, d, SEEK_HOLE));
    out.push([d, h]);
    pos = h;
  }
  return out;
}

/** the union of two extent lists, sorted and merged */
function union(a: Array<[number, number]>, b: Array<[number, number]>): Array<[number, number]> {
  const all = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of all) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Compares two image files (1 GiB and more, mostly holes): only where either holds data is read. */
export function sameBytes(a: string, b: string, length?: number): boolean {
  const { openSync, readSync, closeSync, statSync } = require('node:fs') as typeof import('node:fs');
  const len = length ?? statSync(a).size;
  if (length === undefined && statSync(b).size !== len) return false;
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const ba = Buffer.alloc(CHUNK);
  const bb = Buffer.alloc(CHUNK);
  try {
    // a range that is a hole in both files reads as zeroes in both
    for (const [s, e] of union(dataExtents(fa, 0, len), dataExtents(fb, 0, len))) {
      for (let off = s; off < e; off += CHUNK) {
        const n = Math.min(CHUNK, e - off);
        readSync(fa, ba, 0, n, off);
        readSync(fb, bb, 0, n, off);
        if (ba.compare(bb, 0, n, 0, n) !== 0) return false;
      }
    }
    return true;
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/** True when [offset, offset+length) of the file reads as zeroes (its holes are not read). */
export function allZero(path: string, offset = 0, length?: number): boolean {
  const { openSync, readSync, closeSync, statSync } = require('node:fs') as typeof import('node:fs');
  const end = length === undefined ? statSync(path).size : offset + length;
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(CHUNK);
  const zero = Buffer.alloc(CHUNK);
  try {
    for (const [s, e] of dataExtents(fd, offset, end)) {
      for (let off = s; off < e; off += CHUNK) {
        const n = Math.min(CHUNK, e - off);
        readSync(fd, buf, 0, n, off);
        if (buf.compare(zero, 0, n, 0, n) !== 0) return false;
      }
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * sha256 of an image's content: its size and every 4 KiB block that is not all zeroes,
 * with its offset. Holes and zero blocks count alike, so two files with the same bytes
 * have the same digest however they are allocated; holes are never read.
 */
export function digest(path: string): string {
  const { openSync, readSync, closeSync, fstatSync } = require('node:fs') as typeof import('node:fs');
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const BLOCK = 4096;
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(CHUNK);
  const zero = Buffer.alloc(BLOCK);
  try {
    const size = fstatSync(fd).size;
    h.update(`size ${size}\n`);
    for (const [s0, e] of dataExtents(fd, 0, size)) {
      // whole blocks, so the same content gives the same blocks whatever the extent edges
      const s = s0 - (s0 % BLOCK);
      for (let off = s; off < e; off += CHUNK) {
        const n = Math.min(CHUNK, e - off);
        readSync(fd, buf, 0, n, off);
        for (let p = 0; p < n; p += BLOCK) {
          const m = Math.min(BLOCK, n - p);
          if (buf.compare(zero, 0, m, p, p + m) === 0) continue;
          h.update(`${off + p}\n`);
          h.update(buf.subarray(p, p + m));
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
