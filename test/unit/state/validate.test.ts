// src/state/validate.ts against hostile state files: every path-valued field must be an
// image this state derives from an id, every number a safe integer, ids unique, counters
// ahead of the ids they hand out, no key that reaches a prototype, nothing nested deeper
// than the schema allows. Each refusal is the path of the first bad field and its problem.
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initWorld } from '../../../src/novasim/world.js';
import { imagesDir, instanceDiskPath, volumeImagePath } from '../../../src/state/paths.js';
import { StateFileError, parseState } from '../../../src/state/store.js';
import type { Domain, State } from '../../../src/state/types.js';
import { MAX_DEPTH, MAX_VOLUME_GIB, validateState } from '../../../src/state/validate.js';

const WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const SPARE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';

// the default world, made before the tables of cases below are built
const dir = mkdtempSync(join(tmpdir(), 'novasim-validate-'));
const statePath = join(dir, 'state.json');
await initWorld(statePath, 'default', false);
const world = JSON.parse(readFileSync(statePath, 'utf8')) as State;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a copy of the default world, changed by `edit` */
function edited(edit: (s: State) => void): State {
  const s = structuredClone(world);
  edit(s);
  return s;
}
const web1 = (s: State): Domain => s.libvirt.domains.find((d) => d.uuid === WEB_1) as Domain;
const vdb = (s: State) => web1(s).def.disks.find((d) => d.targetDev === 'vdb')!;
const bdmIndex = (s: State) => s.nova.bdms.findIndex((b) => b.volumeId === WEB_DATA);
const withCinfo = (s: State, edit: (c: { data: Record<string, unknown> } & Record<string, unknown>) => void): void => {
  const b = s.nova.bdms[bdmIndex(s)];
  const c = JSON.parse(b.connectionInfo as string);
  edit(c);
  b.connectionInfo = JSON.stringify(c);
};
/** a mirror record as libvirt writes one while web-1's vdb is copied to `target` */
const mirrorTo = (target: string) => ({
  dev: 'vdb',
  type: 'block',
  source: target,
  format: 'raw',
  job: 'copy',
  ready: false,
  cur: 0,
  end: 0,
  bandwidth: 0,
  ownerPid: 4242,
  updatedAt: '2016-05-03T09:12:44.000000',
});

describe('a fresh world is valid, with or without its path', () => {
  it('validates', () => {
    expect(validateState(world, statePath)).toBeNull();
    expect(validateState(world)).toBeNull();
  });
  it('a swap in progress (a mirror to another volume of the state) is valid', () => {
    expect(validateState(edited((s) => (web1(s).mirrors.vdb = mirrorTo(volumeImagePath(statePath, SPARE)) as never)), statePath)).toBeNull();
  });
});

describe('confinement: every path of the state is an image the state derives from an id', () => {
  const outside = '/etc/passwd';
  const domI = () => world.libvirt.domains.findIndex((d) => d.uuid === WEB_1);
  const diskI = () => web1(world).def.disks.findIndex((d) => d.targetDev === 'vdb');
  it.each<[string, (s: State) => void, () => string]>([
    ['a live disk source', (s) => (vdb(s).source = outside), () => `state.libvirt.domains[${domI()}].def.disks[${diskI()}].source`],
    [
      'a persistent disk source',
      (s) => (web1(s).persistentDef!.disks[diskI()].source = outside),
      () => `state.libvirt.domains[${domI()}].persistentDef.disks[${diskI()}].source`,
    ],
    ['a root disk source', (s) => (web1(s).def.disks[0].source = outside), () => `state.libvirt.domains[${domI()}].def.disks[0].source`],
    ['a mirror record', (s) => (web1(s).mirrors.vdb = mirrorTo(outside) as never), () => `state.libvirt.domains[${domI()}].mirrors.vdb.source`],
    [
      "a BDM's connection_info device_path",
      (s) => withCinfo(s, (c) => (c.data.device_path = outside)),
      () => `state.nova.bdms[${bdmIndex(world)}].connectionInfo.data.device_path`,
    ],
  ])('%s naming a file outside is refused', (_name, edit, field) => {
    const problem = validateState(edited(edit), statePath);
    expect(problem).toBe(`${field()} is not an image of this state: "${outside}" (its images are in ${imagesDir(statePath)})`);
  });

  it.each<[string, (p: string) => string]>([
    ['a path that climbs out with ..', (p) => `${p}/../../../../etc/passwd`],
    ['a path with a doubled slash', (p) => p.replace('/volumes/', '//volumes/')],
    ['a relative path', () => `state.images/volumes/volume-${WEB_DATA}`],
    ['the image of a volume that is not in the state', () => volumeImagePath(statePath, '0badc0de-0000-4000-8000-000000000000')],
    ["the image folder of another state (a state file moved away from its images)", () => volumeImagePath('/srv/other/state.json', WEB_DATA)],
  ])('%s is refused: only the exact derived path is an image', (_name, path) => {
    const p = path(volumeImagePath(statePath, WEB_DATA));
    expect(validateState(edited((s) => (vdb(s).source = p)), statePath)).toMatch(/^state\.libvirt\.domains\[\d+\]\.def\.disks\[\d+\]\.source is not an image of this state: /);
  });

  it("a server's root disk is not a volume: a connection_info naming it is refused", () => {
    const s = edited((s) => withCinfo(s, (c) => (c.data.device_path = instanceDiskPath(statePath, WEB_1))));
    expect(validateState(s, statePath)).toMatch(/connectionInfo\.data\.device_path is not an image of this state/);
  });

  it('a volume id or a server uuid that is not a file name is refused (it would climb out of the images folder)', () => {
    const vi = world.cinder.volumes.findIndex((v) => v.id === SPARE);
    expect(validateState(edited((s) => (s.cinder.volumes[vi].id = '../../../../tmp/x')), statePath)).toBe(
      `state.cinder.volumes[${vi}].id must be a name of letters, digits, '.', '_' and '-': "../../../../tmp/x"`,
    );
    expect(validateState(edited((s) => (s.nova.instances[0].uuid = '..')), statePath)).toBe(`state.nova.instances[0].uuid must be a name of letters, digits, '.', '_' and '-': ".."`);
  });

  it('connection_info must be JSON of an object with a driver type and data', () => {
    const i = bdmIndex(world);
    expect(validateState(edited((s) => (s.nova.bdms[i].connectionInfo = '{"driver_volume_type":')), statePath)).toBe(`state.nova.bdms[${i}].connectionInfo is not valid JSON`);
    expect(validateState(edited((s) => (s.nova.bdms[i].connectionInfo = '[]')), statePath)).toBe(`state.nova.bdms[${i}].connectionInfo must be an object`);
    expect(validateState(edited((s) => withCinfo(s, (c) => delete c.data.device_path)), statePath)).toBe(`state.nova.bdms[${i}].connectionInfo.data.device_path is missing`);
    expect(validateState(edited((s) => withCinfo(s, (c) => (c.data = [] as never))), statePath)).toBe(`state.nova.bdms[${i}].connectionInfo.data must be an object`);
  });

  it('a symbolic link planted in the images folder is refused: an image is never opened through one', () => {
    const link = volumeImagePath(statePath, WEB_DATA);
    const moved = `${link}.real`;
    const s = structuredClone(world);
    try {
      writeFileSync(join(dir, 'outside'), 'x');
      // move the image away and plant a link where it was
      renameSync(link, moved);
      symlinkSync(join(dir, 'outside'), link);
      expect(validateState(s, statePath)).toBe(
        `state.libvirt.domains[${world.libvirt.domains.findIndex((d) => d.uuid === WEB_1)}].def.disks[1].source is a symbolic link: "${link}" (images are never opened through one)`,
      );
      // the same state, read by the store, is refused in one line naming the file
      expect(() => parseState(statePath, JSON.stringify(s))).toThrow(StateFileError);
      expect(() => parseState(statePath, JSON.stringify(s))).toThrow(/^.*: not a novasim state file: state\.libvirt\.domains\[\d+\]\.def\.disks\[1\]\.source is a symbolic link: /);
    } finally {
      rmSync(link, { force: true });
      renameSync(moved, link);
    }
  });

  it('a symbolic link for a folder of the images (volumes/ → elsewhere) is refused too', () => {
    const vols = join(imagesDir(statePath), 'volumes');
    const elsewhere = join(dir, 'elsewhere');
    try {
      // move the folder away and leave a link to it in its place
      renameSync(vols, elsewhere);
      symlinkSync(elsewhere, vols);
      expect(validateState(world, statePath)).toMatch(/\.source is a symbolic link: ".*\/state\.images\/volumes" \(images are never opened through one\)$/);
    } finally {
      rmSync(vols, { force: true });
      renameSync(elsewhere, vols);
    }
  });
});

describe('hostile numbers, ids and counters', () => {
  it.each<[string, (s: State) => void, string]>([
    ['a counter of 1e308', (s) => (s.nova.nextBdmId = 1e308), 'state.nova.nextBdmId must be an integer between -(2^53-1) and 2^53-1, not 1e+308'],
    ['an id past 2^53', (s) => (s.nova.instances[0].id = 2 ** 53), 'state.nova.instances[0].id must be an integer between -(2^53-1) and 2^53-1, not 9007199254740992'],
    ['a BDM counter behind its ids', (s) => (s.nova.nextBdmId = 2), `state.nova.nextBdmId must be greater than every BDM id (${Math.max(...world.nova.bdms.map((b) => b.id))} is one)`],
    ['an instance counter behind its ids', (s) => (s.nova.nextInstanceId = 1), `state.nova.nextInstanceId must be greater than every instance id (${Math.max(...world.nova.instances.map((b) => b.id))} is one)`],
    ['a domain counter behind its ids', (s) => (s.libvirt.nextDomainId = 1), `state.libvirt.nextDomainId must be greater than every domain id (${Math.max(...world.libvirt.domains.map((d) => d.id ?? 0))} is one)`],
    ['a zero BDM id', (s) => (s.nova.bdms[0].id = 0), 'state.nova.bdms[0].id must be positive'],
    ['a negative volume size', (s) => (s.cinder.volumes[0].size = -1), `state.cinder.volumes[0].size must be between 1 and ${MAX_VOLUME_GIB}`],
    ['a zero volume size', (s) => (s.cinder.volumes[0].size = 0), `state.cinder.volumes[0].size must be between 1 and ${MAX_VOLUME_GIB}`],
    ['a volume of 2^31 GiB', (s) => (s.cinder.volumes[0].size = 2 ** 31), `state.cinder.volumes[0].size must be between 1 and ${MAX_VOLUME_GIB}`],
    ['a fractional volume size', (s) => (s.cinder.volumes[0].size = 1.5), 'state.cinder.volumes[0].size must be an integer'],
    ['a negative mirror progress', (s) => (web1(s).mirrors.vdb = { ...mirrorTo(volumeImagePath(statePath, SPARE)), cur: -5 } as never), `state.libvirt.domains[${world.libvirt.domains.findIndex((d) => d.uuid === WEB_1)}].mirrors.vdb.cur must not be negative`],
  ])('%s is refused', (_name, edit, problem) => {
    expect(validateState(edited(edit), statePath)).toBe(problem);
  });

  it.each<[string, (s: State) => void, string]>([
    ['two BDMs with one id', (s) => (s.nova.bdms[3].id = s.nova.bdms[1].id), 'state.nova.bdms[3].id is a duplicate: 2 is already state.nova.bdms[1].id'],
    ['two instances with one uuid', (s) => (s.nova.instances[2].uuid = s.nova.instances[0].uuid), `state.nova.instances[2].uuid is a duplicate: "${WEB_1}" is already state.nova.instances[0].uuid`],
    ['two instances with one id', (s) => (s.nova.instances[2].id = s.nova.instances[0].id), 'state.nova.instances[2].id is a duplicate: 1 is already state.nova.instances[0].id'],
    ['two volumes with one id', (s) => (s.cinder.volumes[2].id = s.cinder.volumes[0].id), `state.cinder.volumes[2].id is a duplicate: "${world.cinder.volumes[0].id}" is already state.cinder.volumes[0].id`],
    ['two domains with one uuid', (s) => (s.libvirt.domains[1].uuid = s.libvirt.domains[0].uuid), `state.libvirt.domains[1].uuid is a duplicate: "${world.libvirt.domains[0].uuid}" is already state.libvirt.domains[0].uuid`],
    ['two domains with one name', (s) => (s.libvirt.domains[1].name = s.libvirt.domains[0].name), `state.libvirt.domains[1].name is a duplicate: "${world.libvirt.domains[0].name}" is already state.libvirt.domains[0].name`],
    ['two running domains with one id', (s) => (s.libvirt.domains[1].id = s.libvirt.domains[0].id), `state.libvirt.domains[1].id is a duplicate: ${world.libvirt.domains[0].id} is already state.libvirt.domains[0].id`],
  ])('%s is refused', (_name, edit, problem) => {
    expect(validateState(edited(edit), statePath)).toBe(problem);
  });
});

describe('hostile shapes', () => {
  it.each<[string, (s: State) => void, string]>([
    ['a __proto__ key in metadata whose value is not a string', (s) => Object.defineProperty(s.nova.instances[0].metadata, '__proto__', { value: { polluted: 'yes' }, enumerable: true }), 'state.nova.instances[0].metadata["__proto__"] must be a string'],
    ['a constructor key among the mirrors', (s) => (web1(s).mirrors = { constructor: mirrorTo(volumeImagePath(statePath, SPARE)) } as never), `state.libvirt.domains[${world.libvirt.domains.findIndex((d) => d.uuid === WEB_1)}].mirrors["constructor"] is a forbidden key`],
    ['a metadata value that is an object', (s) => (s.nova.instances[0].metadata = { k: { deep: 1 } } as never), 'state.nova.instances[0].metadata.k must be a string'],
    ['a name that is a nested array', (s) => (s.nova.instances[0].name = [[['x']]] as never), 'state.nova.instances[0].name must be a string'],
    ['an unknown field inside a record', (s) => ((s.nova.instances[0] as unknown as Record<string, unknown>).sorce = 'x'), 'state.nova.instances[0].sorce is not a field of this version'],
    ['a missing field', (s) => delete (s.cinder.volumes[0] as Partial<State['cinder']['volumes'][0]>).bootable, 'state.cinder.volumes[0].bootable is missing'],
    ['an address of the wrong shape', (s) => (s.nova.instances[0].addresses = { private: [{ addr: 1 }] } as never), 'state.nova.instances[0].addresses.private[0].addr must be a string'],
    ['a bad BDM source type', (s) => (s.nova.bdms[0].sourceType = 'url' as never), 'state.nova.bdms[0].sourceType must be one of "image", "volume", "snapshot", "blank"'],
    ['a guest load of an impossible plan', (s) => (s.guestLoads = [{ server: WEB_1, disk: 'vdb', active: true, runnerPid: null, segments: [{ seed: 1, rate: 1, blockSizes: [100], region: { offset: 0, length: 4096 }, limit: null, writes: 0 }], updatedAt: 'x' }]), 'state.guestLoads[0].segments[0]: block size 100 is not a positive multiple of 4096'],
  ])('%s is refused', (_name, edit, problem) => {
    expect(validateState(edited(edit), statePath)).toBe(problem);
  });

  it('metadata keys are data (Nova accepts any): constructor and __proto__ are own keys, never merged into a prototype', () => {
    const text = readFileSync(statePath, 'utf8').replace('"metadata": {}', '"metadata": {"__proto__": "x", "constructor": "y"}');
    const s = parseState(statePath, text);
    const meta = s.nova.instances[0].metadata;
    expect(Object.hasOwn(meta, '__proto__') && Object.hasOwn(meta, 'constructor')).toBe(true);
    expect(JSON.parse(JSON.stringify(s)).nova.instances[0].metadata).toEqual(JSON.parse('{"__proto__": "x", "constructor": "y"}'));
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    // an object value under such a key is refused (metadata values are strings)
    const polluting = readFileSync(statePath, 'utf8').replace('"metadata": {}', '"metadata": {"__proto__": {"isAdmin": true}}');
    expect(() => parseState(statePath, polluting)).toThrow(/metadata\["__proto__"\] must be a string$/);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('unknown top-level sections (a newer version) are kept, but not a deep or prototype-polluting one', () => {
    expect(validateState({ ...world, quotas: { cores: 20 } }, statePath)).toBeNull();
    expect(validateState({ ...world, __proto__x: 1 }, statePath)).toBeNull();
    const pollute = JSON.parse(`{"__proto__": 1}`) as Record<string, unknown>;
    expect(validateState({ ...world, extra: pollute }, statePath)).toBe('state.extra["__proto__"] is a forbidden key');
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(validateState({ ...world, extra: deep }, statePath)).toBe(`state.extra${'[0]'.repeat(MAX_DEPTH)} nests deeper than ${MAX_DEPTH} levels`);
    let obj: unknown = 'x';
    for (let i = 0; i < 100_000; i++) obj = { a: obj };
    expect(validateState({ ...world, extra: obj }, statePath)).toMatch(/^state\.extra(\.a)+ nests deeper than 64 levels$/);
  });

  it('a deeply nested connection_info is refused, not a stack overflow', () => {
    const i = bdmIndex(world);
    // written as text: JSON.stringify itself overflows on such a value
    const s = edited((s) => (s.nova.bdms[i].connectionInfo = (s.nova.bdms[i].connectionInfo as string).replace(/}$/, `,"extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`)));
    expect(validateState(s, statePath)).toMatch(new RegExp(`^state\\.nova\\.bdms\\[${i}\\]\\.connectionInfo\\.extra(\\[0\\])+ nests deeper than ${MAX_DEPTH} levels$`));
  });

  it('a deeply nested value where a string is expected is refused, not a stack overflow', () => {
    const text = readFileSync(statePath, 'utf8').replace('"fixture": "default"', `"fixture": ${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(() => parseState(statePath, text)).toThrow(/: not a novasim state file: state\.fixture must be a string$/);
  });

  it('every problem is one line, whatever the value holds', () => {
    const s = edited((s) => (vdb(s).source = '/tmp/x\nERROR (Injected): y'));
    const p = validateState(s, statePath) as string;
    expect(p.split('\n')).toHaveLength(1);
    expect(p).toContain('\\n');
  });
});

describe('speed', () => {
  it('a 50 MB state is validated in well under a second', () => {
    const s = structuredClone(world);
    const inst = s.nova.instances[0];
    const vol = s.cinder.volumes[0];
    const dom = web1(s);
    const bdm = s.nova.bdms[bdmIndex(s)];
    // many servers, each with a volume attached (BDM, attachment, domain disk): enough of
    // them for 50 MB, from the size of the first hundred
    const base = JSON.stringify(s).length;
    let servers = 100;
    for (let k = 0; k < servers; k++) {
      {
        const uuid = `00000000-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;
        const vid = `11111111-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;
        const id = s.nova.nextInstanceId++;
        s.nova.instances.push({ ...inst, uuid, id, name: `vm-${k}`, metadata: { k: String(k) } });
        s.cinder.volumes.push({ ...vol, id: vid, attachments: [{ ...vol.attachments[0], id: `a-${k}`, instanceUuid: uuid }] });
        const cinfo = JSON.parse(bdm.connectionInfo as string);
        cinfo.data.device_path = volumeImagePath(statePath, vid);
        cinfo.data.volume_id = vid;
        s.nova.bdms.push({ ...bdm, id: s.nova.nextBdmId++, instanceUuid: uuid, volumeId: vid, connectionInfo: JSON.stringify(cinfo) });
        const name = `instance-${id.toString(16).padStart(8, '0')}`;
        const disks = [
          { ...dom.def.disks[0], source: instanceDiskPath(statePath, uuid) },
          { ...dom.def.disks[1], source: volumeImagePath(statePath, vid) },
        ];
        s.libvirt.domains.push({ ...dom, uuid, name, id: s.libvirt.nextDomainId++, def: { ...dom.def, uuid, name, disks }, persistentDef: { ...dom.def, uuid, name, disks }, mirrors: {} });
      }
      if (k === 99) servers = Math.ceil((100 * 51e6) / (JSON.stringify(s).length - base));
    }
    const text = JSON.stringify(s);
    expect(text.length).toBeGreaterThan(50e6);
    const doc = JSON.parse(text);
    // CPU time, not wall time: the machine may be busy with other work
    const t0 = process.cpuUsage();
    expect(validateState(doc, statePath)).toBeNull();
    const used = process.cpuUsage(t0);
    expect((used.user + used.system) / 1000).toBeLessThan(800);
  }, 120_000);
});
