// The tracer: spans nest through async code the way the request context does, cost a
// boolean test when tracing is off, and record results, errors and the branches taken.
import { afterEach, describe, expect, it } from 'vitest';
import { instrument, traceEvent, traced, tracedChain, tracer, type Span } from '../../../src/trace/tracer.js';
import { liveSink, toJson, toMermaid } from '../../../src/trace/output.js';

const A = { name: 'A.run()', location: 'a.py', layer: 'a', service: 'nova-api' } as const;
const B = { name: 'B.call()', location: 'b.c', layer: 'b', service: 'libvirtd' } as const;

let stops: (() => void)[] = [];
function record(): Span[] {
  const spans: Span[] = [];
  stops.push(tracer.addSink({ start: (s) => spans.push(s) }));
  return spans;
}
afterEach(() => {
  for (const s of stops) s();
  stops = [];
});

describe('traced()', () => {
  it('is a plain call when tracing is off: no span, no attributes evaluated', async () => {
    expect(tracer.active).toBe(false);
    let evaluated = false;
    const r = await traced(A, async () => tracer.currentSpan(), () => {
      evaluated = true;
      return {};
    });
    expect(r).toBeUndefined();
    expect(evaluated).toBe(false);
  });

  it('nests spans across awaits and timers, with results and durations', async () => {
    const spans = record();
    await traced(
      A,
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        return traced(B, () => 42, () => ({ flags: 'COPY|REUSE_EXT' }));
      },
      () => ({ id: 'x' }),
    );
    expect(spans.map((s) => [s.name, s.parent, s.depth, s.service, s.status])).toEqual([
      ['A.run()', null, 0, 'nova-api', 'ok'],
      ['B.call()', spans[0].id, 1, 'libvirtd', 'ok'],
    ]);
    expect(spans[1].result).toBe(42);
    expect(spans[1].attributes).toEqual({ flags: 'COPY|REUSE_EXT' });
    expect(spans[0].duration).toBeGreaterThanOrEqual(4);
  });

  it('records the exception a span raised and rethrows it', async () => {
    const spans = record();
    class InvalidVolume extends Error {
      kind = 'InvalidVolume';
    }
    await expect(traced(A, async () => traced(B, () => {
      throw new InvalidVolume('New volume must be detached in order to swap.');
    }))).rejects.toThrow('detached');
    expect(spans.map((s) => [s.status, s.error?.type])).toEqual([
      ['error', 'InvalidVolume'],
      ['error', 'InvalidVolume'],
    ]);
  });

  it('records the branches taken on the span that took them', async () => {
    const spans = record();
    await traced(A, async () => {
      traceEvent('except Exception:', () => ({ rollback: 'roll_detaching(old)' }));
    });
    expect(spans[0].events).toEqual([expect.objectContaining({ name: 'except Exception:', attributes: { rollback: 'roll_detaching(old)' } })]);
  });

  it('tracedChain nests a binding over the C function it calls', () => {
    const spans = record();
    expect(tracedChain([A, B], () => 'ok')).toBe('ok');
    expect(spans.map((s) => s.name)).toEqual(['A.run()', 'B.call()']);
    expect(spans[1].parent).toBe(spans[0].id);
    // one call: the inner span says so, the outer one is the function that ran
    expect(spans.map((s) => s.sameCallAs)).toEqual([undefined, spans[0].id]);
    expect(JSON.parse(toJson(spans, ['x'])).spans.map((s: { sameCallAs?: number }) => s.sameCallAs)).toEqual([undefined, spans[0].id]);
  });

  it('traced() spans are functions of their own (no sameCallAs), even nested', () => {
    const spans = record();
    traced(A, () => traced(B, () => 1));
    expect(spans.map((s) => s.sameCallAs)).toEqual([undefined, undefined]);
  });

  it('a detached span (a delivered cast) keeps its cause as parent but starts at depth 0', async () => {
    const spans = record();
    let later: Promise<unknown> = Promise.resolve();
    traced(A, () => traced(B, () => {
      later = new Promise((r) => setImmediate(r)).then(() => tracer.run({ ...A, name: 'dispatch()', kind: 'rpc-dispatch' }, () => 1, undefined, undefined, { detached: true }));
    }));
    await later;
    const d = spans.find((s) => s.name === 'dispatch()')!;
    expect(d.parent).toBe(spans[1].id);
    expect(d.depth).toBe(0);
  });

  it('an instant (a QMP event) attaches to what is still running', async () => {
    const spans = record();
    let emit!: () => void;
    traced(A, () => {
      emit = () => tracer.instant({ name: 'QMP event BLOCK_JOB_READY', location: 'q', layer: 'qemu', service: 'qemu' }, { event: '{}' });
    });
    await traced(B, async () => {
      await new Promise((r) => setTimeout(r, 1));
      emit(); // emitted from A's (finished) async context, while B runs
    });
    const ev = spans.find((s) => s.kind === 'event')!;
    expect(ev.parent).toBe(spans.find((s) => s.name === 'B.call()')!.id);
  });
});

describe('instrument()', () => {
  class Dev {
    constructor(readonly disk: string) {}
    async rebase(base: string, flags: number): Promise<number> {
      return flags + base.length;
    }
  }
  instrument(Dev.prototype, 'rebase', { name: 'BlockDevice.rebase()', location: 'guest.py', layer: 'nova' }, function (this: Dev, base: string, flags: number) {
    return { disk: this.disk, base, flags };
  });

  it('wraps the method: same result, a span with the arguments when tracing', async () => {
    expect(await new Dev('vdb').rebase('/x', 8)).toBe(10);
    const spans = record();
    expect(await new Dev('vdb').rebase('/x', 8)).toBe(10);
    expect(spans[0]).toMatchObject({ name: 'BlockDevice.rebase()', attributes: { disk: 'vdb', base: '/x', flags: 8 }, result: 10 });
    expect(Dev.prototype.rebase.name).toBe('rebase');
  });
});

describe('outputs', () => {
  async function sample(): Promise<Span[]> {
    const spans = record();
    await traced({ name: 'do_volume_update()', location: 'novaclient/v2/shell.py', layer: 'novaclient', service: 'novaclient' }, async () => {
      await traced({ name: 'Resource.__call__()', location: 'nova/api/openstack/wsgi.py', layer: 'nova', service: 'nova-api', kind: 'http-server' }, async () => 202, () => ({ method: 'PUT', path: '/v2.1/servers/x' }));
    });
    return spans;
  }

  it('live: a leaf is one line; a span with children opens and closes; indentation by depth', async () => {
    const lines: string[] = [];
    stops.push(tracer.addSink(liveSink((t) => lines.push(t))));
    await sample();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^trace +\+\d\.\d{3}s novaclient +→ do_volume_update\(\) @novaclient\/v2\/shell\.py\n$/);
    expect(lines[1]).toMatch(/nova-api {6}  → Resource\.__call__\(\) @nova\/api\/openstack\/wsgi\.py PUT \/v2\.1\/servers\/x ⇒ 202 \(\d+\.\d ms\)\n$/);
    expect(lines[2]).toMatch(/novaclient {4}← do_volume_update\(\) \(/);
  });

  it('json: one span per step with name, location, layer, service, start, duration, attributes, parent, status', async () => {
    const doc = JSON.parse(toJson(await sample(), ['nova', 'volume-update']));
    expect(doc.format).toBe('novasim-trace');
    expect(doc.spans).toHaveLength(2);
    for (const s of doc.spans) {
      for (const k of ['id', 'name', 'location', 'layer', 'service', 'start', 'duration', 'attributes', 'parent', 'status']) expect(s).toHaveProperty(k);
    }
    expect(doc.spans[1].parent).toBe(doc.spans[0].id);
  });

  it('mermaid: participants, then one arrow per crossing and its return', async () => {
    const text = toMermaid(await sample());
    expect(text.split('\n').slice(0, 7)).toEqual([
      'sequenceDiagram',
      '    participant NC as novaclient',
      '    participant API as nova-api',
      '    participant CMP as nova-compute',
      '    participant CIN as cinder',
      '    participant LV as libvirt',
      '    participant QEMU as qemu',
    ]);
    expect(text).toContain('    NC->>API: PUT /v2.1/servers/x\n    API-->>NC: 202\n');
  });
});
