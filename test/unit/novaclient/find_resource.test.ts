// utils.find_resource: ID first when it looks like one, then exact name, then human_id,
// then an integer ID; the requests it makes are visible under --debug, so they matter.
import { describe, expect, it } from 'vitest';
import { findResource, isUuidLike, toSlug } from '../../../src/novaclient/base.js';
import { SessionClient } from '../../../src/novaclient/client.js';
import { CommandError } from '../../../src/novaclient/exceptions.js';
import { ServerManager } from '../../../src/novaclient/v2/servers.js';
import { VolumeManager } from '../../../src/novaclient/v2/volumes.js';
import { DUP1, FakeTransport, VOL2, WEB } from './fake_cloud.js';

function managers() {
  const t = new FakeTransport();
  const api = new SessionClient({
    transport: t,
    endpoints: { compute: 'http://127.0.0.1:8774/v2.1', volumev2: 'http://127.0.0.1:8776/v2' },
    token: 'demo:demo',
    projectId: 'demo',
  });
  const paths = () => t.requests.map((r) => `${r.method} ${r.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, '')}`);
  return { t, paths, servers: new ServerManager(api), volumes: new VolumeManager(api) };
}

describe('find_resource', () => {
  it('a UUID is fetched directly', async () => {
    const m = managers();
    expect((await findResource(m.servers, DUP1)).id).toBe(DUP1);
    expect(m.paths()).toEqual([`GET /v2.1/servers/${DUP1}`]);
  });

  it('a name: GET /servers?name=…, exact match, then GET of the match', async () => {
    const m = managers();
    expect((await findResource(m.servers, 'web')).id).toBe(WEB);
    expect(m.paths()).toEqual(['GET /v2.1/servers?name=web', `GET /v2.1/servers/${WEB}`]);
  });

  it('two exact matches', async () => {
    const m = managers();
    await expect(findResource(m.servers, 'dup')).rejects.toThrow(
      new CommandError("Multiple server matches found for 'dup', use an ID to be more specific."),
    );
  });

  it('an unknown UUID falls through to the name search and fails with the CommandError', async () => {
    const m = managers();
    const id = '99999999-9999-9999-9999-999999999999';
    await expect(findResource(m.servers, id)).rejects.toThrow(`No server with a name or ID of '${id}' exists.`);
    expect(m.paths()[0]).toBe(`GET /v2.1/servers/${id}`);
  });

  it('volumes: by display name through Cinder, on the project\'s endpoint', async () => {
    const m = managers();
    expect((await findResource(m.volumes, 'data2')).id).toBe(VOL2);
    expect(m.paths()).toEqual(['GET /v2/demo/volumes/detail']);
    await expect(findResource(m.volumes, 'nosuch')).rejects.toThrow("No volume with a name or ID of 'nosuch' exists.");
  });

  it('UUID shapes and slugs as Python sees them', () => {
    expect(isUuidLike('{11111111111111111111111111111111}')).toBe(true);
    expect(isUuidLike('web-1')).toBe(false);
    expect(toSlug('My Server_1!')).toBe('my-server_1');
  });
});
