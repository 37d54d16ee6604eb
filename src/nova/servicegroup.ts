// nova/servicegroup (API with the db driver): is a service up? Upstream compares the
// service's last heartbeat with service_down_time. In novasim a service runs inside the
// process that hosts the embedded cloud, so its heartbeat is its RPC consumer: a service is
// up while a consumer listens on its topic.host, and its last report is when that consumer
// started listening.
import type { MessageBus } from '../rpc/bus.js';

/** what the servicegroup needs of a services row */
export interface ServiceRef {
  binary: string;
  host: string;
  topic: string | null;
  forcedDown: boolean;
}

export class ServiceGroupAPI {
  constructor(private readonly bus: MessageBus | null) {}

  /** API.service_is_up: forced down wins; then the heartbeat (a live RPC consumer) */
  service_is_up(svc: ServiceRef): boolean {
    if (svc.forcedDown) return false;
    // nova-api answers this very request: it is up whenever it is asked
    if (!svc.topic) return true;
    return this.lastHeartbeat(svc) !== null;
  }

  /** when the service last reported (its consumer started), or null if it never did */
  lastHeartbeat(svc: ServiceRef): Date | null {
    if (!svc.topic || !this.bus) return null;
    return this.bus.consumerSince(svc.topic, svc.host);
  }
}
