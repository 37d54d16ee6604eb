// Nova's and Cinder's noauth2 middleware: the token is "<user>:<project>"; there is no
// Keystone in the embedded cloud, so users and their roles come from the state.
import { newRequestId, type RequestContext } from './context.js';

/** What noauth2 needs of a user: the shape of the state's users (structurally), declared
 * here so that this floor does not reach up into the state's types. */
export interface AuthUser {
  id: string;
  name: string;
  defaultProject: string;
  projects: readonly { projectId: string; projectName: string; roles: string[] }[];
}

export function contextFromToken(token: string | undefined, users: readonly AuthUser[], requestId = newRequestId()): RequestContext | null {
  if (!token) return null;
  const [userPart, projectPart] = token.split(':');
  const user = users.find((u) => u.name === userPart || u.id === userPart);
  if (!user) return null;
  const wanted = projectPart || user.defaultProject;
  const project = user.projects.find((p) => p.projectName === wanted || p.projectId === wanted);
  if (!project) return null;
  return {
    requestId,
    userId: user.id,
    userName: user.name,
    projectId: project.projectId,
    projectName: project.projectName,
    roles: project.roles,
    isAdmin: project.roles.includes('admin'),
  };
}

/** The token a service passes on when it calls another service on the user's behalf. */
export function tokenFor(ctx: { userName: string; projectName: string }): string {
  return `${ctx.userName}:${ctx.projectName}`;
}

export function header(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
