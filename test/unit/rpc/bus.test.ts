// src/rpc/bus.ts: oslo.messaging in miniature. A cast is fire-and-forget: the caller
// returns before the endpoint runs (nova-api answers 202 before nova-compute starts),
// what crosses the bus is a copy, and drain() waits for every cast still in flight.
import { describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../../../src/common/context.js';
import { MessageBus, MessagingTimeout, type CastOutcome } from '../../../src/rpc/bus.js';

const ctx: RequestContext = {
  requestId: 'req-00000000-0000-4000-8000-000000000001',
  userId: 'u',
  userName: 'demo',
  projectId: 'p',
  projectName: 'demo',
  roles: ['Member'],
  isAdmin: false,
};

describe('MessageBus.cast', () => {
  it('returns before the endpoint runs, even after the current turn\'s microtasks', async () => {
    const bus = new MessageBus();
    const endpoint = vi.fn(async () => undefined);
    bus.listen('compute', 'devstack', endpoint);
    const ret = bus.cast(ctx, 'compute', 'devstack', 'swap_volume', { instance: 'i' });
    expect(ret).toBeUndefined();
    expect(endpoint).not.toHaveBeenCalled();
    await Promise.resolve();
    await Promise.resolve();
    expect(endpoint).not.toHaveBeenCalled();
    await bus.drain();
    expect(endpoint).toHaveBeenCalledTimes(1);
    expect(endpoint).toHaveBeenCalledWith(ctx, 'swap_volume', { instance: 'i' });
  });

  it('hands the endpoint a copy of the context and arguments, as a message on the wire', async () => {
    const bus = new MessageBus();
    let seen: [RequestContext, Record<string, unknown>] | null = null;
    bus.listen('compute', 'devstack', async (c, _m, a) => {
      seen = [c, a];
    });
    const args = { instance: 'i', nested: { old_volume_id: 'a' } };
    bus.cast(ctx, 'compute', 'devstack', 'swap_volume', args);
    // the caller changes its objects after the cast: the message already left
    args.nested.old_volume_id = 'changed';
    await bus.drain();
    expect(seen).not.toBeNull();
    const [c, a] = seen!;
    expect(a).toEqual({ instance: 'i', nested: { old_volume_id: 'a' } });
    expect(a).not.toBe(args);
    expect(c).toEqual(ctx);
    expect(c).not.toBe(ctx);
  });

  it('delivers casts to one consumer in the order they were sent', async () => {
    const bus = new MessageBus();
    const order: string[] = [];
    bus.listen('compute', 'devstack', async (_c, method) => {
      order.push(method);
    });
    for (const m of ['a', 'b', 'c', 'd']) bus.cast(ctx, 'compute', 'devstack', m, {});
    await bus.drain();
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('routes by topic and server: a cast to another host does not reach this consumer', async () => {
    const bus = new MessageBus();
    const here = vi.fn(async () => undefined);
    const there = vi.fn(async () => undefined);
    bus.listen('compute', 'devstack', here);
    bus.listen('compute', 'other', there);
    bus.cast(ctx, 'compute', 'other', 'swap_volume', {});
    await bus.drain();
    expect(here).not.toHaveBeenCalled();
    expect(there).toHaveBeenCalledTimes(1);
  });

  it('an endpoint failure never reaches the caller; listeners see start, then end with the error', async () => {
    const bus = new MessageBus();
    const boom = new Error('Domain not found');
    bus.listen('compute', 'devstack', async () => {
      throw boom;
    });
    const seen: [string, string, unknown][] = [];
    bus.onCast((o: CastOutcome, phase) => seen.push([phase, o.method, o.error]));
    expect(() => bus.cast(ctx, 'compute', 'devstack', 'swap_volume', {})).not.toThrow();
    await expect(bus.drain()).resolves.toBeUndefined();
    expect(seen).toEqual([
      ['start', 'swap_volume', undefined],
      ['end', 'swap_volume', boom],
    ]);
  });

  it('a cast to a host nobody listens on is dropped by the broker: the caller cannot tell, nothing is handled', async () => {
    const bus = new MessageBus();
    const seen: string[] = [];
    bus.onCast((o, phase) => seen.push(`${phase} ${o.method}`));
    expect(() => bus.cast(ctx, 'compute', 'nohost', 'swap_volume', {})).not.toThrow();
    await bus.drain();
    expect(seen).toEqual([]);
  });

  it('a call to a host nobody listens on fails with MessagingTimeout', async () => {
    const bus = new MessageBus();
    await expect(bus.call(ctx, 'compute', 'nohost', 'reserve_block_device_name', {})).rejects.toThrow(MessagingTimeout);
  });
});

describe('MessageBus.drain', () => {
  it('waits for a long-running endpoint', async () => {
    const bus = new MessageBus();
    let finished = false;
    bus.listen('compute', 'devstack', async () => {
      await new Promise((r) => setTimeout(r, 30));
      finished = true;
    });
    bus.cast(ctx, 'compute', 'devstack', 'swap_volume', {});
    await bus.drain();
    expect(finished).toBe(true);
  });

  it('also waits for casts sent while it was waiting (a handler that casts again)', async () => {
    const bus = new MessageBus();
    const done: string[] = [];
    bus.listen('compute', 'devstack', async (c, method) => {
      await new Promise((r) => setTimeout(r, 5));
      if (method === 'first') bus.cast(c, 'compute', 'devstack', 'second', {});
      done.push(method);
    });
    bus.cast(ctx, 'compute', 'devstack', 'first', {});
    await bus.drain();
    expect(done).toEqual(['first', 'second']);
  });

  it('resolves at once when nothing is in flight', async () => {
    await expect(new MessageBus().drain()).resolves.toBeUndefined();
  });
});

describe('MessageBus.call', () => {
  it('waits for the result, which comes back as a copy', async () => {
    const bus = new MessageBus();
    const result = { device: '/dev/vdc' };
    bus.listen('compute', 'devstack', async () => result);
    const got = await bus.call(ctx, 'compute', 'devstack', 'reserve_block_device_name', {});
    expect(got).toEqual({ device: '/dev/vdc' });
    expect(got).not.toBe(result);
  });

  it('brings the endpoint\'s error back to the caller', async () => {
    const bus = new MessageBus();
    bus.listen('compute', 'devstack', async () => {
      throw new Error('DevicePathInUse');
    });
    await expect(bus.call(ctx, 'compute', 'devstack', 'reserve_block_device_name', {})).rejects.toThrow('DevicePathInUse');
  });

  it('does not run the endpoint on the caller\'s turn either', async () => {
    const bus = new MessageBus();
    const endpoint = vi.fn(async () => 1);
    bus.listen('compute', 'devstack', endpoint);
    const p = bus.call(ctx, 'compute', 'devstack', 'x', {});
    expect(endpoint).not.toHaveBeenCalled();
    await p;
    expect(endpoint).toHaveBeenCalledTimes(1);
  });
});
