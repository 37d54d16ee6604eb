// src/nova/virt/libvirt/: Nova's libvirt driver. blockinfo.py's bus mapping, guest.py's
// BlockDevice flag arithmetic and Mitaka's wait_for_job (done when cur == end), and
// driver.py's swap_volume/_swap_volume order against a fake Host/Guest.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LibvirtError, VIR_ERR } from '../../../src/libvirt/errors.js';
import { formatDomainXml } from '../../../src/libvirt/xml.js';
import { DiskNotFound, NotImplementedErrorPy, VolumeBDMNotFound } from '../../../src/nova/exception.js';
import { get_disk_bus_for_disk_dev } from '../../../src/nova/virt/libvirt/blockinfo.js';
import { LibvirtDriver } from '../../../src/nova/virt/libvirt/driver.js';
import { BlockDevice, Guest } from '../../../src/nova/virt/libvirt/guest.js';
import type { Host } from '../../../src/nova/virt/libvirt/host.js';
import type { ConnectionInfo } from '../../../src/nova/virt/libvirt/volume.js';
import type { VirDomain, BlockJobInfo } from '../../../src/libvirt/connection.js';
import type { RequestContext } from '../../../src/common/context.js';
import type { StateStore } from '../../../src/state/store.js';
import type { Bdm, Instance, State } from '../../../src/state/types.js';

describe('blockinfo.get_disk_bus_for_disk_dev', () => {
  it.each([
    ['kvm', 'hda', 'ide'],
    ['kvm', 'sdb', 'scsi'],
    ['xen', 'sdb', 'xen'],
    ['kvm', 'vdb', 'virtio'],
    ['kvm', 'vdaa', 'virtio'],
    ['kvm', 'xvdc', 'xen'],
    ['kvm', 'fda', 'fdc'],
    ['uml', 'ubda', 'uml'],
  ])('%s: %s is on the %s bus', (virtType, dev, bus) => {
    expect(get_disk_bus_for_disk_dev(virtType, dev)).toBe(bus);
  });

  it('an unknown prefix is refused; upstream formats only the first character of the name', () => {
    // nova/virt/libvirt/blockinfo.py: _("Unable to determine disk bus for '%s'") % disk_dev[:1]
    expect(() => get_disk_bus_for_disk_dev('kvm', 'nvme0n1')).toThrow("Unable to determine disk bus for 'n'");
  });
});

// ---- guest.py: a fake python-libvirt domain that records what it is asked -------------------

class FakeDomain {
  calls: [string, ...unknown[]][] = [];
  jobInfo: BlockJobInfo[] = [];
  undefineFlagsError: Error | null = null;
  xml = formatDomainXml({
    name: 'instance-00000001',
    uuid: 'u',
    memoryKiB: 1024,
    vcpus: 1,
    disks: [
      { type: 'file', device: 'disk', driverType: 'raw', source: '/i/disk', targetDev: 'vda', targetBus: 'virtio', serial: null, alias: 'virtio-disk0' },
      { type: 'block', device: 'disk', driverType: 'raw', source: '/v/old', targetDev: 'vdb', targetBus: 'virtio', serial: 'old', alias: 'virtio-disk1' },
    ],
  }, { live: true, id: 1 });
  UUIDString() {
    return 'u';
  }
  XMLDesc(flags: number) {
    this.calls.push(['XMLDesc', flags]);
    return this.xml;
  }
  isPersistent() {
    return true;
  }
  async blockRebase(disk: string, base: string, bandwidth: number, flags: number) {
    this.calls.push(['blockRebase', disk, base, bandwidth, flags]);
    return 0;
  }
  async blockJobAbort(disk: string, flags: number) {
    this.calls.push(['blockJobAbort', disk, flags]);
    return 0;
  }
  async blockJobInfo(disk: string, flags: number) {
    this.calls.push(['blockJobInfo', disk, flags]);
    return this.jobInfo.shift() ?? {};
  }
  async blockResize(disk: string, size: number, flags: number) {
    this.calls.push(['blockResize', disk, size, flags]);
    return 0;
  }
  async undefineFlags(flags: number) {
    this.calls.push(['undefineFlags', flags]);
    if (this.undefineFlagsError) throw this.undefineFlagsError;
  }
  async undefine() {
    this.calls.push(['undefine']);
  }
}

function guestOf(d: FakeDomain) {
  return new Guest(d as unknown as VirDomain);
}

describe('guest.BlockDevice: the flag arithmetic of upstream', () => {
  it('REBASE_DEFAULT_BANDWIDTH is 0 (unlimited)', () => {
    expect(BlockDevice.REBASE_DEFAULT_BANDWIDTH).toBe(0);
  });

  it.each([
    [{}, 0],
    [{ shallow: true }, 1],
    [{ reuseExt: true }, 2],
    [{ copy: true }, 8],
    [{ relative: true }, 16],
    [{ copy: true, reuseExt: true }, 10],
    [{ shallow: true, reuseExt: true, copy: true, relative: true }, 27],
  ])('rebase(%j) calls blockRebase with flags %i and bandwidth 0', async (opts, flags) => {
    const d = new FakeDomain();
    await guestOf(d).get_block_device('vdb').rebase('/v/new', opts);
    expect(d.calls).toEqual([['blockRebase', 'vdb', '/v/new', 0, flags]]);
  });

  it.each([
    [false, false, 0],
    [true, false, 1],
    [false, true, 2],
    [true, true, 3],
  ])('abort_job(async=%s, pivot=%s) calls blockJobAbort with flags %i', async (async_, pivot, flags) => {
    const d = new FakeDomain();
    await guestOf(d).get_block_device('vdb').abort_job(async_, pivot);
    expect(d.calls).toEqual([['blockJobAbort', 'vdb', flags]]);
  });

  it('resize(size_kb) is blockResize(disk, size_kb, 0)', async () => {
    const d = new FakeDomain();
    await guestOf(d).get_block_device('vdb').resize(2097152);
    expect(d.calls).toEqual([['blockResize', 'vdb', 2097152, 0]]);
  });

  it('get_job_info maps libvirt\'s dict; "no job" ({}) reads as all zeros', async () => {
    const d = new FakeDomain();
    d.jobInfo = [{ type: 2, bandwidth: 0, cur: 5, end: 9 }, {}];
    const dev = guestOf(d).get_block_device('vdb');
    expect(await dev.get_job_info()).toEqual({ job: 2, bandwidth: 0, cur: 5, end: 9 });
    expect(await dev.get_job_info()).toEqual({ job: 0, bandwidth: 0, cur: 0, end: 0 });
    expect(d.calls.map((c) => c.slice(0, 3))).toEqual([
      ['blockJobInfo', 'vdb', 0],
      ['blockJobInfo', 'vdb', 0],
    ]);
  });

  it.each<[string, BlockJobInfo, boolean, boolean]>([
    ['cur < end: still copying', { type: 2, cur: 3, end: 9 }, false, true],
    ['cur == end: done (Mitaka does not ask whether the mirror is ready)', { type: 2, cur: 9, end: 9 }, false, false],
    ['no job ({}): done', {}, false, false],
    ['libvirt\'s just-started job (0/1): not done', { type: 2, cur: 0, end: 1 }, false, true],
    ['wait_for_job_clean with the job still there (even at cur == end): wait', { type: 2, cur: 9, end: 9 }, true, true],
    ['wait_for_job_clean once the job is gone: done', {}, true, false],
  ])('wait_for_job: %s', async (_n, info, clean, keepWaiting) => {
    const d = new FakeDomain();
    d.jobInfo = [info];
    expect(await guestOf(d).get_block_device('vdb').wait_for_job(false, clean)).toBe(keepWaiting);
  });

  it('get_xml_desc(dump_inactive, dump_sensitive) asks for INACTIVE|SECURE (2|1)', () => {
    const d = new FakeDomain();
    const g = guestOf(d);
    g.get_xml_desc(true, true);
    g.get_xml_desc(true, false);
    g.get_xml_desc();
    expect(d.calls).toEqual([
      ['XMLDesc', 3],
      ['XMLDesc', 2],
      ['XMLDesc', 0],
    ]);
  });

  it('get_disk finds a disk by its target dev, or null', () => {
    const g = guestOf(new FakeDomain());
    expect(g.get_disk('vdb')).toMatchObject({ targetDev: 'vdb', source: '/v/old', serial: 'old' });
    expect(g.get_disk('vdc')).toBeNull();
  });

  it('delete_configuration undefines with VIR_DOMAIN_UNDEFINE_MANAGED_SAVE', async () => {
    const d = new FakeDomain();
    await guestOf(d).delete_configuration();
    expect(d.calls).toEqual([['undefineFlags', 1]]);
  });

  it('delete_configuration retries with plain undefine on a libvirtError, but not on other errors', async () => {
    const d = new FakeDomain();
    d.undefineFlagsError = new LibvirtError(VIR_ERR.NO_SUPPORT, 'virDomainUndefineFlags');
    await guestOf(d).delete_configuration();
    expect(d.calls).toEqual([['undefineFlags', 1], ['undefine']]);
    const d2 = new FakeDomain();
    d2.undefineFlagsError = new TypeError('bug');
    await expect(guestOf(d2).delete_configuration()).rejects.toThrow('bug');
    expect(d2.calls).toEqual([['undefineFlags', 1]]);
  });
});

describe('host.Host.get_guest', () => {
  it('looks the domain up by the instance name (instance-%08x) and maps "no domain" to InstanceNotFound', async () => {
    const { Host: RealHost } = await import('../../../src/nova/virt/libvirt/host.js');
    const names: string[] = [];
    const conn = {
      lookupByName: (n: string) => {
        names.push(n);
        if (n === 'instance-0000002a') return new FakeDomain();
        throw new LibvirtError(VIR_ERR.NO_DOMAIN, `no domain with matching name '${n}'`);
      },
    };
    const host = new RealHost(conn as never);
    expect(host.get_guest({ uuid: 'a', id: 42 } as Instance)).toBeInstanceOf(Guest);
    expect(() => host.get_guest({ uuid: 'b-uuid', id: 43 } as Instance)).toThrow('Instance b-uuid could not be found.');
    expect(names).toEqual(['instance-0000002a', 'instance-0000002b']);
  });
});

// ---- driver.py: swap_volume / _swap_volume with a fake Host and Guest -----------------------

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const OLD = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';
const SAVED_XML = "<domain type='kvm'><name>instance-00000001</name><!-- the pre-swap persistent XML --></domain>";

const ctx = {} as RequestContext;
const instance = { uuid: WEB1, id: 1, host: 'devstack' } as Instance;

interface Script {
  persistent?: boolean;
  disks?: string[];
  /** successive wait_for_job answers (true = keep waiting) */
  waits?: boolean[];
  cleanWaits?: boolean[];
  fail?: Partial<Record<'abort' | 'rebase' | 'pivot' | 'undefine' | 'resize', Error>>;
}

function fakeGuest(log: string[], s: Script) {
  const waits = [...(s.waits ?? [false])];
  const cleanWaits = [...(s.cleanWaits ?? [false])];
  const dev = {
    abort_job: vi.fn(async (async_ = false, pivot = false) => {
      log.push(pivot ? 'pivot' : `abort_job(${async_},${pivot})`);
      const e = pivot ? s.fail?.pivot : s.fail?.abort;
      if (e) throw e;
    }),
    rebase: vi.fn(async (base: string, opts: object) => {
      log.push(`rebase ${base} ${JSON.stringify(opts)}`);
      if (s.fail?.rebase) throw s.fail.rebase;
      return 0;
    }),
    wait_for_job: vi.fn(async (_abortOnError = false, clean = false) => {
      const more = clean ? (cleanWaits.shift() ?? false) : (waits.shift() ?? false);
      log.push(`${clean ? 'wait_for_job_clean' : 'wait_for_job'} → ${more}`);
      return more;
    }),
    resize: vi.fn(async (kb: number) => {
      log.push(`resize ${kb}`);
      if (s.fail?.resize) throw s.fail.resize;
    }),
  };
  const guest = {
    get_disk: vi.fn((d: string) => ((s.disks ?? ['vda', 'vdb']).includes(d) ? { targetDev: d } : null)),
    get_block_device: vi.fn((d: string) => {
      log.push(`get_block_device ${d}`);
      return dev;
    }),
    get_xml_desc: vi.fn((inactive = false, sensitive = false) => {
      log.push(`get_xml_desc(${inactive},${sensitive})`);
      return SAVED_XML;
    }),
    has_persistent_configuration: vi.fn(() => s.persistent ?? true),
    delete_configuration: vi.fn(async () => {
      log.push('delete_configuration');
      if (s.fail?.undefine) throw s.fail.undefine;
    }),
  };
  return { guest, dev };
}

function bdm(volumeId: string, cinfo: unknown): Bdm {
  return {
    id: 2,
    instanceUuid: WEB1,
    deviceName: '/dev/vdb',
    sourceType: 'volume',
    destinationType: 'volume',
    volumeId,
    snapshotId: null,
    imageId: null,
    bootIndex: null,
    deleteOnTermination: false,
    connectionInfo: JSON.stringify(cinfo),
    volumeSize: 1,
    noDevice: null,
    diskBus: null,
    deviceType: null,
  };
}

const oldCinfo: ConnectionInfo = { driver_volume_type: 'local', data: { device_path: `/v/volume-${OLD}` }, serial: OLD };
const newCinfo = (over: Partial<ConnectionInfo> = {}): ConnectionInfo => ({
  driver_volume_type: 'local',
  data: { device_path: `/v/volume-${NEW}` },
  serial: OLD,
  ...over,
});

/** a store for tests that save nothing but the swap's journal steps (no entry here: no-ops) */
function journalOnlyStore(): StateStore {
  const state = { nova: { instances: [], bdms: [] } } as unknown as State;
  return { update: async (fn: (s: State) => unknown) => fn(state) } as unknown as StateStore;
}

function setup(s: Script = {}, pollMs = 1) {
  const log: string[] = [];
  const { guest, dev } = fakeGuest(log, s);
  const host = {
    get_guest: vi.fn(() => guest),
    write_instance_config: vi.fn(async (xml: string) => {
      log.push(`write_instance_config ${xml === SAVED_XML ? 'saved-xml' : xml}`);
      return guest;
    }),
  };
  const state = { nova: { bdms: [bdm(OLD, oldCinfo)] } } as unknown as State;
  const store = {
    update: vi.fn(async (fn: (s: State) => unknown) => {
      // the swap's journal steps (novasim's, no journal entry here) change nothing: not logged
      const before = JSON.stringify(state);
      const r = fn(state);
      if (JSON.stringify(state) !== before) log.push('store.update');
      return r;
    }),
  };
  const driver = new LibvirtDriver(host as unknown as Host, store as unknown as StateStore, { virtType: 'kvm', blockJobPollMs: pollMs });
  const connect = vi.spyOn(driver, '_connect_volume').mockImplementation((info, disk) => void log.push(`connect ${info.serial} ${disk.dev} ${disk.bus}`));
  const disconnect = vi.spyOn(driver, '_disconnect_volume').mockImplementation((info, d) => void log.push(`disconnect ${String(info.data.device_path ?? info.driver_volume_type)} ${d}`));
  return { log, guest, dev, host, state, driver, connect, disconnect };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LibvirtDriver._swap_volume', () => {
  it('saves the persistent XML, aborts any job, undefines, rebases COPY|REUSE_EXT, polls until cur == end, pivots, and defines the saved XML in finally', async () => {
    const { log, driver, guest } = setup({ waits: [true, true, false] });
    await driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 0);
    expect(log).toEqual([
      'get_block_device vdb',
      'get_xml_desc(true,true)',
      'abort_job(false,false)',
      'delete_configuration',
      'rebase /v/new {"copy":true,"reuseExt":true}',
      'wait_for_job → true',
      'wait_for_job → true',
      'wait_for_job → false',
      'pivot',
      'write_instance_config saved-xml',
    ]);
  });

  it('ignores any error of the first (idempotent) abort', async () => {
    const { log, driver, guest } = setup({ fail: { abort: new LibvirtError(VIR_ERR.OPERATION_INVALID, 'No active operation on device: drive-virtio-disk1') } });
    await driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 0);
    expect(log).toContain('pivot');
  });

  it('a transient domain is not undefined', async () => {
    const { log, driver, guest } = setup({ persistent: false });
    await driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 0);
    expect(log).not.toContain('delete_configuration');
    expect(log.at(-1)).toBe('write_instance_config saved-xml');
  });

  it.each(['undefine', 'rebase', 'pivot'] as const)('a failing %s still defines the saved XML, then re-raises', async (step) => {
    const err = new LibvirtError(VIR_ERR.OPERATION_INVALID, `${step} failed`);
    const { log, driver, guest } = setup({ fail: { [step]: err } });
    await expect(driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 0)).rejects.toBe(err);
    expect(log.at(-1)).toBe('write_instance_config saved-xml');
    if (step !== 'pivot') expect(log).not.toContain('pivot');
  });

  it('resize_to: after the pivot waits for the job to be gone, then resizes to resize_to GiB in KiB', async () => {
    const { log, driver, guest } = setup({ cleanWaits: [true, false] });
    await driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 2);
    expect(log.slice(log.indexOf('pivot'))).toEqual([
      'pivot',
      'wait_for_job_clean → true',
      'wait_for_job_clean → false',
      `resize ${2 * 1024 * 1024}`,
      'write_instance_config saved-xml',
    ]);
  });

  it('without resize_to there is no resize and no wait for the job to be cleaned', async () => {
    const { log, driver, guest } = setup();
    await driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 0);
    expect(log.some((l) => l.startsWith('resize') || l.startsWith('wait_for_job_clean'))).toBe(false);
  });

  it('polls the job every 0.5 s by default (Mitaka\'s time.sleep(0.5))', async () => {
    vi.useFakeTimers();
    const log: string[] = [];
    const { guest } = fakeGuest(log, { waits: [true, true, false] });
    const host = { write_instance_config: vi.fn(async () => guest) };
    const driver = new LibvirtDriver(host as unknown as Host, journalOnlyStore());
    const done = driver._swap_volume(guest as unknown as Guest, 'vdb', '/v/new', 0);
    const polls = () => log.filter((l) => l.startsWith('wait_for_job')).length;
    await vi.advanceTimersByTimeAsync(0);
    expect(polls()).toBe(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(polls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(polls()).toBe(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(polls()).toBe(3);
    await done;
    expect(log).toContain('pivot');
  });
});

describe('LibvirtDriver._swap_volume over the real Guest/BlockDevice (a fake python-libvirt domain)', () => {
  it('Mitaka\'s premature pivot: cur == end before READY ends the loop at once, the pivot is refused, the saved XML is defined again', async () => {
    const d = new FakeDomain();
    d.jobInfo = [{ type: 2, bandwidth: 0, cur: 4194304, end: 4194304 }];
    const notReady = new LibvirtError(VIR_ERR.BLOCK_COPY_ACTIVE, "disk 'vdb' not ready for pivot yet");
    const abort = d.blockJobAbort.bind(d);
    d.blockJobAbort = async (disk: string, flags: number) => {
      await abort(disk, flags);
      if (flags & 2) throw notReady;
      return 0;
    };
    const defined: string[] = [];
    const host = { write_instance_config: vi.fn(async (xml: string) => void defined.push(xml)) };
    const driver = new LibvirtDriver(host as unknown as Host, journalOnlyStore());
    const err = await driver._swap_volume(guestOf(d), 'vdb', '/v/new', 0).catch((e) => e);
    expect(err).toBe(notReady);
    expect(err.message).toBe("block copy still active: disk 'vdb' not ready for pivot yet");
    expect(d.calls).toEqual([
      ['XMLDesc', 3],
      ['blockJobAbort', 'vdb', 0],
      ['undefineFlags', 1],
      ['blockRebase', 'vdb', '/v/new', 0, 10],
      ['blockJobInfo', 'vdb', 0],
      ['blockJobAbort', 'vdb', 2],
    ]);
    expect(defined).toEqual([d.xml]);
  });
});

describe('LibvirtDriver.swap_volume', () => {
  it('connects the new volume on the bus its name implies, saves new_cinfo into the BDM found by its serial, swaps, then disconnects the old volume', async () => {
    const { log, driver, state, dev } = setup();
    const info = newCinfo();
    await driver.swap_volume(ctx, oldCinfo, info, instance, '/dev/vdb', 0);
    expect(log[0]).toBe(`connect ${OLD} vdb virtio`);
    expect(log[1]).toBe('store.update');
    expect(JSON.parse(state.nova.bdms[0].connectionInfo!)).toEqual(info);
    expect(dev.rebase).toHaveBeenCalledWith(`/v/volume-${NEW}`, { copy: true, reuseExt: true });
    expect(log.at(-2)).toBe('write_instance_config saved-xml');
    expect(log.at(-1)).toBe(`disconnect /v/volume-${OLD} vdb`);
  });

  it('uses the part of the mountpoint after the last "/"', async () => {
    const { driver, guest, dev } = setup();
    await driver.swap_volume(ctx, oldCinfo, newCinfo(), instance, 'vdb', 0);
    await driver.swap_volume(ctx, oldCinfo, newCinfo(), instance, '/dev/disk/vdb', 0);
    expect(guest.get_disk.mock.calls.map((c) => c[0])).toEqual(['vdb', 'vdb']);
    expect(dev.rebase).toHaveBeenCalledTimes(2);
  });

  it('no such disk in the guest: DiskNotFound "No disk at vdc", nothing connected', async () => {
    const { log, driver } = setup({ disks: ['vda'] });
    const err = await driver.swap_volume(ctx, oldCinfo, newCinfo(), instance, '/dev/vdc', 0).catch((e) => e);
    expect(err).toBeInstanceOf(DiskNotFound);
    expect(err.message).toBe('No disk at vdc');
    expect(log).toEqual([]);
  });

  it('an unknown device prefix fails before connecting', async () => {
    const { log, driver } = setup({ disks: ['nvme0n1'] });
    await expect(driver.swap_volume(ctx, oldCinfo, newCinfo(), instance, '/dev/nvme0n1', 0)).rejects.toThrow("Unable to determine disk bus for 'n'");
    expect(log).toEqual([]);
  });

  it('a network volume (rbd, no source_path): disconnects the new volume and raises NotImplementedError "Swap only supports host devices"', async () => {
    const { log, driver, dev } = setup();
    const rbd = newCinfo({ driver_volume_type: 'rbd', data: { name: 'volumes/volume-x' } });
    const err = await driver.swap_volume(ctx, oldCinfo, rbd, instance, '/dev/vdb', 0).catch((e) => e);
    expect(err).toBeInstanceOf(NotImplementedErrorPy);
    expect(err.message).toBe('Swap only supports host devices');
    expect(log).toEqual([`connect ${OLD} vdb virtio`, 'disconnect rbd vdb']);
    expect(dev.rebase).not.toHaveBeenCalled();
  });

  it('the BDM lookup by serial misses (a second swap: the serial names a volume no BDM has): VolumeBDMNotFound, no copy', async () => {
    const { driver, dev } = setup();
    const first = 'ffffffff-0000-4000-8000-000000000001';
    const err = await driver.swap_volume(ctx, oldCinfo, newCinfo({ serial: first }), instance, '/dev/vdb', 0).catch((e) => e);
    expect(err).toBeInstanceOf(VolumeBDMNotFound);
    expect(err.message).toBe(`No volume Block Device Mapping with id ${first}.`);
    expect(dev.rebase).not.toHaveBeenCalled();
  });

  it('a failed copy is not followed by disconnecting the old volume', async () => {
    const { log, driver } = setup({ fail: { rebase: new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running') } });
    await expect(driver.swap_volume(ctx, oldCinfo, newCinfo(), instance, '/dev/vdb', 0)).rejects.toThrow('domain is not running');
    expect(log.some((l) => l.startsWith('disconnect'))).toBe(false);
  });

  it('passes resize_to through to the copy (KiB of GiB)', async () => {
    const { driver, dev } = setup();
    await driver.swap_volume(ctx, oldCinfo, newCinfo(), instance, '/dev/vdb', 3);
    expect(dev.resize).toHaveBeenCalledWith(3 * 1024 * 1024);
  });
});

describe('LibvirtDriver cache modes: CONF.libvirt.disk_cachemodes and _set_cache_mode', () => {
  function attachSetup(diskCachemodes?: string[]) {
    const attached: unknown[] = [];
    const guest = { attach_device: vi.fn(async (disk: unknown) => void attached.push(disk)), is_active: () => true };
    const host = { get_guest: () => guest } as unknown as Host;
    const store = { path: '/tmp/novasim-driver-test/state.json' } as StateStore;
    const driver = new LibvirtDriver(host, store, { virtType: 'kvm', blockJobPollMs: 1, diskCachemodes });
    return { driver, attached };
  }

  it('parses source_type=cache_mode items; an invalid mode is skipped (Nova only warns)', () => {
    const { driver } = attachSetup(['block=unsafe', 'file=writeback', 'network=fast', 'block=directsync']);
    expect(Object.fromEntries(driver.disk_cachemodes)).toEqual({ block: 'directsync', file: 'writeback' });
  });

  it('a volume is attached with get_config\'s "none" unless disk_cachemodes names its source type', async () => {
    for (const [conf, cache] of [
      [undefined, 'none'],
      [['file=unsafe'], 'none'],
      [['block=unsafe'], 'unsafe'],
      [['block=writethrough'], 'writethrough'],
    ] as const) {
      const { driver, attached } = attachSetup(conf ? [...conf] : undefined);
      await driver.attach_volume(ctx, newCinfo(), instance, '/dev/vdc');
      expect(attached, JSON.stringify(conf)).toEqual([expect.objectContaining({ type: 'block', targetDev: 'vdc', source: `/v/volume-${NEW}`, cache })]);
    }
  });

  it('_set_cache_mode leaves a disk alone when its source type is not configured', () => {
    const { driver } = attachSetup(['block=unsafe']);
    const conf = { sourceType: 'network', driverCache: 'none' as const };
    driver._set_cache_mode(conf);
    expect(conf.driverCache).toBe('none');
  });
});
