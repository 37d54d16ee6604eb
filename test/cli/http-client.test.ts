// `nova` over real sockets (issue 9, client side): Keystone v3 password auth with discovery
// and catalog, OS_AUTH_TYPE=none with an endpoint override, the same tables as the embedded
// mode, keystoneauth's errors, the redirect of a world owned by a live server, and nova-sim
// refusing to change such a world. The server is the built `nova-sim serve`, on loopback only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOVA, NOVA_SIM, World, type Result } from './helpers.js';

const WEB = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const NEW_WEB_DATA = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';

/** the environment variables that would point nova somewhere else */
const CLEAN = ['OS_AUTH_URL', 'OS_AUTH_TYPE', 'OS_ENDPOINT_OVERRIDE', 'NOVACLIENT_BYPASS_URL', 'OS_PASSWORD', 'OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME', 'OS_REGION_NAME', 'OS_CACERT'];

let world: World;
let server: ChildProcess | null = null;

beforeEach(() => {
  world = new World();
  const r = spawnSync(process.execPath, [NOVA_SIM, '--state', world.state, 'init'], { env: world.env(), encoding: 'utf8' });
  expect(r.status).toBe(0);
});

afterEach(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const gone = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await gone;
  }
  server = null;
  world.cleanup();
});

/** starts `nova-sim serve` on the world (any free loopback port; it owns the world while it runs), returns its base URL */
async function serve(...flags: string[]): Promise<string> {
  const child = spawn(process.execPath, [NOVA_SIM, 'serve', '--state', world.state, '--port', '0', ...flags.filter((f) => f !== '--own')], { env: world.env() });
  server = child;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / at (http:\/\/127\.0\.0\.1:\d+) /.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`nova-sim serve exited ${code}: ${err}`)));
  });
}

/** runs a built CLI without blocking this process (the server may live in a child of it) */
function run(bin: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  const env = world.env(extra);
  for (const k of CLEAN) if (!(k in extra)) delete env[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const embedded = (args: string[], extra: NodeJS.ProcessEnv = {}) => run(NOVA, ['--state', world.state, ...args], extra);
const password = (base: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  OS_AUTH_URL: `${base}/identity`,
  OS_USERNAME: 'admin',
  OS_PASSWORD: 'secret',
  OS_PROJECT_NAME: 'demo',
  ...extra,
});

describe('nova over HTTP with OS_AUTH_URL (Keystone v3)', () => {
  it('lists, shows and lists attachments with the tables of the embedded mode', async () => {
    const want = await Promise.all([embedded(['list']), embedded(['show', 'web-1']), embedded(['volume-attachments', 'web-1'])]);
    const base = await serve();
    const env = password(base, { OS_USERNAME: 'demo' });
    const got = [await run(NOVA, ['list'], env), await run(NOVA, ['show', 'web-1'], env), await run(NOVA, ['volume-attachments', 'web-1'], env)];
    for (let i = 0; i < want.length; i++) {
      expect(want[i].code).toBe(0);
      expect(got[i].stderr).toBe('');
      expect(got[i].code).toBe(0);
      // show lists the server's links: those carry the URL the request came through
      expect(got[i].stdout.split(base).join('http://127.0.0.1:8774')).toBe(want[i].stdout);
    }
    expect(got[0].stdout).toContain('web-1');
  });

  it('--debug shows the real exchange: discovery, the token hashed, the answers', async () => {
    const base = await serve();
    const r = await run(NOVA, ['--debug', 'list'], password(base));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^DEBUG \\(session:519\\) REQ: curl -g -i -X GET ${base}/identity -H "Accept: application/json" -H "User-Agent: python-novaclient"$`, 'm'));
    expect(r.stderr).toMatch(/^DEBUG \(session:550\) RESP: \[300\] /m);
    expect(r.stderr).toMatch(new RegExp(`^DEBUG \\(session:519\\) REQ: curl -g -i -X GET ${base}/v2.1/servers/detail -H "Accept: application/json" -H "User-Agent: python-novaclient" -H "X-Auth-Token: \\{SHA1\\}[0-9a-f]{40}" -H "X-OpenStack-Nova-API-Version: 2.25"$`, 'm'));
    // the password never shows: keystoneauth sends the token request without logging it
    expect(r.stderr).not.toContain('secret');
    expect(r.stderr).not.toContain('auth/tokens');
  });

  it('swaps a volume and follows it to the end by polling the APIs', async () => {
    const base = await serve();
    const r = await run(NOVA, ['volume-update', 'web-1', 'web-data', 'new-web-data'], password(base));
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Swapped volume web-data -> new-web-data on web-1');
    // what it says it copied is what the mirror wrote (web-data holds 7 MiB of a 1 GiB disk),
    // when the polls saw the job in sync; never the disk's length
    expect(r.stderr).toMatch(/^Swapped volume web-data -> new-web-data on web-1(: copied at least 7\.0 MiB \(7344128 bytes\) in about \d+\.\d+ s)?$/m);
    expect(r.stderr).not.toContain('1073741824 bytes');
    expect(r.code).toBe(0);
    const att = await run(NOVA, ['volume-attachments', 'web-1'], password(base));
    expect(att.stdout).toContain(NEW_WEB_DATA);
    expect(att.stdout).not.toContain(WEB_DATA);
  }, 60000);

  it('a wrong password is keystoneauth\'s Unauthorized, exit 1', async () => {
    const base = await serve();
    const r = await run(NOVA, ['list'], password(base, { OS_PASSWORD: 'wrong' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ERROR \(Unauthorized\): The request you have made requires authentication\. \(HTTP 401\)( \(Request-ID: req-[0-9a-f-]{36}\))?\n$/);
  });

  it('nothing listening is ConnectFailure, exit 1', async () => {
    const r = await run(NOVA, ['list'], password('http://127.0.0.1:9'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ERROR (ConnectFailure): Unable to establish connection to http://127.0.0.1:9/identity\n');
  });

  it('a missing username is novaclient\'s CommandError', async () => {
    const r = await run(NOVA, ['list'], { OS_AUTH_URL: 'http://127.0.0.1:9/identity', OS_PASSWORD: 'x', OS_PROJECT_NAME: 'demo' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ERROR (CommandError): You must provide a username or user ID via --os-username, --os-user-id, env[OS_USERNAME] or env[OS_USER_ID]\n');
  });
});

describe('nova over HTTP with OS_AUTH_TYPE=none and OS_ENDPOINT_OVERRIDE', () => {
  it('lists and shows attachments against a noauth server', async () => {
    const want = await embedded(['volume-attachments', 'web-1']);
    const wantList = await embedded(['list']);
    const base = await serve('--noauth');
    const env = { OS_AUTH_TYPE: 'none', OS_ENDPOINT_OVERRIDE: `${base}/v2.1` };
    const got = await run(NOVA, ['volume-attachments', 'web-1'], env);
    expect(got.code).toBe(0);
    expect(got.stdout).toBe(want.stdout);
    const list = await run(NOVA, ['list'], env);
    expect(list.stdout).toBe(wantList.stdout);
  });

  it('swaps with ids, following through the volume endpoint it discovered', async () => {
    const base = await serve('--noauth');
    const env = { OS_AUTH_TYPE: 'none', OS_ENDPOINT_OVERRIDE: `${base}/v2.1`, OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };
    const r = await run(NOVA, ['volume-update', WEB, WEB_DATA, NEW_WEB_DATA], env);
    expect(r.stderr).toContain(`Swapped volume ${WEB_DATA} -> ${NEW_WEB_DATA} on web-1`);
    expect(r.code).toBe(0);
  }, 60000);
});

describe('a world owned by a live nova-sim serve', () => {
  it('nova and cinder talk HTTP to the server instead of opening the state', async () => {
    const want = await embedded(['list']);
    const base = await serve('--own');
    expect(JSON.parse(readFileSync(`${world.state}.serve.json`, 'utf8')).url).toBe(base);
    const r = await embedded(['--debug', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(want.stdout);
    expect(r.stderr).toContain(`REQ: curl -g -i -X GET ${base}/v2.1/servers/detail`);
    const wrong = await embedded(['list'], { OS_PASSWORD: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^ERROR \(Unauthorized\): /);
    const c = await run(join(NOVA, '..', 'cinder.cjs'), ['--state', world.state, '--debug', 'list']);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('web-data');
    expect(c.stderr).toMatch(new RegExp(`REQ: curl -g -i -X GET ${base}/volume/v2/[0-9a-f]{32}/volumes/detail `));
  });

  it('nova-sim refuses to change it, naming the server, and changes nothing', async () => {
    const before = readFileSync(world.state, 'utf8');
    await serve('--own');
    const pid = server?.pid;
    for (const args of [['config', 'libvirt.disk_cachemodes', 'file=directsync'], ['init', '--force'], ['doctor', '--fix'], ['fault', 'add', 'rpc.cast']]) {
      const r = await run(NOVA_SIM, ['--state', world.state, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(
        `ERROR (CommandError): ${world.state} is served by nova-sim serve (pid ${pid}, ${JSON.parse(readFileSync(`${world.state}.serve.json`, 'utf8')).url}), which alone changes it: ` +
          `stop the server (kill ${pid}) and run 'nova-sim ${args[0] === 'doctor' ? 'doctor --fix' : args[0]}' again, or make the change through its API\n`,
      );
    }
    expect(readFileSync(world.state, 'utf8')).toBe(before);
    // reading is still allowed
    const show = await run(NOVA_SIM, ['--state', world.state, 'config']);
    expect(show.code).toBe(0);
  });

  it('a stale record (its process gone) is ignored', async () => {
    const base = await serve('--own');
    const record = readFileSync(`${world.state}.serve.json`, 'utf8');
    const gone = new Promise((r) => server?.once('exit', r));
    server?.kill('SIGKILL');
    await gone;
    expect(JSON.parse(record).url).toBe(base);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${world.state}.serve.json`, record);
    const r = await embedded(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web-1');
    const c = await run(NOVA_SIM, ['--state', world.state, 'config', 'libvirt.disk_cachemodes', 'file=directsync']);
    expect(c.code).toBe(0);
  });
});
