// The shell against a stub cloud, compared byte for byte with the real Mitaka client's
// captured output (spec/reference/novaclient-mitaka-*.txt).
import { describe, expect, it } from 'vitest';
import { NovaShell } from '../../../src/novaclient/shell.js';
import { captureIO, connectorFor, DUP1, FakeCloud, VOL1, VOL2, WEB } from './fake_cloud.js';
import { capturedRun, referenceSection } from './reference.js';

async function nova(argv: string[], opts: { cloud?: FakeCloud; env?: NodeJS.ProcessEnv } = {}) {
  const cloud = opts.cloud ?? new FakeCloud();
  const io = captureIO(opts.env ?? {});
  const code = await new NovaShell(io, connectorFor(cloud)).main(argv);
  return { code, stdout: io.stdout, stderr: io.stderr, cloud };
}

const TABLES = 'novaclient-mitaka-tables.txt';
const HELP = 'novaclient-mitaka-help.txt';

describe('tables match the Mitaka client', () => {
  it('nova list sorts by Name and formats networks', async () => {
    const ref = capturedRun(TABLES, 'mitaka against a stub: nova list');
    const r = await nova(['list']);
    expect(r.stdout).toBe(ref.output);
    expect(r.code).toBe(ref.exit);
  });

  it('nova list: a network without addresses is left out of Networks, a server without any shows an empty cell', async () => {
    const cloud = new FakeCloud();
    const [web, dup1, dup2] = cloud.transport.servers;
    web.addresses = { private: [], public: [{ addr: '172.24.4.10', version: 4 }], 'nét 2': [{ addr: 'fd00::7' }, { addr: '10.1.0.7' }] };
    dup1.addresses = {};
    dup2.addresses = { private: [] };
    const r = await nova(['list'], { cloud });
    const networks = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| ID'))
      .map((l) => l.split('|').at(-2)?.trim());
    expect(networks).toEqual(['', '', 'public=172.24.4.10; nét 2=fd00::7, 10.1.0.7']);
    expect(r.code).toBe(0);
  });

  it('nova show <uuid>: sorted keys, JSON values, flavor name, image not found, network rows', async () => {
    const ref = capturedRun(TABLES, `mitaka against a stub: nova show ${WEB}`);
    const r = await nova(['show', WEB]);
    expect(r.stdout).toBe(ref.output);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('nova volume-attachments', async () => {
    const ref = capturedRun(TABLES, `mitaka against a stub: nova volume-attachments ${WEB}`);
    const r = await nova(['volume-attachments', WEB]);
    expect(r.stdout).toBe(ref.output);
  });

  it('nova volume-list prints the deprecation warning, then the table', async () => {
    const ref = capturedRun(TABLES, 'mitaka against a stub: nova volume-list');
    const r = await nova(['volume-list']);
    expect(r.stderr + r.stdout).toBe(ref.output);
  });

  it('nova volume-show', async () => {
    const ref = capturedRun(TABLES, `mitaka against a stub: nova volume-show ${VOL1}`);
    const r = await nova(['volume-show', VOL1]);
    expect(r.stderr + r.stdout).toBe(ref.output);
  });

  it('nova volume-update prints nothing on a 202', async () => {
    const ref = capturedRun(TABLES, `mitaka against a stub: nova volume-update web ${VOL1} ${VOL2}`);
    const r = await nova(['volume-update', 'web', VOL1, VOL2]);
    expect(r.stdout + r.stderr).toBe(ref.output);
    expect(r.code).toBe(ref.exit);
    const put = r.cloud.transport.requests.find((q) => q.method === 'PUT');
    expect(put?.url).toBe(`http://127.0.0.1:8774/v2.1/servers/${WEB}/os-volume_attachments/${VOL1}`);
    expect(put?.body).toBe(`{"volumeAttachment": {"volumeId": "${VOL2}"}}`);
  });

  it('an ambiguous name is a CommandError', async () => {
    const ref = capturedRun(TABLES, 'mitaka against a stub: nova show dup');
    const r = await nova(['show', 'dup']);
    expect(r.stderr).toBe(ref.output);
    expect(r.code).toBe(1);
  });

  it('an unknown server is a CommandError', async () => {
    const ref = capturedRun(HELP, 'mitaka: nova show nosuch');
    const r = await nova(['show', 'nosuch']);
    expect(r.stderr).toBe(ref.output);
    expect(r.code).toBe(ref.exit);
  });
});

describe('help and usage errors match argparse', () => {
  const commands = [
    'volume-update', 'show', 'list', 'volume-list', 'volume-show', 'volume-attachments', 'volume-attach', 'volume-detach',
    'volume-create', 'volume-delete', 'boot', 'delete', 'lock', 'unlock', 'stop', 'start', 'pause', 'unpause', 'suspend',
    'resume', 'reset-state',
  ];
  for (const cmd of commands) {
    it(`nova help ${cmd}`, async () => {
      const r = await nova(['help', cmd], { env: { COLUMNS: '80' } });
      expect(r.stdout).toBe(referenceSection(HELP, `mitaka: nova help ${cmd}`));
      expect(r.code).toBe(0);
    });
  }

  it('too few arguments: usage, the missing ones, and the help hint, exit 2', async () => {
    const ref = capturedRun(HELP, 'mitaka: nova volume-update (too few arguments), exit code follows');
    const r = await nova(['volume-update', 'web'], { env: { COLUMNS: '80' } });
    expect(r.stderr).toBe(ref.output);
    expect(r.code).toBe(2);
    expect(r.cloud.transport.requests).toHaveLength(0);
  });

  it('an unknown subcommand is argparse\'s invalid choice, without the choices', async () => {
    const r = await nova(['nosuch'], { env: { COLUMNS: '80' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: nova \[--version\] \[--debug\]/);
    expect(r.stderr).toContain("\n            <subcommand> ...\nerror: argument <subcommand>: invalid choice: 'nosuch'\nTry 'nova help ' for more information.\n");
  });

  it('a bad int is argparse\'s type error', async () => {
    const r = await nova(['volume-create', 'big'], { env: { COLUMNS: '80' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: argument <size>: invalid int value: 'big'\nTry 'nova help volume-create' for more information.\n");
  });

  it('an option missing its value', async () => {
    const r = await nova(['list', '--name'], { env: { COLUMNS: '80' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: argument --name: expected one argument\n');
  });

  it('unrecognized arguments are reported by the main parser', async () => {
    const r = await nova(['show', 'web', 'extra'], { env: { COLUMNS: '80' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unrecognized arguments: extra\nTry 'nova help ' for more information.\n");
  });

  it('nova help <unknown> is a CommandError', async () => {
    const r = await nova(['help', 'nosuch']);
    expect(r.stderr).toBe("ERROR (CommandError): 'nosuch' is not a valid subcommand\n");
    expect(r.code).toBe(1);
  });

  it('nova --version', async () => {
    const r = await nova(['--version']);
    expect(r.stdout).toBe('3.3.3\n');
  });

  it('nova help lists every subcommand', async () => {
    const r = await nova(['help'], { env: { COLUMNS: '80' } });
    expect(r.stdout).toContain('    volume-update               Update volume attachment.\n');
    expect(r.stdout).toContain('See "nova help COMMAND" for help on a specific command.\n');
  });
});

describe('commands', () => {
  it('API errors print the class, message, code and request id', async () => {
    const cloud = new FakeCloud();
    cloud.transport.onSwap = () => ({
      status: 409,
      headers: { 'Content-Type': 'application/json', 'x-compute-request-id': 'req-1' },
      body: JSON.stringify({ conflictingRequest: { code: 409, message: `Instance ${WEB} is locked` } }),
    });
    const r = await nova(['volume-update', 'web', VOL1, VOL2], { cloud });
    expect(r.stderr).toBe(`ERROR (Conflict): Instance ${WEB} is locked (HTTP 409) (Request-ID: req-1)\n`);
    expect(r.code).toBe(1);
  });

  it('volume-update resolves volume names client-side (novasim extension)', async () => {
    const r = await nova(['volume-update', 'web', 'data1', 'data2']);
    expect(r.code).toBe(0);
    const put = r.cloud.transport.requests.find((q) => q.method === 'PUT');
    expect(put?.url).toBe(`http://127.0.0.1:8774/v2.1/servers/${WEB}/os-volume_attachments/${VOL1}`);
    expect(put?.body).toBe(`{"volumeAttachment": {"volumeId": "${VOL2}"}}`);
  });

  it('volume-update with an unknown volume name', async () => {
    const r = await nova(['volume-update', 'web', 'data1', 'nosuch']);
    expect(r.stderr).toBe("ERROR (CommandError): No volume with a name or ID of 'nosuch' exists.\n");
    expect(r.code).toBe(1);
  });

  it('volume-delete reports failures on stdout and still exits 0', async () => {
    const r = await nova(['volume-delete', 'data2', 'nosuch']);
    expect(r.stdout).toBe("Delete for volume nosuch failed: No volume with a name or ID of 'nosuch' exists.\n");
    expect(r.stderr).toMatch(/^WARNING: Command volume-delete is deprecated/);
    expect(r.code).toBe(0);
    expect(r.cloud.transport.requests.some((q) => q.method === 'DELETE' && q.url.endsWith(`/volumes/${VOL2}`))).toBe(true);
  });

  it('stop reports each server and fails the whole command if one failed', async () => {
    const r = await nova(['stop', 'web', 'nosuch']);
    expect(r.stdout).toBe("Request to stop server web has been accepted.\nNo server with a name or ID of 'nosuch' exists.\n");
    expect(r.stderr).toBe('ERROR (CommandError): Unable to stop the specified server(s).\n');
    expect(r.code).toBe(1);
    const action = r.cloud.transport.requests.find((q) => q.url.endsWith('/action'));
    expect(action?.body).toBe('{"os-stop": null}');
  });

  it('reset-state --active', async () => {
    const r = await nova(['reset-state', '--active', 'web']);
    expect(r.stdout).toBe('Reset state for server web succeeded; new state is active\n');
    const action = r.cloud.transport.requests.find((q) => q.url.endsWith('/action'));
    expect(action?.body).toBe('{"os-resetState": {"state": "active"}}');
  });

  it('lock sends {"lock": null} and prints nothing', async () => {
    const r = await nova(['lock', DUP1]);
    expect(r.stdout + r.stderr).toBe('');
    const action = r.cloud.transport.requests.find((q) => q.url.endsWith('/action'));
    expect(action?.url).toBe(`http://127.0.0.1:8774/v2.1/servers/${DUP1}/action`);
    expect(action?.body).toBe('{"lock": null}');
  });

  it('list --minimal / --fields / --status', async () => {
    const r = await nova(['list', '--minimal', '--status', 'ACTIVE']);
    expect(r.stdout.split('\n')[1]).toBe('| ID                                   | Name |');
    expect(r.cloud.transport.requests.at(-1)?.url).toBe('http://127.0.0.1:8774/v2.1/servers?status=ACTIVE');
    const f = await nova(['list', '--fields', 'name,OS-EXT-STS:vm_state']);
    expect(f.stdout.split('\n')[1]).toBe('| ID                                   | Name | OS-EXT-STS: Vm State |');
    const bad = await nova(['list', '--fields', 'nosuch']);
    expect(bad.stderr).toBe("ERROR (CommandError): Non-existent fields are specified: ['nosuch']\n");
  });

  it('the embedded cloud is drained and closed after a command', async () => {
    let drained = 0;
    const cloud = new FakeCloud();
    cloud.script = async () => {
      drained++;
      return { handled: [] };
    };
    await nova(['stop', 'web'], { cloud });
    expect(drained).toBe(1);
    expect(cloud.closed).toBe(true);
  });

  it('auth: noauth2 token from OS_USERNAME / OS_PROJECT_NAME', async () => {
    const r = await nova(['list'], { env: { OS_USERNAME: 'admin' } });
    expect(r.cloud.transport.requests[0].headers['X-Auth-Token']).toBe('admin:admin');
    const d = await nova(['list']);
    expect(d.cloud.transport.requests[0].headers['X-Auth-Token']).toBe('demo:demo');
  });

  it('version discovery first, then the negotiated microversion on every request', async () => {
    const cloud = new FakeCloud();
    cloud.transport.maxVersion = '2.96';
    const r = await nova(['show', WEB], { cloud });
    const [first, second] = r.cloud.transport.requests;
    expect(first.url).toBe('http://127.0.0.1:8774/v2.1');
    expect(first.headers['X-OpenStack-Nova-API-Version']).toBeUndefined();
    expect(second.headers['X-OpenStack-Nova-API-Version']).toBe('2.25');
    const low = new FakeCloud();
    low.transport.maxVersion = '2.12';
    const r2 = await nova(['show', WEB], { cloud: low });
    expect(r2.cloud.transport.requests[1].headers['X-OpenStack-Nova-API-Version']).toBe('2.12');
    const r3 = await nova(['--os-compute-api-version', '2.10', 'show', WEB]);
    expect(r3.cloud.transport.requests[1].headers['X-OpenStack-Nova-API-Version']).toBe('2.10');
    const r4 = await nova(['show', WEB], { env: { OS_COMPUTE_API_VERSION: '2.30' } });
    expect(r4.stderr).toBe("ERROR (CommandError): The specified version isn't supported by client. The valid version range is '2.1' to '2.25'\n");
  });

  it('boot posts the server, then shows the full server with adminPass', async () => {
    const cloud = new FakeCloud();
    const orig = cloud.transport.request.bind(cloud.transport);
    cloud.transport.request = async (req) => {
      if (req.method === 'POST' && req.url.endsWith('/servers')) {
        cloud.transport.requests.push(req);
        return { status: 202, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ server: { id: WEB, adminPass: 'pw', links: [] } }) };
      }
      if (req.url.endsWith('/images/aaaaaaaa-0000-0000-0000-000000000000')) {
        cloud.transport.requests.push(req);
        return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ image: { id: 'aaaaaaaa-0000-0000-0000-000000000000', name: 'cirros' } }) };
      }
      return orig(req);
    };
    const r = await nova(['boot', '--flavor', '1', '--image', 'aaaaaaaa-0000-0000-0000-000000000000', '--meta', 'a=b', 'vm'], { cloud });
    expect(r.code).toBe(0);
    const post = cloud.transport.requests.find((q) => q.method === 'POST');
    expect(post?.body).toBe(
      '{"server": {"name": "vm", "imageRef": "aaaaaaaa-0000-0000-0000-000000000000", "flavorRef": "1", "metadata": {"a": "b"}, "min_count": 1, "max_count": 1, "networks": []}}',
    );
    expect(r.stdout).toContain('| adminPass                            | pw ');
    expect(r.stdout).toContain('| flavor                               | m1.tiny (1) ');
    const noFlavor = await nova(['boot', 'vm']);
    expect(noFlavor.stderr).toBe('ERROR (CommandError): you need to specify a Flavor ID.\n');
  });
});
