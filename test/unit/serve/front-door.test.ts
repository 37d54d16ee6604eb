// The served-mode front door in this process (no socket): the prefixes it routes, the
// token it demands, and fuzzed requests that must always get an HTTP answer the services
// give (never a 500, never an exception), with Nova's request id on Nova's paths.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedCloud } from '../../../src/cloud/types.js';
import { openSimulatedCloud, simulatorHooks } from '../../../src/novasim/cloud.js';
import { initWorld } from '../../../src/novasim/world.js';
import { createFrontDoor, type FrontDoor } from '../../../src/serve/front-door.js';
import { Keystone } from '../../../src/serve/keystone.js';
import { OwnedStateStore } from '../../../src/state/owned-store.js';

const BASE = 'http://127.0.0.1:9999';
const PROJECT_DEMO = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';
const WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';

let dir: string;
let cloud: EmbeddedCloud;
let door: FrontDoor;
let keystone: Keystone;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-door-'));
  const statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
  const store = new OwnedStateStore(statePath, { beforeSave: simulatorHooks.beforeSave, freeze: true });
  cloud = await openSimulatedCloud({ statePath, store });
  keystone = new Keystone({ base: BASE, password: 'secret', tokenTtl: 3600, users: () => store.read().users });
  door = createFrontDoor({ cloud, keystone, store, base: BASE, noauth: false });
  const r = await door({
    method: 'POST',
    url: `${BASE}/identity/v3/auth/tokens`,
    headers: {},
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'secret' } } }, scope: { project: { name: 'demo' } } } }),
  });
  token = r.headers['X-Subject-Token'];
});
afterAll(async () => {
  await cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the front door', () => {
  it('validates the token it issued (GET with X-Subject-Token) and revokes it (DELETE)', async () => {
    const other = (await door({ method: 'POST', url: `${BASE}/identity/v3/auth/tokens`, headers: {}, body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'secret' } } } } }) })).headers['X-Subject-Token'];
    const v = await door({ method: 'GET', url: `${BASE}/identity/v3/auth/tokens`, headers: { 'X-Auth-Token': token, 'X-Subject-Token': other }, body: undefined });
    expect(v.status).toBe(200);
    expect((JSON.parse(v.body) as { token: { user: { name: string } } }).token.user.name).toBe('demo');
    expect((await door({ method: 'DELETE', url: `${BASE}/identity/v3/auth/tokens`, headers: { 'X-Auth-Token': token, 'X-Subject-Token': other }, body: undefined })).status).toBe(204);
    expect((await door({ method: 'GET', url: `${BASE}/v2.1/servers`, headers: { 'X-Auth-Token': other }, body: undefined })).status).toBe(401);
  });

  it('hands a noauth2 token through only with --noauth', async () => {
    expect((await door({ method: 'GET', url: `${BASE}/v2.1/servers`, headers: { 'X-Auth-Token': 'admin:demo' }, body: undefined })).status).toBe(401);
    const noauth = createFrontDoor({ cloud, keystone, store: new OwnedStateStore(join(dir, 'state.json')), base: BASE, noauth: true });
    expect((await noauth({ method: 'GET', url: `${BASE}/v2.1/servers`, headers: { 'X-Auth-Token': 'admin:demo' }, body: undefined })).status).toBe(200);
  });

  it('answers fuzzed requests on every prefix with a status the services give, never a 500', async () => {
    const paths = [
      '/', '/v2.1', '/v2.1/', '/v2', '/v2/', `/v2/${PROJECT_DEMO}`, `/v2/${PROJECT_DEMO}/servers`, `/v2/${PROJECT_DEMO}/servers/${WEB_1}/os-volume_attachments/${WEB_DATA}`,
      `/v2/other/servers`, `/v2.1/servers/${WEB_1}`, `/v2.1/servers/${WEB_1}/os-novasim-block-jobs`, '/v2.1/servers/nosuch/os-novasim-block-jobs', '/v2.1/extensions',
      '/v2.1/extensions/os-novasim-block-jobs', '/v2.1/limits', '/v2.1/os-volumes', '/identity', '/identity/v3', '/identity/v3/auth/tokens', '/identity/v3/users',
      '/volume', '/volume/', '/volume/v2', '/volume/v3/', `/volume/v2/${PROJECT_DEMO}/volumes`, `/volume/v3/${PROJECT_DEMO}/volumes/${WEB_DATA}`, `/volume/v4/${PROJECT_DEMO}/volumes`,
      '/image', '/image/v2/images', '/image/v2/images/%E0%A4%A', '/image/v2/images?limit=x', '/image/v2/images?marker=nosuch', '/nowhere', '/v2.10', '/%2e%2e/etc',
    ];
    const bodies = [undefined, '', '{', 'null', '[]', '"x"', '{"auth": null}', '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "secret"}}}, "scope": {"project": {"id": 7}}}}', '{"volumeAttachment": {}}', '{"volumeAttachment": {"volumeId": 5}}', '{"volumeAttachment": {"volumeId": "e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01"}}'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.constantFrom(...paths),
        fc.constantFrom(...bodies),
        fc.constantFrom('valid', 'none', 'bogus', 'admin:demo'),
        async (method, path, body, tok) => {
          const headers: Record<string, string> = {};
          if (tok === 'valid') headers['X-Auth-Token'] = token;
          else if (tok !== 'none') headers['X-Auth-Token'] = tok;
          // a PUT that swaps would start a job: keep the fuzz to what answers at once
          const res = await door({ method, url: `${BASE}${path}`, headers, body: method === 'PUT' && path.includes('os-volume_attachments') && body?.includes('e1d2') ? '{}' : body });
          expect(res.status, `${method} ${path} ${body} ${tok}: ${res.body}`).toBeGreaterThanOrEqual(200);
          expect(res.status, `${method} ${path} ${body} ${tok}: ${res.body}`).toBeLessThan(500);
          if (path.startsWith('/v2')) expect(res.headers['x-compute-request-id'], `${method} ${path}`).toMatch(/^req-/);
        },
      ),
      { numRuns: Number(process.env.NOVASIM_FUZZ_RUNS ?? 300), seed: Number(process.env.NOVASIM_FUZZ_SEED ?? 9) },
    );
    await cloud.drain();
  });
});
