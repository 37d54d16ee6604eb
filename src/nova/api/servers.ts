// nova/api/openstack/compute/servers.py and the server-action extensions
// (lock_server, pause_server, suspend_server, admin_actions, servers' os-start/os-stop).
import { pyRepr } from '../../common/pyrepr.js';
import { HttpFault, emptyResponse, JsonListBody, jsonResponse } from '../../http/wsgi.js';
import type { StateStore } from '../../state/store.js';
import type { Instance } from '../../state/types.js';
import type { API } from '../compute/api.js';
import { FlavorNotFound, ImageNotFound, InstanceInvalidState, InstanceIsLocked, InstanceNotFound, NotFound, NotImplementedErrorPy } from '../exception.js';
import { vmStatesForStatus } from '../vm-states.js';
import type { Action, ApiCall } from './controller.js';
import { create_server, reboot, reset_state, validate } from './schemas.js';
import { bdmsByInstanceMap, serverSummary, serverView } from './views.js';
import { conflictForInvalidState, expectedErrors } from './wsgi.js';

function getInstance(compute: API, c: ApiCall): Instance {
  try {
    return compute.get(c.ctx, c.params.id);
  } catch (err) {
    if (err instanceof NotFound) throw new HttpFault(404, err.message);
    throw err;
  }
}

function isAllTenants(q: URLSearchParams): boolean {
  const v = q.get('all_tenants');
  if (v === null) return false;
  return !['0', 'false', 'False', 'f', 'no', 'off'].includes(v);
}

/**
 * The name filter, a regular expression the DB matches (REGEXP). Mitaka sends any string
 * to the DB, where an invalid one is a DB error and a 500; Ocata's query-parameter schema
 * (format 'regex') refuses it with a 400 first, and so does novasim, with that wording,
 * for any pattern JavaScript cannot compile or run (V8's "Regular expression too large"
 * comes only when the pattern first runs).
 */
function invalidName(pattern: string): HttpFault {
  return new HttpFault(400, `Invalid input for query parameters name. Value: ${pattern}. ${pyRepr(pattern)} is not a 'regex'`);
}

function nameRegex(pattern: string): RegExp {
  const invalid = () => invalidName(pattern);
  try {
    const re = new RegExp(pattern);
    re.test('');
    return re;
  } catch {
    throw invalid();
  }
}

/** the instances whose name the pattern matches (the DB's REGEXP runs on the name column) */
function filterByName(compute: API, c: ApiCall, opts: { allTenants: boolean; projectId?: string }, pattern: string): Instance[] {
  const re = nameRegex(pattern);
  try {
    return compute.get_all(c.ctx, { ...opts, name: re });
  } catch (err) {
    // V8 may refuse a pattern only when it runs
    if (err instanceof SyntaxError || err instanceof RangeError) throw invalidName(pattern);
    throw err;
  }
}

export function serversController(store: StateStore, compute: API): Record<string, Action> {
  /** _get_servers: search options the Mitaka API understands */
  function filtered(c: ApiCall): Instance[] {
    const allTenants = isAllTenants(c.query);
    if (allTenants && !c.ctx.isAdmin) throw new HttpFault(403, "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.");
    const opts = { allTenants, projectId: c.query.get('tenant_id') ?? c.query.get('project_id') ?? undefined };
    const name = c.query.get('name');
    let list = name !== null ? filterByName(compute, c, opts, name) : compute.get_all(c.ctx, opts);
    const status = c.query.get('status');
    if (status !== null) {
      const states = vmStatesForStatus(status);
      if (!states.length) return [];
      list = list.filter((i) => states.includes(i.vmState));
    }
    for (const key of ['flavor', 'image', 'host']) {
      const v = c.query.get(key);
      if (v === null) continue;
      list = list.filter((i) => (key === 'flavor' ? i.flavorId : key === 'image' ? i.imageRef : i.host) === v);
    }
    // sorted by created_at desc, as the DB query does by default
    list.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    const limit = c.query.get('limit');
    if (limit !== null && Number(limit) >= 0) list = list.slice(0, Number(limit));
    return list;
  }

  const index: Action = async (c) => jsonResponse(200, { servers: filtered(c).map((i) => serverSummary(i, c.base)) });

  const detail: Action = async (c) => {
    const s = store.read();
    const list = filtered(c);
    const bdmsOf = bdmsByInstanceMap(s);
    // each view serialised as it is made: the views' objects are never all held at once
    const views = new JsonListBody('servers');
    for (const i of list) views.push(serverView(s, i, c.base, c.ctx, c.version, bdmsOf));
    return views.response(200);
  };

  const show: Action = (c) =>
    expectedErrors([404], c.ctx, async () => {
      const inst = getInstance(compute, c);
      return jsonResponse(200, { server: serverView(store.read(), inst, c.base, c.ctx, c.version) });
    });

  const create: Action = async (c) => {
    await validate(create_server, c.body);
    return expectedErrors([400, 403, 409], c.ctx, async () => {
      const srv = (c.body as { server: Record<string, unknown> }).server;
      if (srv.min_count !== undefined && Number(srv.min_count) !== 1) throw new HttpFault(400, 'novasim boots one server per request (min_count must be 1)');
      if (srv.max_count !== undefined && Number(srv.max_count) !== 1) throw new HttpFault(400, 'novasim boots one server per request (max_count must be 1)');
      if (!srv.imageRef) throw new HttpFault(400, 'Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.');
      try {
        const { instance, adminPass } = await compute.create(c.ctx, {
          name: String(srv.name),
          flavorRef: String(srv.flavorRef),
          imageRef: String(srv.imageRef),
          availabilityZone: (srv.availability_zone as string | undefined) ?? null,
          metadata: (srv.metadata as Record<string, string> | undefined) ?? {},
          keyName: (srv.key_name as string | undefined) ?? null,
        });
        return jsonResponse(202, {
          server: {
            id: instance.uuid,
            links: serverSummary(instance, c.base).links,
            'OS-DCF:diskConfig': 'MANUAL',
            security_groups: [{ name: 'default' }],
            adminPass,
          },
        });
      } catch (err) {
        if (err instanceof FlavorNotFound) throw new HttpFault(400, 'Invalid flavorRef provided.');
        if (err instanceof ImageNotFound) throw new HttpFault(400, 'Can not find requested image');
        throw err;
      }
    });
  };

  const remove: Action = (c) =>
    expectedErrors([404, 409], c.ctx, async () => {
      const inst = getInstance(compute, c);
      try {
        await compute.delete(c.ctx, inst);
      } catch (err) {
        // the instance went between the lookup and the delete's save
        if (err instanceof InstanceNotFound) throw new HttpFault(404, 'Instance could not be found');
        if (err instanceof InstanceIsLocked) throw new HttpFault(409, err.message);
        if (err instanceof InstanceInvalidState) throw conflictForInvalidState(err, 'delete', c.params.id);
        throw err;
      }
      return emptyResponse(204);
    });

  type Verb = (inst: Instance, c: ApiCall) => Promise<void>;
  // codes: @expected_errors; racing: the action catches InstanceNotFound (a 404) and
  // NotImplementedError (raise_feature_not_supported, a 501), as pause_server does
  const actions: Record<string, { verb: Verb; name: string; admin?: string; codes: number[]; racing?: boolean }> = {
    lock: { verb: (i, c) => compute.lock(c.ctx, i), name: 'lock', codes: [404] },
    unlock: { verb: (i, c) => compute.unlock(c.ctx, i), name: 'unlock', codes: [404] },
    'os-stop': { verb: (i, c) => compute.stop(c.ctx, i), name: 'stop', codes: [404, 409] },
    'os-start': { verb: (i, c) => compute.start(c.ctx, i), name: 'start', codes: [404, 409] },
    pause: { verb: (i, c) => compute.pause(c.ctx, i), name: 'pause', codes: [404, 409, 501], racing: true },
    unpause: { verb: (i, c) => compute.unpause(c.ctx, i), name: 'unpause', codes: [404, 409, 501], racing: true },
    suspend: { verb: (i, c) => compute.suspend(c.ctx, i), name: 'suspend', codes: [404, 409] },
    resume: { verb: (i, c) => compute.resume(c.ctx, i), name: 'resume', codes: [404, 409] },
    // _action_reboot: the type is case-insensitive, SOFT or HARD
    reboot: {
      verb: async (i, c) => {
        await validate(reboot, c.body);
        const type = String((c.body as { reboot: { type: string } }).reboot.type).toUpperCase() as 'SOFT' | 'HARD';
        await compute.reboot(c.ctx, i, type);
      },
      name: 'reboot',
      codes: [400, 404, 409],
    },
    'os-resetState': {
      verb: async (i, c) => {
        await validate(reset_state, c.body);
        await compute.resetState(c.ctx, i, (c.body as { 'os-resetState': { state: 'error' | 'active' } })['os-resetState'].state);
      },
      name: 'reset_state',
      admin: 'os_compute_api:os-admin-actions:reset_state',
      codes: [400, 404],
    },
  };

  const action: Action = async (c) => {
    // wsgi.action_peek: exactly one key names the action, else MalformedRequestBody
    if (!c.body || typeof c.body !== 'object' || Array.isArray(c.body) || Object.keys(c.body).length !== 1) {
      throw new HttpFault(400, 'Malformed request body');
    }
    const key = Object.keys(c.body as object)[0];
    const a = Object.hasOwn(actions, key) ? actions[key] : undefined;
    // Resource._process_stack: the KeyError of an action nobody registered is a 400
    if (!a) throw new HttpFault(400, `There is no such action: ${key}`);
    if (a.admin && !c.ctx.isAdmin) throw new HttpFault(403, `Policy doesn't allow ${a.admin} to be performed.`);
    return expectedErrors(a.codes, c.ctx, async () => {
      const inst = getInstance(compute, c);
      try {
        await a.verb(inst, c);
      } catch (err) {
        if (a.racing && err instanceof InstanceNotFound) throw new HttpFault(404, err.message);
        if (a.racing && err instanceof NotImplementedErrorPy) throw new HttpFault(501, 'The requested functionality is not supported.');
        if (err instanceof InstanceIsLocked) throw new HttpFault(409, err.message);
        if (err instanceof InstanceInvalidState) throw conflictForInvalidState(err, a.name, c.params.id);
        throw err;
      }
      return emptyResponse(202);
    });
  };

  return { index, detail, show, create, delete: remove, action };
}
