// cinderclient.utils: find_resource (its own lookup order, not novaclient's) and print_dict
// (prettytable of str() values, sorted by property). print_list is novaclient's: the two
// clients share utils.print_list's layout.
import { isUuidLike, orNotFound, single, type Resource } from '../novaclient/base.js';
import { CommandError, NoUniqueMatch } from '../novaclient/exceptions.js';
import { pyCompare, pyStr } from '../novaclient/pyfmt.js';
import { renderTable } from '../novaclient/table.js';

export { printList } from '../novaclient/table.js';

/** what find_resource needs from a manager */
export interface Findable<T extends Resource> {
  /** resource_class.__name__.lower(), for the error messages */
  readonly resourceName: string;
  get(id: string): Promise<T>;
  /** manager.find(name=value): findall's listing (all tenants, filtered by name), exact matches */
  findByName(value: string): Promise<T[]>;
  /** manager.find(human_id=value): another listing; resources without HUMAN_ID never match */
  findByHumanId(value: string): Promise<T[]>;
}


/** utils.find_resource(manager, name_or_id): an integer id, then a UUID, then the name, then
 * the human id — the requests it makes show under --debug */
export async function findResource<T extends Resource>(manager: Findable<T>, nameOrId: string): Promise<T> {
  if (/^[0-9]+$/.test(nameOrId)) {
    const r = await orNotFound(() => manager.get(String(Number.parseInt(nameOrId, 10))));
    if (r) return r;
  } else if (isUuidLike(nameOrId)) {
    // try/except/else in Mitaka: the UUID is tried only when the value was no integer
    const r = await orNotFound(() => manager.get(nameOrId));
    if (r) return r;
  }
  try {
    const byName = single(await manager.findByName(nameOrId));
    if (byName) return byName;
    const byHuman = single(await manager.findByHumanId(nameOrId));
    if (byHuman) return byHuman;
  } catch (e) {
    if (e instanceof NoUniqueMatch) {
      throw new CommandError(`Multiple ${manager.resourceName} matches found for '${nameOrId}', use an ID to be more specific.`);
    }
    throw e;
  }
  throw new CommandError(`No ${manager.resourceName} with a name or ID of '${nameOrId}' exists.`);
}

/** unicode_key_value_to_string: a dict's keys and values as str() */
function keyValueToString(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, pyStr(keyValueToString(x))]));
}

/** utils.print_dict(d, property, formatters): str() of each value (None stays None, a list
 * or dict is Python's repr), "\r" made a space, rows sorted by property */
export function printDict(d: Record<string, unknown>, formatters: string[] = [], property = 'Property'): string {
  const rows = Object.keys(d)
    .sort(pyCompare)
    .map((k) => {
      const v = formatters.includes(k) ? keyValueToString(d[k]) : d[k];
      return [k, pyStr(v ?? null).replace(/\r/g, ' ')];
    });
  return `${renderTable([property, 'Value'], rows)}\n`;
}
