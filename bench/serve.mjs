#!/usr/bin/env node
// The served world under load: a 1,000-server world (each server with an attached volume),
// `nova-sim serve` on a free loopback port, autocannon driving GET /v2.1/servers/{id} over
// every id (64 keep-alive connections, BENCH_SECONDS, default 20, with a valid token) while a
// second client attaches and detaches volumes in a loop. Ends with one line:
//   serve: N req/s, p99 X ms, errors N, updates lost N
// ("updates lost": attaches and detaches the second client saw acknowledged as done that the
// final state does not show), then runs `nova-sim doctor` on the state: not clean fails.
// Targets on the 2-core dev machine: >= 3,000 req/s, p99 <= 50 ms, 0 errors, 0 lost.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const SERVERS = Number(process.env.BENCH_SERVERS ?? 1000);
const SPARES = 8;
const PROJECT_DEMO = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
// how the state keeps the world: sqlite (what `nova-sim init --generate` picks for a world this
// size: a save writes only the rows it changed) or json (one document, rewritten by every save)
const FORMAT = process.env.BENCH_FORMAT ?? 'sqlite';
// the closing line's name: `serve` (the issue's line); bench/run.mjs also runs the 10,000-server
// world at 8 connections as `large-serve` (issue 10's p99 for GET /v2.1/servers/{id})
const LABEL = process.env.BENCH_LABEL ?? 'serve';
const NOVA_SIM = fileURLToPath(new URL('../bin/nova-sim.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'novasim-bench-serve-'));
const state = join(dir, 'state.json');
const env = { ...process.env };
for (const k of ['OS_USERNAME', 'OS_PROJECT_NAME', 'NOVASIM_STATE']) delete env[k];

const hex = (n, width) => n.toString(16).padStart(width, '0');
const serverId = (i) => `5e7ae700-0000-4000-8000-${hex(i, 12)}`;
const volumeId = (i) => `70100000-0000-4000-8000-${hex(i, 12)}`;
const spareId = (i) => `5a7e0000-0000-4000-8000-${hex(i, 12)}`;

/** the world: SERVERS active servers of project demo, each with its own 1 GiB volume at vdb */
function writeFixture() {
  const servers = [];
  const volumes = [];
  for (let i = 0; i < SERVERS; i++) {
    servers.push({
      uuid: serverId(i),
      name: `bench-${String(i).padStart(4, '0')}`,
      state: 'active',
      flavor: 'm1.tiny',
      ip: `10.0.${3 + Math.floor(i / 250)}.${(i % 250) + 2}`,
      createdAt: '2016-05-03T09:12:44Z',
      volumes: [{ volume: volumeId(i), device: '/dev/vdb' }],
    });
    volumes.push({ id: volumeId(i), name: `bench-data-${i}`, size: 1 });
  }
  for (let i = 0; i < SPARES; i++) volumes.push({ id: spareId(i), name: `spare-${i}`, size: 1 });
  const path = join(dir, 'bench-world.json');
  writeFileSync(path, JSON.stringify({ name: 'bench', description: `${SERVERS} servers, each with a volume`, host: 'devstack', servers, volumes }));
  return path;
}

function sim(args) {
  return spawnSync(process.execPath, [NOVA_SIM, '--state', state, ...args], { env, encoding: 'utf8' });
}

function startServe() {
  return new Promise((resolve, reject) => {
    // BENCH_SERVE_NODE_ARGS: node options for the served process only, e.g.
    // "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under the load
    const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, NOVA_SIM, '--state', state, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/at (http:\/\/127\.0\.0\.1:\d+) /);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => reject(new Error(`nova-sim serve exited ${code}: ${err}`)));
  });
}

async function token(url) {
  const r = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'secret' } } }, scope: { project: { name: 'demo' } } } }),
  });
  if (r.status !== 201) throw new Error(`token: ${r.status} ${await r.text()}`);
  return r.headers.get('x-subject-token');
}

/** CPU seconds (user + system) the process has used so far, from /proc (Linux); null elsewhere.
 * The machine may be shared, so the bench reports the served process's own CPU per request:
 * that figure does not move with the load of other work. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 }; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}
const perCpu = (requests, a, b) => {
  if (!a || !b) return 'server CPU not measured';
  const user = b.user - a.user;
  const sys = b.sys - a.sys;
  return `${Math.round(requests / (user + sys))} req per CPU-second of the server (${(user + sys).toFixed(2)} s CPU: ${user.toFixed(2)} user, ${sys.toFixed(2)} system)`;
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The second client: attach a spare volume to a server and wait until Cinder shows it
 * in-use (the attach is a cast after the 200), detach it and wait until it is available;
 * again. Records what it saw acknowledged as done, per volume: that must be the end state. */
async function attachDetachLoop(url, tok, until) {
  const headers = { 'X-Auth-Token': tok, 'Content-Type': 'application/json' };
  const believed = new Map(); // volume -> server it is attached to, or null
  let ops = 0;
  let failures = 0;
  const status = async (vol) => {
    const r = await fetch(`${url}/volume/v2/${PROJECT_DEMO}/volumes/${vol}`, { headers });
    return (await r.json()).volume.status;
  };
  const waitFor = async (vol, wanted) => {
    const t0 = Date.now();
    for (;;) {
      const st = await status(vol);
      if (st === wanted) return true;
      if (st === 'error' || Date.now() - t0 > 60_000) return false;
      await sleep(20);
    }
  };
  for (let i = 0; !until(); i++) {
    const vol = spareId(i % SPARES);
    const server = serverId((i * 37) % SERVERS);
    const a = await fetch(`${url}/v2.1/servers/${server}/os-volume_attachments`, { method: 'POST', headers, body: JSON.stringify({ volumeAttachment: { volumeId: vol } }) });
    await a.text();
    if (a.status !== 200 || !(await waitFor(vol, 'in-use'))) {
      failures++;
      break;
    }
    believed.set(vol, server);
    ops++;
    const d = await fetch(`${url}/v2.1/servers/${server}/os-volume_attachments/${vol}`, { method: 'DELETE', headers });
    await d.text();
    if (d.status !== 202 || !(await waitFor(vol, 'available'))) {
      failures++;
      break;
    }
    believed.set(vol, null);
    ops++;
  }
  return { believed, ops, failures };
}

let child = null;
try {
  const fixture = writeFixture();
  const init = sim(['init', '--fixture', fixture, '--format', FORMAT]);
  console.log(`${LABEL}: ${SERVERS} servers, state kept in ${FORMAT === 'sqlite' ? 'SQLite' : 'one JSON document'}`);
  if (init.status !== 0) throw new Error(`nova-sim init: ${init.stderr}`);
  const served = await startServe();
  child = served.child;
  const { url } = served;
  const tok = await token(url);
  let i = 0;
  const load = (duration) =>
    autocannon({
      url,
      connections: CONNECTIONS,
      duration,
      headers: { 'X-Auth-Token': tok },
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v2.1/servers/${serverId(i++ % SERVERS)}` }) }],
    });
  // a warm-up (nova-api starts on the first request, V8 compiles the hot paths), then reads
  // alone (a shorter run, reported on stderr), then reads while the world changes
  await load(2);
  let cpu0 = cpuSeconds(child.pid);
  const alone = await load(Math.max(1, Math.round(SECONDS / 4)));
  let cpu1 = cpuSeconds(child.pid);
  console.error(`(reads alone: ${Math.round(alone.requests.average)} req/s, p99 ${alone.latency.p99} ms, errors ${alone.errors + alone.timeouts + alone.non2xx}; ${perCpu(alone.requests.total, cpu0, cpu1)})`);
  let done = false;
  const loop = attachDetachLoop(url, tok, () => done);
  cpu0 = cpuSeconds(child.pid);
  const result = await load(SECONDS);
  cpu1 = cpuSeconds(child.pid);
  done = true;
  const { believed, ops, failures } = await loop;
  // what the final state shows, read back from the server
  const headers = { 'X-Auth-Token': tok };
  let lost = 0;
  for (const [vol, server] of believed) {
    const r = await fetch(`${url}/volume/v2/${PROJECT_DEMO}/volumes/${vol}`, { headers });
    const v = (await r.json()).volume;
    const on = v?.attachments?.map((a) => a.server_id) ?? [];
    if (server === null ? on.length !== 0 : !on.includes(server)) lost++;
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  child = null;
  const errors = result.errors + result.timeouts + result.non2xx + alone.errors + alone.timeouts + alone.non2xx;
  console.log(`${LABEL}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, errors ${errors}, updates lost ${lost}${LABEL === 'serve' ? '' : ` (${SERVERS} servers, ${CONNECTIONS} connections)`}`);
  console.error(`(${result.requests.total} requests in ${SECONDS} s over ${CONNECTIONS} connections, ${perCpu(result.requests.total, cpu0, cpu1)}; attach/detach: ${ops} acknowledged, ${failures} refused)`);
  const doctor = sim(['doctor']);
  if (doctor.status !== 0) {
    console.error(`nova-sim doctor is not clean:\n${doctor.stdout}${doctor.stderr}`);
    process.exitCode = 1;
  }
  if (errors || lost || failures) process.exitCode = 1;
} catch (err) {
  console.error(`serve bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  if (child) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
