// oslo.messaging in miniature: a topic exchange with one consumer per (topic, server).
// A cast is serialised like a message on the wire and delivered on a later turn of the
// event loop, so the caller (nova-api) answers before the consumer (nova-compute) starts.
import { currentContext, type RequestContext } from '../common/context.js';
import { getLogger } from '../common/log.js';
import { faultAt } from '../common/faults.js';
import { tracer, type SpanSpec } from '../trace/tracer.js';

const LOG = getLogger('oslo_messaging.rpc.server', 'nova-compute');
const CLIENT_LOG = getLogger('oslo_messaging.rpc.client', 'nova-api');

// --trace: where a request leaves nova-api (the client's cast) and where nova-compute picks
// it up (the server's dispatcher, a new line of work caused by the cast)
const CAST: SpanSpec = { name: 'RPCClient.cast()', location: 'oslo_messaging/rpc/client.py', layer: 'oslo.messaging', kind: 'rpc-cast' };
const CALL: SpanSpec = { name: 'RPCClient.call()', location: 'oslo_messaging/rpc/client.py', layer: 'oslo.messaging' };
const DISPATCH: SpanSpec = {
  name: 'RPCDispatcher.dispatch()',
  location: 'oslo_messaging/rpc/dispatcher.py',
  layer: 'oslo.messaging',
  service: 'nova-compute',
  kind: 'rpc-dispatch',
};

export type RpcEndpoint = (ctx: RequestContext, method: string, args: Record<string, unknown>) => Promise<unknown>;

export interface CastOutcome {
  topic: string;
  server: string;
  method: string;
  ctx: RequestContext;
  args: Record<string, unknown>;
  error?: unknown;
}

/** No consumer listens on the target (oslo: the message would wait in the queue forever). */
export class MessagingTimeout extends Error {
  constructor(target: string) {
    super(`Timed out waiting for a reply to message on ${target}`);
    this.name = 'MessagingTimeout';
  }
}

export class MessageBus {
  private consumers = new Map<string, RpcEndpoint>();
  private inflight = new Set<Promise<void>>();
  private listeners = new Set<(o: CastOutcome, phase: 'start' | 'end') => void>();
  /** when each consumer started listening (what the servicegroup reads as its heartbeat) */
  private since = new Map<string, Date>();

  listen(topic: string, server: string, endpoint: RpcEndpoint): void {
    this.consumers.set(`${topic}.${server}`, endpoint);
    this.since.set(`${topic}.${server}`, new Date());
  }

  /** when a consumer started listening on topic.server, or null when none listens */
  consumerSince(topic: string, server: string): Date | null {
    return this.since.get(`${topic}.${server}`) ?? null;
  }

  onCast(listener: (o: CastOutcome, phase: 'start' | 'end') => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private wire(ctx: RequestContext, args: Record<string, unknown>): [RequestContext, Record<string, unknown>] {
    // what crosses the bus is a copy, never the caller's objects
    return [JSON.parse(JSON.stringify(ctx)), JSON.parse(JSON.stringify(args))];
  }

  /** RPCClient.cast: fire and forget */
  cast(ctx: RequestContext, topic: string, server: string, method: string, args: Record<string, unknown>): void {
    if (tracer.active) return tracer.run(CAST, () => this._cast(ctx, topic, server, method, args), () => ({ target: `${topic}.${server}`, method, args }));
    this._cast(ctx, topic, server, method, args);
  }

  private _cast(ctx: RequestContext, topic: string, server: string, method: string, args: Record<string, unknown>): void {
    const endpoint = this.consumers.get(`${topic}.${server}`);
    const [c, a] = this.wire(ctx, args);
    if (!endpoint) {
      // no nova-compute serves that host: the broker keeps the message and nobody consumes it
      // (a cast has no reply, so the caller cannot tell; what it changed stays as it is)
      CLIENT_LOG.warning(`cast to ${topic}.${server}: ${method} accepted by the broker; no consumer listens on ${topic}.${server}`, { context: c });
      return;
    }
    if (faultAt('rpc.cast')) {
      // `nova-sim fault add rpc.cast`: nova-compute is down. The broker takes the message and
      // nobody consumes it; the caller cannot tell (a cast has no reply), so nova-api answers
      // as if all went well and whatever the API changed before the cast stays as it is.
      CLIENT_LOG.debug(`cast to ${topic}.${server}: ${method} accepted by the broker; no consumer (nova-compute is down: fault rpc.cast)`, { context: c });
      return;
    }
    const outcome: CastOutcome = { topic, server, method, ctx: c, args: a };
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        for (const l of this.listeners) l(outcome, 'start');
        try {
          const deliver = () => currentContext.run(c, () => endpoint(c, method, a));
          await (tracer.active
            ? tracer.run(DISPATCH, deliver, () => ({ target: `${topic}.${server}`, method, args: a, request_id: c.requestId }), undefined, { detached: true })
            : deliver());
        } catch (err) {
          outcome.error = err;
          LOG.error(`Exception during message handling: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, {
            context: c,
          });
        }
        for (const l of this.listeners) l(outcome, 'end');
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** RPCClient.call: waits for the consumer's result (errors come back to the caller) */
  async call(ctx: RequestContext, topic: string, server: string, method: string, args: Record<string, unknown>): Promise<unknown> {
    const endpoint = this.consumers.get(`${topic}.${server}`);
    if (!endpoint) throw new MessagingTimeout(`${topic}.${server}`);
    const [c, a] = this.wire(ctx, args);
    const attrs = () => ({ target: `${topic}.${server}`, method, args: a });
    const deliver = async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const run = () => currentContext.run(c, () => endpoint(c, method, a));
      return tracer.active ? tracer.run({ ...DISPATCH, kind: 'call' }, run, attrs) : run();
    };
    const result = await (tracer.active ? tracer.run(CALL, deliver, attrs) : deliver());
    return result === undefined ? undefined : JSON.parse(JSON.stringify(result));
  }

  /** Resolves when no cast is in flight (including casts sent while waiting). */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }
}
