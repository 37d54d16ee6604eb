// nova/api/openstack/compute/versions.py and views/versions.py: GET / lists the API
// versions, v2.0 and v2.1 (with its microversion range), each linking to its root.
import { MAX_VERSION, MIN_VERSION } from './wsgi.js';

const VERSIONS = [
  { id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z', path: 'v2/' },
  { id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: '2013-07-23T11:33:21Z', path: 'v2.1/' },
];

/** ViewBuilder.build_versions, sorted by id */
export function versionsDoc(origin: string): { versions: Record<string, unknown>[] } {
  return {
    versions: VERSIONS.map((v) => ({
      id: v.id,
      status: v.status,
      version: v.version,
      min_version: v.min_version,
      updated: v.updated,
      links: [{ rel: 'self', href: `${origin}/${v.path}` }],
    })),
  };
}
