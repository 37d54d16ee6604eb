// --debug: keystoneauth's curl-style REQ/RESP lines, checked against the real client's
// capture (spec/reference/novaclient-18.1-debug-capture.txt). Mitaka sends only the
// X-OpenStack-Nova-API-Version header, at most 2.25, so that is the one difference.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../../src/http/types.js';
import { SessionClient } from '../../../src/novaclient/client.js';
import { NotFound } from '../../../src/novaclient/exceptions.js';
import { NovaShell } from '../../../src/novaclient/shell.js';
import { captureIO, connectorFor, FakeCloud, VOL1, VOL2, WEB } from './fake_cloud.js';

const capture = readFileSync(new URL('./fixtures/novaclient-18.1-debug-capture.txt', import.meta.url), 'utf8').split('\n');
/** a line of the capture; its keystoneauth (18.1's) hashed tokens with SHA-256, Mitaka's 2.4.x with SHA-1 */
const captured = (prefix: string, n = 0): string =>
  capture
    .filter((l) => l.startsWith(prefix))
    [n].replace(/\{SHA256\}[0-9a-f]{64}/g, (h) => {
      const token = 'notused';
      expect(h).toBe(`{SHA256}${createHash('sha256').update(token).digest('hex')}`);
      return `{SHA1}${createHash('sha1').update(token).digest('hex')}`;
    });

const VERSION_BODY = captured('DEBUG (session:582) RESP BODY: {"version"').slice('DEBUG (session:582) RESP BODY: '.length);
const PUT_404_BODY = '{"itemNotFound": {"message": "volume_id not found: bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", "code": 404}}';

/** answers as the stub behind the capture did */
function replay(req: HttpRequest): HttpResponse {
  const common = { Date: 'Wed, 25 Nov 2026 20:49:19 GMT', Server: 'BaseHTTP/0.6 Python/3.11.2' };
  if (req.url === 'http://127.0.0.1:18774/v2.1') {
    const rid = 'req-7edb58d9-8885-44fb-b5ce-88c2ea24a54a';
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'Content-Length': '301', ...common, 'x-compute-request-id': rid, 'x-openstack-request-id': rid },
      body: VERSION_BODY,
    };
  }
  const rid = 'req-f6fa3bb9-3b0b-44c7-a9fa-053b8e1f3520';
  return {
    status: 404,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': '103',
      ...common,
      'OpenStack-API-Version': 'compute 2.92',
      Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
      'X-OpenStack-Nova-API-Version': '2.92',
      'x-compute-request-id': rid,
      'x-openstack-request-id': rid,
    },
    body: PUT_404_BODY,
  };
}

describe('--debug request logging', () => {
  it('logs version discovery and a failing PUT exactly like keystoneauth', async () => {
    const lines: string[] = [];
    const api = new SessionClient({
      transport: { request: async (r) => replay(r) },
      endpoints: { compute: 'http://127.0.0.1:18774/v2.1', volumev2: 'http://127.0.0.1:18776/v2/proj1' },
      token: 'notused',
      projectId: 'proj1',
      debug: (l) => lines.push(l),
    });
    await api.discoverVersion();
    expect(lines).toEqual([
      captured('DEBUG (session:519) REQ: curl -g -i -X GET http://127.0.0.1:18774/v2.1 '),
      captured('DEBUG (session:550) RESP: [200]'),
      captured('DEBUG (session:582) RESP BODY: {"version"'),
      captured('DEBUG (session:954) GET call to compute for http://127.0.0.1:18774/v2.1 used'),
    ]);
    lines.length = 0;
    const err = await api
      .put('compute', `/servers/${WEB}/os-volume_attachments/${VOL2}`, { volumeAttachment: { volumeId: VOL1 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFound);
    const mitaka = (l: string): string => l.replace(' -H "OpenStack-API-Version: compute 2.92"', '').replace('Nova-API-Version: 2.92"', 'Nova-API-Version: 2.25"');
    expect(lines).toEqual([
      mitaka(captured('DEBUG (session:519) REQ: curl -g -i -X PUT')),
      captured('DEBUG (session:550) RESP: [404]'),
      captured('DEBUG (session:582) RESP BODY: {"itemNotFound"'),
      captured('DEBUG (session:954) PUT call'),
    ]);
    expect(`ERROR (NotFound): ${(err as Error).message}`).toBe(captured('ERROR (NotFound)'));
  });

  it('an empty 202 body is omitted the way keystoneauth says it', async () => {
    const io = captureIO();
    const code = await new NovaShell(io, connectorFor(new FakeCloud())).main(['--debug', 'volume-update', WEB, VOL1, VOL2]);
    expect(code).toBe(0);
    expect(io.stdout).toBe('');
    const lines = io.stderr.split('\n');
    const tokenHash = '1e16f7bc75de48ae2a156466a3d0521f525a3187'; // sha1("demo:demo"), as keystoneauth 2.4 (Mitaka) logs it
    expect(lines).toContain(
      `DEBUG (session:519) REQ: curl -g -i -X PUT http://127.0.0.1:8774/v2.1/servers/${WEB}/os-volume_attachments/${VOL1} ` +
        `-H "Accept: application/json" -H "Content-Type: application/json" -H "User-Agent: python-novaclient" ` +
        `-H "X-Auth-Token: {SHA1}${tokenHash}" -H "X-OpenStack-Nova-API-Version: 2.25" -d '{"volumeAttachment": {"volumeId": "${VOL2}"}}'`,
    );
    const resp = lines.findIndex((l) => l.startsWith('DEBUG (session:550) RESP: [202]'));
    expect(lines[resp + 1]).toBe(
      'DEBUG (session:582) RESP BODY: Omitted, Content-Type is set to None. Only application/json, text/plain responses have their bodies logged.',
    );
  });

  it('errors under --debug are logged by the shell first', async () => {
    const io = captureIO();
    const code = await new NovaShell(io, connectorFor(new FakeCloud())).main(['--debug', 'show', 'nosuch']);
    expect(code).toBe(1);
    expect(io.stderr.endsWith("DEBUG (shell:1082) No server with a name or ID of 'nosuch' exists.\nERROR (CommandError): No server with a name or ID of 'nosuch' exists.\n")).toBe(true);
  });

  it('embedded services\' log records are printed in oslo.log format', async () => {
    const { getLogger } = await import('../../../src/common/log.js');
    const cloud = new FakeCloud();
    cloud.script = async () => {
      getLogger('nova.compute.manager', 'nova-compute').info(`Swapping volume ${VOL1} for ${VOL2}`, { instance: WEB });
      return { handled: [] };
    };
    const io = captureIO();
    await new NovaShell(io, connectorFor(cloud)).main(['--debug', 'volume-update', WEB, VOL1, VOL2]);
    expect(io.stderr).toMatch(new RegExp(`^\\S+ \\S+ \\d+ INFO nova\\.compute\\.manager \\[-\\] \\[instance: ${WEB}\\] Swapping volume ${VOL1} for ${VOL2}$`, 'm'));
    // without --debug nothing of the services is shown
    const quiet = captureIO();
    await new NovaShell(quiet, connectorFor(cloud)).main(['volume-update', WEB, VOL1, VOL2]);
    expect(quiet.stderr).not.toContain('Swapping volume');
  });
});
