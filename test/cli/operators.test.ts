// The built `nova` for the operators' commands, on the default world: flavor-list/show,
// image-list/show, availability-zone-list, service-list, hypervisor-list/show, host-list,
// reboot, list-extensions, version-list, bash-completion — Mitaka's help, tables and errors.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { State } from '../../src/state/types.js';
import { build, tableRows, World } from './helpers.js';

let w: World;
beforeAll(() => {
  build();
  w = new World();
  w.nova(['list']); // the world, created once
});
afterAll(() => w.cleanup());

const state = (): State => JSON.parse(readFileSync(w.state, 'utf8')) as State;

describe('nova help', () => {
  it('lists the new commands with their Mitaka one-line descriptions', () => {
    const r = w.nova(['help']);
    expect(r.code).toBe(0);
    const lines: [string, string][] = [
      ['availability-zone-list', 'List all the availability zones.'],
      ['flavor-list', "Print a list of available 'flavors' (sizes of"],
      ['flavor-show', 'Show details about the given flavor.'],
      ['host-list', 'List all hosts by service.'],
      ['hypervisor-list', 'List hypervisors.'],
      ['hypervisor-show', 'Display the details of the specified'],
      ['image-list', 'Print a list of available images to boot from.'],
      ['image-show', 'Show details about the given image.'],
      ['reboot', 'Reboot a server.'],
      ['service-list', 'Show a list of all running services. Filter by'],
      ['version-list', 'List all API versions.'],
      ['bash-completion', 'Prints all of the commands and options to'],
      ['list-extensions', 'List all the os-api extensions that are'],
    ];
    for (const [cmd, text] of lines) expect(r.stdout).toMatch(new RegExp(`^    ${cmd} +${text.replace(/[.()']/g, '\\$&')}`, 'm'));
    // Mitaka's order: v2 shell commands, then the shell's own, then the contrib extensions
    const order = ['version-list', 'volume-update', 'bash-completion', 'help', 'list-extensions'].map((c) => r.stdout.search(new RegExp(`^    ${c} `, 'm')));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('nova help reboot / flavor-list / hypervisor-show / image-list are Mitaka\'s', () => {
    expect(w.nova(['help', 'reboot']).stdout).toBe(
      [
        'usage: nova reboot [--hard] [--poll] <server> [<server> ...]',
        '',
        'Reboot a server.',
        '',
        'Positional arguments:',
        '  <server>  Name or ID of server(s).',
        '',
        'Options:',
        '  --hard    Perform a hard reboot (instead of a soft one).',
        '  --poll    Poll until reboot is complete.',
        '',
      ].join('\n'),
    );
    expect(w.nova(['help', 'flavor-list']).stdout).toContain('usage: nova flavor-list [--extra-specs] [--all] [--marker <marker>]\n                        [--limit <limit>]\n');
    expect(w.nova(['help', 'hypervisor-show']).stdout).toContain('  --wrap <integer>  Wrap the output to a specified length. Default is 40 or 0\n                    to disable\n');
    expect(w.nova(['help', 'image-list']).stdout).toContain('  --limit <limit>  Number of images to return per request.\n');
    expect(w.nova(['help', 'service-list']).stdout).toContain('  --host <hostname>  Name of host.\n  --binary <binary>  Service binary.\n');
    expect(w.nova(['help', 'host-list']).stdout).toContain('usage: nova host-list [--zone <zone>]');
  });
});

describe('flavors and images', () => {
  it("flavor-list: Mitaka's columns, one row per flavor of the state, sorted by ID", () => {
    const r = w.nova(['flavor-list']);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['ID', 'Name', 'Memory_MB', 'Disk', 'Ephemeral', 'Swap', 'VCPUs', 'RXTX_Factor', 'Is_Public']);
    expect(rows.slice(1).map((x) => [x[0], x[1], x[2], x[3], x[6]])).toEqual(
      state().flavors.map((f) => [f.id, f.name, String(f.ram), String(f.disk), String(f.vcpus)]),
    );
    expect(rows[1].slice(4)).toEqual(['0', '', '1', '1.0', 'True']);
  });

  it('flavor-list --extra-specs --marker 2 --limit 2 pages and adds extra_specs', () => {
    const rows = tableRows(w.nova(['flavor-list', '--extra-specs', '--marker', '2', '--limit', '2']).stdout);
    expect(rows.map((x) => [x[0], x[9]])).toEqual([
      ['ID', 'extra_specs'],
      ['3', '{}'],
      ['4', '{}'],
    ]);
  });

  it("flavor-list --limit -1 is refused by the API as in Mitaka (exit 1)", () => {
    const r = w.nova(['flavor-list', '--limit', '-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ERROR \(BadRequest\): Invalid input received: limit must be >= 0 \(HTTP 400\) \(Request-ID: req-[0-9a-f-]+\)\n$/);
  });

  it('flavor-show by name and by id; an unknown flavor is a CommandError', () => {
    const byName = w.nova(['flavor-show', 'm1.medium']);
    const byId = w.nova(['flavor-show', '3']);
    expect(byName.stdout).toBe(byId.stdout);
    const rows = Object.fromEntries(tableRows(byName.stdout));
    expect(rows).toMatchObject({ name: 'm1.medium', ram: '4096', vcpus: '2', disk: '40', extra_specs: '{}', rxtx_factor: '1.0', 'os-flavor-access:is_public': 'True' });
    expect(rows).not.toHaveProperty('links');
    const bad = w.nova(['flavor-show', 'm9.huge']);
    expect([bad.code, bad.stderr]).toEqual([1, "ERROR (CommandError): No flavor with a name or ID of 'm9.huge' exists.\n"]);
  });

  it("image-list shows devstack's image by its real name; image-show finds it by name", () => {
    const img = state().images[0];
    const rows = tableRows(w.nova(['image-list']).stdout);
    expect(rows).toEqual([
      ['ID', 'Name', 'Status', 'Server'],
      [img.id, img.name, img.status, ''],
    ]);
    const show = Object.fromEntries(tableRows(w.nova(['image-show', img.name]).stdout));
    expect(show).toMatchObject({ id: img.id, name: img.name, 'OS-EXT-IMG-SIZE:size': String(img.size), minDisk: '0', status: 'ACTIVE' });
    const bad = w.nova(['image-show', 'ubuntu']);
    expect([bad.code, bad.stderr]).toEqual([1, "ERROR (CommandError): No image with a name or ID of 'ubuntu' exists.\n"]);
  });
});

describe('zones, services, hypervisors, hosts', () => {
  it('availability-zone-list: the tree for admin, the summary for a member', () => {
    const admin = tableRows(w.admin(['availability-zone-list']).stdout);
    expect(admin.slice(0, 4)).toEqual([
      ['Name', 'Status'],
      ['internal', 'available'],
      ['nova', 'available'],
      [`|- ${state().host}`, ''],
    ]);
    expect(admin[4][0]).toBe('| |- nova-compute');
    expect(admin[4][1]).toMatch(/^enabled :-\) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(tableRows(w.nova(['availability-zone-list']).stdout)).toEqual([
      ['Name', 'Status'],
      ['nova', 'available'],
    ]);
  });

  it('service-list: admin sees nova-compute up; --binary filters; a member gets the 403', () => {
    const r = w.admin(['service-list']);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['Id', 'Binary', 'Host', 'Zone', 'Status', 'State', 'Updated_at', 'Disabled Reason']);
    expect(rows.slice(1).map((x) => x.slice(0, 6).concat(x[7]))).toEqual([['2', 'nova-compute', state().host, 'nova', 'enabled', 'up', '-']]);
    expect(tableRows(w.admin(['service-list', '--binary', 'nova-scheduler']).stdout)).toHaveLength(1);
    const member = w.nova(['service-list']);
    expect(member.code).toBe(1);
    expect(member.stderr).toMatch(/^ERROR \(Forbidden\): Policy doesn't allow os_compute_api:os-services to be performed\. \(HTTP 403\)/);
  });

  it('hypervisor-list (and --matching); hypervisor-show figures come from the state', () => {
    const host = state().host;
    expect(tableRows(w.admin(['hypervisor-list']).stdout)).toEqual([
      ['ID', 'Hypervisor hostname', 'State', 'Status'],
      ['1', host, 'up', 'enabled'],
    ]);
    expect(tableRows(w.admin(['hypervisor-list', '--matching', host.slice(1, 4)]).stdout)).toHaveLength(2);
    const none = w.admin(['hypervisor-list', '--matching', 'nowhere']);
    expect([none.code, none.stderr.split(' (HTTP')[0]]).toEqual([1, "ERROR (NotFound): No hypervisor matching 'nowhere' could be found."]);

    const s = state();
    const insts = s.nova.instances.filter((i) => !i.deleted);
    const fl = (id: string) => s.flavors.find((f) => f.id === id)!;
    const show = Object.fromEntries(tableRows(w.admin(['hypervisor-show', host]).stdout));
    expect(show).toMatchObject({
      hypervisor_hostname: host,
      running_vms: String(insts.length),
      vcpus_used: String(insts.reduce((n, i) => n + fl(i.flavorId).vcpus, 0)),
      memory_mb_used: String(512 + insts.reduce((n, i) => n + fl(i.flavorId).ram, 0)),
      local_gb_used: String(insts.reduce((n, i) => n + fl(i.flavorId).disk, 0)),
      hypervisor_type: 'QEMU',
      service_host: host,
      service_id: '2',
      // wrap=40: None is printed as Python's str(None)
      service_disabled_reason: 'None',
    });
    expect(show).toHaveProperty('cpu_info_arch');
    // by ID, --wrap 0: None is '-' again
    expect(Object.fromEntries(tableRows(w.admin(['hypervisor-show', '1', '--wrap', '0']).stdout)).service_disabled_reason).toBe('-');
    const bad = w.admin(['hypervisor-show', 'nosuch']);
    expect([bad.code, bad.stderr]).toEqual([1, "ERROR (CommandError): No hypervisor with a name or ID of 'nosuch' exists.\n"]);
    expect(w.admin(['hypervisor-show', '1', '--wrap', 'x']).stderr).toBe("ERROR (ValueError): invalid literal for int() with base 10: 'x'\n");
  });

  it('host-list: the compute host; --zone internal has none', () => {
    expect(tableRows(w.admin(['host-list']).stdout)).toEqual([
      ['host_name', 'service', 'zone'],
      [state().host, 'compute', 'nova'],
    ]);
    expect(tableRows(w.admin(['host-list', '--zone', 'internal']).stdout)).toEqual([['host_name', 'service', 'zone']]);
    expect(w.nova(['host-list']).stderr).toMatch(/Policy doesn't allow os_compute_api:os-hosts to be performed\./);
  });
});

describe('nova reboot', () => {
  it('soft reboot of web-1: accepted, the domain restarted (a new id), ACTIVE again', () => {
    const dom = () => state().libvirt.domains.find((d) => d.name === 'instance-00000001')!;
    const before = dom().id;
    const r = w.nova(['reboot', 'web-1']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'Request to reboot server <Server: web-1> has been accepted.\n', '']);
    expect(dom().state).toBe('running');
    expect(dom().id).not.toBe(before);
    expect(tableRows(w.nova(['list', '--name', '^web-1$']).stdout)[1].slice(2, 5)).toEqual(['ACTIVE', '-', 'Running']);
  });

  it('--hard --poll of a SHUTOFF server: followed to ACTIVE', () => {
    const r = w.nova(['reboot', '--hard', '--poll', 'batch-1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Request to reboot server <Server: batch-1> has been accepted\.\n\n(\rServer rebooting\.\.\.)+\nFinished\nWait for server <Server: batch-1> reboot\.\n$/);
    expect(state().nova.instances.find((i) => i.name === 'batch-1')).toMatchObject({ vmState: 'active', taskState: null, powerState: 1 });
  });

  it('a locked server (db-1) is refused for demo, the others still rebooted; exit 1', () => {
    const r = w.nova(['reboot', 'cache-1', 'db-1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Request to reboot server <Server: cache-1> has been accepted\.\nInstance [0-9a-f-]+ is locked \(HTTP 409\) \(Request-ID: req-[0-9a-f-]+\)\n$/);
    expect(r.stderr).toBe('ERROR (CommandError): Unable to reboot the specified server(s).\n');
  });

  it('a soft reboot of a paused server is the 409 Mitaka words; an unknown server stops before any request', () => {
    const r = w.nova(['reboot', 'worker-1']);
    expect(r.stdout).toMatch(/^Cannot 'reboot' instance [0-9a-f-]+ while it is in vm_state paused \(HTTP 409\)/);
    const missing = w.nova(['reboot', 'web-1', 'nosuch']);
    expect([missing.code, missing.stdout, missing.stderr]).toEqual([1, '', "ERROR (CommandError): No server with a name or ID of 'nosuch' exists.\n"]);
  });

  it('no server is a usage error (exit 2)', () => {
    const r = w.nova(['reboot']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: the following arguments are required: <server>');
  });
});

describe('list-extensions, version-list, bash-completion', () => {
  it('list-extensions: Name, Summary, Alias, Updated, sorted by name', () => {
    const rows = tableRows(w.nova(['list-extensions']).stdout);
    expect(rows[0]).toEqual(['Name', 'Summary', 'Alias', 'Updated']);
    const names = rows.slice(1).map((x) => x[0]);
    expect(names).toEqual([...names].sort());
    expect(rows).toContainEqual(['Hypervisors', 'Admin-only hypervisor administration.', 'os-hypervisors', '2014-12-03T00:00:00Z']);
    expect(rows).toContainEqual(['AdminActions', 'Enable admin-only server actions...', 'os-admin-actions', '2014-12-03T00:00:00Z']);
    expect(rows).toContainEqual(['FlavorSwap', '??', 'os-flavor-swap', '2014-12-03T00:00:00Z']);
  });

  it("version-list: the client's range, then the server's versions", () => {
    const r = w.nova(['version-list']);
    expect(r.stdout.split('\n').slice(0, 5)).toEqual(['Client supported API versions:', 'Minimum version 2.1', 'Maximum version 2.25', '', 'Server supported API versions:']);
    expect(tableRows(r.stdout)).toEqual([
      ['Id', 'Status', 'Updated', 'Min Version', 'Version'],
      ['v2.0', 'SUPPORTED', '2011-01-21T11:33:21Z', '', ''],
      ['v2.1', 'CURRENT', '2013-07-23T11:33:21Z', '2.1', '2.25'],
    ]);
  });

  it('bash-completion: every command and option on one line, without authentication', () => {
    const r = w.nova(['bash-completion'], { OS_USERNAME: 'nobody-at-all' });
    expect(r.code).toBe(0);
    const words = r.stdout.trim().split(' ');
    expect(words).toEqual(expect.arrayContaining(['reboot', 'flavor-list', 'hypervisor-show', 'help', 'list-extensions', '--hard', '--poll', '--extra-specs', '--wrap', '-h', '--help']));
    expect(words).not.toContain('bash-completion');
    expect(words).not.toContain('bash_completion');
    expect(new Set(words).size).toBe(words.length);
  });
});

