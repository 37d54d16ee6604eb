// nova.context.RequestContext: who is asking, for which project, under which request id.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  requestId: string;
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  roles: string[];
  isAdmin: boolean;
}

export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

/** RequestContext.elevated(): the same request with admin rights (the compute manager uses it). */
export function elevated(ctx: RequestContext): RequestContext {
  return { ...ctx, isAdmin: true, roles: ctx.roles.includes('admin') ? ctx.roles : [...ctx.roles, 'admin'] };
}

/** The request being served: the API and the RPC dispatcher run their work inside it, so
 * every layer underneath (libvirt, QEMU) logs with the request id without being handed it,
 * the way oslo.context's thread-local store works. */
export const currentContext = new AsyncLocalStorage<RequestContext>();
