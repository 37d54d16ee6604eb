// `nova-sim fault`: rules kept in the state, armed in each process that reads it, and what a
// firing means at each layer — Cinder answers HTTP 500 (webob's generic explanation, or the
// --error text) before it changes anything, the bus drops a cast (nova-compute down), the
// volume driver raises os-brick's error, libvirtd raises libvirtError with the code and
// message libvirt gives for that call (blockJobAbort fires only with PIVOT), and the state's
// own writes fail with ENOSPC/EIO. The command refuses unknown points and nonsense counts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCinderApi } from '../../src/cinder/api.js';
import { VolumeBackend } from '../../src/cinder/backend.js';
import { CINDER_GENERIC_500 } from '../../src/cinder/faults.js';
import type { RequestContext } from '../../src/common/context.js';
import { armFaults, FAULT_POINTS, type FaultRule } from '../../src/common/faults.js';
import { LibvirtConnection } from '../../src/libvirt/connection.js';
import { LibvirtError, VIR_ERR } from '../../src/libvirt/errors.js';
import { LIBVIRT_FAULTS } from '../../src/libvirt/faults.js';
import { VIR_DOMAIN_BLOCK_JOB_ABORT as ABORT } from '../../src/libvirt/flags.js';
import { connectVolume, type ConnectionInfo } from '../../src/nova/virt/libvirt/volume.js';
import { interruptedNotices } from '../../src/novasim/doctor.js';
import { addFault, clearFaults, FaultArgumentError, listFaults, planFaultCommand, ruleFromOptions, type FaultOptions } from '../../src/novasim/fault.js';
import { initWorld } from '../../src/novasim/world.js';
import { MessageBus } from '../../src/rpc/bus.js';
import { StateStore, StateWriteError } from '../../src/state/store.js';
import type { State } from '../../src/state/types.js';
import { SERVERS, VOLS } from '../support/world.js';

const rule = (point: FaultRule['point'], over: Partial<FaultRule> = {}): FaultRule => ({ point, error: null, times: null, afterBytes: null, ...over });
const opts = (over: Partial<FaultOptions>): FaultOptions => ({ action: 'add', point: null, error: null, once: false, times: null, afterBytes: null, ...over });

/** the argument a refused command line names, and its message */
function refusal(o: Partial<FaultOptions>): { argument: string; message: string } {
  try {
    planFaultCommand(opts(o));
  } catch (e) {
    if (e instanceof FaultArgumentError) return { argument: e.argument, message: e.message };
    throw e;
  }
  throw new Error('accepted');
}

afterEach(() => armFaults([]));

describe('nova-sim fault add: what it accepts, and what it refuses (usage errors, exit 2)', () => {
  it('an unknown point is refused with the list of points', () => {
    const r = refusal({ point: 'cinder.reserve' });
    expect(r.argument).toBe('<point>');
    for (const p of FAULT_POINTS) expect(r.message).toContain(p);
    expect(r.message).not.toContain('\n');
    expect(refusal({ point: 'constructor' }).argument).toBe('<point>');
    expect(refusal({ point: null }).argument).toBe('<point>');
  });

  it.each(['0', '-1', '1.5', 'abc', '', '1e3', '99999999999', '0x10'])('--times %j is refused', (t) => {
    expect(refusal({ point: 'rpc.cast', times: t }).argument).toBe('--times');
  });

  it('--once with --times, --after-bytes off state.write, --error on rpc.cast, a bad state.write errno, a multi-line text: refused', () => {
    expect(refusal({ point: 'rpc.cast', once: true, times: '2' })).toMatchObject({ argument: '--times', message: 'not allowed with argument --once' });
    expect(refusal({ point: 'libvirt.defineXML', afterBytes: '10' }).argument).toBe('--after-bytes');
    expect(refusal({ point: 'state.write', afterBytes: '-1' }).argument).toBe('--after-bytes');
    expect(refusal({ point: 'rpc.cast', error: 'x' }).argument).toBe('--error');
    expect(refusal({ point: 'state.write', error: 'EPERM' }).argument).toBe('--error');
    expect(refusal({ point: 'cinder.reserve_volume', error: 'a\nb' }).argument).toBe('--error');
    expect(refusal({ point: 'cinder.reserve_volume', error: 'x'.repeat(501) }).argument).toBe('--error');
    expect(refusal({ action: 'list', point: 'rpc.cast' }).argument).toBe('<point>');
    expect(refusal({ action: 'clear', once: true }).argument).toBe('--once');
    expect(refusal({ action: 'toString' }).argument).toBe('<action>');
  });

  it('builds the rule: --once is times 1, every time is null, state.write errnos are normalised', () => {
    expect(ruleFromOptions(opts({ point: 'libvirt.blockRebase', once: true }))).toEqual(rule('libvirt.blockRebase', { times: 1 }));
    expect(ruleFromOptions(opts({ point: 'rpc.cast', times: '3' }))).toEqual(rule('rpc.cast', { times: 3 }));
    expect(ruleFromOptions(opts({ point: 'state.write', error: 'eio', afterBytes: '100' }))).toEqual(rule('state.write', { error: 'EIO', afterBytes: 100 }));
    expect(ruleFromOptions(opts({ point: 'state.write', error: 'SHORT' }))).toEqual(rule('state.write', { error: 'short' }));
  });
});

describe('the rules in the state', () => {
  let dir = '';
  let statePath = '';
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'novasim-faults-'));
    statePath = join(dir, 'state.json');
    await initWorld(statePath, 'empty', false);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const saved = (): State => JSON.parse(readFileSync(statePath, 'utf8')) as State;

  it('add says what was set and that counts are per command; a second add at a point replaces its rule', async () => {
    const line = await addFault(statePath, rule('cinder.reserve_volume', { times: 2 }));
    expect(line).toBe(`fault set: cinder.reserve_volume: cinder-api answers HTTP 500 "${CINDER_GENERIC_500}", fires the first 2 times it is reached in each command`);
    expect(await addFault(statePath, rule('cinder.reserve_volume', { times: 1, error: 'boom' }))).toMatch(/HTTP 500 "boom", fires the first time it is reached in each command \(replaces/);
    expect(saved().faults).toEqual([rule('cinder.reserve_volume', { times: 1, error: 'boom' })]);
    expect(listFaults(statePath).rows).toEqual([['cinder.reserve_volume', 'cinder-api answers HTTP 500 "boom"', 'fires the first time it is reached in each command']]);
  });

  it('clear removes one point\'s rule or all; the key leaves the state with the last rule', async () => {
    await addFault(statePath, rule('rpc.cast'));
    await addFault(statePath, rule('libvirt.undefine'));
    expect(await clearFaults(statePath, 'rpc.cast')).toBe('fault cleared: rpc.cast');
    expect(await clearFaults(statePath, 'rpc.cast')).toBe('no fault set at rpc.cast');
    expect(saved().faults?.map((r) => r.point)).toEqual(['libvirt.undefine']);
    expect(await clearFaults(statePath, null)).toBe('faults cleared: 1 rule');
    expect('faults' in saved()).toBe(false);
    expect(await clearFaults(statePath, null)).toBe('no faults set');
  });

  it('a state.write rule fails every other save with one line and the old bytes kept, yet can always be cleared', async () => {
    await addFault(statePath, rule('state.write', { afterBytes: 50 }));
    const before = readFileSync(statePath, 'utf8');
    const store = new StateStore(statePath);
    await expect(store.update((s) => void (s.host = 'elsewhere'))).rejects.toThrow(StateWriteError);
    await expect(store.update((s) => void (s.host = 'elsewhere'))).rejects.toThrow(/No space left on device \(ENOSPC\); the state file is unchanged$/);
    expect(readFileSync(statePath, 'utf8')).toBe(before);
    expect(await clearFaults(statePath, 'state.write')).toBe('fault cleared: state.write');
    await store.update((s) => void (s.host = 'elsewhere'));
    expect(saved().host).toBe('elsewhere');
  });

  it('--once counts in each process: the first save of this one fails, the next succeeds', async () => {
    await addFault(statePath, rule('state.write', { times: 1, error: 'EIO' }));
    const store = new StateStore(statePath);
    await expect(store.update((s) => void (s.host = 'a'))).rejects.toThrow(/Input\/output error \(EIO\)/);
    await store.update((s) => void (s.host = 'b'));
    expect(saved().host).toBe('b');
  });
});

describe('what a firing means at each layer', () => {
  const ctx: RequestContext = { requestId: 'req-1', userId: 'u', userName: 'admin', projectId: 'p', projectName: 'demo', roles: ['admin'], isAdmin: true };

  it('rpc.cast: the cast is taken and never delivered (nova-compute down); --once drops only the first', async () => {
    armFaults([rule('rpc.cast', { times: 1 })]);
    const bus = new MessageBus();
    const got: string[] = [];
    bus.listen('compute', 'devstack', async (_c, method) => void got.push(method));
    expect(() => bus.cast(ctx, 'compute', 'devstack', 'swap_volume', { instance: 'i' })).not.toThrow();
    await bus.drain();
    expect(got).toEqual([]);
    bus.cast(ctx, 'compute', 'devstack', 'detach_volume', { instance: 'i' });
    await bus.drain();
    expect(got).toEqual(['detach_volume']);
  });

  it("driver.connect_volume: os-brick's VolumeDeviceNotFound, or BrickException with the text", () => {
    const info: ConnectionInfo = { driver_volume_type: 'local', data: { device_path: '/dev/sdx' } };
    expect(() => connectVolume(info)).not.toThrow();
    armFaults([rule('driver.connect_volume')]);
    expect(() => connectVolume(info)).toThrow(expect.objectContaining({ kind: 'VolumeDeviceNotFound', message: 'Volume device not found at /dev/sdx.' }));
    armFaults([rule('driver.connect_volume', { error: 'iscsiadm: No session found.' })]);
    expect(() => connectVolume(info)).toThrow(expect.objectContaining({ kind: 'BrickException', message: 'iscsiadm: No session found.' }));
  });

  it('every libvirt point has a libvirtError of its own code, prefixed as libvirt formats it', () => {
    const site = { domain: 'instance-00000001', disk: 'vdb', path: '/images/volume-x' };
    for (const [point, f] of Object.entries(LIBVIRT_FAULTS)) {
      const err = f.default(site);
      expect(err, point).toBeInstanceOf(LibvirtError);
      expect(err.code, point).toBe(f.code);
    }
    expect(LIBVIRT_FAULTS['libvirt.blockJobAbort.pivot'].default(site).message).toBe('operation failed: failed to pivot job for disk vdb');
    expect(LIBVIRT_FAULTS['libvirt.blockRebase'].default(site).message).toBe("internal error: unable to execute QEMU command 'drive-mirror': Could not open '/images/volume-x': Permission denied");
  });

  describe('Cinder and libvirt on a world', () => {
    let dir = '';
    let statePath = '';
    let store: StateStore;
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'novasim-faults-'));
      statePath = join(dir, 'state.json');
      await initWorld(statePath, 'default', false);
      store = new StateStore(statePath);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const setRules = (...rules: FaultRule[]) => store.update((s) => void (s.faults = rules));

    it("cinder.reserve_volume: HTTP 500 with webob's generic computeFault, and the volume is still available", async () => {
      await setRules(rule('cinder.reserve_volume'));
      const handler = createCinderApi(store, new VolumeBackend(statePath));
      const send = (body: unknown) =>
        handler({ method: 'POST', url: `http://127.0.0.1:8776/v2/demo/volumes/${VOLS.spare}/action`, headers: { 'X-Auth-Token': 'admin:demo', 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const res = await send({ 'os-reserve': null });
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body ?? '')).toEqual({ computeFault: { code: 500, message: CINDER_GENERIC_500 } });
      expect(store.read().cinder.volumes.find((v) => v.id === VOLS.spare)?.status).toBe('available');
      // only the point's action fails
      expect((await send({ 'os-begin_detaching': null })).status).toBe(400);
      await setRules(rule('cinder.initialize_connection', { error: 'iSCSI target not reachable' }));
      const init = await send({ 'os-initialize_connection': { connector: {} } });
      expect([init.status, JSON.parse(init.body ?? '')]).toEqual([500, { computeFault: { code: 500, message: 'iSCSI target not reachable' } }]);
    });

    it('libvirt.blockJobAbort.pivot fires on the PIVOT call only; a plain abort reaches QEMU', async () => {
      await setRules(rule('libvirt.blockJobAbort.pivot'));
      const conn = new LibvirtConnection(store);
      try {
        const dom = conn.lookupByName('instance-00000001');
        // no job on vdb: the plain abort gets QEMU's answer, the pivot the fault's
        await expect(dom.blockJobAbort('vdb', 0)).rejects.toMatchObject({ code: VIR_ERR.OPERATION_INVALID, message: expect.stringContaining('No active operation') });
        await expect(dom.blockJobAbort('vdb', ABORT.PIVOT)).rejects.toMatchObject({ code: VIR_ERR.OPERATION_FAILED, message: 'operation failed: failed to pivot job for disk vdb' });
      } finally {
        await conn.close();
      }
    });

    it('libvirt.undefine and libvirt.defineXML fail before the domain changes', async () => {
      await setRules(rule('libvirt.undefine', { error: 'cannot remove config: Read-only file system' }), rule('libvirt.defineXML'));
      const conn = new LibvirtConnection(store);
      try {
        const dom = conn.lookupByName('instance-00000001');
        const xml = dom.XMLDesc(0);
        await expect(dom.undefineFlags(0)).rejects.toMatchObject({ kind: 'libvirtError', code: VIR_ERR.SYSTEM_ERROR, message: 'cannot remove config: Read-only file system' });
        expect(dom.isPersistent()).toBe(true);
        await expect(conn.defineXML(xml)).rejects.toMatchObject({ message: "cannot write data to file '/etc/libvirt/qemu/instance-00000001.xml.new': No space left on device" });
      } finally {
        await conn.close();
      }
    });
  });
});

describe("the next command's notice after a swap that stopped before libvirt was touched", () => {
  it('names the stuck volumes and not a transient domain (the domain was never undefined)', () => {
    const op = (step: string) => ({
      id: 'req-1',
      kind: 'swap' as const,
      instance: SERVERS.web1,
      volumes: [VOLS.webData, VOLS.newWebData],
      device: '/dev/vdb',
      pid: 2 ** 22 + 1,
      startedAt: '',
      updatedAt: '',
      step,
    });
    const s = { nova: { instances: [] }, cinder: { volumes: [] }, operations: [op('cinder.reserved'), op('libvirt.mirroring')] } as unknown as State;
    const [beforeUndefine, midCopy] = interruptedNotices(s);
    expect(beforeUndefine).toContain("the volumes stay 'detaching'/'attaching'");
    expect(beforeUndefine).not.toContain('transient');
    expect(midCopy).toContain('the domain stays transient');
  });
});
