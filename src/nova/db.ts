// nova/db/sqlalchemy/api.py in miniature: the instance and block-device-mapping queries
// the swap path makes, over the state file's Nova tables.
import type { RequestContext } from '../common/context.js';
import type { Bdm, Instance, State } from '../state/types.js';
import { InstanceNotFound, VolumeBDMNotFound } from './exception.js';

/** CONF.instance_name_template = 'instance-%08x' */
export function instanceName(inst: Pick<Instance, 'id'>): string {
  return `instance-${inst.id.toString(16).padStart(8, '0')}`;
}

/** instance_get_by_uuid with project_only: another project's instance is not found */
export function instanceGetByUuid(state: State, ctx: RequestContext, uuid: string): Instance {
  const inst = state.nova.instances.find((i) => i.uuid === uuid && !i.deleted);
  if (!inst || (!ctx.isAdmin && inst.projectId !== ctx.projectId)) throw new InstanceNotFound(uuid);
  return inst;
}

export function bdmsByInstance(state: State, instanceUuid: string): Bdm[] {
  return state.nova.bdms.filter((b) => b.instanceUuid === instanceUuid);
}

/** BlockDeviceMapping.get_by_volume_and_instance */
export function bdmByVolumeAndInstance(state: State, volumeId: string, instanceUuid: string): Bdm {
  const bdm = state.nova.bdms.find((b) => b.volumeId === volumeId && b.instanceUuid === instanceUuid);
  if (!bdm) throw new VolumeBDMNotFound(volumeId);
  return bdm;
}

export function updateInstance(state: State, uuid: string, values: Partial<Instance>): Instance {
  const inst = state.nova.instances.find((i) => i.uuid === uuid);
  if (!inst) throw new InstanceNotFound(uuid);
  Object.assign(inst, values, { updatedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
  return inst;
}

/** A new block_device_mappings row: a volume BDM unless told otherwise. */
export function newBdm(state: State, values: Pick<Bdm, 'instanceUuid' | 'deviceName'> & Partial<Bdm>): Bdm {
  const bdm: Bdm = {
    id: state.nova.nextBdmId++,
    sourceType: 'volume',
    destinationType: 'volume',
    volumeId: null,
    snapshotId: null,
    imageId: null,
    bootIndex: null,
    deleteOnTermination: false,
    connectionInfo: null,
    volumeSize: null,
    noDevice: null,
    diskBus: null,
    deviceType: null,
    ...values,
  };
  state.nova.bdms.push(bdm);
  return bdm;
}

/** The root disk of an image-backed instance */
export function newImageBdm(state: State, instanceUuid: string, imageId: string): Bdm {
  return newBdm(state, {
    instanceUuid,
    deviceName: '/dev/vda',
    sourceType: 'image',
    destinationType: 'local',
    imageId,
    bootIndex: 0,
    deleteOnTermination: true,
    deviceType: 'disk',
  });
}
