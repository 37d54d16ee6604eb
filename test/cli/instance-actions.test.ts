// `nova instance-action-list` and `nova instance-action` on the built binary: Mitaka's
// help, table layouts (print_list sorted by Start_Time; print_dict with the events as
// pprint.pformat text, admin only), errors and exit codes; and the swap that leaves no action.
import { beforeAll, describe, expect, it } from 'vitest';
import { build, tableRows, World, worldPerTest } from './helpers.js';

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const REQ = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(() => build());
// a fresh default world for each test: each passes alone and in any order
let w!: World;
worldPerTest((x) => (w = x));

/** the request id of `action` in the list of `server` */
function requestIdOf(server: string, action: string): string {
  const row = tableRows(w.admin(['instance-action-list', server]).stdout).slice(1).find((r) => r[0] === action);
  if (!row) throw new Error(`no ${action} action on ${server}`);
  return row[1];
}

describe('nova instance-action-list / instance-action', () => {
  it("help: Mitaka's words for the default microversion (2.latest)", () => {
    const r = w.nova(['help', 'instance-action-list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'usage: nova instance-action-list <server>',
        '',
        'List actions on a server.',
        '',
        'Positional arguments:',
        '  <server>  Name or UUID of the server to list actions for. Only UUID can be',
        '            used to list actions on a deleted server. (Supported by API',
        "            versions '2.21' - '2.latest')",
        '',
      ].join('\n'),
    );
    expect(w.nova(['help', 'instance-action']).stdout).toContain('usage: nova instance-action <server> <request_id>\n\nShow an action.\n');
  });

  it("lists a world server's create, then the stop with the stop's request id", () => {
    const stop = w.admin(['--debug', 'stop', 'web-1']);
    expect(stop.code).toBe(0);
    const rid = /POST call to compute for \S+\/action used request id (req-[0-9a-f-]+)/.exec(stop.stderr)?.[1];
    expect(rid).toMatch(REQ);
    const r = w.admin(['instance-action-list', 'web-1']);
    expect(r.code).toBe(0);
    const [header, ...rows] = tableRows(r.stdout);
    expect(header).toEqual(['Action', 'Request_ID', 'Message', 'Start_Time']);
    expect(rows.map((x) => [x[0], x[2]])).toEqual([
      ['create', '-'],
      ['stop', '-'],
    ]);
    expect(rows[0][3]).toBe('2016-05-03T09:12:44.000000');
    expect(rows[1][1]).toBe(rid);
    expect(rows[1][3]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$/);
  });

  it("shows an action to the admin with its events as pprint's text, to the owner without them", () => {
    expect(w.admin(['stop', 'web-1']).code).toBe(0);
    const rid = requestIdOf('web-1', 'stop');
    const admin = w.admin(['instance-action', 'web-1', rid]);
    expect(admin.code).toBe(0);
    const rows = tableRows(admin.stdout).slice(1);
    expect(rows.map((x) => x[0]).filter(Boolean)).toEqual(['action', 'events', 'instance_uuid', 'message', 'project_id', 'request_id', 'start_time', 'user_id']);
    const from = rows.findIndex((x) => x[0] === 'events');
    const events = rows.slice(from, rows.findIndex((x) => x[0] === 'instance_uuid')).map((x) => x[1]);
    expect(events[0]).toBe("[{'event': 'compute_stop_instance',");
    expect(events.slice(1)).toEqual([expect.stringMatching(/^ {2}'finish_time': '.*\.000000',$/), "  'result': 'Success',", expect.stringMatching(/^ {2}'start_time': '/), "  'traceback': None}]"]);
    const owner = w.nova(['instance-action', 'web-1', rid]);
    expect(owner.code).toBe(0);
    expect(tableRows(owner.stdout).slice(1).map((x) => x[0])).toEqual(['action', 'instance_uuid', 'message', 'project_id', 'request_id', 'start_time', 'user_id']);
  });

  it('a failed event: Message Error in the list, the traceback to the admin', () => {
    expect(w.admin(['reset-state', '--active', 'batch-1']).code).toBe(0);
    const pause = w.admin(['pause', 'batch-1']);
    expect(pause.code).toBe(1);
    const rows = tableRows(w.admin(['instance-action-list', 'batch-1']).stdout).slice(1);
    expect(rows.find((x) => x[0] === 'pause')?.[2]).toBe('Error');
    const shown = w.admin(['instance-action', 'batch-1', requestIdOf('batch-1', 'pause')]).stdout;
    expect(shown).toContain("'result': 'Error',");
    expect(shown).toMatch(/'traceback': 'libvirt\.libvirtError: Requested operation is not valid: domain /);
    expect(tableRows(shown).find((x) => x[0] === 'message')?.[1]).toBe('Error');
  });

  it('errors: unknown request id and unknown server are 404s (exit 1), nothing changes', () => {
    const before = w.admin(['instance-action-list', 'web-1']).stdout;
    const noAction = w.admin(['instance-action', 'web-1', 'req-nosuch']);
    expect(noAction.code).toBe(1);
    expect(noAction.stderr).toMatch(/^ERROR \(NotFound\): Action req-nosuch not found \(HTTP 404\) \(Request-ID: req-[0-9a-f-]+\)\n$/);
    const noServer = w.admin(['instance-action-list', 'nosuch']);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toMatch(/^ERROR \(NotFound\): Instance nosuch could not be found\. \(HTTP 404\) \(Request-ID: req-[0-9a-f-]+\)\n$/);
    const usage = w.admin(['instance-action', 'web-1']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('error: the following arguments are required: <request_id>');
    expect(w.admin(['instance-action-list', 'web-1']).stdout).toBe(before);
  });

  it("a deleted server's actions by its uuid (2.21 on), not before", () => {
    // db-1: a persistent domain, deleted cleanly
    const db1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c02';
    expect(w.admin(['delete', 'db-1']).code).toBe(0);
    const r = w.admin(['instance-action-list', db1]);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout).slice(1);
    expect(rows.map((x) => x[0])).toEqual(['create', 'delete']);
    expect(rows[1][1]).toMatch(REQ);
    const old = w.admin(['--os-compute-api-version', '2.20', 'instance-action-list', db1]);
    expect(old.code).toBe(1);
    expect(old.stderr).toBe(`ERROR (CommandError): No server with a name or ID of '${db1}' exists.\n`);
  });

  it('a swap records no action (Mitaka): the list before and after is the same', () => {
    const before = w.admin(['instance-action-list', 'worker-1']).stdout;
    const swap = w.admin(['volume-update', 'worker-1', 'worker-data', 'new-web-data']);
    expect(swap.code).toBe(0);
    expect(w.admin(['volume-attachments', 'worker-1']).stdout).toContain('e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01');
    expect(w.admin(['instance-action-list', 'worker-1']).stdout).toBe(before);
  });
});
