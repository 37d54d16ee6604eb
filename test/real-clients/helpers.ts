// The real OpenStack clients (Debian's python3-novaclient 18.1, python3-openstackclient 6.0,
// python3-openstacksdk) against the built `nova-sim serve` on a loopback port, and novasim's
// own CLI on the same world. Nothing here reaches anything but 127.0.0.1: the clients are
// given the server's Keystone URL, HOME is the world's temporary directory (no
// ~/.config/openstack/clouds.yaml) and no OS_* variable of the caller is passed on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NOVA_SIM, type Result, World } from '../cli/helpers.js';

export const PYTHON = '/usr/bin/python3';
export const NOVA_CLIENT = '/usr/bin/nova';
export const OPENSTACK_CLIENT = '/usr/bin/openstack';

export const PROJECT_DEMO = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';
export const WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
export const DB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c02';
export const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
export const DB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c02';
export const BATCH_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c03';
export const NEW_WEB_DATA = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01';
export const BIG_DATA = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d02';
export const SPARE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';

/** The clients a test file needs that this machine lacks ([] when all are there). */
export function missingClients(which: ('novaclient' | 'openstackclient' | 'openstacksdk')[]): string[] {
  const missing: string[] = [];
  for (const c of which) {
    if (c === 'novaclient' && !existsSync(NOVA_CLIENT)) missing.push('python3-novaclient (/usr/bin/nova)');
    if (c === 'openstackclient' && !existsSync(OPENSTACK_CLIENT)) missing.push('python3-openstackclient (/usr/bin/openstack)');
    if (c === 'openstacksdk' && (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import openstack'], { encoding: 'utf8' }).status !== 0)) {
      missing.push('python3-openstacksdk (import openstack with /usr/bin/python3)');
    }
  }
  return missing;
}

/**
 * describe() when the clients are installed. Without them: under CI=true one failing test
 * that names what is missing (.ci/run installs them), elsewhere the block is skipped.
 */
export function describeWithClients(name: string, which: Parameters<typeof missingClients>[0], body: () => void): void {
  const missing = missingClients(which);
  if (missing.length === 0) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has the real clients installed', () => {
        throw new Error(`real OpenStack clients missing: ${missing.join(', ')}; .ci/run installs them with apt-get`);
      });
    });
  } else {
    describe.skip(`${name} (missing: ${missing.join(', ')})`, body);
  }
}

export interface Served {
  child: ChildProcess;
  url: string;
  authUrl: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** starts the built `nova-sim serve --port 0` on the world; resolves once it listens */
export function serve(w: World): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NOVA_SIM, '--state', w.state, 'serve', '--host', '127.0.0.1', '--port', '0'], { env: w.env() });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/at (http:\/\/127\.0\.0\.1:\d+) \(identity (http:\/\/127\.0\.0\.1:\d+\/identity\/v3)\)/);
      if (m) resolve({ child, url: m[1], authUrl: m[2], exited, stderr: () => err });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => reject(new Error(`nova-sim serve exited (${code}) before listening: ${err}`)));
  });
}

export async function stop(s: Served): Promise<number | null> {
  if (s.child.exitCode === null) s.child.kill('SIGTERM');
  return s.exited;
}

/** the credentials every client is given (devstack's admin, scoped to demo) */
export const CREDENTIALS = { username: 'admin', password: 'secret', project: 'demo' } as const;

/**
 * The environment of a real client: nothing of the caller's OS_*, PYTHON*, proxies or HOME;
 * HOME (and XDG_CONFIG_HOME) the world's directory; with `auth`, the OS_* variables of the
 * served cloud's Keystone.
 */
export function clientEnv(w: World, s: Served, auth: boolean, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OS_|PYTHON|NOVA_|CINDER_|NOVASIM_)/.test(k) || /_proxy$/i.test(k) || k === 'HOME' || k.startsWith('XDG_')) continue;
    env[k] = v;
  }
  env.HOME = w.dir;
  env.XDG_CONFIG_HOME = join(w.dir, '.config');
  env.LC_ALL = 'C.UTF-8';
  env.COLUMNS = '200';
  env.no_proxy = '127.0.0.1,localhost';
  if (auth) {
    Object.assign(env, {
      OS_AUTH_URL: s.authUrl,
      OS_USERNAME: CREDENTIALS.username,
      OS_PASSWORD: CREDENTIALS.password,
      OS_PROJECT_NAME: CREDENTIALS.project,
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne',
      OS_IDENTITY_API_VERSION: '3',
    });
  }
  return { ...env, ...extra };
}

/** the clouds.yaml docs/serve.md shows, for this server; returns its path */
export function writeCloudsYaml(w: World, s: Served): string {
  const path = join(w.dir, 'clouds.yaml');
  writeFileSync(
    path,
    [
      'clouds:',
      '  novasim:',
      '    auth:',
      `      auth_url: ${s.authUrl}`,
      `      username: ${CREDENTIALS.username}`,
      `      password: ${CREDENTIALS.password}`,
      `      project_name: ${CREDENTIALS.project}`,
      '      user_domain_name: Default',
      '      project_domain_name: Default',
      '    region_name: RegionOne',
      '    interface: public',
      '    identity_api_version: 3',
      '',
    ].join('\n'),
  );
  return path;
}

/** runs a real client (a python script under /usr/bin) */
export function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Result {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 90_000, input });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** novaclient's stderr without its deprecation notice */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('nova CLI is deprecated'));
}

/** novasim's own `nova` on the world, talking to the server that owns it (as admin in demo) */
export function ourNova(w: World, args: string[]): Result {
  return w.nova(args, OURS);
}

export function ourCinder(w: World, args: string[]): Result {
  return w.cinder(args, OURS);
}

/** our CLI finds the server through the world's ownership record: no OS_AUTH_URL, no cloud */
const OURS: NodeJS.ProcessEnv = {
  OS_USERNAME: CREDENTIALS.username,
  OS_PROJECT_NAME: CREDENTIALS.project,
  OS_PASSWORD: CREDENTIALS.password,
  OS_AUTH_URL: undefined,
  OS_CLOUD: undefined,
  OS_ENDPOINT_OVERRIDE: undefined,
};

/** a prettytable's rows as objects keyed by the header's cells */
export function tableObjects(out: string): Record<string, string>[] {
  const lines = out.split('\n').filter((l) => l.startsWith('| '));
  if (lines.length === 0) return [];
  const cells = (l: string) => l.slice(2, -2).split(' | ').map((c) => c.trim());
  const head = cells(lines[0]);
  return lines.slice(1).map((l) => Object.fromEntries(cells(l).map((c, i) => [head[i], c])));
}

/** a Property/Value (or Field/Value) table as a map; continuation rows join the previous value */
export function propertyMap(out: string): Record<string, string> {
  const map: Record<string, string> = {};
  let last = '';
  for (const row of tableObjects(out)) {
    const key = row.Property ?? row.Field ?? '';
    const value = row.Value ?? '';
    if (key === '' && last) map[last] += `\n${value}`;
    else {
      map[key] = value;
      last = key;
    }
  }
  return map;
}

/** the same line with novaclient's request id masked */
export function maskRequestId(line: string): string {
  return line.replace(/req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'req-<id>');
}

/** the volumes' and servers' states, and the services' warnings and errors so far (what a failed test shows) */
export function serviceTrouble(w: World): string {
  const r = w.sim(['--state', w.state, 'logs', 'nova-api', 'nova-compute', 'cinder-volume', 'libvirtd']);
  const volumes = tableObjects(ourCinder(w, ['list']).stdout).map((v) => `${v.Name}=${v.Status}`);
  const tasks = tableObjects(ourNova(w, ['list']).stdout).map((x) => `${x.Name}=${x.Status}/${x['Task State']}`);
  return `volumes: ${volumes.join(' ')}\nservers: ${tasks.join(' ')}\n${r.stdout
    .split('\n')
    .filter((l) => / (WARNING|ERROR|CRITICAL) /.test(l))
    .slice(-30)
    .join('\n')}${r.stderr}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** polls `nova volume-attachments SERVER` (our CLI) until `done` holds for its volume ids */
export async function pollAttachments(w: World, server: string, done: (volumeIds: string[]) => boolean, timeoutMs = 60_000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = ourNova(w, ['volume-attachments', server]);
    const ids = r.code === 0 ? tableObjects(r.stdout).map((row) => row['VOLUME ID']) : [];
    if (done(ids) || Date.now() > until) return ids;
    await sleep(250);
  }
}

/** a fresh world served for one describe block, with its clouds.yaml */
export async function startServedWorld(): Promise<{ w: World; s: Served; clouds: string }> {
  const w = new World();
  expect(w.sim(['init', '--state', w.state]).code).toBe(0);
  const s = await serve(w);
  return { w, s, clouds: writeCloudsYaml(w, s) };
}

/** stops it: the server exits 0 and nothing the clients sent made it complain */
export async function stopServedWorld(w: World | undefined, s: Served | undefined): Promise<void> {
  if (s) {
    expect(await stop(s)).toBe(0);
    expect(s.stderr()).not.toMatch(/ERROR|CRITICAL|Traceback|Unhandled/);
  }
  w?.cleanup();
}
