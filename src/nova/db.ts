// nova/db/sqlalchemy/api.py in miniature: the instance, block-device-mapping and
// instance-action queries novasim makes, over the state file's Nova tables.
import type { RequestContext } from '../common/context.js';
import type { Bdm, Instance, InstanceAction, InstanceActionEvent, State } from '../state/types.js';
import { InstanceActionEventNotFound, InstanceActionNotFound, InstanceNotFound, VolumeBDMNotFound } from './exception.js';
import { append, byKey, where } from '../state/collections.js';

/** CONF.instance_name_template = 'instance-%08x' */
export function instanceName(inst: Pick<Instance, 'id'>): string {
  return `instance-${inst.id.toString(16).padStart(8, '0')}`;
}

/** instance_get_by_uuid with project_only: another project's instance is not found (a
 * deleted one too, unless the context reads deleted rows: read_deleted='yes') */
export function instanceGetByUuid(state: State, ctx: RequestContext, uuid: string, readDeleted = false): Instance {
  const found = byKey(state, 'instances', uuid);
  const inst = found && (readDeleted || !found.deleted) ? found : undefined;
  if (!inst || (!ctx.isAdmin && inst.projectId !== ctx.projectId)) throw new InstanceNotFound(uuid);
  return inst;
}

export function bdmsByInstance(state: State, instanceUuid: string): Bdm[] {
  return where(state, 'bdms', 'instanceUuid', instanceUuid);
}

/** BlockDeviceMapping.get_by_volume_and_instance */
export function bdmByVolumeAndInstance(state: State, volumeId: string, instanceUuid: string): Bdm {
  const bdm = where(state, 'bdms', 'volumeId', volumeId).find((b) => b.instanceUuid === instanceUuid);
  if (!bdm) throw new VolumeBDMNotFound(volumeId);
  return bdm;
}

export function updateInstance(state: State, uuid: string, values: Partial<Instance>): Instance {
  const inst = byKey(state, 'instances', uuid);
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
  append(state, 'bdms', bdm);
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

/** the DB's timestamp of a datetime column: MySQL's DATETIME keeps whole seconds */
export function dbTimestamp(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '.000000');
}

/** action_start: a new instance_actions row for the request (the oldest of the instance
 * beyond `keep` leave: novasim bounds what Mitaka keeps forever) */
export function actionStart(
  state: State,
  ctx: RequestContext,
  instanceUuid: string,
  action: string,
  keep: number,
  now: Date = new Date(),
): InstanceAction {
  const row: InstanceAction = {
    action,
    instanceUuid,
    requestId: ctx.requestId,
    userId: ctx.userId,
    projectId: ctx.projectId,
    startTime: dbTimestamp(now),
    finishTime: null,
    message: null,
    events: [],
  };
  append(state, 'instanceActions', row);
  const mine = where(state, 'instanceActions', 'instanceUuid', instanceUuid);
  const over = mine.length - keep;
  if (over > 0) {
    const gone = new Set<InstanceAction>(mine.slice(0, over));
    state.nova.instanceActions = (state.nova.instanceActions ?? []).filter((a) => !gone.has(a));
  }
  return row;
}

/** actions_get: the instance's actions, newest first (ORDER BY created_at DESC, id DESC) */
export function actionsGet(state: State, instanceUuid: string): InstanceAction[] {
  return where(state, 'instanceActions', 'instanceUuid', instanceUuid).reverse();
}

/** action_get_by_request_id: the instance's action of that request, or null */
export function actionGetByRequestId(state: State, instanceUuid: string, requestId: string): InstanceAction | null {
  return where(state, 'instanceActions', 'instanceUuid', instanceUuid).find((a) => a.requestId === requestId) ?? null;
}

/** action_events_get: the action's events, newest first */
export function actionEventsGet(action: InstanceAction): InstanceActionEvent[] {
  return [...action.events].reverse();
}

/** action_event_start: the event goes under the action of the context's request */
export function actionEventStart(state: State, ctx: RequestContext, instanceUuid: string, event: string, now: Date = new Date()): InstanceActionEvent {
  const action = actionGetByRequestId(state, instanceUuid, ctx.requestId);
  if (!action) throw new InstanceActionNotFound(ctx.requestId, instanceUuid);
  const row: InstanceActionEvent = { event, startTime: dbTimestamp(now), finishTime: null, result: null, traceback: null };
  action.events.push(row);
  return row;
}

/** action_event_finish: the event's first row of that name gets its result; an error marks
 * the action's message 'Error' */
export function actionEventFinish(
  state: State,
  ctx: RequestContext,
  instanceUuid: string,
  event: string,
  failure: { traceback: string } | null,
  now: Date = new Date(),
): void {
  const action = actionGetByRequestId(state, instanceUuid, ctx.requestId);
  if (!action) throw new InstanceActionNotFound(ctx.requestId, instanceUuid);
  const row = action.events.find((e) => e.event === event);
  if (!row) throw new InstanceActionEventNotFound(event, action.requestId);
  row.finishTime = dbTimestamp(now);
  row.result = failure ? 'Error' : 'Success';
  if (failure) {
    row.traceback = failure.traceback;
    action.message = 'Error';
  }
}
