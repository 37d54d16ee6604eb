// `nova-sim serve`: the built binary serving a temporary world on a loopback port, checked
// with Node's fetch as any HTTP client would: the version documents, Keystone's tokens and
// keystonemiddleware's 401s, microversions, the request limits, the legacy v2 controller's
// update, a whole swap finished inside the server, the block-jobs extension, ownership of the
// world, and a clean stop on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build, NOVA_SIM, World } from './helpers.js';

const PROJECT_DEMO = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';
const WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const DB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c02';
const NEW_WEB_DATA = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';

beforeAll(() => build());

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** starts `nova-sim serve --port 0` on the world and waits for its "Serving … at URL" line */
function serve(w: World, args: string[] = []): Promise<Served> {
  return new Promise((resolve, reject) => {
    // the snapshot deep-frozen: a handler that changed what it read would fail its request
    const child = spawn(process.execPath, [NOVA_SIM, '--state', w.state, 'serve', '--port', '0', ...args], { env: w.env({ NOVASIM_FREEZE_STATE: '1' }) });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/at (http:\/\/127\.0\.0\.1:\d+) /);
      if (m) resolve({ child, url: m[1], stdout: () => out, stderr: () => err, exited });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

async function stop(s: Served): Promise<number | null> {
  if (s.child.exitCode === null) s.child.kill('SIGTERM');
  return s.exited;
}

async function token(url: string, user = 'admin', project = 'demo', password = 'secret'): Promise<Response> {
  return fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
}

async function tokenId(url: string, user = 'admin'): Promise<string> {
  const r = await token(url, user);
  expect(r.status).toBe(201);
  return r.headers.get('x-subject-token') as string;
}

/** the kinds `nova-sim doctor` reports, beyond the default world's own transient cache-1 domain */
function doctorKinds(w: World): string[] {
  return w
    .sim(['doctor', '--state', w.state])
    .stdout.split('\n')
    .filter((l) => /^[a-z-]+: /.test(l) && !l.includes('cache-1'))
    .map((l) => l.slice(0, l.indexOf(':')));
}

/** the doctor's kinds after `nova volume-update web-1 web-data new-web-data` on a fresh world */
let cliKinds: string[] | null = null;
function cliSwapKinds(): string[] {
  if (cliKinds) return cliKinds;
  const twin = new World();
  try {
    expect(twin.sim(['init', '--state', twin.state]).code).toBe(0);
    expect(twin.admin(['volume-update', 'web-1', WEB_DATA, NEW_WEB_DATA]).code).toBe(0);
    cliKinds = doctorKinds(twin);
  } finally {
    twin.cleanup();
  }
  return cliKinds;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function attachments(url: string, tok: string, server = WEB_1): Promise<string[]> {
  const r = await fetch(`${url}/v2.1/servers/${server}/os-volume_attachments`, { headers: { 'X-Auth-Token': tok } });
  return ((await r.json()) as { volumeAttachments: { volumeId: string }[] }).volumeAttachments.map((a) => a.volumeId);
}

describe('a served world, read and refused (one server for the block)', () => {
  let w: World;
  let s: Served;
  let admin: string;
  beforeAll(async () => {
    w = new World();
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
    s = await serve(w, ['--client-timeout', '2']);
    admin = await tokenId(s.url);
  });
  afterAll(async () => {
    expect(await stop(s)).toBe(0);
    w.cleanup();
  });

  it('answers the version documents without a token, with its own address in the links', async () => {
    const root = await fetch(`${s.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('x-compute-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    const versions = ((await root.json()) as { versions: { id: string; version: string; links: { href: string }[] }[] }).versions;
    expect(versions.map((v) => [v.id, v.version, v.links[0].href])).toEqual([
      ['v2.0', '', `${s.url}/v2/`],
      ['v2.1', '2.25', `${s.url}/v2.1/`],
    ]);
    const v21 = (await (await fetch(`${s.url}/v2.1`)).json()) as { version: { id: string; min_version: string; version: string } };
    expect(v21.version).toMatchObject({ id: 'v2.1', min_version: '2.1', version: '2.25' });
    expect((await fetch(`${s.url}/identity`)).status).toBe(300);
    expect(((await (await fetch(`${s.url}/identity/v3`)).json()) as { version: { id: string } }).version.id).toBe('v3.6');
    expect(((await (await fetch(`${s.url}/volume/`)).json()) as { versions: { id: string }[] }).versions.map((v) => v.id)).toEqual(['v2.0', 'v3.0']);
  });

  it('issues Keystone v3 tokens: 201, X-Subject-Token, the catalog of every service at this address', async () => {
    const r = await token(s.url, 'demo', 'demo');
    expect(r.status).toBe(201);
    expect(r.headers.get('x-subject-token')).toMatch(/^[0-9a-f]{32}$/);
    const t = ((await r.json()) as { token: { user: { name: string }; project: { id: string; name: string }; roles: { name: string }[]; catalog: { type: string; endpoints: { interface: string; region: string; url: string }[] }[] } }).token;
    expect(t.user.name).toBe('demo');
    expect(t.project).toMatchObject({ id: PROJECT_DEMO, name: 'demo' });
    const urls = Object.fromEntries(t.catalog.map((c) => [c.type, [...new Set(c.endpoints.map((e) => e.url))]]));
    expect(urls).toEqual({
      compute: [`${s.url}/v2.1`],
      volumev2: [`${s.url}/volume/v2/${PROJECT_DEMO}`],
      volumev3: [`${s.url}/volume/v3/${PROJECT_DEMO}`],
      image: [`${s.url}/image`],
      identity: [`${s.url}/identity/v3`],
    });
    expect(t.catalog[0].endpoints.map((e) => `${e.interface}@${e.region}`)).toEqual(['public@RegionOne', 'internal@RegionOne', 'admin@RegionOne']);
    // a wrong password or user is Keystone's 401
    expect((await token(s.url, 'demo', 'demo', 'wrong')).status).toBe(401);
    expect((await token(s.url, 'nobody', 'demo')).status).toBe(401);
  });

  it("answers 401 as keystonemiddleware does without a token or with an unknown one", async () => {
    for (const headers of [{}, { 'X-Auth-Token': 'no-such-token' }, { 'X-Auth-Token': 'admin:demo' }] as Record<string, string>[]) {
      for (const path of ['/v2.1/servers', `/volume/v2/${PROJECT_DEMO}/volumes`, '/image/v2/images', `/v2/${PROJECT_DEMO}/servers`]) {
        const r = await fetch(`${s.url}${path}`, { headers });
        expect(r.status, path).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe(`Keystone uri='${s.url}/identity'`);
        expect(await r.json()).toEqual({ error: { message: 'The request you have made requires authentication.', code: 401, title: 'Unauthorized' } });
      }
    }
  });

  it('serves Nova with the token: the servers, member and admin policy, limits', async () => {
    const demo = await tokenId(s.url, 'demo');
    const r = await fetch(`${s.url}/v2.1/servers/${WEB_1}`, { headers: { 'X-Auth-Token': demo } });
    expect(r.status).toBe(200);
    const server = ((await r.json()) as { server: { name: string; links: { href: string }[] } }).server;
    expect(server.name).toBe('web-1');
    expect(server.links[0].href).toBe(`${s.url}/v2.1/servers/${WEB_1}`);
    // os-services is admin_api
    expect((await fetch(`${s.url}/v2.1/os-services`, { headers: { 'X-Auth-Token': demo } })).status).toBe(403);
    expect((await fetch(`${s.url}/v2.1/os-services`, { headers: { 'X-Auth-Token': admin } })).status).toBe(200);
    const limits = (await (await fetch(`${s.url}/v2.1/limits`, { headers: { 'X-Auth-Token': demo } })).json()) as { limits: { rate: unknown[]; absolute: Record<string, number> } };
    expect(limits.limits.rate).toEqual([]);
    expect(limits.limits.absolute).toMatchObject({ maxTotalInstances: 10, maxTotalCores: 20, maxTotalRAMSize: 51200 });
    expect(limits.limits.absolute.totalInstancesUsed).toBeGreaterThan(0);
  });

  it('negotiates the microversion: 2.25 is echoed, 2.26 is a 406 with Nova\'s message', async () => {
    const ok = await fetch(`${s.url}/v2.1/flavors`, { headers: { 'X-Auth-Token': admin, 'X-OpenStack-Nova-API-Version': '2.25' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-openstack-nova-api-version')).toBe('2.25');
    const r = await fetch(`${s.url}/v2.1/flavors`, { headers: { 'X-Auth-Token': admin, 'X-OpenStack-Nova-API-Version': '2.26' } });
    expect(r.status).toBe(406);
    expect(await r.json()).toEqual({ computeFault: { code: 406, message: 'Version 2.26 is not supported by the API. Minimum is 2.1 and maximum is 2.25.' } });
  });

  it('answers 404, 405, 400 malformed and 413 over the size limit', async () => {
    const h = { 'X-Auth-Token': admin, 'Content-Type': 'application/json' };
    const nf = await fetch(`${s.url}/v2.1/no-such-thing`, { headers: h });
    expect([nf.status, await nf.json()]).toEqual([404, { itemNotFound: { code: 404, message: 'The resource could not be found.' } }]);
    expect((await fetch(`${s.url}/nowhere`, { headers: h })).status).toBe(404);
    const na = await fetch(`${s.url}/v2.1/flavors`, { method: 'DELETE', headers: h });
    expect([na.status, await na.json()]).toEqual([405, { badMethod: { code: 405, message: 'The method is not allowed for the requested route.' } }]);
    const bad = await fetch(`${s.url}/v2.1/servers`, { method: 'POST', headers: h, body: '{"server": ' });
    expect([bad.status, await bad.json()]).toEqual([400, { badRequest: { code: 400, message: 'Malformed request body' } }]);
    const big = await fetch(`${s.url}/v2.1/servers`, { method: 'POST', headers: h, body: `{"server": "${'x'.repeat(114_688)}"}` });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { overLimit: { code: number } }).overLimit.code).toBe(413);
    // at the limit the body is read (and refused by the schema, not by its size)
    const at = await fetch(`${s.url}/v2.1/servers`, { method: 'POST', headers: h, body: `{"server": "${'x'.repeat(114_688 - 14)}"}` });
    expect(at.status).toBe(400);
  });

  it("the legacy v2 API: the contrib controller's update checks and messages", async () => {
    const put = (body: unknown, vol = WEB_DATA, project = PROJECT_DEMO) =>
      fetch(`${s.url}/v2/${project}/servers/${WEB_1}/os-volume_attachments/${vol}`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': admin, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const answer = async (r: Response) => [r.status, await r.json()];
    expect(await answer(await put({}))).toEqual([400, { badRequest: { code: 400, message: 'volumeAttachment not specified' } }]);
    expect(await answer(await put({ volumeAttachment: {} }))).toEqual([400, { badRequest: { code: 400, message: 'volumeId must be specified.' } }]);
    expect(await answer(await put({ volumeAttachment: { volumeId: 'nope' } }))).toEqual([
      400,
      { badRequest: { code: 400, message: 'Bad volumeId format: volumeId is not in proper format (nope)' } },
    ]);
    // db-data is attached, but to db-1: the legacy controller's own 404
    expect(await answer(await put({ volumeAttachment: { volumeId: NEW_WEB_DATA } }, DB_DATA))).toEqual([404, { itemNotFound: { code: 404, message: `volume_id not found: ${DB_DATA}` } }]);
    const other = await put({ volumeAttachment: { volumeId: NEW_WEB_DATA } }, WEB_DATA, 'another-project');
    expect(other.status).toBe(400);
    // nothing was changed by any of them
    expect(await attachments(s.url, admin)).toEqual([WEB_DATA]);
    // the rest of the legacy API is v2.1's, with links under /v2/{tenant_id}
    const list = (await (await fetch(`${s.url}/v2/${PROJECT_DEMO}/servers/${WEB_1}`, { headers: { 'X-Auth-Token': admin } })).json()) as { server: { links: { href: string }[] } };
    expect(list.server.links[0].href).toBe(`${s.url}/v2/${PROJECT_DEMO}/servers/${WEB_1}`);
  });

  it("serves Nova's os-volumes proxy to Cinder: list, show, create, delete", async () => {
    const h = { 'X-Auth-Token': admin, 'Content-Type': 'application/json' };
    const list = (await (await fetch(`${s.url}/v2.1/os-volumes/detail`, { headers: h })).json()) as { volumes: { id: string; displayName: string; attachments: Record<string, string>[] }[] };
    const web = list.volumes.find((v) => v.id === WEB_DATA);
    expect(web).toMatchObject({ displayName: 'web-data', attachments: [{ id: WEB_DATA, volumeId: WEB_DATA, serverId: WEB_1, device: '/dev/vdb' }] });
    expect(list.volumes.find((v) => v.id === NEW_WEB_DATA)?.attachments).toEqual([{}]);
    const missing = await fetch(`${s.url}/v2.1/os-volumes/no-such-volume`, { headers: h });
    expect([missing.status, await missing.json()]).toEqual([404, { itemNotFound: { code: 404, message: 'Volume no-such-volume could not be found.' } }]);
    const made = await fetch(`${s.url}/v2.1/os-volumes`, { method: 'POST', headers: h, body: JSON.stringify({ volume: { size: 1, display_name: 'via-proxy' } }) });
    expect(made.status).toBe(200);
    const vol = ((await made.json()) as { volume: { id: string; displayName: string; size: number } }).volume;
    expect(vol).toMatchObject({ displayName: 'via-proxy', size: 1 });
    const shown = (await (await fetch(`${s.url}/v2.1/os-volumes/${vol.id}`, { headers: h })).json()) as { volume: { displayName: string } };
    expect(shown.volume.displayName).toBe('via-proxy');
    expect((await fetch(`${s.url}/v2.1/os-volumes/${vol.id}`, { method: 'DELETE', headers: h })).status).toBe(202);
  });

  it('serves Cinder v2 and v3 under /volume and Glance v2 under /image', async () => {
    for (const v of ['v2', 'v3']) {
      const r = await fetch(`${s.url}/volume/${v}/${PROJECT_DEMO}/volumes/${WEB_DATA}`, { headers: { 'X-Auth-Token': admin } });
      expect(r.status).toBe(200);
      const vol = ((await r.json()) as { volume: { name: string; status: string; links: { href: string }[] } }).volume;
      expect(vol).toMatchObject({ name: 'web-data', status: 'in-use' });
      expect(vol.links[0].href).toBe(`${s.url}/volume/${v}/${PROJECT_DEMO}/volumes/${WEB_DATA}`);
      expect((await fetch(`${s.url}/volume/${v}/${PROJECT_DEMO}/types`, { headers: { 'X-Auth-Token': admin } })).status).toBe(200);
    }
    const images = (await (await fetch(`${s.url}/image/v2/images`, { headers: { 'X-Auth-Token': admin } })).json()) as { images: { id: string; status: string; visibility: string }[] };
    expect(images.images.length).toBeGreaterThan(0);
    expect(images.images[0]).toMatchObject({ status: 'active', visibility: 'public' });
    const one = await fetch(`${s.url}/image/v2/images/${images.images[0].id}`, { headers: { 'X-Auth-Token': admin } });
    expect(one.status).toBe(200);
    expect((await fetch(`${s.url}/image/v2/images/no-such-image`, { headers: { 'X-Auth-Token': admin } })).status).toBe(404);
  });

  it('times out a client that never finishes its request, and keeps answering the others', async () => {
    const sock = connect(Number(new URL(s.url).port), '127.0.0.1');
    const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now())));
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    const t0 = Date.now();
    sock.write('GET /v2.1/servers HTTP/1.1\r\nHost: x\r\n');
    // meanwhile the world answers
    expect((await fetch(`${s.url}/v2.1/servers`, { headers: { 'X-Auth-Token': admin } })).status).toBe(200);
    const at = await closed;
    expect(at - t0).toBeLessThan(6000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('refuses a second server on the same world, in one line', () => {
    const r = w.sim(['serve', '--state', w.state, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`ERROR (CommandError): ${w.state} is already served by process ${s.child.pid} at ${s.url}; stop it first (kill -TERM ${s.child.pid})\n`);
    const rec = JSON.parse(readFileSync(`${w.state}.serve.json`, 'utf8')) as Record<string, unknown>;
    expect(rec).toMatchObject({ pid: s.child.pid, url: s.url, authUrl: `${s.url}/identity/v3` });
  });
});

describe('ports and tokens', () => {
  let w: World;
  let blocker: Server | null = null;
  beforeEach(() => {
    w = new World();
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
  });
  afterEach(() => {
    blocker?.close();
    blocker = null;
    w.cleanup();
  });

  it('a port that is taken is one line, exit 1', async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const r = w.sim(['serve', '--state', w.state, '--port', String(port)]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `ERROR (CommandError): cannot listen on 127.0.0.1:${port}: Address already in use (EADDRINUSE)\n` });
    expect(existsSync(`${w.state}.serve.json`)).toBe(false);
  });

  it('an expired token is a 401 (--token-ttl 1)', async () => {
    const s = await serve(w, ['--token-ttl', '1']);
    try {
      const tok = await tokenId(s.url);
      expect((await fetch(`${s.url}/v2.1/servers`, { headers: { 'X-Auth-Token': tok } })).status).toBe(200);
      await sleep(1200);
      const r = await fetch(`${s.url}/v2.1/servers`, { headers: { 'X-Auth-Token': tok } });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(`Keystone uri='${s.url}/identity'`);
    } finally {
      expect(await stop(s)).toBe(0);
    }
  });
});

describe('a swap inside the server', () => {
  let w: World;
  beforeEach(() => {
    // web-data with 320 MiB more data than the default world's: a copy that lasts seconds
    w = new World();
    const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/default.json', import.meta.url)), 'utf8')) as { volumes: { name: string; data: unknown[] }[] };
    fx.volumes.find((v) => v.name === 'web-data')?.data.push({ offset: 16 << 20, length: 320 << 20, seed: 104 });
    const path = join(w.dir, 'slow-copy.json');
    writeFileSync(path, JSON.stringify(fx));
    expect(w.sim(['init', '--state', w.state, '--fixture', path]).code).toBe(0);
  });
  afterEach(() => w.cleanup());

  const swap = (url: string, tok: string) =>
    fetch(`${url}/v2.1/servers/${WEB_1}/os-volume_attachments/${WEB_DATA}`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': tok, 'Content-Type': 'application/json' },
      body: JSON.stringify({ volumeAttachment: { volumeId: NEW_WEB_DATA } }),
    });

  it('PUT is a 202 and nova-compute finishes the swap in the server; the block-jobs extension shows the copy meanwhile', async () => {
    const s = await serve(w);
    try {
      const tok = await tokenId(s.url);
      const ext = (await (await fetch(`${s.url}/v2.1/extensions`, { headers: { 'X-Auth-Token': tok } })).json()) as { extensions: { alias: string; name: string }[] };
      expect(ext.extensions.find((e) => e.alias === 'os-novasim-block-jobs')?.name).toBe('NovasimBlockJobs');
      const jobsUrl = `${s.url}/v2.1/servers/${WEB_1}/os-novasim-block-jobs`;
      expect(await (await fetch(jobsUrl, { headers: { 'X-Auth-Token': tok } })).json()).toEqual({ block_jobs: [] });
      const r = await swap(s.url, tok);
      expect(r.status).toBe(202);
      expect(r.headers.get('x-compute-request-id')).toMatch(/^req-/);
      interface Job {
        device: string;
        type: string;
        cur: number;
        end: number;
        ready: boolean;
        bandwidth: number;
      }
      let seen: Job | null = null;
      const t0 = Date.now();
      while (Date.now() - t0 < 25_000) {
        const jobs: Job[] = ((await (await fetch(jobsUrl, { headers: { 'X-Auth-Token': tok } })).json()) as { block_jobs: Job[] }).block_jobs;
        if (jobs.length && !seen) seen = jobs[0];
        if ((await attachments(s.url, tok)).includes(NEW_WEB_DATA)) break;
        await sleep(100);
      }
      expect(seen).toMatchObject({ device: 'vdb', type: 'copy', bandwidth: 0 });
      expect(seen?.end).toBeGreaterThan(0);
      expect(await attachments(s.url, tok)).toEqual([NEW_WEB_DATA]);
      expect(await (await fetch(jobsUrl, { headers: { 'X-Auth-Token': tok } })).json()).toEqual({ block_jobs: [] });
      expect((await fetch(`${s.url}/v2.1/servers/no-such-server/os-novasim-block-jobs`, { headers: { 'X-Auth-Token': tok } })).status).toBe(404);
    } finally {
      expect(await stop(s)).toBe(0);
    }
    // what Mitaka's _swap_volume leaves after a completed swap, as `nova volume-update` does
    // on a twin world: the persistent XML re-defined from before the copy
    expect(doctorKinds(w)).toEqual(cliSwapKinds());
  });

  it('SIGTERM during a swap stops cleanly: the swap completed or rolled back, the state readable, the record gone', async () => {
    const s = await serve(w);
    const tok = await tokenId(s.url);
    expect((await swap(s.url, tok)).status).toBe(202);
    const jobsUrl = `${s.url}/v2.1/servers/${WEB_1}/os-novasim-block-jobs`;
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000) {
      const jobs = ((await (await fetch(jobsUrl, { headers: { 'X-Auth-Token': tok } })).json()) as { block_jobs: unknown[] }).block_jobs;
      if (jobs.length) break;
      await sleep(50);
    }
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.stdout()).toMatch(/Stopped\.\n$/);
    expect(existsSync(`${w.state}.serve.json`)).toBe(false);
    // the world is the CLI's again: one of the two volumes, consistently
    const show = w.admin(['volume-attachments', 'web-1']);
    expect(show.code).toBe(0);
    const on = [WEB_DATA, NEW_WEB_DATA].filter((v) => show.stdout.includes(v));
    expect(on).toHaveLength(1);
    // nothing in flight is left (no interrupted operation, no half-done pivot): only what
    // Mitaka's swap leaves itself, completed (the stale persistent XML) or rolled back (the
    // new volume's connection, never terminated by _swap_volume's error path)
    const kinds = doctorKinds(w);
    if (on[0] === NEW_WEB_DATA) expect(kinds).toEqual(cliSwapKinds());
    else expect(kinds.filter((k) => k !== 'leaked-connection')).toEqual([]);
  });
});
