// The socket transport: answers as the server wrote them, one kept-alive connection for a
// command's requests, and keystoneauth 2.4's words for every way of not reaching a server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionError, SocketTransport } from '../../../src/http/socket.js';
import { errorLine } from '../../../src/common/error-line.js';
import { logRequest, logResponse } from '../../../src/novaclient/session-log.js';

let server: Server | null = null;
let transport: SocketTransport | null = null;

afterEach(async () => {
  transport?.close();
  transport = null;
  if (server) await new Promise((r) => server?.close(r));
  server = null;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('SocketTransport', () => {
  it('carries method, headers and body, and brings back status, headers (their case kept) and body', async () => {
    const base = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(202, { 'Content-Type': 'application/json', 'X-Compute-Request-Id': 'req-1' });
        res.end(JSON.stringify({ method: req.method, url: req.url, token: req.headers['x-auth-token'], body }));
      });
    });
    transport = new SocketTransport();
    const r = await transport.request({ method: 'PUT', url: `${base}/v2.1/servers/x?a=1`, headers: { 'X-Auth-Token': 't' }, body: '{"k": "é"}' });
    expect(r.status).toBe(202);
    expect(r.headers['X-Compute-Request-Id']).toBe('req-1');
    expect(JSON.parse(r.body)).toEqual({ method: 'PUT', url: '/v2.1/servers/x?a=1', token: 't', body: '{"k": "é"}' });
  });

  it('keeps one connection alive across the requests of a command', async () => {
    let sockets = 0;
    const base = await listen((_req, res) => res.end('ok'));
    server?.on('connection', () => sockets++);
    transport = new SocketTransport();
    for (let i = 0; i < 5; i++) expect((await transport.request({ method: 'GET', url: `${base}/`, headers: {} })).body).toBe('ok');
    expect(sockets).toBe(1);
    expect(transport.connections).toBe(1);
  });

  it('connection refused is ConnectFailure with the URL', async () => {
    const base = await listen((_req, res) => res.end());
    await new Promise((r) => server?.close(r));
    server = null;
    transport = new SocketTransport();
    const e = await transport.request({ method: 'GET', url: `${base}/identity`, headers: {} }).catch((x: unknown) => x);
    expect(errorLine(e)).toEqual({ cls: 'ConnectFailure', msg: `Unable to establish connection to ${base}/identity`, internal: false });
  });

  it('an unknown host is ConnectFailure too', async () => {
    transport = new SocketTransport({
      lookup: (hostname, _opts, cb) => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4),
    });
    const e = await transport.request({ method: 'GET', url: 'http://keystone.invalid:5000/v3', headers: {} }).catch((x: unknown) => x);
    expect(errorLine(e).cls).toBe('ConnectFailure');
    expect(errorLine(e).msg).toBe('Unable to establish connection to http://keystone.invalid:5000/v3');
  });

  it('--timeout elapsed is ConnectTimeout', async () => {
    const base = await listen(() => undefined);
    transport = new SocketTransport({ timeoutSeconds: 0.2 });
    const e = await transport.request({ method: 'GET', url: `${base}/v2.1`, headers: {} }).catch((x: unknown) => x);
    expect(errorLine(e)).toEqual({ cls: 'ConnectTimeout', msg: `Request to ${base}/v2.1 timed out`, internal: false });
  });

  it('TLS failures are SSLError', () => {
    const e = connectionError('https://h/v3', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }));
    expect(errorLine(e).cls).toBe('SSLError');
    expect(errorLine(e).msg).toBe('SSL exception connecting to https://h/v3: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (DEPTH_ZERO_SELF_SIGNED_CERT)');
  });
});

describe('keystoneauth debug lines', () => {
  it('hash tokens with SHA-1, sort headers, show --insecure and the body', () => {
    const lines: string[] = [];
    logRequest((l) => lines.push(l), { method: 'GET', url: 'https://h/v2.1', headers: { 'X-Auth-Token': 'demo:demo', Accept: 'application/json' } }, { insecure: true });
    logResponse((l) => lines.push(l), { status: 200, headers: { 'Content-Type': 'application/json', 'X-Subject-Token': 'abc' }, body: '{}' }, 'GET', 'https://h/v2.1', 'compute');
    expect(lines).toEqual([
      'DEBUG (session:519) REQ: curl -g -i --insecure -X GET https://h/v2.1 -H "Accept: application/json" -H "X-Auth-Token: {SHA1}1e16f7bc75de48ae2a156466a3d0521f525a3187"',
      'DEBUG (session:550) RESP: [200] Content-Type: application/json X-Subject-Token: {SHA1}a9993e364706816aba3e25717850c26c9cd0d89d',
      'DEBUG (session:582) RESP BODY: {}',
    ]);
  });
});
