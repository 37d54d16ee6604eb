// A transport that hands requests straight to the service listening on the URL's
// host:port, the way a socket would, without one. The same handlers can be served on a
// real socket later; the client does not know the difference.
import { SimError } from '../common/errors.js';
import type { Handler, HttpRequest, HttpResponse, Transport } from './types.js';

export class ConnectionRefused extends SimError {
  constructor(url: string) {
    super('ConnectFailure', `Unable to establish connection to ${url}: [Errno 111] Connection refused`);
  }
}

export class InProcessTransport implements Transport {
  private services = new Map<string, Handler>();

  listen(origin: string, handler: Handler): void {
    this.services.set(origin, handler);
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const origin = new URL(req.url).origin;
    const handler = this.services.get(origin);
    if (!handler) throw new ConnectionRefused(req.url);
    // requests and responses cross as text, never as shared objects
    const res = await handler({ method: req.method, url: req.url, headers: { ...req.headers }, body: req.body });
    return { status: res.status, headers: { ...res.headers }, body: res.body };
  }
}
