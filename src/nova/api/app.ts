// nova-api's WSGI application: the /v2.1 routes, noauth2, microversions, faults.
import { contextFromToken, header } from '../../common/auth.js';
import { currentContext, newRequestId } from '../../common/context.js';
import { getLogger } from '../../common/log.js';
import { Router, splitUrl } from '../../http/router.js';
import type { Handler, HttpRequest, HttpResponse } from '../../http/types.js';
import { parseBoundedJsonBody, requestLineTooLong, uriTooLongResponse } from '../../http/limits.js';
import { HttpFault, WEBOB_500, faultResponse, httpDate, jsonResponse } from '../../http/wsgi.js';
import { isHostStateError, type StateStore } from '../../state/store.js';
import type { API } from '../compute/api.js';
import type { Action } from './controller.js';
import { serversController } from './servers.js';
import { flavorsController } from './flavors.js';
import { imagesController } from './images.js';
import { availabilityZoneController } from './availability_zone.js';
import { servicesController } from './services.js';
import { hypervisorsController } from './hypervisors.js';
import { hostsController } from './hosts.js';
import { extensionInfoController } from './extension_info.js';
import { versionsDoc } from './versions.js';
import { HostAPI } from '../compute/host_api.js';
import { ServiceGroupAPI } from '../servicegroup.js';
import type { MessageBus } from '../../rpc/bus.js';
import { instanceActionsController } from './instance_actions.js';
import { limitsController } from './limits.js';
import { volumesProxyController } from './volumes_proxy.js';
import { volumeAttachmentController } from './volumes.js';
import { MAX_VERSION, MIN_VERSION, cmpVersion, parseVersion, versionString, type ApiVersion } from './wsgi.js';
import { traced } from '../../trace/tracer.js';

const LOG = getLogger('nova.osapi_compute.wsgi.server', 'nova-api');


function versionDoc(origin: string): Record<string, unknown> {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_VERSION,
    min_version: MIN_VERSION,
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${origin}/v2.1/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}

/** `bus`: the message bus the services listen on (the servicegroup reads their heartbeats there) */
export function createNovaApi(store: StateStore, compute: API, bus: MessageBus | null = null): Handler {
  const router = new Router<Action>();
  const servers = serversController(store, compute);
  // Volumes.get_resources(): the os-volume_attachments resource, child of servers
  const atts = traced(
    { name: 'Volumes.get_resources()', location: 'nova/api/openstack/compute/volumes.py', layer: 'nova', service: 'nova-api' },
    () => volumeAttachmentController(store, compute),
    () => ({ resource: 'os-volume_attachments', controller: 'VolumeAttachmentController', parent: 'servers' }),
    (c) => Object.keys(c).join(','),
  );
  const flavors = flavorsController(store);
  const images = imagesController(store);
  const instanceActions = instanceActionsController(store, compute);
  const hostApi = new HostAPI(new ServiceGroupAPI(bus));
  const azs = availabilityZoneController(store, hostApi);
  const services = servicesController(store, hostApi);
  const hypervisors = hypervisorsController(store, hostApi);
  const hosts = hostsController(store, hostApi);
  const extensions = extensionInfoController();

  router
    .add('GET', '/v2.1/servers', servers.index)
    .add('GET', '/v2.1/servers/detail', servers.detail)
    .add('POST', '/v2.1/servers', servers.create)
    .add('GET', '/v2.1/servers/:id', servers.show)
    .add('DELETE', '/v2.1/servers/:id', servers.delete)
    .add('POST', '/v2.1/servers/:id/action', servers.action)
    .add('GET', '/v2.1/servers/:server_id/os-volume_attachments', atts.index)
    .add('POST', '/v2.1/servers/:server_id/os-volume_attachments', atts.create)
    .add('GET', '/v2.1/servers/:server_id/os-volume_attachments/:id', atts.show)
    .add('PUT', '/v2.1/servers/:server_id/os-volume_attachments/:id', atts.update)
    .add('DELETE', '/v2.1/servers/:server_id/os-volume_attachments/:id', atts.delete)
    .add('GET', '/v2.1/servers/:server_id/os-instance-actions', instanceActions.index)
    .add('GET', '/v2.1/servers/:server_id/os-instance-actions/:id', instanceActions.show)
    .add('GET', '/v2.1/flavors', flavors.index)
    .add('GET', '/v2.1/flavors/detail', flavors.detail)
    .add('GET', '/v2.1/flavors/:id', flavors.show)
    .add('GET', '/v2.1/images', images.index)
    .add('GET', '/v2.1/images/detail', images.detail)
    .add('GET', '/v2.1/images/:id', images.show)
    // the operators' resources: flavor extra specs, availability zones, services,
    // hypervisors, hosts, extensions
    .add('GET', '/v2.1/flavors/:flavor_id/os-extra_specs', flavors.extraSpecs)
    .add('GET', '/v2.1/os-availability-zone', azs.index)
    .add('GET', '/v2.1/os-availability-zone/detail', azs.detail)
    .add('GET', '/v2.1/os-services', services.index)
    .add('GET', '/v2.1/os-hypervisors', hypervisors.index)
    .add('GET', '/v2.1/os-hypervisors/detail', hypervisors.detail)
    .add('GET', '/v2.1/os-hypervisors/:id', hypervisors.show)
    .add('GET', '/v2.1/os-hypervisors/:id/search', hypervisors.search)
    .add('GET', '/v2.1/os-hypervisors/:id/servers', hypervisors.servers)
    .add('GET', '/v2.1/os-hosts', hosts.index)
    .add('GET', '/v2.1/extensions', extensions.index)
    .add('GET', '/v2.1/extensions/:id', extensions.show)
    .add('GET', '/v2.1/limits', limitsController(store).index);
  // the os-volumes proxy to Cinder (Volumes.get_resources' first resource)
  const volumesProxy = volumesProxyController(compute);
  router
    .add('GET', '/v2.1/os-volumes', volumesProxy.index)
    .add('GET', '/v2.1/os-volumes/detail', volumesProxy.detail)
    .add('GET', '/v2.1/os-volumes/:id', volumesProxy.show)
    .add('POST', '/v2.1/os-volumes', volumesProxy.create)
    .add('DELETE', '/v2.1/os-volumes/:id', volumesProxy.delete);

  return async (req: HttpRequest): Promise<HttpResponse> => {
    // eventlet refuses the request line before nova-api sees it (no request id, no log)
    if (requestLineTooLong(req.method, req.url)) return uriTooLongResponse();
    const started = Date.now();
    const requestId = newRequestId();
    const common: Record<string, string> = { 'x-compute-request-id': requestId, Date: httpDate() };
    const { path, query, origin } = splitUrl(req);
    const finish = (res: HttpResponse): HttpResponse => {
      const out = { ...res, headers: { ...res.headers, ...common } };
      LOG.info(`127.0.0.1 "${req.method} ${path}${query.toString() ? `?${query}` : ''} HTTP/1.1" status: ${res.status} len: ${res.body.length} time: ${((Date.now() - started) / 1000).toFixed(7)}`);
      return out;
    };
    try {
      // the version document needs no token
      if (req.method === 'GET' && (path === '/v2.1' || path === '/v2.1/')) {
        return finish(jsonResponse(200, { version: versionDoc(origin) }));
      }
      // and nor does the list of versions at the root (versions.Versions.index)
      if (req.method === 'GET' && path === '/') return finish(jsonResponse(200, versionsDoc(origin)));
      let version: ApiVersion = parseVersion(MIN_VERSION) as ApiVersion;
      const requested = header(req.headers, 'X-OpenStack-Nova-API-Version');
      if (requested) {
        const max = parseVersion(MAX_VERSION) as ApiVersion;
        const v = requested === 'latest' ? max : parseVersion(requested);
        if (!v) return finish(faultResponse(400, `Invalid format of client version '${requested}'. Expected format 'X.Y', where X is a major part and Y is a minor part of version.`));
        if (cmpVersion(v, parseVersion(MIN_VERSION) as ApiVersion) < 0 || cmpVersion(v, max) > 0) {
          return finish(faultResponse(406, `Version ${requested} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`));
        }
        version = v;
        common['X-OpenStack-Nova-API-Version'] = versionString(v);
        common.Vary = 'X-OpenStack-Nova-API-Version';
      }
      const ctx = contextFromToken(header(req.headers, 'X-Auth-Token'), store.read().users, requestId);
      if (!ctx) return finish(faultResponse(401, 'Authentication required'));
      const m = router.match(req.method, path);
      if (m === 'not-found') return finish(faultResponse(404, 'The resource could not be found.'));
      if (m === 'method-not-allowed') return finish(faultResponse(405, 'The method is not allowed for the requested route.'));
      const body = parseBoundedJsonBody(req.body);
      const res = await currentContext.run(ctx, () => m.handler({ ctx, params: m.params, query, body, base: `${origin}/v2.1`, version }));
      return currentContext.run(ctx, () => finish(res));
    } catch (err) {
      if (err instanceof HttpFault) return finish(faultResponse(err.status, err.explanation));
      // the host's own storage failed (a full disk under the state file): not an answer of
      // the API's; the command reports it as it is, in one line
      if (isHostStateError(err)) throw err;
      // FaultWrapper._error: anything else is logged with its trace and answered as a 500
      LOG.exception(`Caught error: ${err instanceof Error ? err.message : String(err)}`, err);
      if (err instanceof Error && err.stack) LOG.debug(err.stack);
      return finish(faultResponse(500, FAULT_WRAPPER_500));
    }
  };
}

/** FaultWrapper's answer to an unexpected error */
export const FAULT_WRAPPER_500 = WEBOB_500;
