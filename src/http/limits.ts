// Limits of the servers nova-api and cinder-api ran under in Mitaka, met before any code
// of the services runs.
//
// The request line: eventlet.wsgi reads it with readline(url_length_limit), 8192 bytes by
// default (neither API sets another), and answers a line that fills it with a bare
// "414 Request URI Too Long" (no body, no request id).
//
// How deep a JSON request body nests, found without parsing it. Nova and Cinder decode
// bodies with Python's json module, whose decoder recurses once per array or object: a
// body nested deeper than the interpreter's recursion limit (1000) fails to decode.
// Their APIs answer that with a 500; novasim answers it as the body their decoder cannot
// read, a 400 "Malformed request body", before any recursive code of ours sees it.

import type { HttpResponse } from './types.js';
import { HttpFault, parseJsonBody } from './wsgi.js';

/** eventlet.wsgi.MAX_REQUEST_LINE */
export const MAX_REQUEST_LINE = 8192;

/** True when "METHOD TARGET HTTP/1.1\r\n" does not fit in eventlet's readline */
export function requestLineTooLong(method: string, url: string): boolean {
  let target = url;
  try {
    const u = new URL(url);
    target = `${u.pathname}${u.search}`;
  } catch {
    // not an absolute URL: measure it as sent
  }
  return Buffer.byteLength(`${method} ${target} HTTP/1.1\r\n`) >= MAX_REQUEST_LINE;
}

/** the deepest nesting a request body may have (Python's default recursion limit) */
export const MAX_BODY_DEPTH = 1000;

/** True when the text opens more than `max` arrays or objects inside one another.
 * Brackets inside strings do not count; the text need not be valid JSON. */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** eventlet's answer to a request line too long: the status line and nothing else */
export function uriTooLongResponse(): HttpResponse {
  return { status: 414, headers: { 'Content-Length': '0', Connection: 'close' }, body: '' };
}

/** parseJsonBody, after refusing a body nested deeper than MAX_BODY_DEPTH */
export function parseBoundedJsonBody(body: string | undefined): unknown {
  if (body && nestedDeeperThan(body, MAX_BODY_DEPTH)) throw new HttpFault(400, 'Malformed request body');
  return parseJsonBody(body);
}
