// nova/api/openstack/compute/instance_actions.py (Mitaka): the os-instance-actions
// resource under a server. index lists its actions, show one action and, for an admin
// (os_compute_api:os-instance-actions:events is rule:admin_api), its events.
import { HttpFault, jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { Instance, InstanceAction, InstanceActionEvent } from '../../state/types.js';
import { InstanceActionAPI, type API } from '../compute/api.js';
import { NotFound } from '../exception.js';
import type { Action, ApiCall } from './controller.js';
import { cmpVersion, expectedErrors, parseVersion, type ApiVersion } from './wsgi.js';

/** the keys the API shows of an action (Mitaka: no finish_time) and of an event */
export const ACTION_KEYS = ['action', 'instance_uuid', 'request_id', 'user_id', 'project_id', 'start_time', 'message'] as const;
export const EVENT_KEYS = ['event', 'start_time', 'finish_time', 'result', 'traceback'] as const;

const V2_21 = parseVersion('2.21') as ApiVersion;

/** InstanceActionsController._format_action */
function formatAction(a: InstanceAction): Record<(typeof ACTION_KEYS)[number], string | null> {
  return {
    action: a.action,
    instance_uuid: a.instanceUuid,
    request_id: a.requestId,
    user_id: a.userId,
    project_id: a.projectId,
    start_time: a.startTime,
    message: a.message,
  };
}

/** InstanceActionsController._format_event */
function formatEvent(e: InstanceActionEvent): Record<(typeof EVENT_KEYS)[number], string | null> {
  return { event: e.event, start_time: e.startTime, finish_time: e.finishTime, result: e.result, traceback: e.traceback };
}

export function instanceActionsController(store: StateStore, compute: API): Record<'index' | 'show', Action> {
  const actionApi = new InstanceActionAPI(store);

  /** _get_instance: from microversion 2.21 with read_deleted='yes' (a deleted server's
   * actions stay readable by its uuid) */
  function getInstance(c: ApiCall): Instance {
    try {
      return compute.get(c.ctx, c.params.server_id, cmpVersion(c.version, V2_21) >= 0);
    } catch (err) {
      if (err instanceof NotFound) throw new HttpFault(404, err.message);
      throw err;
    }
  }

  const index: Action = (c) =>
    expectedErrors([404], c.ctx, async () => {
      const instance = getInstance(c);
      // authorize(context, target=instance): admin_or_owner, which the lookup (project_only)
      // has already made sure of
      const actions = actionApi.actions_get(c.ctx, instance).map(formatAction);
      return jsonResponse(200, { instanceActions: actions });
    });

  const show: Action = (c) =>
    expectedErrors([404], c.ctx, async () => {
      const instance = getInstance(c);
      const raw = actionApi.action_get_by_request_id(c.ctx, instance, c.params.id);
      if (!raw) throw new HttpFault(404, `Action ${c.params.id} not found`);
      const action: Record<string, unknown> = formatAction(raw);
      // soft_authorize(context, action='events'): rule:admin_api
      if (c.ctx.isAdmin) action.events = actionApi.action_events_get(c.ctx, instance, raw).map(formatEvent);
      return jsonResponse(200, { instanceAction: action });
    });

  return { index, show };
}
