// The shape every Nova API controller action has here.
import type { RequestContext } from '../../common/context.js';
import type { HttpResponse } from '../../http/types.js';
import type { ApiVersion } from './wsgi.js';

export interface ApiCall {
  ctx: RequestContext;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** e.g. http://127.0.0.1:8774/v2.1 */
  base: string;
  version: ApiVersion;
}

export type Action = (call: ApiCall) => Promise<HttpResponse>;
