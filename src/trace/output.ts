// What `nova --trace`, `--trace-file FILE --trace-format json|mermaid` make of the spans:
// a live, indented call chain on stderr while the request runs, and at the end a JSON
// document (one span per step) or a mermaid sequenceDiagram between the services.
// Loaded only when one of those options is given.
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { CommandError } from '../common/errors.js';
import { strerror } from '../common/strerror.js';
import { tracer, type Span, type SpanEvent, type TraceSink } from './tracer.js';

export type TraceFormat = 'json' | 'mermaid';
export const TRACE_FORMATS: readonly TraceFormat[] = ['json', 'mermaid'];

// ---------------------------------------------------------------- live text

const BARE_KEYS = new Set(['method', 'url', 'path', 'command', 'event']);

function fmtValue(v: unknown, max = 160): string {
  let s: string;
  // plain words and JSON text as they are; anything else quoted
  if (typeof v === 'string') s = (/^[\w.:/@|+-]*$/.test(v) && v !== '') || /^[[{]/.test(v) ? v : JSON.stringify(v);
  else if (v === undefined) s = 'undefined';
  else s = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function fmtAttrs(attrs: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (BARE_KEYS.has(k) && typeof v === 'string') parts.push(v);
    else parts.push(`${k}=${fmtValue(v)}`);
  }
  return parts.join(' ');
}

function fmtMs(ms: number | null): string {
  if (ms === null) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

function outcome(span: Span): string {
  if (span.status === 'error' && span.error) return `✗ raised ${span.error.type}: ${span.error.message}`;
  if (span.result === undefined) return '';
  return `⇒ ${typeof span.result === 'string' ? fmtValue(span.result).replace(/^"(.*)"$/, '$1') : fmtValue(span.result)}`;
}

/**
 * The live printer: one line when a span starts (→ name @location key=value …) and one when
 * it ends (← name ⇒ result (duration)); a span that ends before anything else is printed
 * gets both on one line. Every line starts with "trace", the time since the trace began and
 * the service the code runs in, so it stays apart from the progress lines on stderr.
 */
export function liveSink(write: (line: string) => void, opts: { flushAfterMs?: number } = {}): TraceSink & { close(): void } {
  const t0 = performance.timeOrigin + performance.now();
  let pending: Span | null = null;
  let timer: NodeJS.Timeout | null = null;
  const flushAfter = opts.flushAfterMs ?? 150;
  const prefix = (time: number, span: Span, depth: number): string =>
    `trace ${`+${((time - t0) / 1000).toFixed(3)}s`.padStart(9)} ${span.service.padEnd(13)} ${'  '.repeat(depth)}`;
  const head = (span: Span): string => {
    const a = fmtAttrs(span.attributes);
    return `→ ${span.name} @${span.location}${a ? ` ${a}` : ''}`;
  };
  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (!pending) return;
    const p = pending;
    pending = null;
    write(`${prefix(p.start, p, p.depth)}${head(p)}\n`);
  };
  return {
    start(span) {
      flush();
      if (span.kind === 'rpc-dispatch') {
        write(`trace ${''.padStart(9)} ${'-'.repeat(13)} ${`RPC cast ${String(span.attributes.method)} crosses from nova-api to nova-compute (${String(span.attributes.target)})`}\n`);
      }
      if (span.kind === 'event') {
        write(`${prefix(span.start, span, span.depth)}⇠ ${span.name} @${span.location} ${fmtAttrs(span.attributes)}\n`);
        return;
      }
      pending = span;
      timer = setTimeout(flush, flushAfter);
      timer.unref();
    },
    end(span) {
      if (span.kind === 'event') return;
      const end = span.start + (span.duration ?? 0);
      const o = outcome(span);
      if (pending === span) {
        pending = null;
        if (timer) clearTimeout(timer);
        timer = null;
        write(`${prefix(span.start, span, span.depth)}${head(span)}${o ? ` ${o}` : ''} (${fmtMs(span.duration)})\n`);
        return;
      }
      flush();
      write(`${prefix(end, span, span.depth)}← ${span.name}${o ? ` ${o}` : ''} (${fmtMs(span.duration)})\n`);
    },
    event(span, ev: SpanEvent) {
      flush();
      const a = fmtAttrs(ev.attributes);
      write(`${prefix(ev.time, span, span.depth + 1)}• ${ev.name}${a ? ` ${a}` : ''}\n`);
    },
    close: flush,
  };
}

// ---------------------------------------------------------------- JSON

export interface TraceDocument {
  format: 'novasim-trace';
  version: 1;
  command: string[];
  /** epoch milliseconds of the first span */
  start: number | null;
  spans: ReturnType<typeof spanJson>[];
}

function spanJson(s: Span) {
  return {
    id: s.id,
    parent: s.parent,
    name: s.name,
    location: s.location,
    layer: s.layer,
    service: s.service,
    kind: s.kind,
    start: Math.round(s.start * 1000) / 1000,
    duration: s.duration === null ? null : Math.round(s.duration * 1000) / 1000,
    attributes: s.attributes,
    status: s.status,
    ...(s.sameCallAs !== undefined ? { sameCallAs: s.sameCallAs } : {}),
    ...(s.result !== undefined ? { result: s.result } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...(s.events.length ? { events: s.events.map((e) => ({ ...e, time: Math.round(e.time * 1000) / 1000 })) } : {}),
  };
}

export function toJson(spans: Span[], command: string[]): string {
  const doc: TraceDocument = {
    format: 'novasim-trace',
    version: 1,
    command,
    start: spans.length ? Math.round(spans[0].start * 1000) / 1000 : null,
    spans: spans.map(spanJson),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

// ---------------------------------------------------------------- mermaid

/** the participants of the diagram, in order, and the services each stands for */
export const PARTICIPANTS = [
  { id: 'NC', label: 'novaclient', services: ['novaclient'] },
  { id: 'API', label: 'nova-api', services: ['nova-api'] },
  { id: 'CMP', label: 'nova-compute', services: ['nova-compute'] },
  { id: 'CIN', label: 'cinder', services: ['cinder-api', 'cinder-volume'] },
  { id: 'LV', label: 'libvirt', services: ['libvirtd'] },
  { id: 'QEMU', label: 'qemu', services: ['qemu'] },
] as const;

function participant(service: string): string {
  return PARTICIPANTS.find((p) => (p.services as readonly string[]).includes(service))?.id ?? 'NC';
}

function mermaidText(s: string, max = 90): string {
  const t = s.length > max ? `${s.slice(0, max)}…` : s;
  return t.replace(/#/g, '#35;').replace(/;/g, '#59;').replace(/</g, '#lt;').replace(/>/g, '#gt;').replace(/[\r\n]+/g, ' ');
}

function shortId(s: string): string {
  return s.replace(/([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '$1…').replace(/\b([0-9a-f]{8})[0-9a-f]{24}\b/g, '$1…');
}

function callLabel(s: Span): string {
  const a = s.attributes;
  switch (s.kind) {
    case 'http-server':
      return shortId(`${String(a.method)} ${String(a.path)}${a.action ? ` ${String(a.action)}` : ''}`);
    case 'rpc-dispatch':
      return `cast ${String(a.method)} (${String(a.target)})`;
    case 'qmp': {
      const c = parseJson(a.command) as { execute?: string; arguments?: unknown } | undefined;
      return shortId(c?.execute ? `${c.execute}${c.arguments ? ` ${JSON.stringify(c.arguments)}` : ''}` : String(a.command));
    }
    case 'event': {
      const e = parseJson(a.event) as { event?: string; data?: unknown } | undefined;
      return e?.event ? `${e.event}${e.data ? ` ${JSON.stringify(e.data)}` : ''}` : s.name;
    }
    default: {
      const args = fmtAttrs(a);
      return shortId(`${s.name.replace(/\(\)$/, '')}(${args})`);
    }
  }
}

function parseJson(v: unknown): unknown {
  try {
    return typeof v === 'string' ? JSON.parse(v) : undefined;
  } catch {
    return undefined;
  }
}

function returnLabel(s: Span): string {
  if (s.status === 'error' && s.error) return `raised ${s.error.type}`;
  if (s.kind === 'qmp') {
    const r = parseJson(s.result) as { return?: unknown; error?: { class: string; desc: string } } | undefined;
    if (r?.error) return `error ${r.error.class}: ${r.error.desc}`;
    if (r && 'return' in r) return shortId(`return ${JSON.stringify(r.return)}`);
    // a long reply was cut short in the span: show its start
    if (typeof s.result === 'string' && s.result.startsWith('{"return":')) return `return ${s.result.slice('{"return":'.length)}`;
  }
  if (s.kind === 'http-server') return String(s.result ?? '').split(' ')[0];
  if (s.result === undefined) return 'return';
  return shortId(fmtValue(s.result, 60));
}

export function toMermaid(spans: Span[]): string {
  const byId = new Map(spans.map((s) => [s.id, s]));
  const items: { t: number; seq: number; line: string }[] = [];
  let seq = 0;
  for (const s of spans) {
    const parent = s.parent === null ? undefined : byId.get(s.parent);
    const to = participant(s.service);
    if (s.kind === 'event') {
      // QEMU's events go to the monitor libvirtd listens on
      if (to !== 'LV') items.push({ t: s.start, seq: seq++, line: `${to}--)LV: ${mermaidText(callLabel(s))}` });
      continue;
    }
    const from = parent ? participant(parent.service) : 'NC';
    const end = s.start + (s.duration ?? 0);
    if (from !== to) {
      const async = s.kind === 'rpc-dispatch';
      items.push({ t: s.start, seq: seq++, line: `${from}${async ? '-)' : '->>'}${to}: ${mermaidText(callLabel(s))}` });
      if (!async) items.push({ t: end, seq: seq++, line: `${to}-->>${from}: ${mermaidText(returnLabel(s))}` });
    }
    for (const ev of s.events) {
      const a = fmtAttrs(ev.attributes);
      items.push({ t: ev.time, seq: seq++, line: `Note over ${to}: ${mermaidText(shortId(`${s.name} ${ev.name}${a ? ` ${a}` : ''}`), 120)}` });
    }
  }
  items.sort((a, b) => a.t - b.t || a.seq - b.seq);
  const lines = ['sequenceDiagram', ...PARTICIPANTS.map((p) => `    participant ${p.id} as ${p.label}`), ...items.map((i) => `    ${i.line}`)];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- the CLI's switch

export interface TraceOptions {
  /** --trace: where the live lines go */
  live?: (text: string) => void;
  /** --trace-file */
  file?: string | null;
  format?: TraceFormat;
  /** argv, recorded in the JSON document */
  command?: string[];
}

/** Turns tracing on for the rest of this command; finish() turns it off and writes the file. */
export function startTrace(opts: TraceOptions): { spans: Span[]; finish(): void } {
  // the file is opened before the command runs: a path that cannot be written refuses the
  // command in one line instead of failing after it has changed the world
  let fd = -1;
  if (opts.file) {
    try {
      fd = openSync(opts.file, 'w');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new CommandError(`cannot write the trace to ${opts.file}: ${strerror(code)} (${code})`);
    }
  }
  const spans: Span[] = [];
  const live = opts.live ? liveSink(opts.live) : null;
  const removers = [tracer.addSink({ start: (s) => spans.push(s) })];
  if (live) removers.push(tracer.addSink(live));
  let done = false;
  return {
    spans,
    finish() {
      if (done) return;
      done = true;
      live?.close();
      for (const r of removers) r();
      if (fd >= 0) {
        const text = opts.format === 'mermaid' ? toMermaid(spans) : toJson(spans, opts.command ?? []);
        try {
          writeFileSync(fd, text);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
          throw new CommandError(`cannot write the trace to ${opts.file}: ${strerror(code)} (${code})`);
        } finally {
          closeSync(fd);
        }
      }
    },
  };
}
