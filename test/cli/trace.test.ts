// `nova --trace`, `--trace-file`, `--trace-format` as a user runs them (the built bin/nova).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, World, worldPerTest } from './helpers.js';

beforeAll(() => build());
// a fresh default world for each test: each passes alone and in any order
let w!: World;
worldPerTest((x) => (w = x));

describe('nova --trace', () => {
  it('prints the call chain on stderr as the request runs, apart from the progress lines', () => {
    const r = w.admin(['--trace', 'volume-update', 'web-1', 'web-data', 'new-web-data']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    const trace = lines.filter((l) => l.startsWith('trace '));
    const other = lines.filter((l) => l && !l.startsWith('trace '));
    // the progress lines stay plain lines of their own
    expect(other.some((l) => l.startsWith('volume-update: '))).toBe(true);
    expect(other.at(-1)).toMatch(/^Swapped volume web-data -> new-web-data on web-1: copied /);
    const at = (re: RegExp) => trace.findIndex((l) => re.test(l));
    const steps = [
      /^trace +\+\d+\.\d{3}s novaclient +→ do_volume_update\(\) @novaclient\/v2\/shell\.py server=web-1 attachment_id=web-data new_volume=new-web-data$/,
      /novaclient +→ Session\.request\(\) @keystoneauth1\/session\.py PUT http:\/\/127\.0\.0\.1:8774\/v2\.1\/servers\/\S+\/os-volume_attachments\/\S+ body=\{"volumeAttachment"/,
      /nova-api +→ API\.swap_volume\(\) @nova\/compute\/api\.py /,
      /nova-api +→ RPCClient\.cast\(\) @oslo_messaging\/rpc\/client\.py target=compute\.\S+ swap_volume /,
      /novaclient +← Session\.request\(\) ⇒ HTTP 202 req-/,
      /^trace +-+ RPC cast swap_volume crosses from nova-api to nova-compute/,
      /^trace +\+\S+ nova-compute  → RPCDispatcher\.dispatch\(\)/,
      /libvirtd +→ virDomainBlockRebase\(\) @src\/libvirt-domain\.c .*bandwidth=0 flags=REUSE_EXT\|COPY$/,
      /qemu +→ qmp_drive_mirror\(\) @blockdev\.c domain=instance-00000001 \{"execute":"drive-mirror"/,
      /⇠ QMP event BLOCK_JOB_READY/,
      /nova-compute +→ virDomain\.blockJobAbort\(\) @libvirt\.py .*flags=PIVOT$/,
      /nova-compute +← RPCDispatcher\.dispatch\(\) \(\d/,
    ];
    let last = -1;
    for (const re of steps) {
      const i = at(re);
      expect(i, String(re)).toBeGreaterThan(last);
      last = i;
    }
    // nesting shows as indentation: the QMP command is deeper than the libvirt call
    const indent = (re: RegExp) => /[→←] /.exec(trace[at(re)])!.index;
    expect(indent(/qmp_drive_mirror/)).toBeGreaterThan(indent(/→ virDomainBlockRebase/));
  });

  it('--trace-file with --trace-format json writes one span per step', () => {
    // the first swap of web-1's vdb, untraced; the traced one swaps it back
    expect(w.admin(['volume-update', 'web-1', 'web-data', 'new-web-data']).code).toBe(0);
    const file = join(w.dir, 'swap.json');
    const r = w.admin(['--trace-file', file, 'volume-update', 'web-1', 'new-web-data', 'web-data']);
    // Mitaka's second swap of the same disk fails on nova-compute (the serial still names the first volume)
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^trace /m);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.command.slice(-4)).toEqual(['volume-update', 'web-1', 'new-web-data', 'web-data']);
    const mgr = doc.spans.find((s: { name: string }) => s.name === 'ComputeManager.swap_volume()');
    expect(mgr).toMatchObject({ location: 'nova/compute/manager.py', layer: 'nova', service: 'nova-compute', status: 'error' });
    expect(mgr.error.message).toMatch(/^No volume Block Device Mapping with id /);
  });

  it('--trace-format mermaid writes a sequenceDiagram', () => {
    const file = join(w.dir, 'list.mmd');
    const r = w.nova(['--trace-file', file, '--trace-format', 'mermaid', 'list']);
    expect(r.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('sequenceDiagram\n    participant NC as novaclient\n')).toBe(true);
    expect(text).toMatch(/^ {4}NC->>API: GET \/v2\.1\/servers\/detail$/m);
  });

  it('a bad --trace-format is a usage error (exit 2)', () => {
    const r = w.nova(['--trace-file', join(w.dir, 'x'), '--trace-format', 'svg', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: argument --trace-format: invalid choice: 'svg'\n");
  });

  it('nova help lists the options', () => {
    const r = w.nova(['help']);
    expect(r.stdout).toMatch(/--trace +novasim: print on stderr/);
    expect(r.stdout).toMatch(/--trace-file <file>/);
    expect(r.stdout).toMatch(/--trace-format \{json,mermaid\}/);
  });
});
