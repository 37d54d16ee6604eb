// keystoneauth's generic password plugin as novasim ports it: discovery, the v3 token
// request, the catalog lookup and Keystone's errors; and where a remotely followed swap is.
import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../../src/http/types.js';
import { authenticate, discoverIdentityV3, interfaceOf, keystoneFromResponse, passwordAuthBody, urlFor } from '../../../src/novaclient/keystone.js';
import { judge, swappedText } from '../../../src/novaclient/progress-remote.js';

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

function session(answer: (r: HttpRequest) => HttpResponse) {
  const seen: HttpRequest[] = [];
  return { seen, s: { transport: { request: async (r: HttpRequest) => (seen.push(r), answer(r)) }, userAgent: 'python-novaclient' } };
}

const catalog = [
  { type: 'compute', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://h/v2.1' }, { interface: 'internal', region: 'RegionTwo', url: 'http://i/v2.1' }] },
  { type: 'volumev2', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://h/volume/v2/p1' }] },
];

describe('keystone', () => {
  it('discovers v3 behind an unversioned URL (300 Multiple Choices)', async () => {
    const { s, seen } = session(() => json(300, { versions: { values: [{ id: 'v2.0', status: 'deprecated', links: [{ rel: 'self', href: 'http://h/identity/v2.0/' }] }, { id: 'v3.6', status: 'stable', links: [{ rel: 'self', href: 'http://h/identity/v3/' }] }] } }));
    expect(await discoverIdentityV3(s, 'http://h/identity')).toBe('http://h/identity/v3');
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET http://h/identity']);
  });

  it('uses a /v3 URL as it is when discovery cannot tell', async () => {
    const { s } = session(() => ({ status: 404, headers: {}, body: '' }));
    expect(await discoverIdentityV3(s, 'http://h:5000/v3')).toBe('http://h:5000/v3');
    await expect(discoverIdentityV3(s, 'http://h:5000/')).rejects.toThrow('Not Found (HTTP 404)');
  });

  it('asks for a project-scoped token with the Default domains and reads token, project and catalog', async () => {
    const { s, seen } = session((r) =>
      r.method === 'GET' ? json(200, { version: { id: 'v3.6', status: 'stable', links: [{ rel: 'self', href: 'http://h/v3/' }] } }) : json(201, { token: { project: { id: 'p1' }, user: { id: 'u1' }, catalog } }, { 'X-Subject-Token': 'tok' }),
    );
    const a = await authenticate(s, { authUrl: 'http://h/v3', username: 'demo', userId: null, password: 'secret', projectName: 'demo', projectId: null, userDomainName: null, userDomainId: null, projectDomainName: null, projectDomainId: null });
    expect(a).toMatchObject({ token: 'tok', projectId: 'p1', userId: 'u1' });
    expect(seen[1].url).toBe('http://h/v3/auth/tokens');
    expect(JSON.parse(seen[1].body as string)).toEqual({
      auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'secret', domain: { name: 'Default' } } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } },
    });
  });

  it('finds endpoints by type, interface and region', () => {
    expect(urlFor(catalog, 'compute', interfaceOf('publicURL'), null)).toBe('http://h/v2.1');
    expect(urlFor(catalog, 'compute', interfaceOf('internal'), 'RegionTwo')).toBe('http://i/v2.1');
    expect(urlFor(catalog, 'compute', 'public', 'RegionTwo')).toBeNull();
    expect(urlFor(catalog, 'volumev2', 'public', null)).toBe('http://h/volume/v2/p1');
  });

  it('words Keystone errors as keystoneauth does', () => {
    const e = keystoneFromResponse(json(401, { error: { message: 'The request you have made requires authentication.', code: 401 } }, { 'x-openstack-request-id': 'req-9' }));
    expect([e.kind, e.message]).toEqual(['Unauthorized', 'The request you have made requires authentication. (HTTP 401) (Request-ID: req-9)']);
    expect(keystoneFromResponse({ status: 503, headers: {}, body: '' }).message).toBe('Service Unavailable (HTTP 503)');
    expect(passwordAuthBody({ authUrl: '', username: null, userId: 'u', password: 'p', projectName: null, projectId: 'p', userDomainName: null, userDomainId: null, projectDomainName: null, projectDomainId: null })).toEqual({
      auth: { identity: { methods: ['password'], password: { user: { id: 'u', password: 'p' } } }, scope: { project: { id: 'p' } } },
    });
  });
});

describe('judge: where a remotely followed swap is', () => {
  const ids = { oldVolumeId: 'old', newVolumeId: 'new' };
  it('reads the end from the volumes and the attachments', () => {
    expect(judge({ attached: ['old'], oldStatus: 'detaching', newStatus: 'attaching', job: null }, ids, false, true)).toBe('running');
    expect(judge({ attached: ['new'], oldStatus: 'available', newStatus: 'in-use', job: null }, ids, true, true)).toBe('swapped');
    expect(judge({ attached: ['old'], oldStatus: 'in-use', newStatus: 'available', job: null }, ids, true, true)).toBe('rolled-back');
    expect(judge({ attached: ['old'], oldStatus: 'in-use', newStatus: 'error', job: null }, ids, true, true)).toBe('error');
  });
  it('without a volume endpoint, from the attachments and the block job', () => {
    expect(judge({ attached: ['old'], oldStatus: null, newStatus: null, job: { cur: 1, end: 2 } }, ids, true, false)).toBe('running');
    expect(judge({ attached: ['old'], oldStatus: null, newStatus: null, job: null }, ids, false, false)).toBe('running');
    expect(judge({ attached: ['old'], oldStatus: null, newStatus: null, job: null }, ids, true, false)).toBe('rolled-back');
    expect(judge({ attached: ['new'], oldStatus: null, newStatus: null, job: null }, ids, true, false)).toBe('swapped');
  });
});

describe('swappedText: what a followed swap says it copied', () => {
  const t = 'a -> b on web-1';
  it('the bytes the mirror wrote, as novasim counts them, never the disk length cur/end walk through', () => {
    const job = { cur: 1073741824, end: 1073741824, ready: true, bytes_copied: 7344128 };
    expect(swappedText(t, job, 550)).toBe('Swapped volume a -> b on web-1: copied at least 7.0 MiB (7344128 bytes) in about 0.55 s');
  });
  it('nothing about bytes when the server does not count them, or the job was last seen short of its end', () => {
    expect(swappedText(t, { cur: 1073741824, end: 1073741824, ready: true }, 550)).toBe('Swapped volume a -> b on web-1');
    expect(swappedText(t, { cur: 10, end: 1073741824, bytes_copied: 10 }, 550)).toBe('Swapped volume a -> b on web-1');
    expect(swappedText(t, null, 550)).toBe('Swapped volume a -> b on web-1');
  });
});
