// Hostile and broken state files: mutations of the default world's state.json, described
// as plain data (so fast-check can shrink them and a failure prints them), applied to the
// document's JSON tree or to its text. Kinds: truncated text, a value of the wrong type, a
// missing or an extra field (prototype keys too), numbers at the edges (1e308, 1e999, 2^53+1,
// -1, 0.5), duplicate ids, hostile paths (outside the state directory, through `..` or a
// symlink, relative, empty, with a NUL), nesting thousands deep, and junk instead of JSON.
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

/** how a path-valued field may point outside the world (resolved by the case runner) */
export const HOSTILE_PATHS = ['canary', 'canary-dir', 'dotdot', 'symlink', 'relative', 'empty', 'nul', 'missing', 'images-root'] as const;
export type HostilePath = (typeof HOSTILE_PATHS)[number];

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'retype'; at: number; to: 'string' | 'number' | 'null' | 'bool' | 'array' | 'object' }
  | { kind: 'remove'; at: number }
  | { kind: 'extra'; at: number; key: string; value: Json }
  | { kind: 'number'; at: number; literal: string }
  | { kind: 'duplicate'; at: number; mode: 'copy' | 'same-id'; from: number; to: number }
  | { kind: 'path'; at: number; hostile: HostilePath }
  | { kind: 'deep'; at: number; depth: number; shape: 'array' | 'object' }
  | { kind: 'enum'; at: number; value: string }
  | { kind: 'junk'; text: string }
  /** a named field (a.b[2].c; `field#key` for a key of the JSON text in `field`) set to a JSON literal or a hostile path */
  | { kind: 'set'; path: string; literal?: string; hostile?: HostilePath };

export const EDGE_NUMBERS = ['1e308', '1e999', '-1e999', '9007199254740993', '9007199254740992', '-1', '0.5', '99999999999', '-0', '2147483648', '4294967296', '1e-7', '0'];

const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'x', 'id', 'uuid', 'source', ''), fc.string({ maxLength: 8 }));
const jsonValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, 0, -1, 1e308, '', 'x', [], {}, { polluted: true }, ['a'], { __proto__x: 1 }),
  fc.string({ maxLength: 8 }),
  fc.integer(),
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), to: fc.constantFrom('string' as const, 'number' as const, 'null' as const, 'bool' as const, 'array' as const, 'object' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('extra' as const), at: fc.nat(), key, value: jsonValue }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('number' as const), at: fc.nat(), literal: fc.constantFrom(...EDGE_NUMBERS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), mode: fc.constantFrom('copy' as const, 'same-id' as const), from: fc.nat(), to: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('path' as const), at: fc.nat(), hostile: fc.constantFrom(...HOSTILE_PATHS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), at: fc.nat(), depth: fc.constantFrom(100, 1000, 10000, 200000), shape: fc.constantFrom('array' as const, 'object' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('enum' as const), at: fc.nat(), value: fc.constantFrom('bogus', '', 'constructor', '__proto__', 'in-use', 'available', 'detaching', 'ERROR', 'running', 'shutoff') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('junk' as const), text: fc.constantFrom('', ' ', '\n', 'null', '[]', '{}', '1', '"x"', 'true', '\uFEFF{}', '{"schemaVersion": 1}', '\u0000') }) },
);

/** 1–3 mutations of one state file */
export const mutations: fc.Arbitrary<Mutation[]> = fc.array(mutation, { minLength: 1, maxLength: 3 });

// ------------------------------------------------------------------ applying them

function walk(v: Json, path: Path, out: Array<[Path, Json]>): void {
  out.push([path, v]);
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], [...path, k], out);
}

function get(doc: Json, path: Path): Json {
  let v = doc;
  for (const k of path) v = (v as Record<string | number, Json>)[k];
  return v;
}

function set(doc: Json, path: Path, value: Json): void {
  const parent = get(doc, path.slice(0, -1)) as Record<string | number, Json>;
  const k = path[path.length - 1];
  if (k === '__proto__') Object.defineProperty(parent, k, { value, enumerable: true, writable: true, configurable: true });
  else parent[k] = value;
}

function del(doc: Json, path: Path): void {
  const parent = get(doc, path.slice(0, -1));
  const k = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(k as number, 1);
  else delete (parent as Record<string, Json>)[k as string];
}

const pick = <T>(xs: T[], n: number): T | undefined => (xs.length ? xs[n % xs.length] : undefined);

/** what the case runner puts in place of a hostile path (placeholders it resolves) */
export interface PathTargets {
  /** a file outside the state directory whose bytes must never change */
  canary: string;
  /** a folder outside the state directory */
  canaryDir: string;
  /** a symlink inside the images folder that points at the canary */
  symlink: string;
  /** the images folder itself */
  imagesRoot: string;
  /** the state directory */
  stateDir: string;
}

function hostileValue(h: HostilePath, t: PathTargets, original: string): string {
  switch (h) {
    case 'canary':
      return t.canary;
    case 'canary-dir':
      return t.canaryDir;
    case 'dotdot':
      return `${t.imagesRoot}/volumes/../../../outside/${t.canary.split('/').pop()}`;
    case 'symlink':
      return t.symlink;
    case 'relative':
      return original.split('/').slice(-2).join('/');
    case 'empty':
      return '';
    case 'nul':
      return `${original}\u0000.x`;
    case 'missing':
      return `${original}.missing`;
    case 'images-root':
      return t.imagesRoot;
  }
}

/** a field naming a file of the world (a disk's source, a mirror's target), or a
 * connection_info (JSON text) holding a device_path; not a device name like /dev/vdb */
function isPathField(path: Path, v: Json, t: PathTargets): boolean {
  if (typeof v !== 'string') return false;
  if (v.startsWith(`${t.stateDir}/`)) return true;
  return path[path.length - 1] === 'connectionInfo' && v.includes('device_path');
}

const show = (p: Path): string => p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').replace(/^\./, '');
const brief = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : v !== null && typeof v === 'object' ? (Array.isArray(v) ? '[…]' : '{…}') : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/**
 * Applies the mutations to the state's text. Numbers and nesting are spliced in as text
 * (1e999 has no JSON value; 200,000 levels would overflow JSON.stringify).
 */
export function applyMutations(text: string, muts: Mutation[], t: PathTargets): { text: string; changes: string[] } {
  const doc = JSON.parse(text) as Json;
  const changes: string[] = [];
  const note = (p: Path, what: string): void => void changes.push(`${show(p)} ${what}`);
  const splices: string[] = [];
  const placeholder = (s: string): string => {
    splices.push(s);
    return `@@SPLICE${splices.length - 1}@@`;
  };
  const textOps: Mutation[] = [];
  for (const m of muts) {
    const nodes: Array<[Path, Json]> = [];
    walk(doc, [], nodes);
    const inner = nodes.filter(([p]) => p.length > 0);
    switch (m.kind) {
      case 'truncate':
      case 'junk':
        textOps.push(m);
        break;
      case 'retype': {
        const n = pick(inner, m.at);
        if (!n) break;
        const to: Record<typeof m.to, Json> = { string: 'x', number: 7, null: null, bool: true, array: [], object: {} };
        set(doc, n[0], to[m.to]);
        note(n[0], `= ${brief(to[m.to])}`);
        break;
      }
      case 'remove': {
        const n = pick(inner, m.at);
        if (n) {
          del(doc, n[0]);
          note(n[0], 'removed');
        }
        break;
      }
      case 'extra': {
        const objs = nodes.filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v));
        const n = pick(objs, m.at);
        if (n) {
          set(doc, [...n[0], m.key], m.value);
          note([...n[0], m.key], `= ${brief(m.value)} (extra)`);
        }
        break;
      }
      case 'number': {
        const nums = inner.filter(([, v]) => typeof v === 'number');
        const n = pick(nums, m.at);
        if (n) {
          set(doc, n[0], placeholder(m.literal));
          note(n[0], `= ${m.literal}`);
        }
        break;
      }
      case 'duplicate': {
        const arrays = nodes.filter(([, v]) => Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x)));
        const n = pick(arrays, m.at);
        if (!n) break;
        const arr = n[1] as Array<Record<string, Json>>;
        const from = arr[m.from % arr.length];
        if (m.mode === 'copy') {
          arr.push(structuredClone(from));
          note(n[0], `gets a copy of [${m.from % arr.length}]`);
        } else {
          const to = arr[m.to % arr.length];
          for (const k of ['id', 'uuid', 'name']) if (k in from && k in to) to[k] = from[k];
          note(n[0], `[${m.to % arr.length}] takes the id of [${m.from % arr.length}]`);
        }
        break;
      }
      case 'path': {
        const paths = inner.filter(([p, v]) => isPathField(p, v, t));
        const n = pick(paths, m.at);
        if (!n) break;
        const v = n[1] as string;
        if (v.startsWith('/')) {
          set(doc, n[0], hostileValue(m.hostile, t, v));
          note(n[0], `= ${brief(hostileValue(m.hostile, t, v))} (${m.hostile})`);
        } else {
          try {
            const ci = JSON.parse(v) as { data?: { device_path?: string } };
            if (ci.data && typeof ci.data.device_path === 'string') ci.data.device_path = hostileValue(m.hostile, t, ci.data.device_path);
            set(doc, n[0], JSON.stringify(ci));
            note(n[0], `device_path = ${brief(ci.data?.device_path)} (${m.hostile})`);
          } catch {
            /* not JSON: left as it is */
          }
        }
        break;
      }
      case 'deep': {
        const n = pick(inner, m.at);
        if (!n) break;
        const open = m.shape === 'array' ? '['.repeat(m.depth) : '{"a":'.repeat(m.depth);
        const close = m.shape === 'array' ? ']'.repeat(m.depth) : '}'.repeat(m.depth);
        set(doc, n[0], placeholder(`${open}${m.shape === 'array' ? '' : '1'}${close}`));
        note(n[0], `= ${m.shape} nested ${m.depth} deep`);
        break;
      }
      case 'set': {
        const [field, innerKey] = m.path.split('#');
        const p: Path = field.split(/\.|\[(\d+)\]/).filter((x) => x !== undefined && x !== '').map((x) => (/^\d+$/.test(x) ? Number(x) : x));
        const cur = get(doc, p);
        if (innerKey !== undefined && typeof cur === 'string') {
          const ci = JSON.parse(cur) as Record<string, Record<string, unknown>>;
          const old = String(ci.data?.[innerKey] ?? '');
          ci.data[innerKey] = m.hostile ? hostileValue(m.hostile, t, old) : JSON.parse(m.literal ?? 'null');
          set(doc, p, JSON.stringify(ci));
          note(p, `${innerKey} = ${brief(ci.data[innerKey])}${m.hostile ? ` (${m.hostile})` : ''}`);
        } else if (m.hostile) {
          set(doc, p, hostileValue(m.hostile, t, typeof cur === 'string' ? cur : ''));
          note(p, `= ${brief(get(doc, p))} (${m.hostile})`);
        } else {
          set(doc, p, placeholder(m.literal ?? 'null'));
          note(p, `= ${m.literal}`);
        }
        break;
      }
      case 'enum': {
        const strs = inner.filter(([p, v]) => typeof v === 'string' && !isPathField(p, v, t));
        const n = pick(strs, m.at);
        if (n) {
          set(doc, n[0], m.value);
          note(n[0], `= ${JSON.stringify(m.value)}`);
        }
        break;
      }
    }
  }
  let out = JSON.stringify(doc, null, 1) + '\n';
  out = out.replace(/"@@SPLICE(\d+)@@"/g, (_m, i: string) => splices[Number(i)]);
  for (const m of textOps) {
    if (m.kind === 'truncate') {
      const at = m.at % Math.max(1, out.length);
      changes.push(`text cut at byte ${at} of ${out.length}`);
      out = out.slice(0, at);
    } else if (m.kind === 'junk') {
      out = m.text === '\uFEFF{}' ? `\uFEFF${out}` : m.text;
      changes.push(m.text === '\uFEFF{}' ? 'a BOM before the text' : `text replaced by ${JSON.stringify(m.text)}`);
    }
  }
  return { text: out, changes };
}

/** whether the mutations pointed a path-valued field outside the world */
export function hasHostilePath(changes: string[]): boolean {
  return changes.some((c) => / \((?!missing\))[a-z-]+\)$/.test(c));
}

// ------------------------------------------------------------------ the commands run on them

export interface StateCommand {
  tool: 'nova' | 'nova-sim';
  argv: string[];
  /** it writes the state when it succeeds */
  writes: boolean;
}

/** commands that read the state (every one of them), and those that change it */
export const STATE_COMMANDS: StateCommand[] = [
  { tool: 'nova', argv: ['list'], writes: false },
  { tool: 'nova', argv: ['show', 'web-1'], writes: false },
  { tool: 'nova', argv: ['volume-list'], writes: false },
  { tool: 'nova', argv: ['volume-show', 'web-data'], writes: false },
  { tool: 'nova', argv: ['volume-attachments', 'web-1'], writes: false },
  { tool: 'nova', argv: ['volume-create', '1', '--display-name', 'fuzz'], writes: true },
  { tool: 'nova', argv: ['volume-delete', 'spare'], writes: true },
  { tool: 'nova', argv: ['volume-attach', 'batch-1', 'spare', '/dev/vdc'], writes: true },
  { tool: 'nova', argv: ['volume-detach', 'batch-1', 'batch-data'], writes: true },
  { tool: 'nova', argv: ['volume-update', 'web-1', 'web-data', 'new-web-data'], writes: true },
  { tool: 'nova', argv: ['volume-update', 'batch-1', 'batch-data', 'spare'], writes: true },
  { tool: 'nova', argv: ['boot', '--flavor', 'm1.tiny', '--image', 'cirros-0.3.4-x86_64-uec', 'fuzz-vm'], writes: true },
  { tool: 'nova', argv: ['delete', 'cache-1'], writes: true },
  { tool: 'nova', argv: ['stop', 'web-1'], writes: true },
  { tool: 'nova', argv: ['start', 'batch-1'], writes: true },
  { tool: 'nova', argv: ['lock', 'web-1'], writes: true },
  { tool: 'nova', argv: ['reset-state', 'worker-1'], writes: true },
  { tool: 'nova-sim', argv: ['virsh', 'list', '--all'], writes: false },
  { tool: 'nova-sim', argv: ['virsh', 'dumpxml', 'web-1'], writes: false },
  { tool: 'nova-sim', argv: ['virsh', 'domblklist', 'web-1'], writes: false },
  { tool: 'nova-sim', argv: ['virsh', 'blockjob', 'web-1', 'vdb', '--info'], writes: false },
  { tool: 'nova-sim', argv: ['volume-path', 'web-data'], writes: false },
  { tool: 'nova-sim', argv: ['guest-load', 'web-1', '--seed', '3', '--count', '4', '--block-sizes', '4K'], writes: true },
  { tool: 'nova-sim', argv: ['guest-load', 'web-1', '--verify'], writes: false },
  { tool: 'nova-sim', argv: ['config', 'libvirt.disk_cachemodes', 'block=unsafe'], writes: true },
  { tool: 'nova-sim', argv: ['blkdebug', 'web-1', 'vdb', '--delay', 'flush_to_disk=10'], writes: true },
];

export const stateCase = fc.record({
  mutations,
  command: fc.constantFrom(...STATE_COMMANDS),
  user: fc.constantFrom<'admin' | 'demo'>('admin', 'demo'),
});
export type StateCase = { mutations: Mutation[]; command: StateCommand; user: 'admin' | 'demo' };
