// A transport that hands requests straight to the service listening on the URL's
// host:port, the way a socket would, without one. The same handlers can be served on a
// real socket later; the client does not know the difference.
import { SimError } from '../common/errors.js';
import { traced, type Service, type SpanSpec } from '../trace/tracer.js';
import type { Handler, HttpRequest, HttpResponse, Transport } from './types.js';

export class ConnectionRefused extends SimError {
  constructor(url: string) {
    super('ConnectFailure', `Unable to establish connection to ${url}: [Errno 111] Connection refused`);
  }
}

/** the action of a POST …/action body ({"os-reserve": null} → os-reserve), for the trace */
function actionOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const keys = Object.keys(JSON.parse(body) as object);
    return keys.length === 1 ? keys[0] : undefined;
  } catch {
    return undefined;
  }
}

export class InProcessTransport implements Transport {
  private services = new Map<string, Handler>();
  private spans = new Map<string, SpanSpec>();

  /** `service` names the process behind the origin (its WSGI entry point shows in --trace) */
  listen(origin: string, handler: Handler, service?: Service): void {
    this.services.set(origin, handler);
    if (service) {
      const project = service.split('-')[0];
      this.spans.set(origin, { name: 'Resource.__call__()', location: `${project}/api/openstack/wsgi.py`, layer: project, service, kind: 'http-server' });
    }
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const origin = new URL(req.url).origin;
    const handler = this.services.get(origin);
    if (!handler) throw new ConnectionRefused(req.url);
    // requests and responses cross as text, never as shared objects
    const call = () => handler({ method: req.method, url: req.url, headers: { ...req.headers }, body: req.body });
    const spec = this.spans.get(origin);
    const res = spec
      ? await traced(
          spec,
          call,
          () => ({ method: req.method, path: new URL(req.url).pathname, action: req.method === 'POST' && req.url.endsWith('/action') ? actionOf(req.body) : undefined }),
          // the status; the body too when it is a fault
          (r) => (r.status >= 400 ? `${r.status} ${r.body}` : r.status),
        )
      : await call();
    return { status: res.status, headers: { ...res.headers }, body: res.body };
  }
}
