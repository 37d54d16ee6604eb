// Creating and deleting volumes (issue 8): a volume-create that Cinder refuses makes
// nothing; one whose backend fails is recorded in 'error' with no image, and can never be
// attached or swapped onto; deleting a volume removes its own image and nothing else, and
// never an image a guest still has open.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCinderApi } from '../../../src/cinder/api.js';
import { VolumeBackend } from '../../../src/cinder/backend.js';
import * as api from '../../../src/cinder/volume-api.js';
import type { Handler } from '../../../src/http/types.js';
import { PROJECT_DEMO, initWorld } from '../../../src/novasim/world.js';
import { volumeImagePath } from '../../../src/state/paths.js';
import { StateStore } from '../../../src/state/store.js';
import type { State } from '../../../src/state/types.js';

const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const SPARE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';
const SERVER = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ftruncate`), { code });
}

/** a backend whose lvcreate fails with `code` */
class FailingBackend extends VolumeBackend {
  constructor(statePath: string, private readonly code: string) {
    super(statePath);
  }
  override createImage(): string {
    throw errno(this.code);
  }
}

describe('volume-api: the size and the quota (ExtractVolumeRequestTask, QuotaReserveTask)', () => {
  const MSG = (s: string) => `Invalid input received: Volume size '${s}' must be an integer and greater than 0`;
  it.each([
    [0, '0'],
    [-1, '-1'],
    [null, 'None'],
    [undefined, 'None'],
    ['abc', 'abc'],
    [0.5, '0'],
    [2 ** 53, '9007199254740992'],
    [1e21, '1000000000000000000000'],
    [[1], '[1]'],
  ])('size %j is refused with Cinder\'s message (%s)', (raw, text) => {
    expect(() => api.extractSize(raw)).toThrow(MSG(text));
  });

  it.each([
    [1, 1],
    ['7', 7],
    [2.9, 2],
    ['3.5', 3],
    [true, 1],
  ])('size %j is taken as %i (cinder.utils.as_int)', (raw, size) => {
    expect(api.extractSize(raw)).toBe(size);
  });

  const ctx = { projectId: 'p', userId: 'u', isAdmin: true };
  const state = (sizes: number[]) =>
    ({ cinder: { volumes: sizes.map((size, i) => ({ id: `v${i}`, size, projectId: 'p' })).concat([{ id: 'other', size: 900, projectId: 'q' } as never]) } }) as unknown as State;

  it('gigabytes: the project\'s volumes count, other projects\' do not; an admin is bound too (413 with Retry-After)', () => {
    const s = state([1, 2, 3]);
    expect(() => api.checkQuota(s, ctx, 994)).not.toThrow();
    let err: any;
    try {
      api.checkQuota(s, ctx, 99999999999);
    } catch (e) {
      err = e;
    }
    expect(err.kind).toBe('VolumeSizeExceedsAvailableQuota');
    expect(err.code).toBe(413);
    expect(err.headers).toEqual({ 'Retry-After': '0' });
    expect(err.message).toBe('Requested volume or snapshot exceeds allowed gigabytes quota. Requested 99999999999G, quota is 1000G and 6G has been consumed.');
    expect(() => api.checkQuota(s, ctx, 995)).toThrow('Requested 995G, quota is 1000G and 6G has been consumed.');
  });

  it('volumes: one more than QUOTA_VOLUMES is VolumeLimitExceeded (413)', () => {
    const s = state(new Array(api.QUOTA_VOLUMES).fill(0));
    expect(() => api.checkQuota(s, ctx, 1)).toThrow(`Maximum number of volumes allowed (${api.QUOTA_VOLUMES}) exceeded for quota 'volumes'.`);
  });
});

describe('cinder-api (HTTP): POST and DELETE /volumes', () => {
  let dir: string;
  let statePath: string;
  let store: StateStore;
  let handler: Handler;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'novasim-cinder-create-'));
    statePath = join(dir, 'state.json');
    await initWorld(statePath, 'default', false);
    store = new StateStore(statePath);
    handler = createCinderApi(store, new VolumeBackend(statePath));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function req(h: Handler, method: string, path: string, body?: unknown, token = 'admin:demo') {
    const res = await h({
      method,
      url: `http://127.0.0.1:8776/v2/${PROJECT_DEMO}${path}`,
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: res.body ? JSON.parse(res.body) : null };
  }
  const images = () => readdirSync(join(dir, 'state.images', 'volumes')).sort();
  const volumes = () => store.read().cinder.volumes;

  for (const size of [99999999999, 100000, 2147483648]) {
    it(`size ${size}: 413 overLimit with Cinder's quota message; no volume, no image`, async () => {
      const before = { vols: volumes().length, imgs: images() };
      const consumed = volumes().filter((v) => v.projectId === PROJECT_DEMO).reduce((n, v) => n + v.size, 0);
      const r = await req(handler, 'POST', '/volumes', { volume: { size } });
      expect(r.status).toBe(413);
      expect(r.headers['Retry-After']).toBe('0');
      expect(r.body.overLimit.message).toBe(
        `Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${size}G, quota is 1000G and ${consumed}G has been consumed.`,
      );
      expect(volumes().length).toBe(before.vols);
      expect(images()).toEqual(before.imgs);
    });
  }

  it('a size that is not a safe integer is a 400 with Cinder\'s message, and makes nothing', async () => {
    const before = images();
    const r = await req(handler, 'POST', '/volumes', { volume: { size: 2 ** 60 } });
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe("Invalid input received: Volume size '1152921504606846976' must be an integer and greater than 0");
    expect(images()).toEqual(before);
  });

  it('a size within the quota: 202, available, and an image of that size', async () => {
    const r = await req(handler, 'POST', '/volumes', { volume: { size: 3, name: 'ok' } });
    expect(r.status).toBe(202);
    expect(r.body.volume.status).toBe('available');
    expect(statSync(volumeImagePath(statePath, r.body.volume.id)).size).toBe(3 * 1024 ** 3);
  });

  for (const code of ['EFBIG', 'ENOSPC']) {
    it(`the backend failing with ${code}: 202 with status 'error', no image; it can be neither reserved nor swapped onto, and deleting it removes nothing else`, async () => {
      const failing = createCinderApi(store, new FailingBackend(statePath, code));
      const before = images();
      const r = await req(failing, 'POST', '/volumes', { volume: { size: 5, name: 'broken' } });
      expect(r.status).toBe(202);
      expect(r.body.volume.status).toBe('error');
      const id: string = r.body.volume.id;
      expect(volumes().find((v) => v.id === id)).toMatchObject({ status: 'error', size: 5 });
      expect(existsSync(volumeImagePath(statePath, id))).toBe(false);
      expect(images()).toEqual(before);
      // Nova's attach or swap reserves it first: refused
      const reserve = await req(handler, 'POST', `/volumes/${id}/action`, { 'os-reserve': null });
      expect(reserve.status).toBe(400);
      expect(reserve.body.badRequest.message).toBe('Invalid volume: Volume status must be available to reserve.');
      // an error volume may be deleted: its record goes, every other image stays
      expect((await req(handler, 'DELETE', `/volumes/${id}`)).status).toBe(202);
      expect(volumes().some((v) => v.id === id)).toBe(false);
      expect(images()).toEqual(before);
    });
  }

  it('deleting a volume removes exactly its own image', async () => {
    const before = images();
    expect((await req(handler, 'DELETE', `/volumes/${SPARE}`)).status).toBe(202);
    expect(images()).toEqual(before.filter((f) => f !== `volume-${SPARE}`));
  });

  it('deleting a volume whose image a running guest still has open (a pivot the records never learnt of): error_deleting, the image stays', async () => {
    // the domain of web-1 runs on spare's image while Nova and Cinder still say web-data
    await store.update((s) => {
      const d = s.libvirt.domains.find((x) => x.uuid === SERVER)!;
      const disk = d.def.disks.find((x) => x.targetDev === 'vdb')!;
      disk.source = volumeImagePath(statePath, SPARE);
    });
    const before = images();
    const r = await req(handler, 'DELETE', `/volumes/${SPARE}`);
    expect(r.status).toBe(202);
    expect(volumes().find((v) => v.id === SPARE)?.status).toBe('error_deleting');
    expect(images()).toEqual(before);
    expect(existsSync(volumeImagePath(statePath, WEB_DATA))).toBe(true);
  });
});
