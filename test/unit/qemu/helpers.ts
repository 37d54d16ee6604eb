// Shared fixtures for the QEMU layer's tests: raw images in a temp dir, a QMP client that
// records events, and polling helpers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { QemuProcess } from '../../../src/qemu/process.js';
import type { QemuProfile, QmpEvent, QmpReply } from '../../../src/qemu/types.js';

export const MiB = 1 << 20;
export const KiB = 1 << 10;
export const DISK = 'drive-virtio-disk0';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'novasim-qemu-'));
}

/** a sparse raw image of `size` bytes with the given data extents (random bytes, or a fill byte) */
export function makeImage(file: string, size: number, extents: Array<[offset: number, length: number, fill?: number]> = []): void {
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
  const fd = fs.openSync(file, 'r+');
  for (const [off, len, fill] of extents) {
    const data = fill === undefined ? randomBytes(len) : Buffer.alloc(len, fill);
    fs.writeSync(fd, data, 0, len, off);
  }
  fs.closeSync(fd);
}

export function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function sameBytes(a: string, b: string): boolean {
  return fs.statSync(a).size === fs.statSync(b).size && sha(a) === sha(b);
}

export function allocated(file: string): number {
  return fs.statSync(file).blocks * 512;
}

export interface Harness {
  qemu: QemuProcess;
  events: QmpEvent[];
  /** event names, JOB_STATUS_CHANGE shown as its status */
  trace: () => string[];
  cmd: (execute: string, args?: Record<string, unknown>) => Promise<QmpReply>;
  ok: (execute: string, args?: Record<string, unknown>) => Promise<unknown>;
  waitEvent: (name: string, timeoutMs?: number) => Promise<QmpEvent>;
  job: () => Promise<Record<string, unknown> | undefined>;
}

export async function startQemu(files: Record<string, string>, profile?: QemuProfile): Promise<Harness> {
  const qemu = new QemuProcess({
    name: 'instance-00000001',
    drives: Object.entries(files).map(([id, file]) => ({ id, file, format: 'raw' as const })),
    profile,
  });
  const events: QmpEvent[] = [];
  qemu.onEvent((ev) => events.push(ev));
  const cmd = (execute: string, args?: Record<string, unknown>) => qemu.qmp(args ? { execute, arguments: args } : { execute });
  const ok = async (execute: string, args?: Record<string, unknown>) => {
    const r = await cmd(execute, args);
    if ('error' in r) throw new Error(`${execute}: ${r.error.desc}`);
    return r.return;
  };
  await ok('qmp_capabilities');
  const seen = new Set<QmpEvent>();
  const waitEvent = async (name: string, timeoutMs = 10000) => {
    const t0 = Date.now();
    for (;;) {
      const ev = events.find((e) => e.event === name && !seen.has(e));
      if (ev) {
        seen.add(ev);
        return ev;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${name}; got ${trace().join(',')}`);
      await sleep(2);
    }
  };
  const trace = () => events.map((e) => (e.event === 'JOB_STATUS_CHANGE' ? String(e.data.status) : e.event));
  const job = async () => ((await ok('query-block-jobs')) as Array<Record<string, unknown>>)[0];
  return { qemu, events, trace, cmd, ok, waitEvent, job };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await sleep(2);
  }
}

/** libvirt's exact drive-mirror arguments (qemuMonitorJSONDriveMirror with REUSE_EXT) */
export function mirrorArgs(target: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { device: DISK, target, speed: 0, sync: 'full', mode: 'existing', format: 'raw', ...extra };
}
