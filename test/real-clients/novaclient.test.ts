// Debian's python3-novaclient 18.1 (/usr/bin/nova) against the built `nova-sim serve`, at
// --os-compute-api-version 2.1 and 2.latest (which novaclient negotiates down to the
// server's maximum): list, show, volume-attachments, volume-update's error cases and a real
// swap, each compared with novasim's own `nova` on the same world.
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { build, World } from '../cli/helpers.js';
import {
  BATCH_DATA,
  BIG_DATA,
  clientEnv,
  DB_1,
  DB_DATA,
  describeWithClients,
  errorLines,
  maskRequestId,
  NEW_WEB_DATA,
  NOVA_CLIENT,
  ourCinder,
  ourNova,
  pollAttachments,
  propertyMap,
  runClient,
  serviceTrouble,
  type Served,
  serve,
  SPARE,
  startServedWorld,
  stop,
  stopServedWorld,
  tableObjects,
  WEB_1,
  WEB_DATA,
} from './helpers.js';

// each real client starts a Python interpreter (about a second on a busy machine)
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

beforeAll(() => build());

/** `nova-sim doctor`'s findings, the world's own paths masked */
function doctorFindings(w: World): string[] {
  return w
    .sim(['doctor', '--state', w.state])
    .stdout.split('\n')
    .filter((l) => /^[a-z-]+: /.test(l))
    .map((l) => l.split(w.dir).join('<world>'))
    .sort();
}

const VERSIONS = ['2.1', '2.latest'] as const;
const MISSING = '00000000-0000-4000-8000-00000000abcd';
const NO_SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4cff';

describeWithClients('python-novaclient 18.1 against nova-sim serve', ['novaclient'], () => {
  let w: World;
  let s: Served;
  const nova = (args: string[]) => runClient(NOVA_CLIENT, args, clientEnv(w, s, true));

  beforeAll(async () => {
    w = new World();
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
    s = await serve(w);
  });
  afterAll(async () => {
    if (s) {
      expect(await stop(s)).toBe(0);
      // nothing the clients sent made the server complain
      expect(s.stderr()).not.toMatch(/ERROR|CRITICAL|Traceback|Unhandled/);
    }
    w.cleanup();
  });

  it('reports its version (the one the issue names)', () => {
    const r = runClient(NOVA_CLIENT, ['--version'], clientEnv(w, s, false));
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toMatch(/^18\.1\./);
  });

  for (const v of VERSIONS) {
    it(`nova --os-compute-api-version ${v} list: the rows of novasim's nova list`, () => {
      const real = nova(['--os-compute-api-version', v, 'list']);
      expect(real.code, real.stderr).toBe(0);
      const ours = ourNova(w, ['--os-compute-api-version', v, 'list']);
      expect(ours.code, ours.stderr).toBe(0);
      const cells = (out: string) =>
        tableObjects(out)
          .map((r) => [r.ID, r.Name, r.Status, r['Task State'], r['Power State'], r.Networks].join(' '))
          .sort();
      const rows = cells(real.stdout);
      expect(rows).toHaveLength(6);
      expect(rows).toEqual(cells(ours.stdout));
      expect(rows.find((r) => r.startsWith(WEB_1))).toBe(`${WEB_1} web-1 ACTIVE - Running private=10.0.0.5`);
    });

    it(`nova --os-compute-api-version ${v} show web-1: the cells novasim's nova show has`, () => {
      const real = nova(['--os-compute-api-version', v, 'show', 'web-1']);
      expect(real.code, real.stderr).toBe(0);
      const ours = ourNova(w, ['--os-compute-api-version', v, 'show', 'web-1']);
      expect(ours.code, ours.stderr).toBe(0);
      const a = propertyMap(real.stdout);
      const b = propertyMap(ours.stdout);
      for (const k of ['id', 'name', 'status', 'tenant_id', 'user_id', 'flavor', 'image', 'private network', 'OS-EXT-STS:vm_state', 'OS-EXT-STS:power_state', 'OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:instance_name', 'hostId', 'security_groups']) {
        expect(a[k], k).toBeDefined();
        expect(a[k], k).toBe(b[k]);
      }
      const attached = (m: Record<string, string>) => (JSON.parse(m['os-extended-volumes:volumes_attached']) as { id: string }[]).map((x) => x.id);
      expect(attached(a)).toEqual([WEB_DATA]);
      expect(attached(a)).toEqual(attached(b));
    });

    it(`nova --os-compute-api-version ${v} volume-attachments web-1: the rows of novasim's`, () => {
      const real = nova(['--os-compute-api-version', v, 'volume-attachments', 'web-1']);
      expect(real.code, real.stderr).toBe(0);
      const ours = ourNova(w, ['--os-compute-api-version', v, 'volume-attachments', 'web-1']);
      expect(ours.code, ours.stderr).toBe(0);
      const rows = tableObjects(real.stdout).map((r) => [r.ID, r.DEVICE, r['SERVER ID'], r['VOLUME ID']]);
      expect(rows).toEqual([[WEB_DATA, '/dev/vdb', WEB_1, WEB_DATA]]);
      expect(rows).toEqual(tableObjects(ours.stdout).map((r) => [r.ID, r.DEVICE, r['SERVER ID'], r['VOLUME ID']]));
    });

    it(`nova --os-compute-api-version ${v} volume-update: Nova's errors, novaclient 18.1's lines and exit 1, nothing changed`, () => {
      const cases: { args: string[]; line: RegExp }[] = [
        // the volume is attached, but to web-1, not to db-1
        { args: ['db-1', WEB_DATA, NEW_WEB_DATA], line: /^ERROR \(NotFound\): The volume was either invalid or not attached to the instance\. \(HTTP 404\) \(Request-ID: req-[0-9a-f-]{36}\)$/ },
        // a volume attached nowhere
        { args: ['web-1', SPARE, NEW_WEB_DATA], line: /^ERROR \(NotFound\): The volume was either invalid or not attached to the instance\. \(HTTP 404\) \(Request-ID: req-[0-9a-f-]{36}\)$/ },
        { args: ['web-1', MISSING, NEW_WEB_DATA], line: new RegExp(`^ERROR \\(NotFound\\): Volume ${MISSING} could not be found\\. \\(HTTP 404\\) \\(Request-ID: req-[0-9a-f-]{36}\\)$`) },
        { args: ['web-1', WEB_DATA, MISSING], line: new RegExp(`^ERROR \\(BadRequest\\): Volume ${MISSING} could not be found\\. \\(HTTP 400\\) \\(Request-ID: req-[0-9a-f-]{36}\\)$`) },
        { args: ['db-1', DB_DATA, BATCH_DATA], line: /^ERROR \(BadRequest\): Invalid volume: New volume must be detached in order to swap\. \(HTTP 400\) \(Request-ID: req-[0-9a-f-]{36}\)$/ },
        { args: ['db-1', DB_DATA, SPARE], line: /^ERROR \(BadRequest\): Invalid volume: New volume must be the same size or larger\. \(HTTP 400\) \(Request-ID: req-[0-9a-f-]{36}\)$/ },
        { args: [NO_SERVER, WEB_DATA, NEW_WEB_DATA], line: new RegExp(`^ERROR \\(CommandError\\): No server with a name or ID of '${NO_SERVER}' exists\\.$`) },
      ];
      const before = ourCinder(w, ['list']).stdout;
      for (const c of cases) {
        const real = nova(['--os-compute-api-version', v, 'volume-update', ...c.args]);
        const lines = errorLines(real.stderr);
        expect(real.code, c.args.join(' ')).toBe(1);
        expect(real.stdout).toBe('');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(c.line);
        // novasim's own nova says the same (the request id aside)
        const ours = ourNova(w, ['--os-compute-api-version', v, 'volume-update', ...c.args]);
        expect(ours.code, c.args.join(' ')).toBe(1);
        expect(errorLines(ours.stderr).map(maskRequestId)).toEqual(lines.map(maskRequestId));
      }
      // novaclient 18.1 passes a volume's name as it is: Nova's schema refuses it
      const named = nova(['--os-compute-api-version', v, 'volume-update', 'web-1', WEB_DATA, 'spare']);
      expect(named.code).toBe(1);
      expect(errorLines(named.stderr)).toEqual([expect.stringMatching(/^ERROR \(BadRequest\): Invalid input for field\/attribute volumeId\. Value: spare\. 'spare' is not a 'uuid' \(HTTP 400\) \(Request-ID: req-[0-9a-f-]{36}\)$/)]);
      expect(ourCinder(w, ['list']).stdout).toBe(before);
    });
  }

  // the swaps change their world: each has a world and a server of its own, so every test
  // here passes alone and in any order
  let own: { w: World; s: Served } | null = null;
  afterEach(async () => {
    if (own) await stopServedWorld(own.w, own.s);
    own = null;
  });
  async function ownWorld(): Promise<{ w: World; nova: (args: string[]) => ReturnType<typeof runClient> }> {
    const o = await startServedWorld();
    own = { w: o.w, s: o.s };
    return { w: o.w, nova: (args) => runClient(NOVA_CLIENT, args, clientEnv(o.w, o.s, true)) };
  }

  it('nova --os-compute-api-version 2.1 volume-update swaps web-data for new-web-data (polled until attached)', async () => {
    const { w, nova } = await ownWorld();
    const real = nova(['--os-compute-api-version', '2.1', 'volume-update', 'web-1', WEB_DATA, NEW_WEB_DATA]);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toBe('');
    expect(await pollAttachments(w, 'web-1', (ids) => ids.includes(NEW_WEB_DATA)), serviceTrouble(w)).toEqual([NEW_WEB_DATA]);
    // the real client and ours see the same end state
    const att = nova(['volume-attachments', 'web-1']);
    expect(tableObjects(att.stdout).map((r) => [r.DEVICE, r['SERVER ID'], r['VOLUME ID']])).toEqual([['/dev/vdb', WEB_1, NEW_WEB_DATA]]);
    const vols = Object.fromEntries(tableObjects(ourCinder(w, ['list']).stdout).map((r) => [r.ID, r.Status]));
    expect(vols[WEB_DATA]).toBe('available');
    expect(vols[NEW_WEB_DATA]).toBe('in-use');
  });

  it('nova --os-compute-api-version 2.latest volume-update swaps db-data for big-data (polled until attached)', async () => {
    const { w, nova } = await ownWorld();
    const real = nova(['--os-compute-api-version', '2.latest', 'volume-update', 'db-1', DB_DATA, BIG_DATA]);
    expect(real.code, real.stderr).toBe(0);
    expect(await pollAttachments(w, DB_1, (ids) => ids.includes(BIG_DATA)), serviceTrouble(w)).toEqual([BIG_DATA]);
    const show = propertyMap(nova(['--os-compute-api-version', '2.latest', 'show', 'db-1']).stdout);
    expect((JSON.parse(show['os-extended-volumes:volumes_attached']) as { id: string }[]).map((x) => x.id)).toEqual([BIG_DATA]);
    const vols = Object.fromEntries(tableObjects(ourCinder(w, ['list']).stdout).map((r) => [r.ID, r.Status]));
    expect(vols[DB_DATA]).toBe('available');
    expect(vols[BIG_DATA]).toBe('in-use');
    // what the swap left behind is what the same swap by novasim's own nova leaves
    const twin = new World();
    try {
      expect(twin.sim(['init', '--state', twin.state]).code).toBe(0);
      expect(ourNova(twin, ['volume-update', 'db-1', DB_DATA, BIG_DATA]).code).toBe(0);
      expect(doctorFindings(w)).toEqual(doctorFindings(twin));
    } finally {
      twin.cleanup();
    }
  });
});
