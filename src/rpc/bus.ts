// oslo.messaging in miniature: a topic exchange with one consumer per (topic, server).
// A cast is serialised like a message on the wire and delivered on a later turn of the
// event loop, so the caller (nova-api) answers before the consumer (nova-compute) starts.
import { currentContext, type RequestContext } from '../common/context.js';
import { getLogger } from '../common/log.js';

const LOG = getLogger('oslo_messaging.rpc.server', 'nova-compute');

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

  listen(topic: string, server: string, endpoint: RpcEndpoint): void {
    this.consumers.set(`${topic}.${server}`, endpoint);
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
    const endpoint = this.consumers.get(`${topic}.${server}`);
    if (!endpoint) throw new MessagingTimeout(`${topic}.${server}`);
    const [c, a] = this.wire(ctx, args);
    const outcome: CastOutcome = { topic, server, method, ctx: c, args: a };
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        for (const l of this.listeners) l(outcome, 'start');
        try {
          await currentContext.run(c, () => endpoint(c, method, a));
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
    await new Promise<void>((resolve) => setImmediate(resolve));
    const result = await currentContext.run(c, () => endpoint(c, method, a));
    return result === undefined ? undefined : JSON.parse(JSON.stringify(result));
  }

  /** Resolves when no cast is in flight (including casts sent while waiting). */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }
}
