// Requests to every route of nova-api (src/nova/api/app.ts) and cinder-api
// (src/cinder/api.ts): well-formed bodies with one part changed (a wrong type, a number at
// the edge, a long or empty string, a prototype key, nesting thousands deep, a missing or
// an extra field), bodies that are not JSON or not objects, ids that are not ids, odd
// tokens and microversions.
import fc from 'fast-check';
import type { Json } from './state-arbs.js';

export const NOVA = 'http://127.0.0.1:8774/v2.1';
export const CINDER = 'http://127.0.0.1:8776/v2';
const PROJECT = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';

const SERVER_IDS = ['5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c02', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c03', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c04', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c05', '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c06'];
const VOLUME_IDS = ['d0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01', 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c03', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d02', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d04'];
const ODD_IDS = ['constructor', '__proto__', 'toString', 'nosuch', '00000000-0000-0000-0000-000000000000', '%00', '%2F', '..', 'web-1', 'x'.repeat(300), '%E2%80%AE', '1', '-1', '%'];

const serverId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...SERVER_IDS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_IDS) });
const volumeId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...VOLUME_IDS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_IDS) });

/** a value in place of a well-formed one */
const hostile: fc.Arbitrary<Json | { raw: string }> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e308, -1e308, 2147483648, 9007199254740993, 99999999999, '', ' ', 'x', '0', '1', '-1', 'constructor', '__proto__', [], {}, [1], { a: 1 }, 'é日🙂', '\u0000'),
  fc.constantFrom(300, 40000).map((n) => 'a'.repeat(n)),
  fc.string({ maxLength: 10 }),
  fc.integer().map((n) => n as Json),
  fc.constantFrom(100, 5000, 100000).map((d) => ({ raw: '['.repeat(d) + ']'.repeat(d) })),
  fc.constantFrom(100, 5000, 100000).map((d) => ({ raw: '{"a":'.repeat(d) + '1' + '}'.repeat(d) })),
  fc.constantFrom({ raw: '1e999' }, { raw: '-1e999' }, { raw: '{"__proto__": {"x": 1}}' }, { raw: '{"constructor": {"prototype": {"x": 1}}}' }),
);

type Body = Json | { raw: string } | undefined;
export interface ApiRequest {
  method: string;
  url: string;
  body?: string;
  token: string;
  version?: string;
  /** what the request is, for reports */
  label: string;
}

type Path = Array<string | number>;
function leaves(v: Json, path: Path, out: Path[]): void {
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) leaves(v[k], [...path, k], out);
}

const RAW = '"@@RAW@@"';

/** a well-formed body with one change, as text */
function mutate(template: Json): fc.Arbitrary<string> {
  const paths: Path[] = [];
  leaves(template, [], paths);
  const inner = paths.filter((p) => p.length > 0);
  const objects = paths.filter((p) => {
    const v = getAt(template, p);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });
  const as = (doc: Json, raw?: string): string => {
    const text = JSON.stringify(doc);
    return raw === undefined ? text : text.replace(RAW, raw);
  };
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(JSON.stringify(template)) },
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constantFrom(...inner), hostile).map(([p, v]) => {
        const doc = structuredClone(template);
        const raw = v !== null && typeof v === 'object' && 'raw' in v && typeof v.raw === 'string' ? v.raw : undefined;
        setAt(doc, p, raw === undefined ? (v as Json) : '@@RAW@@');
        return as(doc, raw);
      }),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...inner).map((p) => {
        const doc = structuredClone(template);
        const parent = getAt(doc, p.slice(0, -1));
        if (Array.isArray(parent)) parent.splice(p[p.length - 1] as number, 1);
        else delete (parent as Record<string, Json>)[p[p.length - 1] as string];
        return JSON.stringify(doc);
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...objects), fc.constantFrom('__proto__', 'constructor', 'x', 'volumeId', 'id', 'toString'), hostile).map(([p, k, v]) => {
        const doc = structuredClone(template);
        const raw = v !== null && typeof v === 'object' && 'raw' in v && typeof v.raw === 'string' ? v.raw : undefined;
        const target = getAt(doc, p) as Record<string, Json>;
        Object.defineProperty(target, k, { value: raw === undefined ? v : '@@RAW@@', enumerable: true, writable: true, configurable: true });
        return as(doc, raw);
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '[]', '"x"', '1', '{}', 'true', '\uFEFF{}', '{"a":1,"a":2}', '[' .repeat(200000)) },
  );
}

function getAt(doc: Json, p: Path): Json {
  let v = doc;
  for (const k of p) v = (v as Record<string | number, Json>)[k];
  return v;
}
function setAt(doc: Json, p: Path, value: Json): void {
  const parent = getAt(doc, p.slice(0, -1)) as Record<string | number, Json>;
  const k = p[p.length - 1];
  if (k === '__proto__') Object.defineProperty(parent, k, { value, enumerable: true, writable: true, configurable: true });
  else parent[k] = value;
}

const NOVA_ACTIONS: Array<[string, Json]> = [
  ['lock', null],
  ['unlock', null],
  ['os-stop', null],
  ['os-start', null],
  ['pause', null],
  ['unpause', null],
  ['suspend', null],
  ['resume', null],
  ['os-resetState', { state: 'active' }],
  ['os-resetState', { state: 'error' }],
  ['constructor', null],
  ['__proto__', null],
  ['toString', {}],
  ['hasOwnProperty', null],
  ['nosuch', null],
  ['', null],
];

const CINDER_ACTIONS: Array<[string, Json]> = [
  ['os-reserve', {}],
  ['os-unreserve', {}],
  ['os-begin_detaching', {}],
  ['os-roll_detaching', {}],
  ['os-attach', { instance_uuid: SERVER_IDS[2], host_name: 'devstack', mountpoint: '/dev/vdc', mode: 'rw' }],
  ['os-detach', { attachment_id: 'd0c1a2b3-7a7a-4b4b-8c8c-0e1f2a3b4c01' }],
  ['os-initialize_connection', { connector: { host: 'devstack', initiator: 'iqn.1994-05.com.redhat:devstack', ip: '127.0.0.1' } }],
  ['os-terminate_connection', { connector: { host: 'devstack' } }],
  ['os-migrate_volume_completion', { new_volume: VOLUME_IDS[2], error: false }],
  ['constructor', {}],
  ['__proto__', {}],
  ['toString', {}],
  ['nosuch', {}],
];

const qs = fc.oneof(
  fc.constant(''),
  fc.tuple(fc.constantFrom('name', 'status', 'limit', 'all_tenants', 'flavor', 'image', 'host', 'tenant_id', 'display_name', 'marker', 'constructor', '__proto__'), fc.oneof(fc.constantFrom('web', '.*', '(', '[', '\\', 'ACTIVE', 'bogus', '-1', '1e308', '1', 'True', 'x'.repeat(40000), '(a+)+$'), fc.string({ maxLength: 6 }))).map(
    ([k, v]) => `?${k}=${encodeURIComponent(v)}`,
  ),
);

function req(method: string, url: string, body: Body | string, label: string): ApiRequest {
  return { method, url, body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body), token: '', label };
}

/** one request to nova-api or cinder-api */
export const apiRequest: fc.Arbitrary<ApiRequest> = fc
  .record({
    r: fc.oneof(
      // nova-api
      fc.tuple(qs).map(([q]) => req('GET', `${NOVA}/servers${q}`, undefined, 'GET servers')),
      fc.tuple(qs).map(([q]) => req('GET', `${NOVA}/servers/detail${q}`, undefined, 'GET servers/detail')),
      serverId.map((s) => req('GET', `${NOVA}/servers/${s}`, undefined, 'GET servers/:id')),
      mutate({ server: { name: 'fuzz-vm', imageRef: '6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c', flavorRef: '1', min_count: 1, max_count: 1, metadata: { a: 'b' }, networks: [] } }).map((b) =>
        req('POST', `${NOVA}/servers`, b, 'POST servers'),
      ),
      serverId.map((s) => req('DELETE', `${NOVA}/servers/${s}`, undefined, 'DELETE servers/:id')),
      fc.tuple(serverId, fc.constantFrom(...NOVA_ACTIONS)).chain(([s, [a, arg]]) => mutate({ [a]: arg }).map((b) => req('POST', `${NOVA}/servers/${s}/action`, b, `POST servers/:id/action ${a}`))),
      serverId.map((s) => req('GET', `${NOVA}/servers/${s}/os-volume_attachments`, undefined, 'GET os-volume_attachments')),
      fc.tuple(serverId, volumeId).map(([s, v]) => req('GET', `${NOVA}/servers/${s}/os-volume_attachments/${v}`, undefined, 'GET os-volume_attachments/:id')),
      fc.tuple(serverId, volumeId).chain(([s, v]) => mutate({ volumeAttachment: { volumeId: v, device: '/dev/vdc' } }).map((b) => req('POST', `${NOVA}/servers/${s}/os-volume_attachments`, b, 'POST os-volume_attachments'))),
      fc.tuple(serverId, volumeId, volumeId).chain(([s, old, nu]) => mutate({ volumeAttachment: { volumeId: nu } }).map((b) => req('PUT', `${NOVA}/servers/${s}/os-volume_attachments/${old}`, b, 'PUT os-volume_attachments/:id'))),
      fc.tuple(serverId, volumeId).map(([s, v]) => req('DELETE', `${NOVA}/servers/${s}/os-volume_attachments/${v}`, undefined, 'DELETE os-volume_attachments/:id')),
      fc.constantFrom('flavors', 'flavors/detail', 'flavors/1', 'flavors/constructor', 'images', 'images/detail', 'images/6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c', 'images/__proto__', '', 'nosuch', 'servers/x/y/z').map((p) => req('GET', `${NOVA}/${p}`, undefined, `GET ${p}`)),
      fc.constantFrom('PATCH', 'PUT', 'HEAD', 'OPTIONS', 'constructor').map((m) => req(m, `${NOVA}/servers`, undefined, `${m} servers`)),
      // limits and the os-volumes proxy to Cinder
      fc.tuple(qs).map(([q]) => req('GET', `${NOVA}/limits${q}`, undefined, 'GET limits')),
      fc.tuple(qs).map(([q]) => req('GET', `${NOVA}/os-volumes/detail${q}`, undefined, 'GET os-volumes/detail')),
      volumeId.map((v) => req('GET', `${NOVA}/os-volumes/${v}`, undefined, 'GET os-volumes/:id')),
      mutate({ volume: { size: 1, display_name: 'fuzz', display_description: 'd', volume_type: 'lvmdriver-1', availability_zone: 'nova', metadata: { a: 'b' } } }).map((b) =>
        req('POST', `${NOVA}/os-volumes`, b, 'POST os-volumes'),
      ),
      volumeId.map((v) => req('DELETE', `${NOVA}/os-volumes/${v}`, undefined, 'DELETE os-volumes/:id')),
      // cinder-api
      fc.tuple(qs).map(([q]) => req('GET', `${CINDER}/${PROJECT}/volumes/detail${q}`, undefined, 'GET volumes/detail')),
      fc.tuple(qs).map(([q]) => req('GET', `${CINDER}/${PROJECT}/volumes${q}`, undefined, 'GET volumes')),
      volumeId.map((v) => req('GET', `${CINDER}/${PROJECT}/volumes/${v}`, undefined, 'GET volumes/:id')),
      mutate({ volume: { size: 1, name: 'fuzz', description: 'd', volume_type: 'lvmdriver-1', availability_zone: 'nova' } }).map((b) => req('POST', `${CINDER}/${PROJECT}/volumes`, b, 'POST volumes')),
      volumeId.map((v) => req('DELETE', `${CINDER}/${PROJECT}/volumes/${v}`, undefined, 'DELETE volumes/:id')),
      fc.tuple(volumeId, fc.constantFrom(...CINDER_ACTIONS)).chain(([v, [a, arg]]) => mutate({ [a]: arg }).map((b) => req('POST', `${CINDER}/${PROJECT}/volumes/${v}/action`, b, `POST volumes/:id/action ${a}`))),
    ),
    token: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('admin:demo', 'demo:demo') }, { weight: 1, arbitrary: fc.constantFrom('', 'nosuch:demo', 'admin:admin', 'admin', ':', 'constructor:__proto__', 'demo:nosuch') }),
    version: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('2.25', '2.1', undefined) }, { weight: 1, arbitrary: fc.constantFrom('latest', '2.26', '3.0', 'x', '', '2.', '1.0', '2.999999999999999999') }),
  })
  .map(({ r, token, version }) => ({ ...r, token, version }));
