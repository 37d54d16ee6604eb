// `nova --trace-file` on the whole stack, in process: the spans come from the code that
// runs, so a successful swap walks every function the seed names, in the seed's order, and
// a failed one shows the except/finally branches and what they rolled back. The services'
// log files carry the request id from nova-api down to the QEMU monitor.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embeddedConnector } from '../../src/novaclient/embedded.js';
import { NovaShell } from '../../src/novaclient/shell.js';
import { readLogs, SERVICES } from '../../src/novasim/logs.js';
import { initWorld } from '../../src/novasim/world.js';
import { tracer } from '../../src/trace/tracer.js';
import { captureIO } from '../unit/novaclient/fake_cloud.js';
import { VOLS } from '../support/world.js';

/** The seed (000_772aedff8e4e7571.txt) in its order: each function it names that runs for
 * `nova volume-update` against the v2.1 API. Not listed: the legacy_v2 controller and its
 * extension descriptor (the /v2.1 endpoint does not load them), and Volumes.get_resources(),
 * which runs once when nova-api starts (checked separately below). */
export const SEED_ORDER = [
  'do_volume_update() @novaclient/v2/shell.py',
  'VolumeManager.update_server_volume() @novaclient/v2/volumes.py',
  'Manager._update() @novaclient/base.py',
  'VolumeAttachmentController.update() @nova/api/openstack/compute/volumes.py',
  'API.swap_volume() @nova/compute/api.py',
  'ComputeAPI.swap_volume() @nova/compute/rpcapi.py',
  'ComputeManager.swap_volume() @nova/compute/manager.py',
  'ComputeManager._swap_volume() @nova/compute/manager.py',
  'LibvirtDriver.swap_volume() @nova/virt/libvirt/driver.py',
  'LibvirtDriver._swap_volume() @nova/virt/libvirt/driver.py',
  'BlockDevice.rebase() @nova/virt/libvirt/guest.py',
  'virDomain.blockRebase() @libvirt.py',
  'virDomainBlockRebase() @src/libvirt-domain.c',
  'qemuDomainBlockRebase() @src/qemu/qemu_driver.c',
  'qemuDomainBlockCopyCommon() @src/qemu/qemu_driver.c',
  'qemuMonitorDriveMirror() @src/qemu/qemu_monitor.c',
  'qemuMonitorJSONDriveMirror() @src/qemu/qemu_monitor_json.c',
];

interface JsonSpan {
  id: number;
  parent: number | null;
  name: string;
  location: string;
  layer: string;
  service: string;
  kind: string;
  start: number;
  duration: number;
  attributes: Record<string, unknown>;
  status: string;
  /** the inner span of one call that stands for several upstream frames */
  sameCallAs?: number;
  result?: unknown;
  error?: { type: string; message: string };
  events?: { name: string; attributes: Record<string, unknown> }[];
}

let dir: string;
let statePath: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-trace-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function nova(args: string[], format: 'json' | 'mermaid' = 'json') {
  const file = join(dir, `trace.${format}`);
  const io = captureIO({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' });
  const code = await new NovaShell(io, embeddedConnector).main(['--state', statePath, '--trace-file', file, '--trace-format', format, ...args]);
  return { code, stderr: io.stderr, text: readFileSync(file, 'utf8') };
}

async function traceOf(args: string[]) {
  const r = await nova(args);
  const spans = (JSON.parse(r.text) as { spans: JsonSpan[] }).spans;
  const byId = new Map(spans.map((s) => [s.id, s]));
  const label = (s: JsonSpan) => `${s.name} @${s.location}`;
  const ancestors = (s: JsonSpan): JsonSpan[] => {
    const out: JsonSpan[] = [];
    for (let p = s.parent === null ? undefined : byId.get(s.parent); p; p = p.parent === null ? undefined : byId.get(p.parent)) out.unshift(p);
    return out;
  };
  const find = (name: string) => spans.filter((s) => s.name === name);
  return { ...r, spans, label, ancestors, find };
}

describe('nova --trace-file on a successful swap', () => {
  it('walks every function the seed names, in the seed order, each the caller of the next', async () => {
    const t = await traceOf(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    expect(t.code).toBe(0);
    expect(tracer.active).toBe(false);
    // a function that ran is a span of its own call: the inner spans of one call that
    // stands for several upstream frames (sameCallAs) are not counted as functions
    const labels = t.spans.map((s) => (s.sameCallAs === undefined ? t.label(s) : `(same call as ${s.sameCallAs}) ${t.label(s)}`));
    const firstIndex = SEED_ORDER.map((name) => labels.indexOf(name));
    expect(firstIndex.every((i) => i >= 0), `missing: ${SEED_ORDER.filter((_, k) => firstIndex[k] < 0).join(', ')}`).toBe(true);
    expect([...firstIndex].sort((a, b) => a - b)).toEqual(firstIndex);
    // not a list printed beside the code: the drive-mirror's callers are the seed's chain
    const jsonMirror = t.spans.find((s) => t.label(s) === SEED_ORDER[SEED_ORDER.length - 1])!;
    const chain = t.ancestors(jsonMirror).map(t.label);
    expect(SEED_ORDER.slice(0, -1).every((name) => chain.includes(name))).toBe(true);
    expect(SEED_ORDER.slice(0, -1).map((n) => chain.indexOf(n))).toEqual([...SEED_ORDER.slice(0, -1).map((n) => chain.indexOf(n))].sort((a, b) => a - b));
    // nova-api's routes were built at start-up, by Volumes.get_resources()
    const gr = t.find('Volumes.get_resources()');
    expect(gr).toHaveLength(1);
    expect(gr[0].start).toBeLessThan(t.find('do_volume_update()')[0].start);
  });

  it('shows the HTTP request and response, the cast crossing to nova-compute, Cinder, libvirt flags and the QMP JSON', async () => {
    const t = await traceOf(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    const put = t.spans.find((s) => s.kind === 'http-client' && s.attributes.method === 'PUT')!;
    expect(put.attributes.body).toEqual({ volumeAttachment: { volumeId: VOLS.newWebData } });
    expect(put.result).toMatch(/^HTTP 202 req-/);
    const server = t.spans.find((s) => s.parent === put.id)!;
    expect([server.kind, server.service, server.result]).toEqual(['http-server', 'nova-api', 202]);

    const [dispatch] = t.find('RPCDispatcher.dispatch()');
    const cast = t.spans.find((s) => s.id === dispatch.parent)!;
    expect([cast.name, cast.service, dispatch.service, dispatch.attributes.method]).toEqual(['RPCClient.cast()', 'nova-api', 'nova-compute', 'swap_volume']);
    expect(dispatch.start).toBeGreaterThan(server.start + server.duration); // after the 202

    const cinder = t.spans.filter((s) => s.location === 'nova/volume/cinder.py').map((s) => s.name);
    for (const call of ['API.check_detach()', 'API.check_attach()', 'API.begin_detaching()', 'API.reserve_volume()', 'API.initialize_connection()', 'API.terminate_connection()', 'API.migrate_volume_completion()']) {
      expect(cinder).toContain(call);
    }
    expect(t.find('VolumeActionsController._reserve()')[0].result).toBe('202, volume status attaching');

    expect(t.find('virDomain.blockRebase()')[0].attributes).toMatchObject({ disk: 'vdb', bandwidth: 0, flags: 'REUSE_EXT|COPY' });
    const mirror = t.find('qmp_drive_mirror()')[0];
    expect([mirror.service, t.spans.find((s) => s.id === mirror.parent)!.name]).toEqual(['qemu', 'qemuMonitorJSONDriveMirror()']);
    expect(JSON.parse(String(mirror.attributes.command))).toMatchObject({ execute: 'drive-mirror', arguments: { device: 'drive-virtio-disk1', sync: 'full', mode: 'existing' } });
    expect(JSON.parse(String(mirror.result))).toMatchObject({ return: {} });
    expect(t.find('QMP event BLOCK_JOB_READY')).toHaveLength(1);
    const pivot = t.find('virDomain.blockJobAbort()').find((s) => s.attributes.flags === 'PIVOT')!;
    expect(t.spans.some((s) => s.name === 'qmp_block_job_complete()' && t.ancestors(s).some((a) => a.id === pivot.id))).toBe(true);
    expect(t.find('BlockDevice.wait_for_job()').length).toBeGreaterThanOrEqual(1);
    expect(t.find('virConnect.defineXML()')).toHaveLength(1);
    expect(t.spans.every((s) => s.status === 'ok' || s.name.includes('abort') || s.name.includes('Abort') || s.name === 'qmp_block_job_cancel()')).toBe(true);
  });

  it('writes a mermaid sequenceDiagram of the services', async () => {
    const r = await nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], 'mermaid');
    const lines = r.text.trimEnd().split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    const participants = lines.filter((l) => /^ {4}participant /.test(l)).map((l) => l.trim().split(' as ')[1]);
    expect(participants).toEqual(['novaclient', 'nova-api', 'nova-compute', 'cinder', 'libvirt', 'qemu']);
    const ids = new Set(['NC', 'API', 'CMP', 'CIN', 'LV', 'QEMU']);
    const body = lines.slice(1 + participants.length);
    for (const l of body) {
      const m = /^ {4}(?:(\w+)(->>|-->>|-\)|--\))(\w+): (.+)|Note over (\w+): (.+))$/.exec(l);
      expect(m, l).not.toBeNull();
      const used = m![5] ? [m![5]] : [m![1], m![3]];
      for (const p of used) expect(ids.has(p), l).toBe(true);
      expect(l).not.toMatch(/;/);
    }
    const order = [/^ {4}NC->>API: PUT \/v2\.1\/servers\//, /^ {4}API->>CIN: POST .*os-begin_detaching/, /^ {4}API-->>NC: 202$/, /^ {4}API-\)CMP: cast swap_volume/, /^ {4}CMP->>CIN: POST .*os-initialize_connection/, /^ {4}CMP->>LV: virDomainBlockRebase\(/, /^ {4}LV->>QEMU: .*drive-mirror/, /^ {4}QEMU--\)LV: BLOCK_JOB_READY/, /^ {4}LV->>QEMU: .*block-job-complete/, /^ {4}CMP->>CIN: POST .*os-migrate_volume_completion/];
    let at = 0;
    for (const re of order) {
      const i = body.findIndex((l, k) => k >= at && re.test(l));
      expect(i, String(re)).toBeGreaterThanOrEqual(0);
      at = i;
    }
  });

  it('logs the request in every service, nova-api to the QEMU monitor, under one request id', async () => {
    const r = await nova(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    const rid = /"result": "HTTP 202 (req-[0-9a-f-]+)"/.exec(r.text)![1];
    const entries = readLogs(statePath, [...SERVICES], rid);
    const services = new Set(entries.map((e) => e.service));
    expect([...SERVICES].filter((s) => !services.has(s))).toEqual([]);
    const qmp = entries.filter((e) => e.service === 'qemu-monitor').map((e) => e.lines[0]);
    expect(qmp.some((l) => l.includes(`[${rid} `) && l.includes('"execute":"drive-mirror"'))).toBe(true);
    expect(entries.find((e) => e.service === 'nova-compute')!.lines[0]).toMatch(/ INFO nova\.compute\.manager \[req-\S+ \S+ \S+\] \[instance: \S+\] Swapping volume /);
  });
});

describe('nova --trace-file on a swap that fails after the 202 (a stopped server)', () => {
  it('shows which except/finally branches ran and what they rolled back', async () => {
    const t = await traceOf(['volume-update', 'batch-1', 'batch-data', 'spare']);
    expect(t.code).toBe(1);
    const [rebase] = t.find('virDomain.blockRebase()');
    expect(rebase.status).toBe('error');
    expect(rebase.error!.message).toMatch(/^Domain not found: no domain with matching uuid/);

    // LibvirtDriver._swap_volume: the finally branch defines the saved XML again
    const [drv] = t.find('LibvirtDriver._swap_volume()');
    expect(drv.events!.map((e) => e.name)).toEqual(['except Exception: pass', 'finally: write_instance_config(saved xml)']);
    const define = t.find('Host.write_instance_config()')[0];
    expect([define.parent, define.status]).toEqual([drv.id, 'ok']);

    // ComputeManager._swap_volume: except rolls the volumes back, finally tells Cinder it failed
    const [mgr] = t.find('ComputeManager._swap_volume()');
    expect(mgr.status).toBe('error');
    expect(mgr.events!.map((e) => e.name)).toEqual(['except Exception: failed = True (save_and_reraise_exception)', 'finally:']);
    expect(mgr.events![0].attributes.rollback).toBe(`roll_detaching(${VOLS.batchData}), unreserve_volume(${VOLS.spare})`);
    expect(mgr.events![1].attributes).toMatchObject({ failed: true, terminate_connection: VOLS.spare, migrate_volume_completion: 'error=True' });
    const children = t.spans.filter((s) => s.parent === mgr.id).map((s) => s.name);
    expect(children).toEqual([
      'ComputeManager._init_volume_connection()',
      'LibvirtDriver.swap_volume()',
      'API.roll_detaching()',
      'API.unreserve_volume()',
      'API.terminate_connection()',
      'API.migrate_volume_completion()',
    ]);
    expect(t.find('API.migrate_volume_completion()')[0].attributes.error).toBe(true);
    expect(t.find('VolumeActionsController._roll_detaching()')[0].result).toBe('202, volume status in-use');
    expect(t.find('VolumeActionsController._unreserve()')[0].result).toBe('202, volume status available');
    expect(t.find('RPCDispatcher.dispatch()')[0].status).toBe('error');

    // and nova-compute.log has it the way an operator finds it
    const log = readLogs(statePath, ['nova-compute']).flatMap((e) => e.lines).join('\n');
    expect(log).toMatch(/ERROR nova\.compute\.manager \[req-\S+ \S+ \S+\] \[instance: \S+\] Failed to swap volume /);
    expect(log).toMatch(/ERROR nova\.compute\.manager \[instance: \S+\] libvirtError: Domain not found/);
    expect(log).toMatch(/ERROR oslo_messaging\.rpc\.server \[req-\S+ \S+ \S+\] Exception during message handling/);
  });

  it('an API-side failure: the new volume is attached elsewhere, nothing is reserved, no cast, a 400', async () => {
    const t = await traceOf(['volume-update', 'web-1', 'web-data', 'db-data']);
    expect(t.code).toBe(1);
    const [swap] = t.find('API.swap_volume()');
    expect([swap.status, swap.error?.type, swap.error?.message]).toEqual(['error', 'InvalidVolume', 'Invalid volume: New volume must be detached in order to swap.']);
    expect(t.find('API.check_attach()')).toHaveLength(0);
    expect(t.find('API.begin_detaching()')).toHaveLength(0);
    expect(t.find('RPCClient.cast()')).toHaveLength(0);
    const server = t.spans.find((s) => s.kind === 'http-server' && s.attributes.method === 'PUT')!;
    expect(String(server.result)).toMatch(/^400 \{"badRequest"/);
  });
});
