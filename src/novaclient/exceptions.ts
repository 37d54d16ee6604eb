// novaclient.exceptions: one class per HTTP status (from_response), plus the shell's
// CommandError. The CLI prints every one as "ERROR (<class>): <str(exc)>".

export class CommandError extends Error {
  override name = 'CommandError';
}

/** utils.find_resource without wrap_exception */
export class NoUniqueMatch extends Error {
  override name = 'NoUniqueMatch';
}

export class UnsupportedVersion extends Error {
  override name = 'UnsupportedVersion';
}

/** Ctrl-C: Python's KeyboardInterrupt, which novaclient's main() turns into exit 130 */
export class KeyboardInterrupt extends Error {
  override name = 'KeyboardInterrupt';
}

export class ClientException extends Error {
  static defaultMessage = 'Unknown Error';
  override name = 'ClientException';
  readonly code: number;
  readonly details: unknown;
  readonly requestId: string | null;
  readonly url?: string;
  readonly method?: string;
  /** the bare message; Error.message carries the formatted str() */
  readonly text: string;

  constructor(opts: { code: number; message?: string | null; details?: unknown; requestId?: string | null; url?: string; method?: string }) {
    const text = opts.message ?? (new.target as typeof ClientException).defaultMessage;
    let formatted = `${text} (HTTP ${opts.code})`;
    if (opts.requestId) formatted += ` (Request-ID: ${opts.requestId})`;
    super(formatted);
    this.text = text;
    this.code = opts.code;
    this.details = opts.details;
    this.requestId = opts.requestId ?? null;
    this.url = opts.url;
    this.method = opts.method;
  }
}

export class BadRequest extends ClientException {
  static override defaultMessage = 'Bad request';
  override name = 'BadRequest';
}
export class Unauthorized extends ClientException {
  static override defaultMessage = 'Unauthorized';
  override name = 'Unauthorized';
}
export class Forbidden extends ClientException {
  static override defaultMessage = 'Forbidden';
  override name = 'Forbidden';
}
export class NotFound extends ClientException {
  static override defaultMessage = 'Not found';
  override name = 'NotFound';
}
export class MethodNotAllowed extends ClientException {
  static override defaultMessage = 'Method Not Allowed';
  override name = 'MethodNotAllowed';
}
export class NotAcceptable extends ClientException {
  static override defaultMessage = 'Not Acceptable';
  override name = 'NotAcceptable';
}
export class Conflict extends ClientException {
  static override defaultMessage = 'Conflict';
  override name = 'Conflict';
}
export class OverLimit extends ClientException {
  static override defaultMessage = 'Over limit';
  override name = 'OverLimit';
}
export class RateLimit extends ClientException {
  static override defaultMessage = 'Rate limit';
  override name = 'RateLimit';
}
export class HTTPNotImplemented extends ClientException {
  static override defaultMessage = 'Not Implemented';
  override name = 'HTTPNotImplemented';
}

const CODE_MAP: Record<number, typeof ClientException> = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  405: MethodNotAllowed,
  406: NotAcceptable,
  409: Conflict,
  413: OverLimit,
  429: RateLimit,
  501: HTTPNotImplemented,
};

function header(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** exceptions.from_response(response, body, url, method) */
export function fromResponse(
  resp: { status: number; headers: Record<string, string> },
  body: unknown,
  url: string,
  method: string,
): ClientException {
  const cls = CODE_MAP[resp.status] ?? ClientException;
  // Nova answers with x-compute-request-id, Cinder with x-openstack-request-id
  const requestId = header(resp.headers, 'x-compute-request-id') ?? header(resp.headers, 'x-openstack-request-id') ?? null;
  let message: string | undefined;
  let details: unknown;
  if (body) {
    message = 'n/a';
    details = 'n/a';
    if (typeof body === 'object' && !Array.isArray(body)) {
      const b = body as Record<string, unknown>;
      if ('message' in b) {
        message = String(b.message);
        details = b.details;
      } else {
        const first = b[Object.keys(b)[0]];
        if (first && typeof first === 'object') {
          const e = first as Record<string, unknown>;
          message = e.message === undefined || e.message === null ? undefined : String(e.message);
          details = e.details;
        }
      }
    }
  }
  return new cls({ code: resp.status, message, details, requestId, url, method });
}

export { header as getHeader };
