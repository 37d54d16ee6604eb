// Debian's python3-openstacksdk (run with /usr/bin/python3) against the built `nova-sim serve`:
// conn.compute.servers() compared with novasim's nova list, and a volume attachment update
// (Nova's swap) made through the SDK's compute proxy, its end state read with novasim's CLI.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { build, World } from '../cli/helpers.js';
import {
  BIG_DATA,
  clientEnv,
  DB_1,
  DB_DATA,
  describeWithClients,
  ourCinder,
  ourNova,
  pollAttachments,
  PYTHON,
  runClient,
  type Served,
  tableObjects,
  WEB_DATA,
  startServedWorld,
  stopServedWorld,
} from './helpers.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

beforeAll(() => build());

/** conn.compute.servers() as JSON lines, and the attachments of the server named argv[1] */
const LIST = `
import json, sys, openstack
conn = openstack.connect()
for s in conn.compute.servers():
    nets = ';'.join('%s=%s' % (n, ', '.join(a['addr'] for a in addrs)) for n, addrs in sorted(s.addresses.items()))
    print(json.dumps({'id': s.id, 'name': s.name, 'status': s.status, 'networks': nets}))
srv = conn.compute.find_server(sys.argv[1], ignore_missing=False)
print(json.dumps({'attachments': [[a.id, a.device, a.volume_id] for a in conn.compute.volume_attachments(srv)]}))
`;

/**
 * Nova's PUT /servers/{id}/os-volume_attachments/{old} through the SDK's compute proxy (its
 * keystoneauth adapter: the catalog's endpoint, the token, the microversion header). The
 * proxy's update_volume_attachment() of this SDK sends no body (VolumeAttachment has
 * allow_commit = False), so the request is made with the proxy's own put().
 */
const UPDATE = `
import sys, openstack
from keystoneauth1 import discover
conn = openstack.connect(cloud=sys.argv[1])
srv = conn.compute.find_server(sys.argv[2], ignore_missing=False)
mv = sys.argv[5]
if mv == 'max':
    # the maximum the compute endpoint's version document names (keystoneauth's discovery)
    mv = discover.version_to_string(conn.compute.get_endpoint_data().max_microversion)
r = conn.compute.put('/servers/%s/os-volume_attachments/%s' % (srv.id, sys.argv[3]),
                     json={'volumeAttachment': {'volumeId': sys.argv[4]}}, microversion=mv)
print(r.status_code, r.request.headers.get('OpenStack-API-Version'))
if r.status_code >= 400:
    print(r.json())
    sys.exit(1)
`;

describeWithClients('openstacksdk against nova-sim serve', ['openstacksdk'], () => {
  let w: World;
  let s: Served;
  let clouds = '';

  beforeAll(async () => {
    ({ w, s, clouds } = await startServedWorld());
  });
  afterAll(() => stopServedWorld(w, s));

  it("conn.compute.servers() and volume_attachments(): novasim's nova list and volume-attachments", () => {
    const r = runClient(PYTHON, ['-', 'web-1'], clientEnv(w, s, true), LIST);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const servers = lines.filter((l) => 'id' in l).map((l) => `${String(l.id)} ${String(l.name)} ${String(l.status)} ${String(l.networks)}`);
    expect(servers).toHaveLength(6);
    expect(servers.sort()).toEqual(
      tableObjects(ourNova(w, ['list']).stdout)
        .map((x) => `${x.ID} ${x.Name} ${x.Status} ${x.Networks}`)
        .sort(),
    );
    const att = lines.find((l) => 'attachments' in l)?.attachments;
    expect(att).toEqual(tableObjects(ourNova(w, ['volume-attachments', 'web-1']).stdout).map((x) => [x.ID, x.DEVICE, x['VOLUME ID']]));
    expect(att).toEqual([[WEB_DATA, '/dev/vdb', WEB_DATA]]);
  });

  it("a volume attachment update through the SDK: Nova's errors first, then the swap as novasim's CLI sees it", async () => {
    const env = clientEnv(w, s, false, { OS_CLIENT_CONFIG_FILE: clouds });
    // a volume not attached to db-1: Nova's 404, nothing changed
    const before = ourCinder(w, ['list']).stdout;
    const bad = runClient(PYTHON, ['-', 'novasim', 'db-1', WEB_DATA, BIG_DATA, '2.1'], env, UPDATE);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('404 compute 2.1');
    expect(bad.stdout).toContain('The volume was either invalid or not attached to the instance.');
    expect(ourCinder(w, ['list']).stdout).toBe(before);

    const r = runClient(PYTHON, ['-', 'novasim', 'db-1', DB_DATA, BIG_DATA, 'max'], env, UPDATE);
    expect(r.code, r.stderr).toBe(0);
    // the maximum the server's version document names
    const max = ((await (await fetch(`${s.url}/v2.1`)).json()) as { version: { version: string } }).version.version;
    expect(r.stdout).toBe(`202 compute ${max}\n`);
    expect(await pollAttachments(w, DB_1, (ids) => ids.includes(BIG_DATA))).toEqual([BIG_DATA]);
    const vols = Object.fromEntries(tableObjects(ourCinder(w, ['list']).stdout).map((x) => [x.ID, x.Status]));
    expect(vols[DB_DATA]).toBe('available');
    expect(vols[BIG_DATA]).toBe('in-use');
  });
});
