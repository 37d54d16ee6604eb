// nova/api/openstack/compute/views/servers.py with the Mitaka extensions a 2.25 request
// sees (extended status, AZ, server usage, extended volumes, disk config, and the
// admin-only extended server attributes).
import { pick, where } from '../../state/collections.js';
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../common/context.js';
import { rememberLast } from '../../common/memo.js';
import type { Bdm, Flavor, Image, Instance, State } from '../../state/types.js';
import { instanceName } from '../db.js';
import { statusFromState } from '../vm-states.js';
import { cmpVersion, type ApiVersion } from './wsgi.js';

/** api_version_request.is_supported(req, min_version=…) */
const atLeast = (v: ApiVersion, min: ApiVersion): boolean => cmpVersion(v, min) >= 0;
/** the microversions the views ask about (parsed once, not once per server of a list) */
const V2_3 = { major: 2, minor: 3 };
const V2_9 = { major: 2, minor: 9 };
const V2_16 = { major: 2, minor: 16 };
const V2_19 = { major: 2, minor: 19 };

/** ViewBuilder._progress_statuses: the statuses whose view carries progress */
const PROGRESS_STATUSES = ['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING'];

/** hostIds made (a list's servers share a few hosts and projects): sha224 of what they hash */
const hostIds = new Map<string, string>();

export function hostId(inst: Instance): string {
  if (!inst.host) return '';
  const text = inst.projectId + inst.host;
  let id = hostIds.get(text);
  if (id === undefined) {
    id = createHash('sha224').update(text).digest('hex');
    if (hostIds.size >= 1024) hostIds.clear();
    hostIds.set(text, id);
  }
  return id;
}

/** the bookmark links' base: the endpoint without its version (a list's views share one) */
const bookmarkBase = rememberLast((base: string): string => base.replace(/\/v2\.1$/, ''));

function links(base: string, kind: string, id: string): { rel: string; href: string }[] {
  return [
    { rel: 'self', href: `${base}/${kind}/${id}` },
    { rel: 'bookmark', href: `${bookmarkBase(base)}/${kind}/${id}` },
  ];
}

/** the bookmark link alone (an image's or flavor's in a server's view) */
function bookmarkLinks(base: string, kind: string, id: string): { rel: string; href: string }[] {
  return [{ rel: 'bookmark', href: `${bookmarkBase(base)}/${kind}/${id}` }];
}

/**
 * ViewBuilderV21.show plus what the extensions add, at the request's microversion: the
 * 2.1 fields, delete_on_termination and six more OS-EXT-SRV-ATTR fields from 2.3, locked
 * from 2.9, host_status (admin) from 2.16, description from 2.19.
 */
/** what a server's view shows of its BDMs */
type ViewBdm = Pick<Bdm, 'instanceUuid' | 'volumeId' | 'destinationType' | 'deleteOnTermination'>;

/** the BDMs of each instance, grouped once (a list's views look them up by instance) */
export function bdmsByInstanceMap(state: State): (uuid: string) => ViewBdm[] {
  const by = new Map<string, ViewBdm[]>();
  // (a view shows only the BDMs of volumes)
  for (const b of pick(state, 'bdms', ['instanceUuid', 'volumeId', 'destinationType', 'deleteOnTermination'], 'volumeId')) {
    const l = by.get(b.instanceUuid);
    if (l) l.push(b);
    else by.set(b.instanceUuid, [b]);
  }
  return (uuid) => by.get(uuid) ?? [];
}

export function serverView(
  state: State,
  inst: Instance,
  base: string,
  ctx: RequestContext,
  version: ApiVersion,
  bdmsOf: (uuid: string) => ViewBdm[] = (uuid) => where(state, 'bdms', 'instanceUuid', uuid),
): Record<string, unknown> {
  const addresses: Record<string, unknown[]> = {};
  for (const [net, addrs] of Object.entries(inst.addresses)) {
    addresses[net] = addrs.map((a) => ({
      'OS-EXT-IPS-MAC:mac_addr': a.mac,
      version: a.version,
      addr: a.addr,
      'OS-EXT-IPS:type': a.type,
    }));
  }
  const v23 = atLeast(version, V2_3);
  const volumes = bdmsOf(inst.uuid)
    .filter((b) => b.volumeId && b.destinationType === 'volume')
    .map((b) => (v23 ? { id: b.volumeId, delete_on_termination: b.deleteOnTermination } : { id: b.volumeId }));
  const status = statusFromState(inst.vmState, inst.taskState);
  const view: Record<string, unknown> = {
    id: inst.uuid,
    name: inst.name,
    status,
    tenant_id: inst.projectId,
    user_id: inst.userId,
    metadata: inst.metadata,
    hostId: hostId(inst),
    image: inst.imageRef ? { id: inst.imageRef, links: bookmarkLinks(base, 'images', inst.imageRef) } : '',
    flavor: { id: inst.flavorId, links: bookmarkLinks(base, 'flavors', inst.flavorId) },
    created: inst.createdAt,
    updated: inst.updatedAt,
    addresses,
    accessIPv4: inst.accessIPv4,
    accessIPv6: inst.accessIPv6,
    links: links(base, 'servers', inst.uuid),
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-EXT-AZ:availability_zone': inst.availabilityZone,
    config_drive: inst.configDrive,
    key_name: inst.keyName,
    'OS-SRV-USG:launched_at': inst.launchedAt ? inst.launchedAt.replace('Z', '.000000') : null,
    'OS-SRV-USG:terminated_at': inst.terminatedAt,
    security_groups: inst.securityGroups.map((name) => ({ name })),
    'OS-EXT-STS:task_state': inst.taskState,
    'OS-EXT-STS:vm_state': inst.vmState,
    'OS-EXT-STS:power_state': inst.powerState,
    'os-extended-volumes:volumes_attached': volumes,
  };
  if (PROGRESS_STATUSES.includes(status)) view.progress = 0;
  if (atLeast(version, V2_9)) view.locked = inst.locked;
  if (atLeast(version, V2_19)) view.description = null;
  // extended_server_attributes: admin only (policy), six more fields from 2.3
  if (ctx.isAdmin) {
    view['OS-EXT-SRV-ATTR:host'] = inst.host;
    view['OS-EXT-SRV-ATTR:hypervisor_hostname'] = inst.node;
    view['OS-EXT-SRV-ATTR:instance_name'] = instanceName(inst);
  }
  if (ctx.isAdmin && v23) {
    view['OS-EXT-SRV-ATTR:reservation_id'] = `r-${inst.uuid.slice(0, 8)}`;
    view['OS-EXT-SRV-ATTR:launch_index'] = 0;
    view['OS-EXT-SRV-ATTR:hostname'] = inst.name.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    view['OS-EXT-SRV-ATTR:kernel_id'] = '';
    view['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
    view['OS-EXT-SRV-ATTR:root_device_name'] = '/dev/vda';
    view['OS-EXT-SRV-ATTR:user_data'] = null;
  }
  // show:host_status is admin_api by default
  if (ctx.isAdmin && atLeast(version, V2_16)) view.host_status = 'UP';
  return view;
}

export function serverSummary(inst: Instance, base: string): Record<string, unknown> {
  return { id: inst.uuid, name: inst.name, links: links(base, 'servers', inst.uuid) };
}

export function flavorView(f: Flavor, base: string): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    vcpus: f.vcpus,
    swap: f.swap || '',
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': false,
    rxtx_factor: 1.0,
    'os-flavor-access:is_public': true,
    links: links(base, 'flavors', f.id),
  };
}

export function imageView(i: Image, base: string): Record<string, unknown> {
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    progress: 100,
    minDisk: i.minDisk,
    minRam: i.minRam,
    created: i.created,
    updated: i.updated,
    metadata: {},
    'OS-EXT-IMG-SIZE:size': i.size,
    links: links(base, 'images', i.id),
  };
}
