// The tracer behind `nova --trace`: every layer boundary on the swap path runs its work
// inside traced(spec, fn), which records a span (name and location as upstream names them,
// layer, service, start, duration, attributes, parent, status) when tracing is on and is a
// plain call when it is off. The current span flows through AsyncLocalStorage the way the
// request context does (src/common/context.ts), so a libvirt call made by nova-compute on a
// cast nests under the cast without anyone passing spans around.
//
// This module is imported by the instrumented layers and must stay tiny; the printers
// (live text, JSON, mermaid) are in src/trace/output.ts and load only with --trace.
import { AsyncLocalStorage } from 'node:async_hooks';

/** the processes of the embedded cloud a span can run in */
export type Service = 'novaclient' | 'nova-api' | 'nova-compute' | 'cinder-api' | 'cinder-volume' | 'libvirtd' | 'qemu';

export type SpanKind =
  /** a function call (the default) */
  | 'call'
  /** an HTTP request as the client sends it, and its response */
  | 'http-client'
  /** the service side of an HTTP request (the WSGI application) */
  | 'http-server'
  /** an RPC cast leaving nova-api */
  | 'rpc-cast'
  /** the cast delivered to nova-compute: a new line of work, caused by the cast */
  | 'rpc-dispatch'
  /** a QMP command libvirt sends to QEMU, with QEMU's reply */
  | 'qmp'
  /** something that happened without being called: a QMP event */
  | 'event';

export interface SpanSpec {
  /** as upstream names it: 'API.swap_volume()', 'qemuDomainBlockCopyCommon()' */
  readonly name: string;
  /** upstream's file: 'nova/compute/api.py', 'src/qemu/qemu_driver.c' */
  readonly location: string;
  /** the project/library the code belongs to: novaclient, nova, cinder, libvirt-python, libvirt, qemu … */
  readonly layer: string;
  /** the process it runs in; inherited from the parent span when absent */
  readonly service?: Service;
  readonly kind?: SpanKind;
}

export interface SpanEvent {
  name: string;
  /** epoch milliseconds */
  time: number;
  attributes: Record<string, unknown>;
}

export interface Span {
  id: number;
  /** the span that caused this one (for a delivered cast: the cast) */
  parent: number | null;
  name: string;
  location: string;
  layer: string;
  service: string;
  kind: SpanKind;
  /** epoch milliseconds, sub-millisecond precision */
  start: number;
  /** milliseconds; null while running */
  duration: number | null;
  attributes: Record<string, unknown>;
  status: 'running' | 'ok' | 'error';
  /** a short rendering of what the function returned */
  result?: unknown;
  error?: { type: string; message: string };
  /** branches taken (except/finally) and what they did */
  events: SpanEvent[];
  /** nesting for display: a dispatched cast starts a new line of work at 0 */
  depth: number;
  /** set on the inner spans of tracedChain: one function here stands for several upstream
   * frames (a binding over the C function it calls), and this is the id of the outermost
   * span of that one call. A span without it is a function of its own. */
  sameCallAs?: number;
}

export interface TraceSink {
  start?(span: Span): void;
  end?(span: Span): void;
  event?(span: Span, ev: SpanEvent): void;
}

const now = (): number => performance.timeOrigin + performance.now();

export type Attrs = Record<string, unknown>;

/** summarise a return value for the trace: primitives as they are, data as short JSON */
export function summarize(v: unknown, max = 200): unknown {
  if (v === undefined) return undefined;
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > max ? `${v.slice(0, max)}…` : v;
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return undefined;
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    return String(v);
  }
  if (s === undefined) return undefined;
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function errorOf(err: unknown): { type: string; message: string } {
  if (err instanceof Error) {
    const kind = (err as { kind?: unknown }).kind;
    return { type: typeof kind === 'string' ? kind : err.name || 'Error', message: err.message };
  }
  return { type: 'Exception', message: String(err) };
}

export class Tracer {
  /** false: traced() is a plain call and nothing is recorded */
  active = false;
  private readonly sinks = new Set<TraceSink>();
  private readonly current = new AsyncLocalStorage<Span>();
  private readonly open: Span[] = [];
  private nextId = 1;

  /** start recording into `sink`; returns the function that stops it */
  addSink(sink: TraceSink): () => void {
    this.sinks.add(sink);
    this.active = true;
    return () => {
      this.sinks.delete(sink);
      this.active = this.sinks.size > 0;
    };
  }

  currentSpan(): Span | undefined {
    return this.current.getStore();
  }

  private begin(spec: SpanSpec, attrs: Attrs, parentOverride?: Span | null, depthReset = false): Span {
    const parent = parentOverride === undefined ? this.current.getStore() : (parentOverride ?? undefined);
    const kind = spec.kind ?? 'call';
    const span: Span = {
      id: this.nextId++,
      parent: parent ? parent.id : null,
      name: spec.name,
      location: spec.location,
      layer: spec.layer,
      service: spec.service ?? parent?.service ?? 'novaclient',
      kind,
      start: now(),
      duration: null,
      attributes: attrs,
      status: 'running',
      events: [],
      depth: parent && !depthReset ? parent.depth + 1 : 0,
    };
    this.open.push(span);
    for (const s of this.sinks) s.start?.(span);
    return span;
  }

  private finish(span: Span, err?: unknown, hasError = false): void {
    if (span.status !== 'running') return;
    span.duration = now() - span.start;
    if (hasError) {
      span.status = 'error';
      span.error = errorOf(err);
    } else span.status = 'ok';
    const i = this.open.lastIndexOf(span);
    if (i >= 0) this.open.splice(i, 1);
    for (const s of this.sinks) s.end?.(span);
  }

  /**
   * Runs fn inside a new span (the child of the current one). `attrs` is evaluated only
   * when tracing is on; `result` turns what fn returned into what the trace shows
   * (default: summarize). Works for synchronous functions and for promises.
   */
  run<T>(spec: SpanSpec, fn: () => T, attrs?: () => Attrs, result?: (r: Awaited<T>) => unknown, opts?: { parent?: Span | null; detached?: boolean; sameCallAs?: number }): T {
    const span = this.begin(spec, attrs ? attrs() : {}, opts?.parent, opts?.detached);
    if (opts?.sameCallAs !== undefined) span.sameCallAs = opts.sameCallAs;
    let out: T;
    try {
      out = this.current.run(span, fn);
    } catch (err) {
      this.finish(span, err, true);
      throw err;
    }
    if (out instanceof Promise) {
      return out.then(
        (v: Awaited<T>) => {
          span.result = summarize(result ? result(v) : v);
          this.finish(span);
          return v;
        },
        (err: unknown) => {
          this.finish(span, err, true);
          throw err;
        },
      ) as T;
    }
    span.result = summarize(result ? result(out as Awaited<T>) : out);
    this.finish(span);
    return out;
  }

  /** attributes learnt while the span runs (a response status, a decoded reply) */
  set(attrs: Attrs): void {
    const span = this.current.getStore();
    if (span) Object.assign(span.attributes, attrs);
  }

  /** a branch taken inside the current span: `except Exception:`, `finally:` … */
  event(name: string, attrs: Attrs = {}): void {
    const span = this.current.getStore();
    if (!span) return;
    const ev: SpanEvent = { name, time: now(), attributes: attrs };
    span.events.push(ev);
    for (const s of this.sinks) s.event?.(span, ev);
  }

  /** Something that happened rather than was called (a QMP event): a span of no
   * duration under whatever is running now — the span in this async context if it is
   * still open, else the latest one opened (the event arrives on the emitter's stack). */
  instant(spec: SpanSpec, attrs: Attrs): void {
    let parent = this.current.getStore();
    if (!parent || parent.status !== 'running') parent = this.open[this.open.length - 1];
    const span = this.begin({ ...spec, kind: spec.kind ?? 'event' }, attrs, parent ?? null);
    this.finish(span);
  }
}

/** the one tracer of this process */
export const tracer = new Tracer();

/** traced(spec, fn, attrs?, result?): fn inside a span when tracing is on; a plain call when off */
export function traced<T>(spec: SpanSpec, fn: () => T, attrs?: () => Attrs, result?: (r: Awaited<T>) => unknown): T {
  if (!tracer.active) return fn();
  return tracer.run(spec, fn, attrs, result);
}

/** traced() with nested spans over one call: a binding and the driver function it reaches
 * (virDomain.blockJobInfo → qemuDomainGetBlockJobInfo) are one function here, so the inner
 * spans carry `sameCallAs` and are never counted as functions that ran */
export function tracedChain<T>(specs: readonly SpanSpec[], fn: () => T, attrs?: () => Attrs, result?: (r: Awaited<T>) => unknown): T {
  if (!tracer.active) return fn();
  let run = fn;
  for (let i = specs.length - 1; i >= 0; i--) {
    const inner = run;
    const spec = specs[i];
    // the inner spans run inside the outer one: they name the outermost as the same call
    run =
      i === 0
        ? () => tracer.run(spec, inner, attrs, result)
        : () => {
            const outer = tracer.currentSpan();
            return tracer.run(spec, inner, attrs, result, outer ? { sameCallAs: outer.sameCallAs ?? outer.id } : undefined);
          };
  }
  return run();
}

/** a branch taken (except/finally) and what it rolls back, recorded on the current span */
export function traceEvent(name: string, attrs?: () => Attrs): void {
  if (tracer.active) tracer.event(name, attrs ? attrs() : {});
}

/** the names of T's methods (its own, public ones: the compiler checks each name given) */
type MethodName<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T] & string;
type Args<F> = F extends (...args: infer A) => unknown ? A : never;
type Result<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/**
 * Wraps a method of a class (or of an object of functions) in spans, once, where it is
 * defined: the upstream function the method models becomes a span whenever tracing is on.
 * The method is named as a key of the object, so the compiler checks it, and `attrs` and
 * `result` get its own argument and result types. `specs` may depend on the arguments (a QMP
 * command is named after its QEMU handler); several specs nest (a python-libvirt binding
 * over the C function it calls). When tracing is off the wrapper is one boolean test and the
 * original call.
 */
export function instrument<T extends object, K extends MethodName<T>>(
  proto: T,
  method: K,
  specs: SpanSpec | readonly SpanSpec[] | ((...args: Args<T[K]>) => SpanSpec),
  attrs?: (this: T, ...args: Args<T[K]>) => Attrs,
  result?: (r: Result<T[K]>) => unknown,
): void {
  const target = proto as unknown as Record<string, (this: T, ...args: Args<T[K]>) => unknown>;
  const orig = target[method];
  if (typeof orig !== 'function') throw new Error(`instrument: no method ${method}`);
  const wrapped = function (this: T, ...args: Args<T[K]>): unknown {
    if (!tracer.active) return orig.apply(this, args);
    const list = typeof specs === 'function' ? [specs(...args)] : Array.isArray(specs) ? (specs as readonly SpanSpec[]) : [specs as SpanSpec];
    return tracedChain(list, () => orig.apply(this, args), attrs ? () => attrs.apply(this, args) : undefined, result as ((r: unknown) => unknown) | undefined);
  };
  Object.defineProperty(wrapped, 'name', { value: orig.name });
  target[method] = wrapped;
}
