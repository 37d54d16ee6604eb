// cinder-api, v2: the volumes resource and the volume actions Nova calls
// (cinder/api/v2/volumes.py, cinder/api/contrib/volume_actions.py, admin_actions.py).
import { byKey } from '../state/collections.js';
import { randomUUID } from 'node:crypto';
import { contextFromToken, header } from '../common/auth.js';
import { currentContext, newRequestId, type RequestContext } from '../common/context.js';
import { getLogger } from '../common/log.js';
import { rememberLast } from '../common/memo.js';
import { Router, splitUrl } from '../http/router.js';
import type { Handler, HttpRequest, HttpResponse } from '../http/types.js';
import { parseBoundedJsonBody, requestLineTooLong, uriTooLongResponse } from '../http/limits.js';
import { HttpFault, emptyResponse, faultResponse, httpDate, JsonListBody, jsonResponse } from '../http/wsgi.js';
import type { StateStore } from '../state/store.js';
import type { State, Volume } from '../state/types.js';
import { strerror } from '../common/strerror.js';
import { constants as osConstants } from 'node:os';
import type { VolumeBackend } from './backend.js';
import { cinderActionFault } from './faults.js';
import { CinderException, QuotaError } from './exception.js';
import * as volumeApi from './volume-api.js';
import { traced, tracer, type SpanSpec } from '../trace/tracer.js';

const LOG = getLogger('cinder.api.openstack.wsgi', 'cinder-api');
const VLOG = getLogger('cinder.volume.manager', 'cinder-volume');


function errnoNumber(code: string): number {
  return (osConstants.errno as Record<string, number>)[code] ?? 5;
}

// --trace: the controller method behind each volume action Nova sends
const ADMIN_ACTIONS = new Set(['os-migrate_volume_completion', 'os-reset_status', 'os-force_delete']);
function actionSpan(c: { body: unknown }): SpanSpec {
  const name = Object.keys((c.body as object | null) ?? {})[0] ?? 'unknown';
  const method = `_${name.replace(/^os-/, '')}`;
  return ADMIN_ACTIONS.has(name)
    ? { name: `VolumeAdminController.${method}()`, location: 'cinder/api/contrib/admin_actions.py', layer: 'cinder', service: 'cinder-api' }
    : { name: `VolumeActionsController.${method}()`, location: 'cinder/api/contrib/volume_actions.py', layer: 'cinder', service: 'cinder-api' };
}
const VOLUME_MANAGER_INIT: SpanSpec = { name: 'VolumeManager.initialize_connection()', location: 'cinder/volume/manager.py', layer: 'cinder', service: 'cinder-volume' };

interface Call {
  ctx: RequestContext;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  base: string;
}

type Action = (call: Call) => Promise<HttpResponse>;

/** the bookmark links' base: the endpoint without its version (a list's views share one) */
const bookmarkBase = rememberLast((base: string): string => base.replace(/\/v2\//, '/'));

function volumeLinks(v: Volume, base: string): { href: string; rel: string }[] {
  return [
    { href: `${base}/volumes/${v.id}`, rel: 'self' },
    { href: `${bookmarkBase(base)}/volumes/${v.id}`, rel: 'bookmark' },
  ];
}

/** Cinder v2's volume view (ViewBuilder.detail) */
export function volumeView(v: Volume, base: string, isAdmin: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    attachments: v.attachments
      .filter((a) => a.attachStatus === 'attached')
      .map((a) => ({
        server_id: a.instanceUuid,
        attachment_id: a.id,
        attached_at: a.attachTime,
        host_name: null,
        volume_id: v.id,
        device: a.mountpoint,
        id: v.id,
      })),
    links: volumeLinks(v, base),
    availability_zone: v.availabilityZone,
    encrypted: false,
    updated_at: v.updatedAt,
    replication_status: 'disabled',
    snapshot_id: null,
    id: v.id,
    size: v.size,
    user_id: v.userId,
    metadata: v.metadata,
    status: v.status,
    description: v.displayDescription,
    multiattach: false,
    source_volid: null,
    consistencygroup_id: null,
    name: v.displayName,
    bootable: String(v.bootable),
    created_at: v.createdAt,
    volume_type: v.volumeType,
  };
  if (isAdmin) {
    view['os-vol-host-attr:host'] = v.host;
    view['os-vol-mig-status-attr:migstat'] = v.migrationStatus;
    view['os-vol-mig-status-attr:name_id'] = null;
    view['os-vol-tenant-attr:tenant_id'] = v.projectId;
    view['migration_status'] = v.migrationStatus;
  }
  return view;
}

/** Cinder v2's volume type view (types ViewBuilder.show): extra_specs and qos_specs_id only
 * for those the access_types_* policies (admin_api) allow */
function volumeTypeView(t: volumeApi.VolumeType, isAdmin: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = { id: t.id, name: t.name, is_public: t.isPublic, description: t.description };
  if (isAdmin) {
    view.extra_specs = t.extraSpecs;
    view.qos_specs_id = t.qosSpecsId;
  }
  return view;
}

/** VolumeAdminController.validate_update: which fields, and only valid values (400s) */
export function validateResetStatus(body: unknown): volumeApi.ResetStatusUpdate {
  const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const update: volumeApi.ResetStatusUpdate = {};
  const lower = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : String(v));
  let valid = false;
  if (b.status) {
    valid = true;
    const status = lower(b.status);
    if (!volumeApi.VALID_RESET_STATUS.includes(status)) throw new HttpFault(400, 'Must specify a valid status');
    update.status = status;
  }
  if (b.attach_status) {
    valid = true;
    const attach = lower(b.attach_status);
    if (!volumeApi.VALID_ATTACH_STATUS.includes(attach)) throw new HttpFault(400, 'Must specify a valid attach status');
    update.attachStatus = attach as 'attached' | 'detached';
  }
  if (b.migration_status) {
    valid = true;
    const migration = lower(b.migration_status);
    if (!volumeApi.VALID_MIGRATION_STATUS.includes(migration)) throw new HttpFault(400, 'Must specify a valid migration status');
    update.migrationStatus = migration === 'none' ? null : migration;
  }
  if (!valid) throw new HttpFault(400, "Must specify 'status', 'attach_status' or 'migration_status' for update.");
  return update;
}

function asObject(body: unknown, key: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpFault(400, `Missing required element '${key}' in request body.`);
  const inner = (body as Record<string, unknown>)[key];
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) throw new HttpFault(400, `Missing required element '${key}' in request body.`);
  return inner as Record<string, unknown>;
}

function optString(o: Record<string, unknown>, k: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new HttpFault(400, `Invalid input received: ${k} must be a string`);
  return v;
}

export function createCinderApi(store: StateStore, backend: VolumeBackend): Handler {
  const router = new Router<Action>();

  const read = <T>(fn: (s: State) => T): T => fn(store.read());

  router.add('GET', '/v2/:project_id/volumes', async (c) => listVolumes(c, false));
  router.add('GET', '/v2/:project_id/volumes/detail', async (c) => listVolumes(c, true));
  router.add('GET', '/v2/:project_id/volumes/:id', async (c) =>
    jsonResponse(200, { volume: read((s) => volumeView(volumeApi.getVolume(s, c.ctx, c.params.id), c.base, c.ctx.isAdmin)) }),
  );
  router.add('POST', '/v2/:project_id/volumes', async (c) => {
    const v = asObject(c.body, 'volume');
    const req: volumeApi.CreateVolumeRequest = {
      size: volumeApi.extractSize(v.size),
      name: optString(v, 'name') ?? optString(v, 'display_name'),
      description: optString(v, 'description') ?? optString(v, 'display_description'),
      volumeType: optString(v, 'volume_type'),
      availabilityZone: optString(v, 'availability_zone'),
      snapshotId: optString(v, 'snapshot_id'),
      imageRef: optString(v, 'imageRef'),
    };
    // the API's checks and the quota first: a refused request makes nothing
    read((s) => volumeApi.checkCreate(s, c.ctx, req));
    // cinder-volume's create: the image; when the backend fails (EFBIG, ENOSPC…) the
    // volume is recorded in 'error', with no image, as the create flow's revert leaves it
    const id = randomUUID();
    let status: 'available' | 'error' = 'available';
    try {
      backend.createImage(id, req.size);
    } catch (err) {
      status = 'error';
      const code = (err as NodeJS.ErrnoException).code;
      VLOG.exception(`Failed to create volume ${id}`, code ? `[Errno ${errnoNumber(code)}] ${strerror(code)}` : err, { context: c.ctx });
      VLOG.error(`Volume ${id}: create failed`, { context: c.ctx });
    }
    let vol: Volume;
    try {
      vol = await store.update((s) => volumeApi.createVolume(s, c.ctx, req, { id, status }));
    } catch (err) {
      // not recorded (the quota filled meanwhile, or the state could not be saved): no image either
      if (status === 'available') removeImage(id, c.ctx);
      throw err;
    }
    if (status === 'available') VLOG.info(`Created volume successfully.`, { context: c.ctx });
    return jsonResponse(202, { volume: volumeView(vol, c.base, c.ctx.isAdmin) });
  });
  /** lvremove; a failure leaves the file behind (logged), never fails the request */
  function removeImage(id: string, ctx: RequestContext): boolean {
    try {
      backend.deleteImage(id);
      return true;
    } catch (err) {
      VLOG.exception(`Failed to delete the image of volume ${id}; it is left behind`, err, { context: ctx });
      return false;
    }
  }
  router.add('DELETE', '/v2/:project_id/volumes/:id', async (c) => deleteAndRemove(c, c.params.id, false));
  /** API.delete and the volume manager's delete_volume behind it */
  async function deleteAndRemove(c: Call, id: string, force: boolean): Promise<HttpResponse> {
    let holder: string | null = null;
    const { volume, deleted } = await store.update((s) =>
      volumeApi.deleteVolume(s, c.ctx, id, (v) => (holder = backend.openBy(s, v.id)) !== null, force),
    );
    if (!deleted) {
      VLOG.error(`Unable to delete volume ${volume.id}: logical volume volume-${volume.id} in use (open by ${String(holder)}).`, { context: c.ctx });
      return emptyResponse(202);
    }
    // the record is gone: only now, and only its own image
    if (removeImage(volume.id, c.ctx)) VLOG.info(`Deleted volume successfully.`, { context: c.ctx });
    return emptyResponse(202);
  }
  router.add('GET', '/v2/:project_id/types', async (c) =>
    jsonResponse(200, { volume_types: volumeApi.listVolumeTypes(c.ctx).map((t) => volumeTypeView(t, c.ctx.isAdmin)) }),
  );
  router.add('GET', '/v2/:project_id/types/:id', async (c) =>
    jsonResponse(200, { volume_type: volumeTypeView(volumeApi.getVolumeType(c.ctx, c.params.id), c.ctx.isAdmin) }),
  );
  router.add('POST', '/v2/:project_id/volumes/:id/action', async (c) =>
    tracer.active
      ? tracer.run(
          actionSpan(c),
          () => volumeAction(c),
          () => ({ volume_id: c.params.id, args: Object.values((c.body as object | null) ?? {})[0], status: statusOf(c.params.id) }),
          (r) => `${r.status}, volume status ${statusOf(c.params.id)}`,
        )
      : volumeAction(c),
  );
  const statusOf = (id: string) => byKey(store.read(), 'volumes', id)?.status;

  function listVolumes(c: Call, detail: boolean): HttpResponse {
    const allTenants = ['1', 'true', 'True'].includes(c.query.get('all_tenants') ?? '');
    // v2 takes name for display_name; a member may filter on query_volume_filters only
    // (name, status, metadata, availability_zone, bootable), which these are
    const name = c.query.get('name') ?? c.query.get('display_name');
    const status = c.query.get('status');
    // each volume's view is made and serialised as it is read: neither the records nor the
    // views' objects are all held at once (only their text)
    const views = new JsonListBody('volumes');
    volumeApi.eachListedVolume(store.read(), c.ctx, allTenants, (v) => {
      if ((name !== null && v.displayName !== name) || (status !== null && v.status !== status)) return;
      views.push(detail ? volumeView(v, c.base, c.ctx.isAdmin) : { id: v.id, name: v.displayName, links: volumeLinks(v, c.base) });
    });
    return views.response(200);
  }

  async function volumeAction(c: Call): Promise<HttpResponse> {
    if (!c.body || typeof c.body !== 'object' || Array.isArray(c.body)) throw new HttpFault(400, 'Malformed request body');
    const [name, arg] = Object.entries(c.body as Record<string, unknown>)[0] ?? [];
    const args = (arg && typeof arg === 'object' ? arg : {}) as Record<string, unknown>;
    const id = c.params.id;
    cinderActionFault(name); // `nova-sim fault add cinder.…`: the action fails before it changes anything
    switch (name) {
      case 'os-reserve':
        await store.update((s) => volumeApi.reserveVolume(s, c.ctx, id));
        return emptyResponse(202);
      case 'os-unreserve':
        await store.update((s) => volumeApi.unreserveVolume(s, c.ctx, id));
        return emptyResponse(202);
      case 'os-begin_detaching':
        await store.update((s) => volumeApi.beginDetaching(s, c.ctx, id));
        return emptyResponse(202);
      case 'os-roll_detaching':
        await store.update((s) => volumeApi.rollDetaching(s, c.ctx, id));
        return emptyResponse(202);
      case 'os-attach':
        await store.update((s) =>
          volumeApi.attachVolume(
            s,
            c.ctx,
            id,
            String(args.instance_uuid ?? ''),
            String(args.host_name ?? ''),
            String(args.mountpoint ?? ''),
            args.mode === 'ro' ? 'ro' : 'rw',
          ),
        );
        return emptyResponse(202);
      case 'os-detach':
        await store.update((s) => volumeApi.detachVolume(s, c.ctx, id, typeof args.attachment_id === 'string' ? args.attachment_id : null));
        return emptyResponse(202);
      case 'os-initialize_connection': {
        read((s) => volumeApi.getVolume(s, c.ctx, id));
        // cinder-volume's manager asks the driver for the export (an RPC call in real Cinder)
        const info = traced(VOLUME_MANAGER_INIT, () => backend.initializeConnection(id), () => ({ volume_id: id }));
        VLOG.info(`Initialize volume connection completed successfully.`, { context: c.ctx });
        return jsonResponse(200, { connection_info: info });
      }
      case 'os-terminate_connection':
        read((s) => volumeApi.getVolume(s, c.ctx, id));
        VLOG.info(`Terminate volume connection completed successfully.`, { context: c.ctx });
        await store.update((s) => volumeApi.unreserveVolume(s, c.ctx, id));
        return emptyResponse(202);
      case 'os-reset_status': {
        // VolumeAdminController._reset_status: the policy, then the body, then the update
        volumeApi.authorizeAdminAction(c.ctx, 'reset_status');
        const update = validateResetStatus(arg);
        LOG.debug(`Updating volume '${id}' with '${JSON.stringify(update)}'`, { context: c.ctx });
        await store.update((s) => volumeApi.resetStatus(s, c.ctx, id, update));
        return emptyResponse(202);
      }
      case 'os-force_delete':
        // AdminController._force_delete: the policy, the volume, then API.delete(force=True)
        volumeApi.authorizeAdminAction(c.ctx, 'force_delete');
        read((s) => volumeApi.getVolume(s, c.ctx, id));
        return deleteAndRemove(c, id, true);
      case 'os-migrate_volume_completion': {
        const saveId = await store.update((s) =>
          volumeApi.migrateVolumeCompletion(s, c.ctx, id, String(args.new_volume ?? ''), Boolean(args.error)),
        );
        return jsonResponse(200, { save_volume_id: saveId });
      }
      default:
        throw new HttpFault(400, `There is no such action: ${String(name)}`);
    }
  }

  return async (req: HttpRequest): Promise<HttpResponse> => {
    // eventlet refuses the request line before cinder-api sees it
    if (requestLineTooLong(req.method, req.url)) return uriTooLongResponse();
    const requestId = header(req.headers, 'X-OpenStack-Request-ID') ?? newRequestId();
    const common = { 'x-openstack-request-id': requestId, Date: httpDate() };
    let ctxForFault: string | null = null;
    try {
      const { path, query, origin } = splitUrl(req);
      const ctx = contextFromToken(header(req.headers, 'X-Auth-Token'), store.read().users, requestId);
      if (!ctx) return faultResponse(401, 'Authentication required', common);
      ctxForFault = ctx.requestId;
      const m = router.match(req.method, path);
      if (m === 'not-found') return faultResponse(404, 'The resource could not be found.', common);
      if (m === 'method-not-allowed') return faultResponse(405, 'The method is not allowed for the requested route.', common);
      const project = m.params.project_id;
      if (!ctx.isAdmin && project !== ctx.projectId && project !== ctx.projectName) {
        return faultResponse(400, 'Malformed request url', common);
      }
      const base = `${origin}/v2/${project}`;
      const res = await currentContext.run(ctx, () => m.handler({ ctx, params: m.params, query, body: parseBoundedJsonBody(req.body), base }));
      LOG.info(`${origin} "${req.method} ${path}" status: ${res.status}`, { context: ctx });
      return { ...res, headers: { ...res.headers, ...common } };
    } catch (err) {
      // wsgi.Fault sets x-compute-request-id on what it answers (_set_request_id_header), the
      // header cinderclient reads its Request-ID from
      const fault = ctxForFault ? { ...common, 'x-compute-request-id': ctxForFault } : common;
      if (err instanceof HttpFault) return faultResponse(err.status, err.explanation, fault);
      if (err instanceof QuotaError) return faultResponse(err.code, err.message, { ...fault, ...err.headers });
      if (err instanceof CinderException) return faultResponse(err.code, err.message, fault);
      throw err;
    }
  };
}
