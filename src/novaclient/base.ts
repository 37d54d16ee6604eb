// novaclient.base (Resource, Manager) and utils.find_resource: resources are the JSON
// dicts the API returned; lookups by name or ID follow find_resource's order exactly,
// because the requests it makes show up under --debug.
import { CommandError, NoUniqueMatch, NotFound } from './exceptions.js';

export type Info = Record<string, unknown>;

export class Resource {
  constructor(
    public info: Info,
    /** whether info came from a GET of the resource itself (not a brief listing) */
    public loaded = false,
  ) {}

  get id(): string {
    return String(this.info.id);
  }

  get name(): string {
    return String(this.info.name ?? '');
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.info, key);
  }

  attr(key: string): unknown {
    return this.info[key];
  }

  /** Resource._add_details after a lazy load */
  merge(more: Info): void {
    this.info = { ...this.info, ...more };
    this.loaded = true;
  }
}

/** body[response_key] as Manager._get reads it: a body without the key is Python's KeyError
 * (e.g. GET /flavors/ with an empty id answers the index) */
export function responseKey(body: unknown, key: string): Info {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw Object.assign(new Error(`'${key}'`), { name: 'KeyError' });
  return v as Info;
}

/** what find_resource needs from a manager */
export interface Findable<T extends Resource> {
  /** resource_class.__name__.lower(), for the error messages */
  readonly resourceName: string;
  /** flavors: IDs need not be UUIDs */
  readonly alphanumIdAllowed?: boolean;
  get(id: string): Promise<T>;
  /** manager.find(<NAME_ATTR>=value, **findArgs): every exact match */
  findByName(value: string, findArgs?: Record<string, unknown>): Promise<T[]>;
  /** manager.find(human_id=value): only for resources with HUMAN_ID */
  findByHumanId?(value: string, findArgs?: Record<string, unknown>): Promise<T[]>;
}

/** uuid.UUID(value) accepts it */
export function isUuidLike(value: string): boolean {
  const hex = value.replace('urn:', '').replace('uuid:', '').replace(/^[{}]+|[{}]+$/g, '').replace(/-/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex);
}

/** oslo strutils.to_slug */
export function toSlug(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[^\x00-\x7f]/g, '')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[-\s]+/g, '-');
}

/** a NotFound answer read as "no such resource" */
export async function orNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof NotFound) return undefined;
    throw e;
  }
}

/** the one match, or NoUniqueMatch */
export function single<T>(matches: T[]): T | undefined {
  if (matches.length > 1) throw new NoUniqueMatch();
  return matches[0];
}

/** utils.find_resource(manager, name_or_id, wrap_exception=True, **find_args): without
 * wrap_exception, NoUniqueMatch and NotFound (404) instead of CommandError */
export async function findResource<T extends Resource>(
  manager: Findable<T>,
  nameOrId: string,
  findArgs: Record<string, unknown> = {},
  wrapException = true,
): Promise<T> {
  if (manager.alphanumIdAllowed) {
    const r = await orNotFound(() => manager.get(nameOrId));
    if (r) return r;
  }
  if (isUuidLike(nameOrId)) {
    const r = await orNotFound(() => manager.get(nameOrId));
    if (r) return r;
  }
  try {
    const byName = single(await manager.findByName(nameOrId, findArgs));
    if (byName) return byName;
    if (manager.findByHumanId) {
      const byHuman = single(await manager.findByHumanId(nameOrId, findArgs));
      if (byHuman) return byHuman;
    }
  } catch (e) {
    if (e instanceof NoUniqueMatch) {
      const msg = `Multiple ${manager.resourceName} matches found for '${nameOrId}', use an ID to be more specific.`;
      throw wrapException ? new CommandError(msg) : new NoUniqueMatch(msg);
    }
    throw e;
  }
  // finally try to get entity as integer id
  if (/^\s*[+-]?\d+\s*$/.test(nameOrId)) {
    const r = await orNotFound(() => manager.get(String(Number.parseInt(nameOrId, 10))));
    if (r) return r;
  }
  const msg = `No ${manager.resourceName} with a name or ID of '${nameOrId}' exists.`;
  throw wrapException ? new CommandError(msg) : new NotFound({ code: 404, message: msg });
}
