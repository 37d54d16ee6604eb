// `nova-sim logs`: the services' log files, as an operator reads them.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, NOVA_SIM, World } from './helpers.js';

let w: World;
let requestId: string;
beforeAll(() => {
  build();
  w = new World();
  // a swap that fails after the 202: a stopped server
  const r = w.admin(['--debug', 'volume-update', 'batch-1', 'batch-data', 'spare']);
  expect(r.code).toBe(1);
  requestId = /PUT call to compute for \S+ used request id (req-[0-9a-f-]+)/.exec(r.stderr)![1];
});
afterAll(() => w.cleanup());

const sim = (args: string[]) => w.sim([...args, '--state', w.state]);

describe('nova-sim logs', () => {
  it('one service: its lines as the file holds them; the failure is where an operator looks', () => {
    const r = sim(['logs', 'nova-compute']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (DEBUG|INFO|WARNING|ERROR) \S+ /);
    expect(r.stdout).toMatch(new RegExp(`ERROR nova\\.compute\\.manager \\[${requestId} \\S+ \\S+\\] \\[instance: \\S+\\] Failed to swap volume `));
    expect(r.stdout).toMatch(/ERROR nova\.compute\.manager \[instance: \S+\] libvirtError: Domain not found/);
  });

  it('--request-id: every service, merged by time, prefixed with the service; the exception line stays with its record', () => {
    const r = sim(['logs', '--request-id', requestId]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const services = new Set(lines.map((l) => l.split(' | ')[0].trim()));
    expect([...services].sort()).toEqual(['cinder-api', 'cinder-volume', 'libvirtd', 'nova-api', 'nova-compute']);
    const times = lines.map((l) => l.split(' | ')[1].slice(0, 23));
    expect([...times].sort()).toEqual(times);
    expect(lines.some((l) => l.includes('libvirtError: Domain not found') && !l.includes(requestId))).toBe(true);
    expect(lines.every((l) => l.includes(requestId) || l.includes('libvirtError'))).toBe(true);
  });

  it('an unknown service is refused, naming the ones that log', () => {
    const r = sim(['logs', 'nova-scheduler']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "ERROR (CommandError): No such service: 'nova-scheduler'. The services that log are: nova-api, nova-compute, cinder-api, cinder-volume, libvirtd, qemu-monitor, qemu.\n",
    );
  });

  it('--follow prints records as they are written, until Ctrl-C (exit 0)', async () => {
    const child = spawn(process.execPath, [NOVA_SIM, 'logs', '--follow', 'nova-api', '--state', w.state], { env: w.env() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const before = await new Promise<number>((resolve) => setTimeout(() => resolve(out.length), 500));
    const l = w.nova(['list']);
    expect(l.code).toBe(0);
    const listed = /INFO nova\.osapi_compute\.wsgi\.server .*"GET \/v2\.1\/servers\/detail HTTP\/1\.1" status: 200/;
    for (let i = 0; i < 50 && !listed.test(out.slice(before)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out.slice(before)).toMatch(listed);
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
  });
});
