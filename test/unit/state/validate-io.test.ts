// The second line of confinement, below state validation: the simulated QEMU opens an
// image only as the file it names (never through a symbolic link, never a FIFO), and a
// fixture cannot name an image outside the images folder either.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawImage } from '../../../src/qemu/image.js';
import { QmpError } from '../../../src/qemu/errors.js';
import { FixtureError, loadFixture } from '../../../src/novasim/world.js';
import { UnsafeIdError, derivedImagePath, instanceDiskPath, symlinkBelowImages, volumeImagePath } from '../../../src/state/paths.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-confine-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('RawImage never opens an image through a link', () => {
  it.each<[string, (p: string) => RawImage]>([
    ['open', (p) => RawImage.open(p)],
    ['create', (p) => RawImage.create(p, 4096)],
  ])('%s of a link is refused with ELOOP and the target keeps its bytes', (_name, open) => {
    const target = join(dir, 'outside');
    writeFileSync(target, 'precious');
    const link = join(dir, 'volume-x');
    symlinkSync(target, link);
    expect(() => open(link)).toThrow(new QmpError(`Could not open '${link}': Too many levels of symbolic links`));
    expect(readFileSync(target, 'utf8')).toBe('precious');
  });

  it('a FIFO is refused at once instead of hanging the open or the first read', () => {
    const fifo = join(dir, 'volume-fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => RawImage.open(fifo)).toThrow(new QmpError(`Could not open '${fifo}': Invalid argument`));
  });

  it('a plain image opens and reads as before', async () => {
    const p = join(dir, 'volume-ok');
    writeFileSync(p, Buffer.alloc(8192, 7));
    const img = RawImage.open(p);
    const buf = Buffer.alloc(4);
    await img.pread(buf, 4, 100);
    expect([...buf]).toEqual([7, 7, 7, 7]);
    img.close();
  });
});

describe('paths derived from ids', () => {
  it('an id that is not a file name is refused where a path is derived from it', () => {
    expect(() => volumeImagePath('/s/state.json', '../../etc')).toThrow(UnsafeIdError);
    expect(() => instanceDiskPath('/s/state.json', '..')).toThrow(UnsafeIdError);
    expect(() => instanceDiskPath('/s/state.json', 'a/b')).toThrow(UnsafeIdError);
    expect(volumeImagePath('/s/state.json', 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01')).toBe('/s/state.images/volumes/volume-d0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01');
  });

  it("derivedImagePath gives back a disk's image only when it is one of the state's", () => {
    const state = { cinder: { volumes: [{ id: 'v1' }] }, nova: { instances: [{ uuid: 'u1' }] } };
    expect(derivedImagePath('/s/state.json', state, '/s/state.images/volumes/volume-v1')).toBe('/s/state.images/volumes/volume-v1');
    expect(derivedImagePath('/s/state.json', state, '/s/state.images/instances/u1/disk')).toBe('/s/state.images/instances/u1/disk');
    expect(derivedImagePath('/s/state.json', state, '/etc/passwd')).toBeNull();
    expect(derivedImagePath('/s/state.json', state, '/s/state.images/volumes/../volumes/volume-v1')).toBeNull();
  });

  it('symlinkBelowImages names the first link under the images folder, not the folder itself', () => {
    const statePath = join(dir, 'state.json');
    const real = join(dir, 'real-images');
    mkdirSync(join(real, 'volumes'), { recursive: true });
    writeFileSync(join(real, 'volumes', 'volume-a'), 'a');
    // the images folder may itself be a link (images kept on another disk)
    symlinkSync(real, join(dir, 'state.images'));
    expect(symlinkBelowImages(statePath, volumeImagePath(statePath, 'a'))).toBeNull();
    symlinkSync('/etc/passwd', join(real, 'volumes', 'volume-b'));
    expect(symlinkBelowImages(statePath, volumeImagePath(statePath, 'b'))).toBe(volumeImagePath(statePath, 'b'));
    expect(symlinkBelowImages(statePath, volumeImagePath(statePath, 'missing'))).toBeNull();
  });
});

describe('a fixture cannot name an image outside the images folder', () => {
  const write = (fx: unknown): string => {
    const p = join(dir, 'fx.json');
    writeFileSync(p, JSON.stringify(fx));
    return p;
  };
  const base = () => structuredClone(loadFixture('default'));

  it.each<[string, (fx: ReturnType<typeof base>) => void, RegExp]>([
    ['a volume id that climbs out', (fx) => (fx.volumes[0].id = '../../../tmp/x'), /the id "\.\.\/\.\.\/\.\.\/tmp\/x" must be letters, digits/],
    ['a server uuid that climbs out', (fx) => (fx.servers[0].uuid = '../..'), /the uuid "\.\.\/\.\." must be letters, digits/],
    ['two volumes with one id', (fx) => fx.volumes.push({ ...fx.volumes[0], name: 'twin' }), /volume id .* is used twice/],
    ['two servers with one uuid', (fx) => fx.servers.push({ ...fx.servers[0], name: 'twin', volumes: [] }), /server uuid .* is used twice/],
    ['a volume of 2^31 GiB', (fx) => (fx.volumes[0].size = 2 ** 31), /a size of 1 to 2147483647 GiB/],
  ])('%s is refused', (_name, edit, problem) => {
    const fx = base();
    edit(fx);
    expect(() => loadFixture(write(fx))).toThrow(FixtureError);
    expect(() => loadFixture(write(fx))).toThrow(problem);
  });
});
