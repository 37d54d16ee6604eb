// nova/api/openstack/compute/extension_info.py: ExtensionInfoController.index/show. The
// list is the v2.1 plugins the embedded Nova really implements, turned into the v2 names
// Mitaka shows (v21_to_v2_extension_list_mapping, v2_extension_suppress_list,
// v21_to_v2_alias_mapping), each with its class's name and docstring.
import { HttpFault, jsonResponse } from '../../http/wsgi.js';
import type { Action } from './controller.js';

const FAKE_XML_URL = 'http://docs.openstack.org/compute/ext/fake_xml';
const FAKE_UPDATED_DATE = '2014-12-03T00:00:00Z';

interface Ext {
  alias: string;
  name: string;
  /** the class docstring, as Python keeps it */
  description: string;
}

/** the loaded v2.1 plugins: each is served by a controller of src/nova/api/ */
const V21_EXTENSIONS: Ext[] = [
  { alias: 'servers', name: 'Servers', description: 'Servers.' },
  { alias: 'flavors', name: 'Flavors', description: 'Flavors Extension.' },
  { alias: 'images', name: 'Images', description: 'Proxying API for Images.' },
  { alias: 'extensions', name: 'Extensions', description: 'Extension information.' },
  { alias: 'versions', name: 'Versions', description: 'API Version information.' },
  { alias: 'image-size', name: 'ImageSize', description: 'Adds image size to image listings.' },
  { alias: 'os-flavor-access', name: 'FlavorAccess', description: 'Flavor access support.' },
  { alias: 'os-flavor-rxtx', name: 'FlavorRxtx', description: 'Support to show the rxtx status of a flavor.' },
  { alias: 'os-flavor-extra-specs', name: 'FlavorExtraSpecs', description: 'Flavors extra specs support.' },
  { alias: 'os-volumes', name: 'Volumes', description: 'Volumes support.' },
  { alias: 'os-extended-volumes', name: 'ExtendedVolumes', description: 'Extended Volumes support.' },
  { alias: 'os-extended-status', name: 'ExtendedStatus', description: 'Extended Status support.' },
  { alias: 'os-extended-availability-zone', name: 'ExtendedAvailabilityZone', description: 'Extended Availability Zone support.' },
  { alias: 'os-extended-server-attributes', name: 'ExtendedServerAttributes', description: 'Extended Server Attributes support.' },
  { alias: 'os-disk-config', name: 'DiskConfig', description: 'Disk Management Extension.' },
  { alias: 'os-server-usage', name: 'ServerUsage', description: 'Adds launched_at and terminated_at on Servers.' },
  { alias: 'os-lock-server', name: 'LockServer', description: 'Enable lock/unlock server actions.' },
  { alias: 'os-pause-server', name: 'PauseServer', description: 'Enable pause/unpause server actions.' },
  { alias: 'os-suspend-server', name: 'SuspendServer', description: 'Enable suspend/resume server actions.' },
  {
    alias: 'os-admin-actions',
    name: 'AdminActions',
    description: 'Enable admin-only server actions\n\n    Actions include: resetNetwork, injectNetworkInfo, os-resetState\n    ',
  },
  {
    alias: 'os-availability-zone',
    name: 'AvailabilityZone',
    description: '1. Add availability_zone to the Create Server API.\n       2. Add availability zones describing.\n    ',
  },
  { alias: 'os-services', name: 'Services', description: 'Services support.' },
  { alias: 'os-hypervisors', name: 'Hypervisors', description: 'Admin-only hypervisor administration.' },
  { alias: 'os-hosts', name: 'Hosts', description: 'Admin-only host administration.' },
];

/** v21_to_v2_extension_list_mapping, for the plugins above; only what novasim serves:
 * e.g. servers' os-server-sort-keys is left out, the API does not sort by request */
const EXTRA: Record<string, { name: string; alias: string }[]> = {
  servers: [
    { name: 'ExtendedIpsMac', alias: 'OS-EXT-IPS-MAC' },
    { name: 'ExtendedIps', alias: 'OS-EXT-IPS' },
    { name: 'ServerStartStop', alias: 'os-server-start-stop' },
  ],
  flavors: [
    { name: 'FlavorDisabled', alias: 'OS-FLV-DISABLED' },
    { name: 'FlavorExtraData', alias: 'OS-FLV-EXT-DATA' },
    { name: 'FlavorSwap', alias: 'os-flavor-swap' },
  ],
  'os-hypervisors': [
    { name: 'ExtendedHypervisors', alias: 'os-extended-hypervisors' },
    { name: 'HypervisorStatus', alias: 'os-hypervisor-status' },
  ],
  'os-extended-status': [{ name: 'ExtendedStatus', alias: 'OS-EXT-STS' }],
  'os-volumes': [{ name: 'VolumeAttachmentUpdate', alias: 'os-volume-attachment-update' }],
};

const SUPPRESS = ['servers', 'images', 'versions', 'flavors', 'extensions'];

const RENAME: Record<string, string> = {
  'image-size': 'OS-EXT-IMG-SIZE',
  'os-disk-config': 'OS-DCF',
  'os-extended-availability-zone': 'OS-EXT-AZ',
  'os-extended-server-attributes': 'OS-EXT-SRV-ATTR',
  'os-server-usage': 'OS-SRV-USG',
};

/** ExtensionInfoController._get_extensions (every plugin here is discoverable: "@") */
export function discoverableExtensions(): Map<string, Ext> {
  const exts = new Map<string, Ext>();
  for (const e of V21_EXTENSIONS) exts.set(e.alias, e);
  for (const e of V21_EXTENSIONS) for (const x of EXTRA[e.alias] ?? []) exts.set(x.alias, { ...x, description: '' });
  for (const alias of SUPPRESS) exts.delete(alias);
  for (const [from, to] of Object.entries(RENAME)) {
    const e = exts.get(from);
    if (!e) continue;
    exts.delete(from);
    exts.set(to, { ...e, alias: to });
  }
  return exts;
}

/** _translate */
function translate(e: Ext): Record<string, unknown> {
  return { name: e.name, alias: e.alias, description: e.description, namespace: FAKE_XML_URL, updated: FAKE_UPDATED_DATE, links: [] };
}

export function extensionInfoController(): Record<string, Action> {
  return {
    index: async () => {
      const exts = [...discoverableExtensions().entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return jsonResponse(200, { extensions: exts.map(([, e]) => translate(e)) });
    },
    show: async (c) => {
      const e = discoverableExtensions().get(c.params.id);
      // webob's bare HTTPNotFound
      if (!e) throw new HttpFault(404, 'The resource could not be found.');
      return jsonResponse(200, { extension: translate(e) });
    },
  };
}
