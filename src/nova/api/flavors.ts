// nova/api/openstack/compute/flavors.py (FlavorsController with flavor_access, flavor_rxtx
// and the flavor's extra data) and flavors_extraspecs.py (FlavorExtraSpecsController.index).
import { HttpFault, jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { Flavor } from '../../state/types.js';
import type { Action, ApiCall } from './controller.js';
import { limitAndMarker } from './policy.js';
import { flavorView } from './views.js';

const TRUE_STRINGS = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE_STRINGS = ['0', 'f', 'false', 'off', 'n', 'no'];

/** FlavorsController._parse_is_public: absent → True, 'none' → None (all), else a strict bool */
function parseIsPublic(v: string | null): boolean | null {
  if (v === null) return true;
  if (v.toLowerCase() === 'none') return null;
  const low = v.trim().toLowerCase();
  if (TRUE_STRINGS.includes(low)) return true;
  if (FALSE_STRINGS.includes(low)) return false;
  throw new HttpFault(400, `Invalid is_public filter [${v}]`);
}

/** the sort keys flavor_get_all can order by (instance_types columns) */
const SORT_KEYS: Record<string, (f: Flavor) => string | number> = {
  flavorid: (f) => f.id,
  id: (f) => f.id,
  name: (f) => f.name,
  memory_mb: (f) => f.ram,
  vcpus: (f) => f.vcpus,
  root_gb: (f) => f.disk,
  ephemeral_gb: (f) => f.ephemeral,
  swap: (f) => f.swap,
};

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** FlavorsController._get_flavors */
function getFlavors(flavors: Flavor[], c: ApiCall): Flavor[] {
  const sortKey = c.query.get('sort_key') || 'flavorid';
  const sortDir = c.query.get('sort_dir') || 'asc';
  const { limit, marker } = limitAndMarker(c.query);
  // every flavor of the embedded cloud is public and enabled: a member always sees them all,
  // an admin's is_public=false asks for the private ones (there are none)
  const isPublic = c.ctx.isAdmin ? parseIsPublic(c.query.get('is_public')) : true;
  let list = flavors.filter(() => isPublic !== false);
  for (const [param, field, label] of [
    ['minRam', 'ram', 'min_ram'],
    ['minDisk', 'disk', 'minDisk'],
  ] as const) {
    const raw = c.query.get(param);
    if (raw === null) continue;
    if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new HttpFault(400, `Invalid ${label} filter [${raw}]`);
    const min = Number.parseInt(raw, 10);
    list = list.filter((f) => f[field] >= min);
  }
  const key = Object.hasOwn(SORT_KEYS, sortKey) ? SORT_KEYS[sortKey] : undefined;
  if (!key) throw new HttpFault(400, 'Sort key supplied was not valid.');
  if (sortDir !== 'asc' && sortDir !== 'desc') throw new HttpFault(400, "Unknown sort direction, must be 'desc' or 'asc'");
  list = [...list].sort((a, b) => (sortDir === 'asc' ? 1 : -1) * (cmp(key(a), key(b)) || cmp(a.id, b.id)));
  if (marker !== null) {
    const at = list.findIndex((f) => f.id === marker);
    if (at < 0) throw new HttpFault(400, `marker [${marker}] not found`);
    list = list.slice(at + 1);
  }
  return list.slice(0, limit);
}

function findFlavor(flavors: Flavor[], id: string): Flavor {
  const f = flavors.find((x) => x.id === id);
  if (!f) throw new HttpFault(404, `Flavor ${id} could not be found.`);
  return f;
}

export function flavorsController(store: StateStore): Record<string, Action> {
  return {
    index: async (c) =>
      jsonResponse(200, { flavors: getFlavors(store.read().flavors, c).map((f) => ({ id: f.id, name: f.name, links: flavorView(f, c.base).links })) }),
    detail: async (c) => jsonResponse(200, { flavors: getFlavors(store.read().flavors, c).map((f) => flavorView(f, c.base)) }),
    show: async (c) => jsonResponse(200, { flavor: flavorView(findFlavor(store.read().flavors, c.params.id), c.base) }),
    /** FlavorExtraSpecsController.index: devstack's flavors carry no extra specs */
    extraSpecs: async (c) => {
      findFlavor(store.read().flavors, c.params.flavor_id);
      return jsonResponse(200, { extra_specs: {} });
    },
  };
}
