// Routes.Mapper in miniature: method + path template → controller action.
import type { HttpRequest } from './types.js';

export interface RouteMatch<H> {
  handler: H;
  params: Record<string, string>;
}

interface Route<H> {
  method: string;
  parts: string[];
  handler: H;
}

export class Router<H> {
  private routes: Route<H>[] = [];

  add(method: string, template: string, handler: H): this {
    this.routes.push({ method, parts: template.split('/').filter(Boolean), handler });
    return this;
  }

  /** 'method-not-allowed' when the path exists for another method */
  match(method: string, path: string): RouteMatch<H> | 'not-found' | 'method-not-allowed' {
    // a malformed %-escape is kept as it is (webob does not decode it either): it matches no id
    const segs = path.split('/').filter(Boolean).map(decodeSegment);
    let pathMatched = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i];
        if (p.startsWith(':')) params[p.slice(1)] = segs[i];
        else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method) return { handler: r.handler, params };
    }
    return pathMatched ? 'method-not-allowed' : 'not-found';
  }
}

export function splitUrl(req: HttpRequest): { origin: string; path: string; query: URLSearchParams } {
  const u = new URL(req.url);
  return { origin: u.origin, path: u.pathname, query: u.searchParams };
}

/** one path segment, %-decoded where the escapes are well-formed */
function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}
