// src/libvirt/: the simulated libvirtd + QEMU driver. connection.ts reproduces
// virDomainBlockRebase → qemuDomainBlockRebase → qemuDomainBlockCopyCommon (checks in
// libvirt's order, exact messages), virDomainGetBlockJobInfo (cur/end, the 0/0 case),
// virDomainBlockJobAbort (PIVOT, no job, not ready) and undefine/define semantics, over
// real QEMU process objects and a temporary state; xml.ts formats and parses domain XML.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobProgressEvent } from '../../../src/cloud/types.js';
import { LibvirtConnection, type VirDomain } from '../../../src/libvirt/connection.js';
import { LibvirtError, VIR_ERR } from '../../../src/libvirt/errors.js';
import { VIR_DOMAIN_BLOCK_JOB_ABORT as ABORT, VIR_DOMAIN_BLOCK_REBASE as F, VIR_DOMAIN_UNDEFINE, VIR_DOMAIN_XML } from '../../../src/libvirt/flags.js';
import { formatDomainXml, parseDisks, parseDomainXml } from '../../../src/libvirt/xml.js';
import { blkdebugRulesFrom } from '../../../src/novasim/host-records.js';
import { initWorld, loadFixture, patternBytes } from '../../../src/novasim/world.js';
import { volumeImagePath } from '../../../src/state/paths.js';
import { StateStore } from '../../../src/state/store.js';
import type { DomainDef, State } from '../../../src/state/types.js';

const SERVERS = {
  web1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01', // running, persistent, instance-00000001
  batch1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c03', // shut off, persistent, instance-00000003
  worker1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c04', // paused, persistent
  cache1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c05', // running, transient, instance-00000005
  archive1: '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c06', // shut off with a managed-save image
};
const VOLS = {
  webData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01',
  cacheData: 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c05',
  spare: 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03',
  newWebData: 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01',
};
const MiB = 1024 * 1024;
const COPY_REUSE = F.COPY | F.REUSE_EXT;

let dir: string;
let statePath: string;
let store: StateStore;
let conn: LibvirtConnection;
let events: JobProgressEvent[];

// the default world without its volumes' data (each test writes what it needs): cheaper to build
let fixturePath: string;
let fixtureDir: string;
beforeAll(() => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'novasim-libvirt-fx-'));
  const fx = loadFixture('default');
  fx.volumes = fx.volumes.map(({ data: _data, ...v }) => v);
  fixturePath = join(fixtureDir, 'no-data.json');
  writeFileSync(fixturePath, JSON.stringify(fx));
});
afterAll(() => rmSync(fixtureDir, { recursive: true, force: true }));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-libvirt-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, fixturePath, false);
  store = new StateStore(statePath);
  events = [];
  conn = new LibvirtConnection(store, { notify: (e) => events.push(e), blkdebugRules: blkdebugRulesFrom(store) });
});
afterEach(async () => {
  // end every job this host still runs, synchronously, so no job event writes the state
  // after the directory is gone (close() alone does not wait for those writes)
  for (const d of store.read().libvirt.domains) {
    for (const dev of Object.keys(d.mirrors)) {
      if (conn.liveJob(d.uuid, dev)) await conn.lookupByUUIDString(d.uuid).blockJobAbort(dev, 0).catch(() => undefined);
    }
  }
  await conn.close();
  rmSync(dir, { recursive: true, force: true });
});

const img = (vol: string) => volumeImagePath(statePath, vol);
const domain = (uuid: string) => conn.lookupByUUIDString(uuid);
const stateDomain = (uuid: string, s: State = store.read()) => s.libvirt.domains.find((d) => d.uuid === uuid);

/** a small disk (the first MiB of it data), so a copy finishes in a blink */
function shrink(vol: string, size = 4 * MiB) {
  truncateSync(img(vol), size);
  writeFileSync(img(vol), patternBytes(7, Math.min(size, MiB)), { flag: 'r+' });
}

/** a source of 8 MiB of data and a target of its size: at 1 MiB/s far from READY for the
 * whole test, whatever the job does with holes */
function slowCopy() {
  truncateSync(img(VOLS.cacheData), 8 * MiB);
  writeFileSync(img(VOLS.cacheData), patternBytes(11, 8 * MiB), { flag: 'r+' });
  truncateSync(img(VOLS.spare), 8 * MiB);
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<LibvirtError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof LibvirtError) return e;
    throw e;
  }
  throw new Error('expected a libvirtError');
}

async function until(pred: () => boolean, ms = 5000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
const readyEvent = () => events.some((e) => e.phase === 'ready');

describe('virDomainBlockRebase: the public entry point\'s flag checks', () => {
  it.each([
    ['REUSE_EXT', F.REUSE_EXT],
    ['SHALLOW', F.SHALLOW],
    ['COPY_RAW', F.COPY_RAW],
    ['COPY_DEV', F.COPY_DEV],
  ])('%s without COPY: "use of flags requires a copy job" (before the domain is even looked at)', async (_n, flags) => {
    const d = domain(SERVERS.batch1); // shut off: a later check would say "domain is not running"
    const e = await errorOf(d.blockRebase('vdb', img(VOLS.spare), 0, flags));
    expect(e.code).toBe(VIR_ERR.INVALID_ARG);
    expect(e.message).toBe('invalid argument: use of flags requires a copy job');
  });

  it('COPY with a null base is refused', async () => {
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', null, 0, F.COPY));
    expect(e.code).toBe(VIR_ERR.INVALID_ARG);
    expect(e.message).toBe('invalid argument: base in virDomainBlockRebase must not be NULL');
  });
});

describe('qemuDomainBlockRebase: bandwidth, RELATIVE, unknown flags', () => {
  it('an unknown flag bit is refused', async () => {
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, F.COPY | 128));
    expect(e.message).toBe('invalid argument: unsupported flags (0x80) in function qemuDomainBlockRebase');
  });

  it('a MiB/s bandwidth that overflows bytes: "bandwidth must be less than 8796093022207" (before the domain state)', async () => {
    const e = await errorOf(domain(SERVERS.batch1).blockRebase('vdb', img(VOLS.spare), 8796093022208, COPY_REUSE));
    expect(e.code).toBe(VIR_ERR.OVERFLOW);
    expect(e.message).toBe('value too large: bandwidth must be less than 8796093022207');
  });

  it('the domain is looked up (qemuDomObjFromDomain) before the bandwidth and RELATIVE checks', async () => {
    const d = domain(SERVERS.batch1);
    await d.undefineFlags(VIR_DOMAIN_UNDEFINE.MANAGED_SAVE);
    const e = await errorOf(d.blockRebase('vdb', img(VOLS.spare), 8796093022208, COPY_REUSE | F.RELATIVE));
    expect(e.code).toBe(VIR_ERR.NO_DOMAIN);
  });

  it('RELATIVE with COPY: "Relative backing during copy not supported yet", before "domain is not running"', async () => {
    const e = await errorOf(domain(SERVERS.batch1).blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE | F.RELATIVE));
    expect(e.code).toBe(VIR_ERR.ARGUMENT_UNSUPPORTED);
    expect(e.message).toBe('argument unsupported: Relative backing during copy not supported yet');
  });
});

describe('qemuDomainBlockCopyCommon: the checks in libvirt\'s order', () => {
  it('1. a shut-off domain: "domain is not running" (even for a disk it does not have)', async () => {
    const e = await errorOf(domain(SERVERS.batch1).blockRebase('vdz', img(VOLS.spare), 0, COPY_REUSE));
    expect(e.code).toBe(VIR_ERR.OPERATION_INVALID);
    expect(e.message).toBe('Requested operation is not valid: domain is not running');
  });

  it('2. an unknown disk, checked before persistence', async () => {
    const e = await errorOf(domain(SERVERS.web1).blockRebase('vdz', img(VOLS.spare), 0, COPY_REUSE));
    expect(e.code).toBe(VIR_ERR.INVALID_ARG);
    expect(e.message).toBe("invalid argument: disk 'vdz' not found in domain");
  });

  it('5. a persistent domain: "Requested operation is not valid: domain is not transient" (also when paused)', async () => {
    for (const uuid of [SERVERS.web1, SERVERS.worker1]) {
      const e = await errorOf(domain(uuid).blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE));
      expect(e.code).toBe(VIR_ERR.OPERATION_INVALID);
      expect(e.message).toBe('Requested operation is not valid: domain is not transient');
    }
  });

  it('a disk is found by its source path as well as by its target', async () => {
    const e = await errorOf(domain(SERVERS.web1).blockRebase(img(VOLS.webData), img(VOLS.spare), 0, COPY_REUSE));
    expect(e.message).toBe('Requested operation is not valid: domain is not transient');
  });

  it('8. stat failing otherwise than ENOENT: "unable to stat for disk <dev>: <path>"', async () => {
    const bad = '/etc/hostname/not-a-dir';
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', bad, 0, COPY_REUSE));
    expect(e.message).toMatch(/^unable to stat for disk vdb: \/etc\/hostname\/not-a-dir: /);
  });

  // Fixed (was a bug): virReportSystemError appends strerror(errno) ("Not a directory"); systemError()
  // in src/libvirt/errors.ts only knows ENOENT/EACCES/EIO and prints the errno name instead.
  it('8. … followed by strerror(errno), e.g. "Not a directory" for ENOTDIR', async () => {
    const bad = '/etc/hostname/not-a-dir';
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', bad, 0, COPY_REUSE));
    expect(e.message).toBe(`unable to stat for disk vdb: ${bad}: Not a directory`);
  });

  it('9. a missing destination with REUSE_EXT: "missing destination file for disk <dev>: <path>: No such file or directory"', async () => {
    const missing = join(dir, 'nope.raw');
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', missing, 0, COPY_REUSE));
    expect(e.message).toBe(`missing destination file for disk vdb: ${missing}: No such file or directory`);
  });

  it('9. … and the same for a block destination (COPY_DEV) without REUSE_EXT', async () => {
    const missing = join(dir, 'nope.raw');
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', missing, 0, F.COPY | F.COPY_DEV));
    expect(e.message).toBe(`missing destination file for disk vdb: ${missing}: No such file or directory`);
  });

  it('10. an existing non-empty file without REUSE_EXT', async () => {
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, F.COPY));
    expect(e.code).toBe(VIR_ERR.CONFIG_UNSUPPORTED);
    expect(e.message).toBe(`unsupported configuration: external destination file for disk vdb already exists and is not a block device: ${img(VOLS.spare)}`);
  });

  it('11. COPY_DEV onto a regular file', async () => {
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE | F.COPY_DEV));
    expect(e.code).toBe(VIR_ERR.INVALID_ARG);
    expect(e.message).toBe(`invalid argument: blockdev flag requested for disk vdb, but file '${img(VOLS.spare)}' is not a block device`);
  });

  it('a refused copy records no mirror and starts no job', async () => {
    await errorOf(domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, F.COPY));
    expect(stateDomain(SERVERS.cache1)!.mirrors).toEqual({});
    expect(await domain(SERVERS.cache1).blockJobInfo('vdb', 0)).toEqual({});
  });

  it('a QMP error is "internal error: unable to execute QEMU command \'drive-mirror\': <desc>"', async () => {
    // a destination QEMU cannot open (a directory): libvirt's own checks pass it with REUSE_EXT
    const d = join(dir, 'a-directory');
    mkdirSync(d);
    const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', d, 0, COPY_REUSE));
    expect(e.code).toBe(VIR_ERR.INTERNAL_ERROR);
    expect(e.message).toMatch(/^internal error: unable to execute QEMU command 'drive-mirror': Could not open '.*a-directory': /);
  });
});

describe('blockRebase(COPY|REUSE_EXT) on a transient running domain: the drive-mirror libvirt sends', () => {
  async function captureQmp() {
    const vm = stateDomain(SERVERS.cache1)!;
    const proc = await conn.qemu.get(vm);
    return vi.spyOn(proc, 'qmp');
  }

  it('sends the seed\'s exact command and records disk->mirror', async () => {
    shrink(VOLS.cacheData);
    shrink(VOLS.spare);
    const qmp = await captureQmp();
    expect(await domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE)).toBe(0);
    await conn.jobStatusSaved(SERVERS.cache1, 'vdb');
    const cmd = qmp.mock.calls.map((c) => c[0]).find((c) => c.execute === 'drive-mirror')!;
    // (a monitor may add its own "id"; the command itself is the seed's, key order included)
    expect(JSON.stringify({ execute: cmd.execute, arguments: cmd.arguments })).toBe(
      `{"execute":"drive-mirror","arguments":{"device":"drive-virtio-disk1","target":"${img(VOLS.spare)}","speed":0,"sync":"full","mode":"existing","format":"raw"}}`,
    );
    expect(stateDomain(SERVERS.cache1)!.mirrors.vdb).toMatchObject({ dev: 'vdb', source: img(VOLS.spare), format: 'raw', job: 'copy', ready: false, ownerPid: process.pid });
    // the live XML shows the <mirror>
    expect(domain(SERVERS.cache1).XMLDesc(0)).toContain(`<mirror type='file' file='${img(VOLS.spare)}' format='raw' job='copy'`);
  });

  it('bandwidth is MiB/s (speed in bytes); without REUSE_EXT the mode is absolute-paths onto a new file', async () => {
    shrink(VOLS.cacheData);
    const qmp = await captureQmp();
    // a new file, yet an image of the state (a state only ever names its own images):
    // new-web-data's, removed first
    const target = img(VOLS.newWebData);
    rmSync(target);
    await domain(SERVERS.cache1).blockRebase('vdb', target, 3, F.COPY);
    const cmd = qmp.mock.calls.map((c) => c[0]).find((c) => c.execute === 'drive-mirror')!;
    expect(cmd.arguments).toEqual({ device: 'drive-virtio-disk1', target, speed: 3 * MiB, sync: 'full', mode: 'absolute-paths', format: 'raw' });
    expect(statSync(target).size).toBe(4 * MiB);
  });

  it('BANDWIDTH_BYTES: the bandwidth is sent as is', async () => {
    shrink(VOLS.cacheData);
    shrink(VOLS.spare);
    const qmp = await captureQmp();
    await domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 4096, COPY_REUSE | F.BANDWIDTH_BYTES);
    const cmd = qmp.mock.calls.map((c) => c[0]).find((c) => c.execute === 'drive-mirror')!;
    expect(cmd.arguments!.speed).toBe(4096);
  });

  it('SHALLOW is cleared on a single-layer disk: sync stays full', async () => {
    shrink(VOLS.cacheData);
    shrink(VOLS.spare);
    const qmp = await captureQmp();
    await domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE | F.SHALLOW);
    expect(qmp.mock.calls.map((c) => c[0]).find((c) => c.execute === 'drive-mirror')!.arguments!.sync).toBe('full');
  });

  it('3. a second copy on the same disk: "block copy still active: disk \'vdb\' already in active block job" (before "not transient")', async () => {
    slowCopy();
    const d = domain(SERVERS.cache1);
    await d.blockRebase('vdb', img(VOLS.spare), 1, COPY_REUSE); // 1 MiB/s: far from ready
    const e = await errorOf(d.blockRebase('vdb', img(VOLS.newWebData), 0, COPY_REUSE));
    expect(e.code).toBe(VIR_ERR.BLOCK_COPY_ACTIVE);
    expect(e.message).toBe("block copy still active: disk 'vdb' already in active block job");
    await d.blockJobAbort('vdb', 0);
  });
});

describe('the QEMU of a domain gets each disk\'s <driver cache=…> (qemuBuildDriveStr)', () => {
  async function cacheOf(uuid: string) {
    const r = (await (await conn.qemu.get(stateDomain(uuid)!)).qmp({ execute: 'query-block' })) as {
      return: Array<{ device: string; inserted: { cache: Record<string, boolean> } }>;
    };
    return Object.fromEntries(r.return.map((b) => [b.device, b.inserted.cache]));
  }

  it("the default world's disks are cache='none'; a disk set to unsafe runs without flushes", async () => {
    await store.update((s) => {
      const d = s.libvirt.domains.find((x) => x.uuid === SERVERS.cache1)!;
      d.def.disks[1]!.cache = 'unsafe';
    });
    expect(await cacheOf(SERVERS.cache1)).toEqual({
      'drive-virtio-disk0': { writeback: true, direct: true, 'no-flush': false },
      'drive-virtio-disk1': { writeback: true, direct: false, 'no-flush': true },
    });
  });

  it("a disk without the attribute (or 'default') gets QEMU's default, writeback", async () => {
    await store.update((s) => {
      const d = s.libvirt.domains.find((x) => x.uuid === SERVERS.cache1)!;
      delete d.def.disks[0]!.cache;
      d.def.disks[1]!.cache = 'default';
    });
    const wb = { writeback: true, direct: false, 'no-flush': false };
    expect(await cacheOf(SERVERS.cache1)).toEqual({ 'drive-virtio-disk0': wb, 'drive-virtio-disk1': wb });
  });
});

describe('virDomainGetBlockJobInfo', () => {
  it('no job: {} (python-libvirt\'s empty dict)', async () => {
    expect(await domain(SERVERS.cache1).blockJobInfo('vdb', 0)).toEqual({});
  });

  it('a shut-off domain: "domain is not running"', async () => {
    const e = await errorOf(domain(SERVERS.batch1).blockJobInfo('vdb', 0));
    expect(e.message).toBe('Requested operation is not valid: domain is not running');
  });

  it('a running copy: type COPY (2), cur = QMP offset, end = QMP len (the disk size from the first poll), bandwidth in MiB/s', async () => {
    slowCopy();
    const d = domain(SERVERS.cache1);
    await d.blockRebase('vdb', img(VOLS.spare), 1, COPY_REUSE);
    const info = await d.blockJobInfo('vdb', 0);
    expect(info.type).toBe(2);
    expect(info.bandwidth).toBe(1);
    expect(info.end).toBe(8 * MiB);
    expect(info.cur).toBeLessThan(info.end!);
    const vm = stateDomain(SERVERS.cache1)!;
    const q = (await (await conn.qemu.get(vm)).qmp({ execute: 'query-block-jobs' })) as { return: { offset: number; len: number }[] };
    expect(info.end).toBe(q.return[0].len);
    expect(info.cur).toBeLessThanOrEqual(q.return[0].offset);
    await d.blockJobAbort('vdb', 0);
  });

  it('a ready copy reads cur == end', async () => {
    shrink(VOLS.cacheData);
    shrink(VOLS.spare);
    const d = domain(SERVERS.cache1);
    await d.blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE);
    await until(readyEvent);
    const info = await d.blockJobInfo('vdb', 0);
    expect(info).toMatchObject({ type: 2, cur: 4 * MiB, end: 4 * MiB });
  });

  describe('cur = end = 0 reads as end = 1 (and cur = 1 only when ready), so a just-started job never looks finished', () => {
    // a job run by another host process is answered from the progress it last recorded
    async function withRecordedMirror(ready: boolean, cur: number, end: number, bandwidth = 0) {
      await store.update((s) => {
        stateDomain(SERVERS.cache1, s)!.mirrors.vdb = {
          dev: 'vdb',
          type: 'file',
          source: img(VOLS.spare),
          format: 'raw',
          job: 'copy',
          ready,
          cur,
          end,
          bandwidth,
          ownerPid: 1, // alive: init
          updatedAt: '2016-05-03T10:00:00.000000',
        };
      });
      return domain(SERVERS.cache1).blockJobInfo('vdb', 0);
    }

    it('0/0, not ready → cur 0, end 1', async () => {
      expect(await withRecordedMirror(false, 0, 0)).toEqual({ type: 2, bandwidth: 0, cur: 0, end: 1 });
    });
    it('0/0, ready → cur 1, end 1', async () => {
      expect(await withRecordedMirror(true, 0, 0)).toEqual({ type: 2, bandwidth: 0, cur: 1, end: 1 });
    });
    it('other values pass unchanged; bandwidth is rounded up to MiB/s', async () => {
      expect(await withRecordedMirror(false, 5, 9, MiB + 1)).toEqual({ type: 2, bandwidth: 2, cur: 5, end: 9 });
    });
    it('a mirror recorded by a host process that has died is gone with it: {}', async () => {
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      await store.update((s) => {
        stateDomain(SERVERS.cache1, s)!.mirrors.vdb = {
          dev: 'vdb', type: 'file', source: img(VOLS.spare), format: 'raw', job: 'copy', ready: false,
          cur: 5, end: 9, bandwidth: 0, ownerPid: dead, updatedAt: '2016-05-03T10:00:00.000000',
        };
      });
      expect(await domain(SERVERS.cache1).blockJobInfo('vdb', 0)).toEqual({});
    });
    it('the same for a real zero-length disk: once READY it reads 1/1', async () => {
      truncateSync(img(VOLS.cacheData), 0);
      truncateSync(img(VOLS.spare), 0);
      const d = domain(SERVERS.cache1);
      await d.blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE);
      const first = await d.blockJobInfo('vdb', 0);
      expect(first.end).toBe(1);
      await until(readyEvent);
      expect(await d.blockJobInfo('vdb', 0)).toMatchObject({ cur: 1, end: 1 });
    });
  });
});

describe('virDomainBlockJobAbort', () => {
  it('PIVOT without a copy job: "pivot of disk \'vdb\' requires an active copy job"', async () => {
    const e = await errorOf(domain(SERVERS.cache1).blockJobAbort('vdb', ABORT.PIVOT));
    expect(e.code).toBe(VIR_ERR.OPERATION_INVALID);
    expect(e.message).toBe("Requested operation is not valid: pivot of disk 'vdb' requires an active copy job");
  });

  it('no PIVOT and no job: "No active operation on device: drive-virtio-disk1"', async () => {
    const e = await errorOf(domain(SERVERS.cache1).blockJobAbort('vdb', 0));
    expect(e.code).toBe(VIR_ERR.OPERATION_INVALID);
    expect(e.message).toBe('Requested operation is not valid: No active operation on device: drive-virtio-disk1');
  });

  it('a shut-off domain: "domain is not running"', async () => {
    const e = await errorOf(domain(SERVERS.batch1).blockJobAbort('vdb', ABORT.PIVOT));
    expect(e.message).toBe('Requested operation is not valid: domain is not running');
  });

  it('PIVOT before READY: "block copy still active: disk \'vdb\' not ready for pivot yet", and the job goes on', async () => {
    slowCopy();
    const d = domain(SERVERS.cache1);
    await d.blockRebase('vdb', img(VOLS.spare), 1, COPY_REUSE);
    const e = await errorOf(d.blockJobAbort('vdb', ABORT.PIVOT));
    expect(e.code).toBe(VIR_ERR.BLOCK_COPY_ACTIVE);
    expect(e.message).toBe("block copy still active: disk 'vdb' not ready for pivot yet");
    expect((await d.blockJobInfo('vdb', 0)).type).toBe(2);
    expect(events.some((x) => x.phase === 'pivot')).toBe(false);
    await d.blockJobAbort('vdb', 0);
  });


  describe('a job that fails before blockRebase returns (qemuBlockJobDiskNew before the monitor command)', () => {
    // The job fails on its first read (blkdebug), and drive-mirror's reply is held until QEMU
    // has emitted BLOCK_JOB_COMPLETED: the job's end arrives while the call is still under
    // way, every time, whatever the machine's load (the order a loaded machine produced 3
    // times in 12 in test/cli/blkdebug.test.ts).
    async function fastFailingCopy() {
      shrink(VOLS.cacheData);
      shrink(VOLS.spare);
      await store.update((s) => {
        s.blkdebug = [{ server: SERVERS.cache1, disk: 'vdb', action: 'error', op: 'read', errno: 'EIO', count: null }];
      });
      const mon = await conn.qemu.get(stateDomain(SERVERS.cache1)!);
      const seen: string[] = [];
      let completed = false;
      mon.proc.onEvent((ev) => {
        if (ev.event === 'BLOCK_JOB_COMPLETED') completed = true;
      });
      const realQmp = mon.qmp.bind(mon);
      vi.spyOn(mon, 'qmp').mockImplementation(async (cmd) => {
        const reply = await realQmp(cmd);
        if (cmd.execute === 'drive-mirror') {
          await until(() => completed);
          seen.push('completed-before-reply');
        }
        return reply;
      });
      return seen;
    }

    it('its BLOCK_JOB_COMPLETED is not lost: the pivot says "requires an active copy job", not "not ready for pivot yet"', async () => {
      const seen = await fastFailingCopy();
      const d = domain(SERVERS.cache1);
      expect(await d.blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE)).toBe(0);
      expect(seen).toEqual(['completed-before-reply']);
      const e = await errorOf(d.blockJobAbort('vdb', ABORT.PIVOT));
      expect(e.message).toBe("Requested operation is not valid: pivot of disk 'vdb' requires an active copy job");
      // the job's end is known and told: failed on QEMU's error, the disk left on its source
      await until(() => events.some((x) => x.phase === 'failed'));
      expect(events.find((x) => x.phase === 'failed')).toMatchObject({ disk: 'vdb', error: 'Input/output error' });
      expect(conn.liveJob(SERVERS.cache1, 'vdb')).toBeUndefined();
      expect(await d.blockJobInfo('vdb', 0)).toEqual({});
      await until(() => Object.keys(stateDomain(SERVERS.cache1)!.mirrors).length === 0);
      expect(stateDomain(SERVERS.cache1)!.def.disks.find((x) => x.targetDev === 'vdb')!.source).toBe(img(VOLS.cacheData));
    });

    it('a drive-mirror QEMU refuses leaves no job record behind', async () => {
      const vm = stateDomain(SERVERS.cache1)!;
      const proc = await conn.qemu.get(vm);
      vi.spyOn(proc, 'qmp').mockResolvedValueOnce({ error: { class: 'GenericError', desc: 'refused' } });
      const e = await errorOf(domain(SERVERS.cache1).blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE));
      expect(e.message).toBe("internal error: unable to execute QEMU command 'drive-mirror': refused");
      expect(conn.liveJob(SERVERS.cache1, 'vdb')).toBeUndefined();
    });
  });
  it('cancel (no PIVOT, synchronous): the job is gone when it returns, the disk stays on its source', async () => {
    slowCopy();
    const d = domain(SERVERS.cache1);
    await d.blockRebase('vdb', img(VOLS.spare), 1, COPY_REUSE);
    expect(await d.blockJobAbort('vdb', 0)).toBe(0);
    expect(await d.blockJobInfo('vdb', 0)).toEqual({});
    const vm = stateDomain(SERVERS.cache1)!;
    expect(vm.mirrors).toEqual({});
    expect(vm.def.disks.find((x) => x.targetDev === 'vdb')!.source).toBe(img(VOLS.cacheData));
    expect(events.some((x) => x.phase === 'cancelled')).toBe(true);
  });

  it('PIVOT after READY (synchronous): the job is gone when it returns and the disk\'s source is the target', async () => {
    shrink(VOLS.cacheData);
    shrink(VOLS.spare);
    const d = domain(SERVERS.cache1);
    await d.blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE);
    await until(readyEvent);
    expect(await d.blockJobAbort('vdb', ABORT.PIVOT)).toBe(0);
    expect(await d.blockJobInfo('vdb', 0)).toEqual({});
    const vm = stateDomain(SERVERS.cache1)!;
    expect(vm.mirrors).toEqual({});
    expect(vm.def.disks.find((x) => x.targetDev === 'vdb')).toMatchObject({ source: img(VOLS.spare), type: 'block' });
    expect(events.filter((x) => x.phase !== 'copying').map((x) => x.phase)).toEqual(['ready', 'pivot', 'done']);
    // the QEMU device now reads the target
    const mon = await conn.qemu.get(stateDomain(SERVERS.cache1)!);
    const blocks = (await mon.qmp({ execute: 'query-block' })) as { return: { device: string; inserted: { image: { filename: string } } }[] };
    expect(blocks.return.find((b) => b.device === 'drive-virtio-disk1')!.inserted.image.filename).toBe(img(VOLS.spare));
    expect(readFileSync(img(VOLS.spare)).equals(readFileSync(img(VOLS.cacheData)))).toBe(true);
  });
});

describe('undefine and define', () => {
  it('an inactive persistent domain is removed outright; later calls say "Domain not found"', async () => {
    const d = domain(SERVERS.batch1);
    await d.undefineFlags(VIR_DOMAIN_UNDEFINE.MANAGED_SAVE);
    expect(stateDomain(SERVERS.batch1)).toBeUndefined();
    const e = await errorOf(d.blockRebase('vdb', img(VOLS.spare), 0, COPY_REUSE));
    expect(e.code).toBe(VIR_ERR.NO_DOMAIN);
    expect(e.message).toBe(`Domain not found: no domain with matching uuid '${SERVERS.batch1}' (instance-00000003)`);
    expect(() => conn.lookupByName('instance-00000003')).toThrow("Domain not found: no domain with matching name 'instance-00000003'");
  });

  it('an active persistent domain becomes transient and keeps running', async () => {
    const d = domain(SERVERS.web1);
    const live = stateDomain(SERVERS.web1)!.def;
    expect(d.isPersistent()).toBe(true);
    await d.undefine();
    expect(d.isPersistent()).toBe(false);
    expect(d.isActive()).toBe(true);
    const vm = stateDomain(SERVERS.web1)!;
    expect([vm.state, vm.persistentDef]).toEqual(['running', null]);
    expect(vm.def).toEqual(live);
    // with no persistent config left, the "inactive" XML is the live definition
    expect(parseDomainXml(d.XMLDesc(VIR_DOMAIN_XML.INACTIVE)).disks.map((x) => x.source)).toEqual(live.disks.map((x) => x.source));
  });

  it('a transient domain cannot be undefined', async () => {
    const e = await errorOf(domain(SERVERS.cache1).undefine());
    expect(e.message).toBe('Requested operation is not valid: cannot undefine transient domain');
  });

  it('a managed-save image: plain undefine refuses; UNDEFINE_MANAGED_SAVE deletes the image with the (inactive) domain', async () => {
    const d = domain(SERVERS.archive1);
    expect(d.hasManagedSaveImage()).toBe(true);
    const e = await errorOf(d.undefine());
    expect(e.message).toBe('Requested operation is not valid: Refusing to undefine while domain managed save image exists');
    expect(stateDomain(SERVERS.archive1)!.managedSave).toBe(true);
    await d.undefineFlags(VIR_DOMAIN_UNDEFINE.MANAGED_SAVE);
    expect(stateDomain(SERVERS.archive1)).toBeUndefined();
  });

  it('defineXML of the saved inactive XML brings an undefined shut-off domain back, still shut off', async () => {
    const d = domain(SERVERS.batch1);
    const xml = d.XMLDesc(VIR_DOMAIN_XML.INACTIVE | VIR_DOMAIN_XML.SECURE);
    const before = stateDomain(SERVERS.batch1)!.persistentDef;
    await d.undefineFlags(VIR_DOMAIN_UNDEFINE.MANAGED_SAVE);
    await conn.defineXML(xml);
    const vm = stateDomain(SERVERS.batch1)!;
    expect(vm.state).toBe('shutoff');
    expect(vm.persistentDef).toEqual(before);
    expect(vm.managedSave).toBe(false);
  });

  it('defineXML on a running transient domain makes it persistent without touching the live definition', async () => {
    const d = domain(SERVERS.web1);
    const saved = d.XMLDesc(VIR_DOMAIN_XML.INACTIVE | VIR_DOMAIN_XML.SECURE);
    const live = stateDomain(SERVERS.web1)!.def;
    await d.undefine();
    await store.update((s) => {
      stateDomain(SERVERS.web1, s)!.def.disks[1].source = img(VOLS.newWebData);
    });
    await conn.defineXML(saved);
    const vm = stateDomain(SERVERS.web1)!;
    expect(vm.persistentDef!.disks[1].source).toBe(live.disks[1].source);
    expect(vm.def.disks[1].source).toBe(img(VOLS.newWebData));
    expect(vm.state).toBe('running');
  });

  it('defineXML of another name with an existing uuid is refused', async () => {
    const xml = domain(SERVERS.web1).XMLDesc(VIR_DOMAIN_XML.INACTIVE).replace('instance-00000001', 'impostor');
    await expect(conn.defineXML(xml)).rejects.toThrow(`operation failed: domain 'instance-00000001' already exists with uuid ${SERVERS.web1}`);
  });
});

describe('xml.ts: format and parse', () => {
  const def: DomainDef = {
    name: "inst'ance<&>",
    uuid: SERVERS.web1,
    memoryKiB: 2097152,
    vcpus: 2,
    disks: [
      { type: 'file', device: 'disk', driverType: 'raw', source: "/var/lib/it's <here> & there/disk", targetDev: 'vda', targetBus: 'virtio', serial: null, alias: null },
      { type: 'block', device: 'disk', driverType: 'raw', source: '/dev/mapper/vol', targetDev: 'vdb', targetBus: 'virtio', serial: 'd0c1a2b3-x', alias: null },
      { type: 'network', device: 'disk', driverType: 'raw', source: 'rbd:volumes/volume-1:extra', targetDev: 'sdc', targetBus: 'scsi', serial: 's', alias: null },
      { type: 'file', device: 'cdrom', driverType: 'raw', source: '/iso', targetDev: 'hdc', targetBus: 'ide', serial: null, alias: null },
    ],
  };

  it('an inactive definition round-trips exactly (escaping included)', () => {
    expect(parseDomainXml(formatDomainXml(def))).toEqual(def);
  });

  it('the live definition carries the id and aliases, and round-trips them', () => {
    const live = { ...def, disks: def.disks.map((d, i) => ({ ...d, alias: `virtio-disk${i}` })) };
    const xml = formatDomainXml(live, { live: true, id: 7 });
    expect(xml).toMatch(/^<domain type='kvm' id='7'>/);
    expect(parseDomainXml(xml)).toEqual(live);
    expect(formatDomainXml(live)).not.toContain('<alias');
    expect(formatDomainXml(live)).not.toContain(" id='7'");
  });

  it("<driver cache=…> round-trips; without it the attribute is left out (the hypervisor's default)", () => {
    const cached = { ...def, disks: def.disks.map((d, i) => ({ ...d, cache: (['none', 'unsafe', 'directsync', 'writethrough'] as const)[i] })) };
    const xml = formatDomainXml(cached);
    expect(xml).toContain("<driver name='qemu' type='raw' cache='unsafe'/>");
    expect(parseDomainXml(xml)).toEqual(cached);
    // 'default' is libvirt's "no mode": read, it is written back as no attribute
    const dflt = { ...def, disks: [{ ...def.disks[0]!, cache: 'default' as const }] };
    expect(formatDomainXml(dflt)).toContain("<driver name='qemu' type='raw'/>");
    expect(formatDomainXml(dflt)).not.toContain('cache=');
    expect(formatDomainXml(def)).toContain("<driver name='qemu' type='raw'/>");
  });

  it('an unknown cache mode is libvirt\'s config error', () => {
    const xml = formatDomainXml({ ...def, disks: [def.disks[0]] }).replace("type='raw'", "type='raw' cache='turbo'");
    expect(() => parseDomainXml(xml)).toThrow("unsupported configuration: unknown disk cache mode 'turbo'");
  });

  it('a <mirror> in the live XML does not become the disk\'s source', () => {
    const live = { ...def, disks: [def.disks[1]] };
    const xml = formatDomainXml(live, {
      live: true,
      id: 1,
      mirrors: { vdb: { dev: 'vdb', type: 'file', source: '/target', format: 'raw', job: 'copy', ready: true, cur: 1, end: 1, bandwidth: 0, ownerPid: 1, updatedAt: '' } },
    });
    expect(xml).toContain("<mirror type='file' file='/target' format='raw' job='copy' ready='yes'>");
    expect(parseDisks(xml)).toEqual([live.disks[0]]);
  });

  it.each([
    ['a non-domain root', '<network/>', 'XML error: expected root element <domain>'],
    ['no name', `<domain type='kvm'><uuid>u</uuid></domain>`, 'XML error: missing domain name'],
    ['no uuid', `<domain type='kvm'><name>n</name></domain>`, 'XML error: missing domain uuid'],
    ['a disk without target', `<domain type='kvm'><name>n</name><uuid>u</uuid><devices><disk type='file' device='disk'><source file='/x'/></disk></devices></domain>`, 'XML error: missing target information for device'],
  ])('%s is a libvirt XML error', (_n, xml, message) => {
    let err: unknown;
    try {
      parseDomainXml(xml);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LibvirtError);
    expect((err as LibvirtError).code).toBe(VIR_ERR.XML_ERROR);
    expect((err as Error).message).toBe(message);
  });

  it('virDomainGetXMLDesc(INACTIVE) of a running persistent domain is its persistent config, without aliases', () => {
    const d: VirDomain = domain(SERVERS.web1);
    const inactive = d.XMLDesc(VIR_DOMAIN_XML.INACTIVE);
    const live = d.XMLDesc(0);
    expect(inactive).not.toContain('<alias');
    expect(live).toContain("<alias name='virtio-disk1'/>");
    expect(parseDomainXml(inactive)).toEqual(stateDomain(SERVERS.web1)!.persistentDef);
  });
});
