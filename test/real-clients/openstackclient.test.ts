// Debian's python3-openstackclient 6.0 (/usr/bin/openstack) against the built `nova-sim serve`,
// through the clouds.yaml docs/serve.md shows (OS_CLIENT_CONFIG_FILE, --os-cloud novasim) and
// through OS_* variables: server list/show, volume list/show, server add volume / remove
// volume, each compared with novasim's own nova and cinder on the same world.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { build, World } from '../cli/helpers.js';
import {
  clientEnv,
  DB_DATA,
  maskRequestId,
  describeWithClients,
  OPENSTACK_CLIENT,
  ourCinder,
  ourNova,
  pollAttachments,
  propertyMap,
  runClient,
  type Served,
  SPARE,
  tableObjects,
  WEB_1,
  WEB_DATA,
  startServedWorld,
  stopServedWorld,
} from './helpers.js';

// each real client starts a Python interpreter (a few seconds for openstack on a busy machine)
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

beforeAll(() => build());

interface ServerRow {
  ID: string;
  Name: string;
  Status: string;
  Networks: Record<string, string[]>;
}

interface VolumeRow {
  ID: string;
  Name: string;
  Status: string;
  Size: number;
  'Attached to': { server_id: string; device: string }[];
}

describeWithClients('python-openstackclient 6.0 against nova-sim serve', ['openstackclient'], () => {
  let w: World;
  let s: Served;
  let clouds = '';
  /** openstack --os-cloud novasim …, configured by clouds.yaml alone */
  const osc = (args: string[]) => runClient(OPENSTACK_CLIENT, ['--os-cloud', 'novasim', ...args], clientEnv(w, s, false, { OS_CLIENT_CONFIG_FILE: clouds }));
  const json = <T>(args: string[]): T => {
    const r = osc([...args, '-f', 'json']);
    expect(r.code, `openstack ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    ({ w, s, clouds } = await startServedWorld());
  });
  afterAll(() => stopServedWorld(w, s));

  it('reports its version (the one the issue names)', () => {
    const r = runClient(OPENSTACK_CLIENT, ['--version'], clientEnv(w, s, false));
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toMatch(/^openstack 6\.0\./);
  });

  it("openstack server list: the ids, names, statuses and networks of novasim's nova list", () => {
    const rows = json<ServerRow[]>(['server', 'list']);
    const ours = ourNova(w, ['list']);
    expect(ours.code, ours.stderr).toBe(0);
    const real = rows
      .map((r) => [r.ID, r.Name, r.Status, Object.entries(r.Networks).map(([net, ips]) => `${net}=${ips.join(', ')}`).join('; ')].join(' '))
      .sort();
    expect(real).toHaveLength(6);
    expect(real).toEqual(
      tableObjects(ours.stdout)
        .map((r) => [r.ID, r.Name, r.Status, r.Networks].join(' '))
        .sort(),
    );
  });

  it('openstack server list through OS_* variables alone (no clouds.yaml) lists the same servers', () => {
    const r = runClient(OPENSTACK_CLIENT, ['server', 'list', '-f', 'value', '-c', 'ID'], clientEnv(w, s, true));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(json<ServerRow[]>(['server', 'list']).map((x) => x.ID).sort());
  });

  it("openstack server show web-1: the cells of novasim's nova show", () => {
    const real = json<Record<string, unknown>>(['server', 'show', 'web-1']);
    const ours = propertyMap(ourNova(w, ['show', 'web-1']).stdout);
    expect(real.id).toBe(WEB_1);
    for (const k of ['id', 'name', 'status', 'user_id', 'flavor', 'image', 'hostId', 'OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:instance_name', 'OS-EXT-STS:vm_state']) {
      expect(real[k], k).toBe(ours[k]);
    }
    expect(real.project_id).toBe(ours.tenant_id);
    expect(real.addresses).toEqual({ private: [ours['private network']] });
    const attached = (JSON.parse(ours['os-extended-volumes:volumes_attached']) as { id: string }[]).map((x) => x.id);
    expect(attached).toEqual([WEB_DATA]);
    expect((real.volumes_attached as { id: string }[]).map((x) => x.id)).toEqual(attached);
  });

  it("openstack volume list / volume show: the volumes of novasim's cinder list", () => {
    const real = json<VolumeRow[]>(['volume', 'list']);
    const ours = tableObjects(ourCinder(w, ['list']).stdout);
    expect(real).toHaveLength(ours.length);
    expect(real.length).toBeGreaterThan(0);
    const key = (id: string, name: string, status: string, size: string, attached: string) => `${id} ${name} ${status} ${size} ${attached}`;
    expect(real.map((v) => key(v.ID, v.Name, v.Status, String(v.Size), v['Attached to'].map((a) => a.server_id).join(','))).sort()).toEqual(
      ours.map((v) => key(v.ID, v.Name, v.Status, v.Size, v['Attached to'])).sort(),
    );
    const shown = json<Record<string, unknown>>(['volume', 'show', 'web-data']);
    const oursShown = propertyMap(ourCinder(w, ['show', 'web-data']).stdout);
    for (const k of ['id', 'name', 'status', 'size', 'bootable', 'os-vol-host-attr:host', 'os-vol-tenant-attr:tenant_id']) {
      expect(String(shown[k]), k).toBe(oursShown[k]);
    }
    expect((shown.attachments as { server_id: string; device: string }[]).map((a) => [a.server_id, a.device])).toEqual([[WEB_1, '/dev/vdb']]);
  });

  it('openstack server add volume / remove volume: attached and detached as novasim sees it', async () => {
    const added = json<Record<string, string>>(['server', 'add', 'volume', 'web-1', 'spare']);
    expect(added['Volume ID']).toBe(SPARE);
    expect(added['Server ID']).toBe(WEB_1);
    expect(await pollAttachments(w, 'web-1', (ids) => ids.includes(SPARE))).toEqual([WEB_DATA, SPARE]);
    const att = tableObjects(ourNova(w, ['volume-attachments', 'web-1']).stdout).find((r) => r['VOLUME ID'] === SPARE);
    expect(att?.DEVICE).toBe(added.Device);
    expect(propertyMap(ourCinder(w, ['show', 'spare']).stdout).status).toBe('in-use');
    expect(json<Record<string, string>>(['volume', 'show', 'spare']).status).toBe('in-use');

    const removed = osc(['server', 'remove', 'volume', 'web-1', 'spare']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('');
    expect(await pollAttachments(w, 'web-1', (ids) => !ids.includes(SPARE))).toEqual([WEB_DATA]);
    expect(propertyMap(ourCinder(w, ['show', 'spare']).stdout).status).toBe('available');
    expect(json<Record<string, unknown>>(['volume', 'show', 'spare']).attachments).toEqual([]);
  });

  it("openstack server remove volume / add volume refused: Nova's 404 and 400 as novasim's nova gets them, exit 1, nothing changed", () => {
    const before = ourCinder(w, ['list']).stdout;
    const url = `${s.url}/v2.1/servers/${WEB_1}/os-volume_attachments`;
    const removed = osc(['server', 'remove', 'volume', 'web-1', 'spare']);
    expect(removed.code).toBe(1);
    expect(removed.stderr.trim()).toBe(`ResourceNotFound: 404: Client Error for url: ${url}/${SPARE}, volume_id not found: ${SPARE}`);
    const ours = ourNova(w, ['volume-detach', 'web-1', SPARE]);
    expect(ours.code).toBe(1);
    expect(maskRequestId(ours.stderr.trim())).toBe(`ERROR (NotFound): volume_id not found: ${SPARE} (HTTP 404) (Request-ID: req-<id>)`);

    const added = osc(['server', 'add', 'volume', 'web-1', 'db-data']);
    expect(added.code).toBe(1);
    const msg = `Invalid volume: volume '${DB_DATA}' status must be 'available'. Currently in 'in-use'`;
    expect(added.stderr.trim()).toBe(`BadRequestException: 400: Client Error for url: ${url}, ${msg}`);
    const oursAdd = ourNova(w, ['volume-attach', 'web-1', DB_DATA]);
    expect(oursAdd.code).toBe(1);
    expect(maskRequestId(oursAdd.stderr.trim())).toBe(`ERROR (BadRequest): ${msg} (HTTP 400) (Request-ID: req-<id>)`);
    expect(ourCinder(w, ['list']).stdout).toBe(before);
  });
});
