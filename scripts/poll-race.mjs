#!/usr/bin/env node
// Mitaka's poll against novasim's QEMU: the experiment of
// ../shared/spec/reference/qemu-7.2-mitaka-poll-race.py, run on src/qemu (build first).
//   node scripts/poll-race.mjs mitaka 10   (poll at once, then every 0.5 s)
//   node scripts/poll-race.mjs tight 10    (poll every 0.5 ms)
// 'premature' = a poll saw offset == len with ready false; 'windows ms' = from that poll to
// BLOCK_JOB_READY. Run the Python script beside it (Debian's qemu-system-x86) to compare.
import { QemuProcess } from '../dist/qemu/process.js';
import { openSync, closeSync, ftruncateSync, writeSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
const GiB = 1 << 30, MiB = 1 << 20;
async function run(fill, tight) {
  const d = mkdtempSync(join(tmpdir(), 'race-'));
  for (const f of ['src.raw', 'dst.raw']) { const fd = openSync(join(d, f), 'w'); ftruncateSync(fd, GiB); closeSync(fd); }
  if (fill) { const fd = openSync(join(d, 'src.raw'), 'r+'); for (let i = 0; i < fill; i++) writeSync(fd, randomBytes(MiB), 0, MiB, Math.floor(i * GiB / fill)); closeSync(fd); }
  const q = new QemuProcess({ name: 'race', drives: [{ id: 'drive-virtio-disk1', file: join(d, 'src.raw'), format: 'raw', cache: 'none' }] });
  await q.qmp({ execute: 'qmp_capabilities' });
  let readyAt = 0; q.onEvent((ev) => { if (ev.event === 'BLOCK_JOB_READY') readyAt = performance.now(); });
  const t0 = performance.now();
  await q.qmp({ execute: 'drive-mirror', arguments: { device: 'drive-virtio-disk1', target: join(d, 'dst.raw'), sync: 'full', mode: 'existing', format: 'raw' } });
  const seen = []; let premature = false;
  for (;;) {
    const r = (await q.qmp({ execute: 'query-block-jobs' })).return;
    const j = r[0]; if (!j) break;
    seen.push([((performance.now() - t0) / 1000).toFixed(4), j.offset, j.len, j.ready]);
    if (j.offset === j.len && !j.ready && !premature) { premature = performance.now(); if (!tight) break; }
    if (j.ready) break;
    await new Promise((res) => setTimeout(res, tight ? 0.5 : 500));
  }
  await q.qmp({ execute: 'block-job-cancel', arguments: { device: 'drive-virtio-disk1' } });
  await q.shutdown();
  rmSync(d, { recursive: true, force: true });
  return [premature, seen.slice(0, 3), premature ? (readyAt - premature) : 0, seen.at(-1)];
}
const mode = process.argv[2], n = Number(process.argv[3] ?? 10);
for (const fill of [0, 4, 100]) {
  const res = []; for (let i = 0; i < n; i++) res.push(await run(fill, mode === 'tight'));
  console.log(mode, 'fill MiB', fill, 'premature', res.filter((r) => r[0]).length, 'of', n, 'first polls', JSON.stringify(res[0][1]), 'windows ms', res.map((r) => r[2].toFixed(1)).join(' '), 'ready at', res.map((r) => r[3][0]).join(' '));
}
