// The JSON request/response plumbing Nova and Cinder share (nova/api/openstack/wsgi.py).
import type { HttpResponse } from './types.js';

/** webob.exc.HTTP* with an explanation: becomes {"<faultName>": {"code", "message"}} */
export class HttpFault extends Error {
  constructor(readonly status: number, readonly explanation: string) {
    super(explanation);
    this.name = 'HttpFault';
  }
}

const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

export function faultName(status: number): string {
  return FAULT_NAMES[status] ?? 'computeFault';
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return jsonText(status, JSON.stringify(body), headers);
}

/** jsonResponse(status, { [key]: items }) for a long list, each item serialised as it is made
 * (JSON.stringify of each, the same text): neither the items' objects nor thousands of small
 * strings are held until the end, only chunks of text large enough for V8 to keep them outside
 * the young generation (no copying by each scavenge) */
export class JsonListBody {
  private chunks: string[] = [];
  private pending: string[] = [];
  /** the UTF-8 bytes of the chunks, counted as each is made (a count over the whole body
   * would walk thirty megabytes again) */
  private bytes = 0;

  constructor(private readonly key: string) {}

  push(item: unknown): void {
    this.pending.push(JSON.stringify(item));
    if (this.pending.length === 256) this.flush();
  }

  private flush(): void {
    if (!this.pending.length) return;
    const chunk = this.pending.join(',');
    this.bytes += Buffer.byteLength(chunk);
    this.chunks.push(chunk);
    this.pending = [];
  }

  response(status: number): HttpResponse {
    this.flush();
    const head = `{${JSON.stringify(this.key)}:[`;
    // one join makes one flat string (a concatenation around it would make the reader's
    // JSON.parse copy all of it again)
    const parts = this.chunks.length ? this.chunks : [''];
    parts[0] = head + parts[0];
    parts[parts.length - 1] += ']}';
    const text = parts.join(',');
    const length = Buffer.byteLength(head) + this.bytes + Math.max(0, this.chunks.length - 1) + 2;
    this.chunks = [];
    return { status, headers: { 'Content-Type': 'application/json', 'Content-Length': String(length) }, body: text };
  }
}

function jsonText(status: number, text: string, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers },
    body: text,
  };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'Content-Length': '0', ...headers }, body: '' };
}

export function faultResponse(status: number, message: string, headers: Record<string, string> = {}): HttpResponse {
  return jsonResponse(status, { [faultName(status)]: { code: status, message } }, headers);
}

/** Parses a JSON request body the way Nova does: invalid JSON is "Malformed request body". */
export function parseJsonBody(body: string | undefined): unknown {
  if (body === undefined || body === '') return null;
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpFault(400, 'Malformed request body');
  }
}

export function httpDate(d: Date = new Date()): string {
  return d.toUTCString();
}

/** webob's HTTPInternalServerError explanation: what Nova's FaultWrapper and Cinder's answer to
 * an unexpected error */
export const WEBOB_500 = 'The server has either erred or is incapable of performing the requested operation.';
