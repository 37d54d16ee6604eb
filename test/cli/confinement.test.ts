// Confinement, as built binaries against a temporary state (npm run build first): every
// path the tool reads or writes comes from the state's own images folder, derived from an
// id, never from a value of the state file. A state file naming any other file (a disk's
// source, a BDM's connection_info device_path, a mirror record) is refused in one line
// naming the file and the field, exit 1, before anything is opened: the outside file and
// the state file keep their bytes. A symbolic link planted in the images folder is refused
// the same way, and never followed for a write.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Domain, State } from '../../src/state/types.js';
import { World, build, type Result } from './helpers.js';

const WEB_1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const SPARE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';

let w: World;
let away: string;
let outside: string;
let outsideBytes: Buffer;
beforeAll(() => build());
beforeEach(() => {
  w = new World();
  expect(w.sim(['init', '--state', w.state]).code).toBe(0);
  // web-1's guest writes to vdb whenever its QEMU runs
  expect(w.sim(['guest-load', 'web-1', '--rate', '4M', '--region', '0:1M', '--state', w.state]).code).toBe(0);
  away = mkdtempSync(join(tmpdir(), 'novasim-outside-'));
  outside = join(away, 'outside');
  outsideBytes = randomBytes(1 << 20);
  writeFileSync(outside, outsideBytes);
});
afterEach(() => {
  w.cleanup();
  rmSync(away, { recursive: true, force: true });
});

const images = () => join(w.dir, 'state.images');
const volumeImage = (id: string) => join(images(), 'volumes', `volume-${id}`);

function editState(edit: (s: State) => void): void {
  const s = JSON.parse(readFileSync(w.state, 'utf8')) as State;
  edit(s);
  writeFileSync(w.state, JSON.stringify(s, null, 1) + '\n');
}
const web1 = (s: State): Domain => s.libvirt.domains.find((d) => d.uuid === WEB_1) as Domain;
const domI = (s: State) => s.libvirt.domains.findIndex((d) => d.uuid === WEB_1);
const vdbI = (s: State) => web1(s).def.disks.findIndex((d) => d.targetDev === 'vdb');
const bdmI = (s: State) => s.nova.bdms.findIndex((b) => b.volumeId === WEB_DATA);
function setDevicePath(s: State, path: string): void {
  const b = s.nova.bdms[bdmI(s)];
  const c = JSON.parse(b.connectionInfo as string);
  c.data.device_path = path;
  b.connectionInfo = JSON.stringify(c);
}

/** the commands that read or write web-1's images */
const commands: [string, () => Result][] = [
  ['nova volume-update', () => w.admin(['volume-update', 'web-1', WEB_DATA, SPARE])],
  ['nova-sim guest-load --run', () => w.sim(['guest-load', 'web-1', '--run', '1', '--state', w.state])],
  ['nova-sim guest-load --verify', () => w.sim(['guest-load', 'web-1', '--verify', '--state', w.state])],
  ['nova list', () => w.nova(['list'])],
];

/** the command is refused in one line naming the state file and `problem`, and nothing moved */
function expectRefused(run: () => Result, problem: string): void {
  const stateBefore = readFileSync(w.state);
  const r = run();
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`ERROR (StateFileError): ${w.state}: not a novasim state file: ${problem}\n`);
  expect(r.code).toBe(1);
  expect(readFileSync(outside).equals(outsideBytes)).toBe(true);
  expect(readFileSync(w.state).equals(stateBefore)).toBe(true);
}

describe('a state file naming a file outside its images folder is refused', () => {
  const notAnImage = () => `is not an image of this state: "${outside}" (its images are in ${images()})`;
  const edits: [string, (s: State) => void, (s: State) => string][] = [
    ["web-1's vdb source", (s) => (web1(s).def.disks[vdbI(s)].source = outside), (s) => `state.libvirt.domains[${domI(s)}].def.disks[${vdbI(s)}].source`],
    [
      "web-1's vdb source and the BDM's device_path (the reported attack)",
      (s) => {
        web1(s).def.disks[vdbI(s)].source = outside;
        web1(s).persistentDef!.disks[vdbI(s)].source = outside;
        setDevicePath(s, outside);
      },
      (s) => `state.nova.bdms[${bdmI(s)}].connectionInfo.data.device_path`,
    ],
    ["the BDM's connection_info device_path", (s) => setDevicePath(s, outside), (s) => `state.nova.bdms[${bdmI(s)}].connectionInfo.data.device_path`],
    ["web-1's persistent vdb source", (s) => (web1(s).persistentDef!.disks[vdbI(s)].source = outside), (s) => `state.libvirt.domains[${domI(s)}].persistentDef.disks[${vdbI(s)}].source`],
    [
      'a mirror record',
      (s) =>
        (web1(s).mirrors.vdb = {
          dev: 'vdb',
          type: 'block',
          source: outside,
          format: 'raw',
          job: 'copy',
          ready: true,
          cur: 0,
          end: 0,
          bandwidth: 0,
          ownerPid: process.pid,
          updatedAt: '2016-05-03T09:12:44.000000',
        }),
      (s) => `state.libvirt.domains[${domI(s)}].mirrors.vdb.source`,
    ],
  ];
  for (const [what, edit, field] of edits) {
    it.each(commands)(`${what}: %s is refused`, (_cmd, run) => {
      editState(edit);
      const s = JSON.parse(readFileSync(w.state, 'utf8')) as State;
      expectRefused(run, `${field(s)} ${notAnImage()}`);
    });
  }

  it('a volume id that climbs out of the images folder is refused', () => {
    let i = -1;
    editState((s) => {
      i = s.cinder.volumes.findIndex((v) => v.id === SPARE);
      s.cinder.volumes[i].id = `../../../../../../..${away}/x`;
    });
    expectRefused(() => w.admin(['volume-update', 'web-1', WEB_DATA, `../../../../../../..${away}/x`]), `state.cinder.volumes[${i}].id must be a name of letters, digits, '.', '_' and '-': "../../../../../../..${away}/x"`);
  });
});

describe('a symbolic link planted in the images folder is never followed', () => {
  /** replace a volume's image by a link to the outside file */
  function plant(volumeId: string): string {
    const link = volumeImage(volumeId);
    renameSync(link, `${link}.moved`);
    symlinkSync(outside, link);
    return link;
  }

  it.each(commands)("web-1's vdb image is a link: %s is refused", (_cmd, run) => {
    const link = plant(WEB_DATA);
    const s = JSON.parse(readFileSync(w.state, 'utf8')) as State;
    expectRefused(run, `state.libvirt.domains[${domI(s)}].def.disks[${vdbI(s)}].source is a symbolic link: "${link}" (images are never opened through one)`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it("the swap's target image is a link: volume-update is refused and writes nothing through it", () => {
    const link = plant(SPARE);
    const s = JSON.parse(readFileSync(w.state, 'utf8')) as State;
    const i = s.cinder.volumes.findIndex((v) => v.id === SPARE);
    expectRefused(() => w.admin(['volume-update', 'web-1', WEB_DATA, SPARE]), `state.cinder.volumes[${i}].id names an image that is a symbolic link: "${link}" (images are never opened through one)`);
  });

  it('the volumes folder is a link: refused', () => {
    const vols = join(images(), 'volumes');
    const elsewhere = join(away, 'volumes');
    renameSync(vols, elsewhere);
    symlinkSync(elsewhere, vols);
    const s = JSON.parse(readFileSync(w.state, 'utf8')) as State;
    expectRefused(() => w.sim(['guest-load', 'web-1', '--run', '1', '--state', w.state]), `state.libvirt.domains[${domI(s)}].def.disks[${vdbI(s)}].source is a symbolic link: "${vols}" (images are never opened through one)`);
  });

  it('the images are fine again once the link is gone: the same commands run', () => {
    const link = plant(WEB_DATA);
    expect(w.sim(['guest-load', 'web-1', '--run', '1', '--state', w.state]).code).toBe(1);
    rmSync(link);
    renameSync(`${link}.moved`, link);
    const r = w.sim(['guest-load', 'web-1', '--run', '1', '--state', w.state]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(w.sim(['guest-load', 'web-1', '--verify', '--state', w.state]).code).toBe(0);
  });
});
