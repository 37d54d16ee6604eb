// A view's links follow the base of the request that asked for it: the views work out a
// base's bookmark form once and reuse it while the base stays the same (a list's rows), and
// a request on another endpoint (the served mode's own host and port) gets its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { volumeView } from '../../../src/cinder/api.js';
import { bdmsByInstanceMap, serverSummary, serverView } from '../../../src/nova/api/views.js';
import { byKey } from '../../../src/state/collections.js';
import { openWorld, SERVERS, VOLS, type World } from '../../support/world.js';

let w: World;
beforeAll(async () => {
  w = await openWorld();
});
afterAll(async () => {
  await w.close();
});

const ctx = { isAdmin: true } as Parameters<typeof serverView>[3];
const V225 = { major: 2, minor: 25 };

describe('view links with bases that change between requests', () => {
  it('a server view and its summary: self under the base, bookmarks without /v2.1', () => {
    const s = w.state();
    const inst = byKey(s, 'instances', SERVERS.web1)!;
    for (const base of ['http://127.0.0.1:8774/v2.1', 'http://10.0.0.9:18774/v2.1', 'http://127.0.0.1:8774/v2.1', 'http://h/x/v2.1/v2.1']) {
      const bookmark = base.replace(/\/v2\.1$/, '');
      const view = serverView(s, inst, base, ctx, V225, bdmsByInstanceMap(s));
      expect(view.links).toEqual([
        { rel: 'self', href: `${base}/servers/${inst.uuid}` },
        { rel: 'bookmark', href: `${bookmark}/servers/${inst.uuid}` },
      ]);
      expect(view.flavor).toEqual({ id: inst.flavorId, links: [{ rel: 'bookmark', href: `${bookmark}/flavors/${inst.flavorId}` }] });
      expect(view.image).toEqual({ id: inst.imageRef, links: [{ rel: 'bookmark', href: `${bookmark}/images/${inst.imageRef}` }] });
      expect(serverSummary(inst, base).links).toEqual(view.links);
    }
  });

  it('a volume view: the bookmark drops the /v2/ of its base', () => {
    const v = byKey(w.state(), 'volumes', VOLS.webData)!;
    for (const base of ['http://127.0.0.1:8776/v2/p1', 'http://10.0.0.9:18776/v2/p2', 'http://127.0.0.1:8776/v2/p1']) {
      expect(volumeView(v, base, false).links).toEqual([
        { href: `${base}/volumes/${v.id}`, rel: 'self' },
        { href: `${base.replace('/v2/', '/')}/volumes/${v.id}`, rel: 'bookmark' },
      ]);
    }
  });
});
