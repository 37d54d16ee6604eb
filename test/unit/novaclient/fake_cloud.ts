// A stub Nova + Cinder like the one the reference outputs were captured against
// (spec/reference/novaclient-mitaka-tables.txt): fixed UUIDs, a "web" server and two "dup"s.
import type { HttpRequest, HttpResponse, Transport } from '../../../src/http/types.js';
import type { CloudEvent, DrainResult, EmbeddedCloud } from '../../../src/cloud/types.js';
import type { CloudConnector, ShellIO } from '../../../src/novaclient/shell.js';

export const WEB = '11111111-1111-1111-1111-111111111111';
export const DUP1 = '22222222-2222-2222-2222-222222222222';
export const DUP2 = '33333333-3333-3333-3333-333333333333';
export const VOL1 = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
export const VOL2 = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';

const COMPUTE = 'http://127.0.0.1:8774/v2.1';
const VOLUME = 'http://127.0.0.1:8776/v2/demo';

function server(id: string, name: string): Record<string, unknown> {
  return {
    id,
    name,
    status: 'ACTIVE',
    tenant_id: 'proj1',
    user_id: 'user1',
    hostId: 'abc',
    created: '2024-01-01T00:00:00Z',
    updated: '2024-01-01T00:00:00Z',
    'OS-EXT-STS:task_state': null,
    'OS-EXT-STS:power_state': 1,
    'OS-EXT-STS:vm_state': 'active',
    flavor: { id: '1', links: [] },
    image: { id: 'img1', links: [] },
    addresses: {
      private: [
        { addr: '10.0.0.5', version: 4, 'OS-EXT-IPS:type': 'fixed' },
        { addr: 'fd00::5', version: 6 },
      ],
      public: [{ addr: '172.24.4.10', version: 4 }],
    },
    'os-extended-volumes:volumes_attached': [{ id: VOL1, delete_on_termination: false }],
    metadata: { k: 'v' },
    security_groups: [{ name: 'default' }, { name: 'default' }],
    key_name: null,
    accessIPv4: '',
    accessIPv6: '',
    links: [{ rel: 'self', href: `${COMPUTE}/servers/${id}` }],
  };
}

export function volumes(): Record<string, unknown>[] {
  return [
    {
      attachments: [{ server_id: WEB, attachment_id: 'att1', volume_id: VOL1, device: '/dev/vdb', id: VOL1 }],
      availability_zone: 'nova',
      bootable: 'false',
      created_at: '2024-01-01T00:00:00.000000',
      display_name: 'data1',
      id: VOL1,
      links: [],
      metadata: {},
      name: 'data1',
      size: 10,
      status: 'in-use',
      volume_type: 'lvmdriver-1',
    },
    {
      attachments: [],
      availability_zone: 'nova',
      bootable: 'false',
      created_at: '2024-01-01T00:00:00.000000',
      display_name: 'data2',
      id: VOL2,
      links: [],
      metadata: {},
      name: 'data2',
      size: 10,
      status: 'available',
      volume_type: 'lvmdriver-1',
    },
  ];
}

let seq = 0;
function json(status: number, body: unknown, service: 'nova' | 'cinder' = 'nova'): HttpResponse {
  const text = body === undefined ? '' : JSON.stringify(body);
  const rid = `req-00000000-0000-0000-0000-${String(++seq).padStart(12, '0')}`;
  const headers: Record<string, string> = { 'Content-Length': String(text.length), Date: 'Wed, 25 Nov 2026 20:49:19 GMT' };
  if (text) headers['Content-Type'] = 'application/json';
  if (service === 'nova') headers['x-compute-request-id'] = rid;
  headers['x-openstack-request-id'] = rid;
  return { status, headers, body: text };
}

const notFound = (msg: string, service: 'nova' | 'cinder' = 'nova'): HttpResponse =>
  json(404, { itemNotFound: { code: 404, message: msg } }, service);

export class FakeTransport implements Transport {
  readonly requests: HttpRequest[] = [];
  servers = [server(WEB, 'web'), server(DUP1, 'dup'), server(DUP2, 'dup')];
  vols = volumes();
  maxVersion = '2.25';
  /** answer for PUT …/os-volume_attachments/… (default 202 empty) */
  onSwap: (req: HttpRequest) => HttpResponse = () => json(202, undefined);

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    const u = new URL(req.url);
    const path = u.pathname;
    if (u.port === '8774') {
      if (path === '/v2.1') {
        return json(200, {
          version: { id: 'v2.1', status: 'CURRENT', version: this.maxVersion, min_version: '2.1', updated: '2013-07-23T11:33:21Z', links: [] },
        });
      }
      const rest = path.slice('/v2.1'.length);
      let m: RegExpExecArray | null;
      if (rest === '/servers' || rest === '/servers/detail') {
        const name = u.searchParams.get('name');
        const list = this.servers.filter((s) => !name || new RegExp(name).test(String(s.name)));
        const brief = rest === '/servers';
        return json(200, { servers: list.map((s) => (brief ? { id: s.id, name: s.name, links: s.links } : s)) });
      }
      if ((m = /^\/servers\/([^/]+)$/.exec(rest))) {
        const s = this.servers.find((x) => x.id === m![1]);
        if (req.method === 'DELETE') return s ? json(204, undefined) : notFound(`Instance ${m[1]} could not be found.`);
        return s ? json(200, { server: s }) : notFound(`Instance ${m[1]} could not be found.`);
      }
      if ((m = /^\/servers\/([^/]+)\/action$/.exec(rest))) return json(202, undefined);
      if ((m = /^\/servers\/([^/]+)\/os-volume_attachments$/.exec(rest))) {
        if (req.method === 'POST') {
          const b = JSON.parse(req.body ?? '{}') as { volumeAttachment: { volumeId: string } };
          return json(200, { volumeAttachment: { device: '/dev/vdc', serverId: m[1], id: b.volumeAttachment.volumeId, volumeId: b.volumeAttachment.volumeId } });
        }
        return json(200, { volumeAttachments: [{ device: '/dev/vdb', serverId: m[1], id: VOL1, volumeId: VOL1 }] });
      }
      if ((m = /^\/servers\/([^/]+)\/os-volume_attachments\/([^/]+)$/.exec(rest))) {
        if (req.method === 'PUT') return this.onSwap(req);
        return json(202, undefined);
      }
      if (rest === '/flavors/1') return json(200, { flavor: { id: '1', name: 'm1.tiny', links: [] } });
      if (rest.startsWith('/flavors/detail')) return json(200, { flavors: [{ id: '1', name: 'm1.tiny', links: [] }] });
      if (rest.startsWith('/images/detail')) return json(200, { images: [] });
      return notFound('The resource could not be found.');
    }
    if (u.port === '8776') {
      const rest = path.slice('/v2/demo'.length);
      let m: RegExpExecArray | null;
      if (rest === '/volumes/detail') return json(200, { volumes: this.vols }, 'cinder');
      if ((m = /^\/volumes\/([^/]+)$/.exec(rest))) {
        const v = this.vols.find((x) => x.id === m![1]);
        if (req.method === 'DELETE') return v ? json(202, undefined, 'cinder') : notFound(`Volume ${m[1]} could not be found.`, 'cinder');
        return v ? json(200, { volume: v }, 'cinder') : notFound(`Volume ${m[1]} could not be found.`, 'cinder');
      }
      if (rest === '/volumes' && req.method === 'POST') {
        const b = JSON.parse(req.body ?? '{}') as { volume: Record<string, unknown> };
        return json(202, { volume: { id: 'cccccccc-cccc-cccc-cccc-cccccccccccc', size: b.volume.size, name: b.volume.display_name, status: 'creating' } }, 'cinder');
      }
      return notFound('The resource could not be found.', 'cinder');
    }
    return json(404, undefined);
  }
}

/** an EmbeddedCloud whose compute side is scripted by the test */
export class FakeCloud implements EmbeddedCloud {
  readonly statePath = '/tmp/fake-state.json';
  readonly endpoints = { compute: COMPUTE, volumev2: VOLUME };
  private listeners = new Set<(ev: CloudEvent) => void>();
  interrupted = 0;
  closed = false;
  /** what drain() replays before resolving */
  script: (cloud: FakeCloud) => Promise<DrainResult> = async () => ({ handled: [] });

  constructor(readonly transport: FakeTransport = new FakeTransport()) {}

  on(listener: (ev: CloudEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(ev: CloudEvent): void {
    for (const l of this.listeners) l(ev);
  }
  drain(): Promise<DrainResult> {
    return this.script(this);
  }
  interrupt(): void {
    this.interrupted++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export function connectorFor(cloud: FakeCloud, notice?: string): CloudConnector {
  return {
    async open(_state, onNotice) {
      if (notice) onNotice(notice);
      return { transport: cloud.transport, endpoints: cloud.endpoints, cloud, close: () => cloud.close() };
    },
  };
}

export interface CapturedIO extends ShellIO {
  stdout: string;
  stderr: string;
  interruptHandler: (() => void) | null;
}

export function captureIO(env: NodeJS.ProcessEnv = {}, tty = false): CapturedIO {
  const io: CapturedIO = {
    stdout: '',
    stderr: '',
    interruptHandler: null,
    out: (t) => void (io.stdout += t),
    err: (t) => void (io.stderr += t),
    stderrIsTTY: tty,
    env,
    setInterruptHandler: (h) => void (io.interruptHandler = h),
  };
  return io;
}
