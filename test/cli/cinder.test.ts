// The built `cinder` (python-cinderclient 1.6 of Mitaka, v2 API) against the embedded cloud
// of the default world: the same state file and users as `nova`. Output and errors follow
// cinderclient's shell: "ERROR: <message>" and exit 1, argparse's usage errors exit 2.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build, tableRows, World } from './helpers.js';

const ADMIN = { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const SERVER_WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';

beforeAll(() => build());

/** `cinder show` as a map of property → value */
function showMap(world: World, volume: string): Record<string, string> {
  const r = world.cinder(['show', volume], ADMIN);
  if (r.code !== 0) throw new Error(`cinder show ${volume}: ${r.stderr}`);
  return Object.fromEntries(tableRows(r.stdout).slice(1).map(([k, v]) => [k, v]));
}

/** the kinds `nova-sim doctor` reports, beyond the default world's own transient cache-1 domain */
function doctorKinds(world: World): string[] {
  const r = world.sim(['doctor', '--state', world.state]);
  return r.stdout
    .split('\n')
    .filter((l) => /^[a-z-]+: /.test(l) && !l.includes('cache-1'))
    .map((l) => l.slice(0, l.indexOf(':')));
}

describe('reading the world (one world for the file, nothing changed)', () => {
  let w: World;
  beforeAll(() => {
    w = new World();
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
  });
  afterAll(() => w.cleanup());

  it('cinder --version is cinderclient 1.6.0', () => {
    expect(w.cinder(['--version'])).toMatchObject({ code: 0, stdout: '1.6.0\n' });
  });

  it('cinder help lists the subcommands with their docstrings\' first lines', () => {
    const r = w.cinder(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: cinder \[--version\] \[-d\]/);
    // at 80 columns, as argparse wraps them
    expect(r.stdout).toMatch(/^    reset-state +Explicitly updates the volume state in the\n +Cinder database\.$/m);
    expect(r.stdout).toMatch(/^    force-delete +Attempts force-delete of volume, regardless of\n +state\.$/m);
    expect(r.stdout).toMatch(/^    type-list +Lists available 'volume types'\. \(Admin only\n/m);
    const names = [...r.stdout.matchAll(/^    ([a-z-]+) /gm)].map((m) => m[1]);
    expect(names).toEqual(['create', 'delete', 'force-delete', 'list', 'reset-state', 'show', 'type-list', 'help']);
    expect(r.stdout).toContain('Run "cinder help SUBCOMMAND" for help on a subcommand.');
  });

  it('cinder help reset-state: usage, the whole docstring, the options', () => {
    const r = w.cinder(['help', 'reset-state']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: cinder reset-state \[--state <state>\] \[--attach-status <attach-status>\]\n +\[--reset-migration-status\]\n +<volume> \[<volume> \.\.\.\]\n/);
    // HelpFormatter fills the docstring into one paragraph
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      'Explicitly updates the volume state in the Cinder database. Note that this does not affect whether the volume is actually attached',
    );
    expect(r.stdout).toMatch(/--state <state> +The state to assign to the volume\./);
  });

  it('an unknown subcommand is argparse\'s error (exit 2); help of one is a CommandError (exit 1)', () => {
    const bad = w.cinder(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\nerror: argument <subcommand>: invalid choice: 'frobnicate'\nTry 'cinder help ' for more information\.\n$/);
    expect(w.cinder(['help', 'frobnicate'])).toMatchObject({ code: 1, stdout: '', stderr: "ERROR: 'frobnicate' is not a valid subcommand\n" });
  });

  it('cinder list: cinderclient v2 columns sorted by ID, attachments as server ids', () => {
    const r = w.cinder(['list']);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['ID', 'Status', 'Name', 'Size', 'Volume Type', 'Bootable', 'Attached to']);
    const ids = rows.slice(1).map((c) => c[0]);
    expect(ids).toEqual([...ids].sort());
    const web = rows.find((c) => c[2] === 'web-data')!;
    expect(web).toEqual([WEB_DATA, 'in-use', 'web-data', '1', 'lvmdriver-1', 'false', SERVER_WEB_1]);
    expect(rows.find((c) => c[2] === 'spare')![6]).toBe('');
  });

  it('--all-tenants adds Tenant ID for an admin; a member has no tenant attribute, so the column is left out', () => {
    expect(tableRows(w.cinder(['list', '--all-tenants'], ADMIN).stdout)[0][1]).toBe('Tenant ID');
    expect(tableRows(w.cinder(['list', '--all-tenants']).stdout)[0]).not.toContain('Tenant ID');
  });

  it('--status and --name filter on the server', () => {
    const avail = tableRows(w.cinder(['list', '--status', 'available']).stdout).slice(1);
    expect(avail.length).toBeGreaterThan(0);
    expect(avail.every((c) => c[1] === 'available')).toBe(true);
    expect(tableRows(w.cinder(['list', '--name', 'spare']).stdout).slice(1).map((c) => c[2])).toEqual(['spare']);
  });

  it('cinder show by name: print_dict sorted by property, None for nulls, links left out; admin sees the host', () => {
    const r = w.cinder(['show', 'web-data']);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['Property', 'Value']);
    const keys = rows.slice(1).map((c) => c[0]);
    expect(keys).toEqual([...keys].sort());
    expect(keys).not.toContain('links');
    expect(keys).not.toContain('os-vol-host-attr:host');
    const m = Object.fromEntries(rows.slice(1));
    expect(m).toMatchObject({ id: WEB_DATA, status: 'in-use', snapshot_id: 'None', metadata: '{}' });
    expect(m.attachments).toMatch(new RegExp(`^\\[\\{'server_id': '${SERVER_WEB_1}', `));
    expect(showMap(w, 'web-data')['os-vol-host-attr:host']).toMatch(/@lvmdriver-1#lvmdriver-1$/);
  });

  it('an unknown volume is find_resource\'s CommandError', () => {
    expect(w.cinder(['show', 'nope'])).toMatchObject({ code: 1, stdout: '', stderr: "ERROR: No volume with a name or ID of 'nope' exists.\n" });
  });

  it('cinder type-list', () => {
    const rows = tableRows(w.cinder(['type-list']).stdout);
    expect(rows[0]).toEqual(['ID', 'Name', 'Description', 'Is_Public']);
    expect(rows.slice(1).map((c) => c.slice(1))).toEqual([['lvmdriver-1', '-', 'True']]);
  });
});

describe('changing volumes (a fresh world per test)', () => {
  let w: World;
  beforeEach(() => {
    w = new World();
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
  });
  afterEach(() => w.cleanup());

  it('create prints the volume Cinder has once made; delete accepts it; an unknown one fails alone', () => {
    const c = w.cinder(['create', '--name', 'scratch', '2']);
    expect(c.code).toBe(0);
    const m = Object.fromEntries(tableRows(c.stdout).slice(1));
    expect(m).toMatchObject({ name: 'scratch', size: '2', status: 'available', volume_type: 'lvmdriver-1', bootable: 'false' });
    expect(showMap(w, 'scratch').id).toBe(m.id);
    const d = w.cinder(['delete', 'scratch', 'nope']);
    expect(d.stdout).toBe("Request to delete volume scratch has been accepted.\nDelete for volume nope failed: No volume with a name or ID of 'nope' exists.\n");
    // do_delete fails only when every volume failed
    expect(d.code).toBe(0);
    expect(w.cinder(['show', 'scratch']).code).toBe(1);
    expect(w.cinder(['delete', 'nope'])).toMatchObject({ code: 1, stderr: 'ERROR: Unable to delete any of the specified volumes.\n' });
  });

  it('create without a size is the CheckSizeArgForCreate usage error, exit 2, nothing made', () => {
    const before = w.cinder(['list']).stdout;
    const r = w.cinder(['create', '--name', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\nerror: Size is a required parameter if snapshot or source volume is not specified\.\nTry 'cinder help create' for more information\.\n$/);
    expect(w.cinder(['list']).stdout).toBe(before);
  });

  it("a member's reset-state is Cinder's 403, per volume on stdout, then the CommandError; nothing changes", () => {
    const r = w.cinder(['reset-state', '--state', 'error', 'web-data']);
    expect(r.stdout).toMatch(
      /^Reset state for volume web-data failed: Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed\. \(HTTP 403\) \(Request-ID: req-[0-9a-f-]{36}\)\n$/,
    );
    expect(r.stderr).toBe('ERROR: Unable to reset the state for the specified volume(s).\n');
    expect(r.code).toBe(1);
    expect(showMap(w, 'web-data').status).toBe('in-use');
  });

  it('reset-state on several volumes: the good ones change, each failure is reported, exit 1', () => {
    const r = w.cinder(['reset-state', '--state', 'error', 'spare', 'nope', 'small'], ADMIN);
    expect(r.stdout).toBe("Reset state for volume nope failed: No volume with a name or ID of 'nope' exists.\n");
    expect(r.stderr).toBe('ERROR: Unable to reset the state for the specified volume(s).\n');
    expect(r.code).toBe(1);
    expect(showMap(w, 'spare').status).toBe('error');
    expect(showMap(w, 'small').status).toBe('error');
    const bad = w.cinder(['reset-state', '--state', 'stuck', 'spare'], ADMIN);
    expect(bad.stdout).toMatch(/^Reset state for volume spare failed: Must specify a valid status \(HTTP 400\)/);
    expect(showMap(w, 'spare').status).toBe('error');
  });

  it("reset-state --attach-status detached changes Cinder's database only: the guest keeps the disk, and the doctor says so", () => {
    const r = w.cinder(['reset-state', '--state', 'in-use', '--attach-status', 'detached', 'web-data'], ADMIN);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    // volume_detached on the last attachment settles the volume 'available'
    const m = showMap(w, 'web-data');
    expect(m).toMatchObject({ status: 'available', attachments: '[]' });
    // Nova and libvirt were not told: web-1 still has the volume at /dev/vdb
    expect(tableRows(w.nova(['volume-attachments', 'web-1']).stdout).slice(1).map((c) => c[3])).toContain(WEB_DATA);
    expect(doctorKinds(w)).toEqual(['cinder-attachment']);
  });

  it('force-delete: a member gets the 403; an attached volume is refused even forced; an error one goes, silently', () => {
    expect(w.cinder(['force-delete', 'spare']).stdout).toMatch(/Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be performed\. \(HTTP 403\)/);
    const attached = w.cinder(['force-delete', 'web-data'], ADMIN);
    expect(attached.stdout).toMatch(/^Delete for volume web-data failed: Invalid volume: Volume  must not be migrating, attached, belong to a consistency group or have snapshots\. \(HTTP 400\)/);
    expect(attached).toMatchObject({ code: 1, stderr: 'ERROR: Unable to force delete any of the specified volumes.\n' });
    expect(w.cinder(['reset-state', '--state', 'error_deleting', 'spare'], ADMIN).code).toBe(0);
    expect(w.cinder(['delete', 'spare']).stdout).toMatch(/^Delete for volume spare failed: Invalid volume: Volume status must be available or error/);
    expect(w.cinder(['force-delete', 'spare'], ADMIN)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(w.cinder(['show', 'spare']).code).toBe(1);
  });

  it('the operator story: a failed swap leaves web-data detaching; cinder reset-state unsticks it and the next volume-update works', () => {
    expect(w.sim(['fault', 'add', 'cinder.reserve_volume', '--state', w.state]).code).toBe(0);
    const failed = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], ADMIN);
    expect(failed.code).toBe(1);
    // (Cinder's v2 view has no attach_status: the attachments say it)
    expect(showMap(w, 'web-data')).toMatchObject({ status: 'detaching', attachments: expect.stringContaining(SERVER_WEB_1) });
    expect(doctorKinds(w).sort()).toEqual(['cinder-attachment', 'interrupted-operation']);
    expect(w.sim(['fault', 'clear', 'cinder.reserve_volume', '--state', w.state]).code).toBe(0);
    // stuck: Nova's begin_detaching needs 'in-use', so every later swap is refused
    const refused = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], ADMIN);
    expect(refused.stderr).toMatch(/^ERROR \(BadRequest\): Invalid volume: Invalid input received: Invalid volume: Unable to detach volume\. Volume status must be 'in-use' and attach_status must be 'attached' to detach\. \(HTTP 400\)/m);
    expect(refused.code).toBe(1);
    expect(showMap(w, 'web-data').status).toBe('detaching');
    // the refused swap took the dead journal entry over and ended it; the stuck volume is what is left
    expect(doctorKinds(w)).toEqual(['cinder-attachment']);

    const reset = w.cinder(['reset-state', '--state', 'in-use', '--attach-status', 'attached', 'web-data'], ADMIN);
    expect(reset).toMatchObject({ code: 0, stdout: '' });
    expect(showMap(w, 'web-data')).toMatchObject({ status: 'in-use', attachments: expect.stringContaining(SERVER_WEB_1) });
    // a database change only, and it matches what Nova and libvirt have: nothing left to report
    expect(doctorKinds(w)).toEqual([]);

    const swap = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], ADMIN);
    expect(swap.stderr).toMatch(/^Swapped volume web-data -> new-web-data on web-1: copied /m);
    expect(swap.code).toBe(0);
    expect(showMap(w, 'new-web-data').status).toBe('in-use');
    expect(showMap(w, 'web-data')).toMatchObject({ status: 'available', attachments: '[]' });
    // what is left is what any Mitaka swap leaves: the persistent XML naming the old volume (LP #1713857)
    expect(doctorKinds(w)).toEqual(['persistent-xml-stale']);
  });
});
