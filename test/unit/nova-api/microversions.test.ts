// The server views honour the requested microversion, as Mitaka's views/servers.py and the
// extended_server_attributes / extended_volumes extensions do: a field appears from the
// version that added it, never before (issue 12 §4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, DEMO, openWorld, SERVERS, type World } from '../../support/world.js';

let w: World;
beforeAll(async () => {
  w = await openWorld();
});
afterAll(async () => {
  await w.close();
});

async function show(version: string | null, token = ADMIN, id = SERVERS.web1): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'X-Auth-Token': token, Accept: 'application/json' };
  if (version) headers['X-OpenStack-Nova-API-Version'] = version;
  const res = await w.cloud.transport.request({ method: 'GET', url: `${w.cloud.endpoints.compute}/servers/${id}`, headers });
  expect(res.status).toBe(200);
  return JSON.parse(res.body).server as Record<string, unknown>;
}

const LATER_SRV_ATTRS = ['reservation_id', 'launch_index', 'hostname', 'kernel_id', 'ramdisk_id', 'root_device_name', 'user_data'].map((a) => `OS-EXT-SRV-ATTR:${a}`);

// [version, locked (2.9), description (2.19), host_status (2.16, admin), 2.3's attributes]
const TABLE: [string | null, boolean, boolean, boolean, boolean][] = [
  [null, false, false, false, false],
  ['2.1', false, false, false, false],
  ['2.2', false, false, false, false],
  ['2.3', false, false, false, true],
  ['2.8', false, false, false, true],
  ['2.9', true, false, false, true],
  ['2.15', true, false, false, true],
  ['2.16', true, false, true, true],
  ['2.18', true, false, true, true],
  ['2.19', true, true, true, true],
  ['2.25', true, true, true, true],
];

describe('GET /servers/{id} at each microversion (admin)', () => {
  it.each(TABLE)('%s: locked %s, description %s, host_status %s, 2.3 attributes %s', async (version, locked, description, hostStatus, v23) => {
    const s = await show(version);
    expect('locked' in s).toBe(locked);
    expect('description' in s).toBe(description);
    expect('host_status' in s).toBe(hostStatus);
    for (const k of LATER_SRV_ATTRS) expect(k in s).toBe(v23);
    // 2.1's extended server attributes are always there for an admin
    for (const k of ['OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:hypervisor_hostname', 'OS-EXT-SRV-ATTR:instance_name']) expect(k in s).toBe(true);
    // extended_volumes: delete_on_termination from 2.3
    const vols = s['os-extended-volumes:volumes_attached'] as Record<string, unknown>[];
    expect(vols.length).toBeGreaterThan(0);
    for (const v of vols) expect(Object.keys(v).sort()).toEqual(v23 ? ['delete_on_termination', 'id'] : ['id']);
  });

  it('the detail listing follows the same version', async () => {
    const list = async (version: string) => {
      const res = await w.cloud.transport.request({
        method: 'GET',
        url: `${w.cloud.endpoints.compute}/servers/detail`,
        headers: { 'X-Auth-Token': ADMIN, Accept: 'application/json', 'X-OpenStack-Nova-API-Version': version },
      });
      return JSON.parse(res.body).servers as Record<string, unknown>[];
    };
    for (const s of await list('2.1')) expect(['locked', 'description', 'host_status'].filter((k) => k in s)).toEqual([]);
    for (const s of await list('2.19')) expect(['locked', 'description', 'host_status'].filter((k) => k in s)).toEqual(['locked', 'description', 'host_status']);
  });
});

describe('fields by status and by role', () => {
  it('progress only in the statuses that show it (ACTIVE, BUILD, …): not for a SHUTOFF server', async () => {
    expect((await show('2.25'))['progress']).toBe(0);
    expect('progress' in (await show('2.25', ADMIN, SERVERS.batch1))).toBe(false);
  });

  it('a member sees locked and description at 2.19 but neither host_status nor the extended server attributes', async () => {
    const s = await show('2.19', DEMO);
    expect('locked' in s && 'description' in s).toBe(true);
    expect(Object.keys(s).filter((k) => k === 'host_status' || k.startsWith('OS-EXT-SRV-ATTR:'))).toEqual([]);
  });
});
