// The built `nova` against the embedded cloud on the default world (fixtures/default.json):
// web-1 (ACTIVE, web-data at /dev/vdb), db-1 (locked), batch-1 (SHUTOFF), worker-1 (PAUSED),
// cache-1; available new-web-data, big-data, spare.
import { beforeAll, describe, expect, it } from 'vitest';
import { build, tableRows, World, worldPerTest } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// eslint-disable-next-line no-control-regex
const ESC = /\x1b\[/;

beforeAll(() => build());
// every test starts from its own fresh default world (`nova-sim init`), so each passes alone
// and in any order; the tests of the world's first use make an empty one of their own
let w!: World;
worldPerTest((x) => (w = x));

function volumeRow(world: World, name: string): string[] {
  const r = world.nova(['volume-list']);
  const row = tableRows(r.stdout).find((cells) => cells[2] === name);
  if (!row) throw new Error(`no volume ${name} in\n${r.stdout}`);
  return row;
}

describe('reading the world', () => {
  it('nova list creates the world on first use and lists servers sorted by name', () => {
    const fresh = new World();
    const r = fresh.nova(['list']);
    fresh.cleanup();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/created .*state\.json/);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['ID', 'Name', 'Status', 'Task State', 'Power State', 'Networks']);
    const names = rows.slice(1).map((c) => c[1]);
    expect(names).toEqual([...names].sort());
    const byName = Object.fromEntries(rows.slice(1).map((c) => [c[1], c]));
    expect(byName['web-1'][2]).toBe('ACTIVE');
    expect(byName['web-1'][4]).toBe('Running');
    expect(byName['batch-1'][2]).toBe('SHUTOFF');
    expect(byName['worker-1'][2]).toBe('PAUSED');
    expect(byName['worker-1'][4]).toBe('Paused');
    expect(byName['web-1'][0]).toMatch(UUID);
    expect(r.stdout).toMatch(/^\+-+\+/);
    expect(r.stdout.endsWith('+\n')).toBe(true);
  });

  it('the notice is printed only when the world is created', () => {
    const fresh = new World();
    try {
      expect(fresh.nova(['list']).stderr).toMatch(/created .*state\.json/);
      const again = fresh.nova(['list']);
      expect(again.code).toBe(0);
      expect(again.stderr).toBe('');
    } finally {
      fresh.cleanup();
    }
  });

  it('nova show web-1: Property/Value, flavor and image by name, network rows', () => {
    const r = w.nova(['show', 'web-1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['Property', 'Value']);
    const props = Object.fromEntries(rows.slice(1));
    expect(props.name).toBe('web-1');
    expect(props['OS-EXT-STS:power_state']).toBe('1');
    expect(props.flavor).toMatch(/^m1\.\w+ \(\d+\)$/);
    expect(props['private network']).toMatch(/^\d+\.\d+\.\d+\.\d+/);
    expect(props['os-extended-volumes:volumes_attached']).toMatch(/^\[\{"id": "[0-9a-f-]{36}"/);
    const keys = rows.slice(1).map((c) => c[0]);
    expect(keys).toEqual([...keys].sort());
    expect(props.links).toBeUndefined();
  });

  it('nova show nosuch', () => {
    const r = w.nova(['show', 'nosuch']);
    expect(r.stderr).toBe("ERROR (CommandError): No server with a name or ID of 'nosuch' exists.\n");
    expect(r.code).toBe(1);
  });

  it('nova volume-attachments web-1', () => {
    const r = w.nova(['volume-attachments', 'web-1']);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['ID', 'DEVICE', 'SERVER ID', 'VOLUME ID']);
    expect(rows[1][1]).toBe('/dev/vdb');
  });

  it('nova volume-list warns on stderr and lists volumes', () => {
    const r = w.nova(['volume-list']);
    expect(r.stderr).toBe(
      'WARNING: Command volume-list is deprecated and will be removed after Nova 13.0.0 is released. Use python-cinderclient or openstackclient instead.\n',
    );
    expect(tableRows(r.stdout)[0]).toEqual(['ID', 'Status', 'Display Name', 'Size', 'Volume Type', 'Attached to']);
    expect(volumeRow(w, 'web-data')[1]).toBe('in-use');
    expect(volumeRow(w, 'new-web-data')[1]).toBe('available');
  });

  it('usage errors exit 2 without touching the cloud', () => {
    const r = w.nova(['volume-update', 'web-1']);
    expect(r.stderr).toBe(
      'usage: nova volume-update <server> <attachment> <volume>\n' +
        'error: the following arguments are required: <attachment>, <volume>\n' +
        "Try 'nova help volume-update' for more information.\n",
    );
    expect(r.code).toBe(2);
    expect(w.nova(['nosuch']).code).toBe(2);
  });

  it('nova help volume-update', () => {
    const r = w.nova(['help', 'volume-update']);
    expect(r.stdout).toBe(
      'usage: nova volume-update <server> <attachment> <volume>\n\nUpdate volume attachment.\n\n' +
        'Positional arguments:\n  <server>      Name or ID of server.\n  <attachment>  Attachment ID of the volume.\n' +
        '  <volume>      ID of the volume to attach.\n',
    );
  });
});

describe('nova volume-update', () => {
  it('a locked server is a 409 for a non-admin', () => {
    const r = w.nova(['volume-update', 'db-1', 'db-data', 'spare']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ERROR \(Conflict\): Instance [0-9a-f-]{36} is locked \(HTTP 409\) \(Request-ID: req-[0-9a-f-]{36}\)\n$/);
    expect(r.code).toBe(1);
  });

  it('the main job: web-1 web-data -> new-web-data, followed to the end (plain lines, no escapes)', () => {
    const r = w.admin(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(ESC);
    expect(r.stderr).toMatch(/^Swapped volume web-data -> new-web-data on web-1: copied \d+(\.\d)? (B|KiB|MiB|GiB) \(\d+ bytes\) in \d+\.\d\d s$/m);
    expect(r.code).toBe(0);
    const att = tableRows(w.nova(['volume-attachments', 'web-1']).stdout);
    const newId = volumeRow(w, 'new-web-data')[0];
    expect(att[1][3]).toBe(newId);
    expect(volumeRow(w, 'new-web-data')[1]).toBe('in-use');
    expect(volumeRow(w, 'web-data')[1]).toBe('available');
  });

  it('as demo (a member): 202, the copy and the pivot, then Cinder refuses migrate_volume_completion (admin-only), exit 1', () => {
    const r = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ERROR \(Forbidden\): Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume_completion to be performed\. \(HTTP 403\)/m);
    expect(r.stderr).toContain('real Nova would have failed silently');
    expect(r.code).toBe(1);
    // the exception came from the finally branch: nothing rolled back, the volumes stay half-swapped
    expect(volumeRow(w, 'web-data')[1]).toBe('detaching');
    expect(volumeRow(w, 'new-web-data')[1]).toBe('attaching');
  });

  it('a SHUTOFF server: 202, then libvirt has no domain after the undefine; the CLI says so (exit 1)', () => {
    const r = w.admin(['volume-update', 'batch-1', 'batch-data', 'spare']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ERROR \(libvirtError\): Domain not found: no domain with matching uuid '[0-9a-f-]{36}' \(instance-00000003\)/m);
    expect(r.stderr).toContain('real Nova would have failed silently');
    expect(r.code).toBe(1);
    // the manager's except branch rolled the volumes back
    expect(volumeRow(w, 'batch-data')[1]).toBe('in-use');
    expect(volumeRow(w, 'spare')[1]).toBe('available');
  });

  it('--debug shows keystoneauth REQ/RESP lines and the services\' oslo.log records', () => {
    const r = w.nova(['--debug', 'volume-update', 'web-1', 'web-data', 'new-web-data'], { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^DEBUG \(session:519\) REQ: curl -g -i -X GET http:\/\/127\.0\.0\.1:8774\/v2\.1 -H "Accept: application\/json" -H "User-Agent: python-novaclient" -H "X-Auth-Token: \{SHA1\}[0-9a-f]{40}"$/m);
    expect(r.stderr).toMatch(
      /^DEBUG \(session:519\) REQ: curl -g -i -X PUT http:\/\/127\.0\.0\.1:8774\/v2\.1\/servers\/[0-9a-f-]{36}\/os-volume_attachments\/[0-9a-f-]{36} .*-H "X-OpenStack-Nova-API-Version: 2\.25" -d '\{"volumeAttachment": \{"volumeId": "[0-9a-f-]{36}"\}\}'$/m,
    );
    expect(r.stderr).toMatch(/^DEBUG \(session:550\) RESP: \[202\] /m);
    expect(r.stderr).toMatch(/^DEBUG \(session:582\) RESP BODY: Omitted, Content-Type is set to None\. /m);
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ INFO nova\.compute\.manager \[req-[^\]]+\] \[instance: [0-9a-f-]{36}\] Swapping volume [0-9a-f-]{36} for [0-9a-f-]{36}$/m);
  });

  it('Ctrl-C during the block job cancels it, the swap is rolled back, exit 130', async () => {
    const r = await w.novaInterrupted(['volume-update', 'web-1', 'web-data', 'new-web-data'], /volume-update: (started|copying|ready)/, {
      OS_USERNAME: 'admin',
      OS_PROJECT_NAME: 'demo',
    });
    expect(r.signalled).toBe(true);
    expect(r.stderr.endsWith('... terminating nova client\n')).toBe(true);
    expect(r.code).toBe(130);
    expect(volumeRow(w, 'web-data')[1]).toBe('in-use');
    expect(volumeRow(w, 'new-web-data')[1]).toBe('available');
  });
});

describe('other commands', () => {
  it('lock / unlock, stop / start, pause / unpause, suspend / resume change what show says', () => {
    const prop = (server: string, key: string): string => Object.fromEntries(tableRows(w.nova(['show', server]).stdout).slice(1))[key];
    expect(w.nova(['lock', 'web-1']).code).toBe(0);
    expect(prop('web-1', 'locked')).toBe('True');
    expect(w.nova(['unlock', 'web-1']).code).toBe(0);
    const stop = w.nova(['stop', 'web-1']);
    expect(stop.stdout).toBe('Request to stop server web-1 has been accepted.\n');
    expect(prop('web-1', 'status')).toBe('SHUTOFF');
    expect(w.nova(['start', 'web-1']).stdout).toBe('Request to start server web-1 has been accepted.\n');
    expect(prop('web-1', 'status')).toBe('ACTIVE');
    expect(w.nova(['pause', 'web-1']).code).toBe(0);
    expect(prop('web-1', 'status')).toBe('PAUSED');
    expect(w.nova(['unpause', 'web-1']).code).toBe(0);
    expect(w.nova(['suspend', 'web-1']).code).toBe(0);
    expect(prop('web-1', 'status')).toBe('SUSPENDED');
    expect(w.nova(['resume', 'web-1']).code).toBe(0);
    expect(prop('web-1', 'status')).toBe('ACTIVE');
    const rs = w.admin(['reset-state', 'web-1']);
    expect(rs.stdout).toBe('Reset state for server web-1 succeeded; new state is error\n');
    expect(prop('web-1', 'status')).toBe('ERROR');
  });

  it('volume-create / volume-show / volume-delete', () => {
    const c = w.nova(['volume-create', '--display-name', 'scratch', '1']);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/^WARNING: Command volume-create is deprecated/);
    const props = Object.fromEntries(tableRows(c.stdout).slice(1));
    expect(props.size).toBe('1');
    const s = w.nova(['volume-show', 'scratch']);
    expect(Object.fromEntries(tableRows(s.stdout).slice(1)).id).toBe(props.id);
    const d = w.nova(['volume-delete', 'scratch', 'nosuch']);
    expect(d.stdout).toBe("Delete for volume nosuch failed: No volume with a name or ID of 'nosuch' exists.\n");
    expect(d.code).toBe(0);
  });

  it('volume-attach by name, then volume-detach', () => {
    const a = w.nova(['volume-attach', 'web-1', 'spare']);
    expect(a.code).toBe(0);
    const att = Object.fromEntries(tableRows(a.stdout).slice(1));
    expect(att.device).toMatch(/^\/dev\/vd[c-z]$/);
    expect(volumeRow(w, 'spare')[1]).toBe('in-use');
    const d = w.nova(['volume-detach', 'web-1', 'spare']);
    expect(d.stdout + d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(volumeRow(w, 'spare')[1]).toBe('available');
  });

  it('boot prints the new server; delete removes it', () => {
    const b = w.nova(['boot', '--flavor', 'm1.tiny', '--image', 'cirros-0.3.4-x86_64-uec', 'vm-1']);
    expect(b.code).toBe(0);
    const props = Object.fromEntries(tableRows(b.stdout).slice(1));
    expect(props.name).toBe('vm-1');
    expect(props.adminPass).toBeTruthy();
    expect(props.flavor).toBe('m1.tiny (1)');
    const d = w.nova(['delete', 'vm-1']);
    expect(d.stdout).toBe('Request to delete server vm-1 has been accepted.\n');
    const names = tableRows(w.nova(['list']).stdout).map((c) => c[1]);
    expect(names).not.toContain('vm-1');
  });
});

describe('nova-sim', () => {
  it('init, init again (refused), init --force, volume-path', () => {
    const w5 = new World();
    try {
      const i = w5.sim(['init', '--state', w5.state]);
      expect(i.code).toBe(0);
      expect(i.stdout).toBe(`Created ${w5.state} from fixture default\n`);
      const again = w5.sim(['init', '--state', w5.state]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^ERROR \(\w+\): .*already exists/);
      expect(w5.sim(['init', '--force', '--state', w5.state])).toMatchObject({ code: 0, stdout: `Replaced ${w5.state} from fixture default\n` });
      const p = w5.sim(['volume-path', 'web-data', '--state', w5.state]);
      expect(p.code).toBe(0);
      expect(p.stdout).toMatch(/^\/.*volume-[0-9a-f-]{36}\n$/);
      const missing = w5.sim(['volume-path', 'nosuch', '--state', w5.state]);
      expect(missing.stderr).toBe("ERROR (CommandError): No volume with a name or ID of 'nosuch' exists.\n");
      expect(missing.code).toBe(1);
      expect(w5.sim(['bogus']).code).toBe(2);
    } finally {
      w5.cleanup();
    }
  });
});
