// Glance v2's images API, read-only, from the state's images (glance/api/v2/images.py:
// ImagesController.index/show and the image schema's fields). The embedded cloud keeps no
// image files, so checksum is null and the data (…/file) is not served.
import type { HttpResponse } from '../http/types.js';
import { jsonResponse } from '../http/wsgi.js';
import type { Image } from '../state/types.js';

function imageView(i: Image): Record<string, unknown> {
  return {
    id: i.id,
    name: i.name,
    status: i.status.toLowerCase(),
    visibility: 'public',
    protected: false,
    tags: [],
    container_format: 'bare',
    disk_format: 'qcow2',
    min_disk: i.minDisk,
    min_ram: i.minRam,
    size: i.size,
    virtual_size: null,
    checksum: null,
    owner: null,
    created_at: i.created,
    updated_at: i.updated,
    self: `/v2/images/${i.id}`,
    file: `/v2/images/${i.id}/file`,
    schema: '/v2/schemas/image',
  };
}

function fault(status: number, title: string, message: string): HttpResponse {
  // glance answers with webob's plain-text faults
  const body = `<html>\n <head>\n  <title>${status} ${title}</title>\n </head>\n <body>\n  <h1>${status} ${title}</h1>\n  ${message}<br /><br />\n\n\n\n </body>\n</html>`;
  return { status, headers: { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': String(Buffer.byteLength(body)) }, body };
}

/** GET /image: glance's versions (v2.3 is Mitaka's current) */
export function glanceVersions(base: string): HttpResponse {
  const ids = [
    ['v2.3', 'CURRENT'],
    ['v2.2', 'SUPPORTED'],
    ['v2.1', 'SUPPORTED'],
    ['v2.0', 'SUPPORTED'],
  ];
  return jsonResponse(300, { versions: ids.map(([id, status]) => ({ id, status, links: [{ rel: 'self', href: `${base}/image/v2/` }] })) });
}

/** Every request under /image; `path` is what follows /image, `query` its parameters. */
export function glanceHandle(method: string, path: string, query: URLSearchParams, images: readonly Image[], base: string): HttpResponse {
  if (path === '' || path === '/' || path === '/versions') {
    if (method !== 'GET') return fault(405, 'Method Not Allowed', 'The method is not allowed for this resource.');
    return glanceVersions(base);
  }
  if (path === '/v2/images' || path === '/v2/images/') {
    if (method !== 'GET') return fault(405, 'Method Not Allowed', 'The method is not allowed for this resource.');
    let list = [...images];
    for (const [param, pick] of [
      ['name', (i: Image) => i.name],
      ['status', (i: Image) => i.status.toLowerCase()],
    ] as const) {
      const v = query.get(param);
      if (v !== null) list = list.filter((i) => pick(i) === v);
    }
    const marker = query.get('marker');
    if (marker !== null) {
      const at = list.findIndex((i) => i.id === marker);
      if (at < 0) return fault(400, 'Bad Request', `Invalid marker. Image ${marker} could not be found.`);
      list = list.slice(at + 1);
    }
    const limit = query.get('limit');
    const body: Record<string, unknown> = { images: [], schema: '/v2/schemas/images', first: '/v2/images' };
    if (limit !== null) {
      const n = Number(limit);
      if (!/^\d+$/.test(limit)) return fault(400, 'Bad Request', 'limit param must be an integer');
      if (list.length > n) {
        list = list.slice(0, n);
        if (n > 0) body.next = `/v2/images?marker=${list[list.length - 1].id}`;
      }
    }
    body.images = list.map(imageView);
    return jsonResponse(200, body);
  }
  const m = path.match(/^\/v2\/images\/([^/]+)$/);
  if (m) {
    if (method !== 'GET') return fault(405, 'Method Not Allowed', 'The method is not allowed for this resource.');
    let id = m[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      // a malformed escape names no image
    }
    const i = images.find((x) => x.id === id);
    if (!i) return fault(404, 'Not Found', `No image found with ID ${id}`);
    return jsonResponse(200, imageView(i));
  }
  return fault(404, 'Not Found', 'The resource could not be found.');
}
