// nova.context.RequestContext: who is asking, for which project, under which request id.
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
