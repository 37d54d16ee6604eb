// nova/api/openstack/compute/images.py (ImagesController, the proxy to the image service)
// with image_size.py's OS-EXT-IMG-SIZE:size.
import { HttpFault, jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { Image } from '../../state/types.js';
import type { Action, ApiCall } from './controller.js';
import { intParam } from './policy.js';
import { imageView } from './views.js';

/** ImagesController filters, then the page Glance answers (its limit; 0 or none: all) */
function getImages(images: Image[], c: ApiCall): Image[] {
  const limit = intParam(c.query, 'limit');
  let list = images;
  for (const [param, pick] of [
    ['name', (i: Image) => i.name],
    ['status', (i: Image) => i.status],
  ] as const) {
    const v = c.query.get(param);
    if (v !== null) list = list.filter((i) => pick(i) === v);
  }
  return limit ? list.slice(0, limit) : list;
}

export function imagesController(store: StateStore): Record<string, Action> {
  return {
    index: async (c) => jsonResponse(200, { images: getImages(store.read().images, c).map((i) => ({ id: i.id, name: i.name, links: imageView(i, c.base).links })) }),
    detail: async (c) => jsonResponse(200, { images: getImages(store.read().images, c).map((i) => imageView(i, c.base)) }),
    show: async (c) => {
      const i = store.read().images.find((x) => x.id === c.params.id);
      if (!i) throw new HttpFault(404, 'Image not found.');
      return jsonResponse(200, { image: imageView(i, c.base) });
    },
  };
}
