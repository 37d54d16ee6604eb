// novaclient.v2.servers: ServerManager and the Server resource's actions.
import { Resource, toSlug, type Findable, type Info } from '../base.js';
import type { SessionClient } from '../client.js';
import { urlencode } from '../pyfmt.js';

export class Server extends Resource {
  /** Server.__repr__, which Mitaka's do_reboot prints */
  override toString(): string {
    return `<Server: ${this.has('name') ? String(this.info.name) : 'unknown-name'}>`;
  }

  /** Server.networks: {label: [addr, …]} in the order the API listed them */
  get networks(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const addresses = this.info.addresses;
    if (!addresses || typeof addresses !== 'object') return out;
    for (const [label, list] of Object.entries(addresses as Record<string, unknown>)) {
      out[label] = Array.isArray(list) ? list.map((a) => String((a as Info).addr)) : [];
    }
    return out;
  }
}

export interface ServerListOptions {
  detailed?: boolean;
  searchOpts?: Record<string, unknown>;
  marker?: string | null;
  limit?: number | null;
  sortKeys?: string[];
  sortDirs?: string[];
}

export interface BootOptions {
  meta?: Record<string, string> | null;
  keyName?: string | null;
  minCount?: number | null;
  maxCount?: number | null;
  securityGroups?: string[] | null;
  availabilityZone?: string | null;
  adminPass?: string | null;
  accessIpV4?: string | null;
  accessIpV6?: string | null;
  description?: string | null;
  configDrive?: unknown;
}

export class ServerManager implements Findable<Server> {
  readonly resourceName = 'server';
  constructor(private readonly api: SessionClient) {}

  async get(id: string): Promise<Server> {
    const { body } = await this.api.get('compute', `/servers/${id}`);
    return new Server((body as { server: Info }).server, true);
  }

  async list(opts: ServerListOptions = {}): Promise<Server[]> {
    const detailed = opts.detailed ?? true;
    const qparams: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(opts.searchOpts ?? {})) if (v) qparams[k] = v;
    const result: Server[] = [];
    let marker = opts.marker ?? null;
    for (;;) {
      if (marker) qparams.marker = marker;
      if (opts.limit && opts.limit !== -1) qparams.limit = opts.limit;
      let query = '';
      const items: [string, unknown][] = Object.entries(qparams);
      if (items.length || opts.sortKeys?.length || opts.sortDirs?.length) {
        for (const k of opts.sortKeys ?? []) items.push(['sort_key', k]);
        for (const d of opts.sortDirs ?? []) items.push(['sort_dir', d]);
        items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        query = `?${urlencode(items)}`;
      }
      const { body } = await this.api.get('compute', `/servers${detailed ? '/detail' : ''}${query}`);
      const servers = ((body as { servers?: Info[] }).servers ?? []).map((s) => new Server(s, detailed));
      result.push(...servers);
      if (!servers.length || opts.limit !== -1) break;
      marker = result[result.length - 1].id;
    }
    return result;
  }

  /** ManagerWithFind.findall(name=…): server-side regex filter, exact match here */
  async findByName(value: string, findArgs: Record<string, unknown> = {}): Promise<Server[]> {
    return this.findall((s) => s.info.name === value, value, findArgs);
  }

  async findByHumanId(value: string, findArgs: Record<string, unknown> = {}): Promise<Server[]> {
    return this.findall((s) => typeof s.info.name === 'string' && toSlug(s.info.name) === value, value, findArgs);
  }

  private async findall(pred: (s: Server) => boolean, name: string, findArgs: Record<string, unknown>): Promise<Server[]> {
    const searchOpts: Record<string, unknown> = { name };
    if ('all_tenants' in findArgs) searchOpts.all_tenants = findArgs.all_tenants;
    const listing = await this.list({ detailed: false, searchOpts });
    const found: Server[] = [];
    for (const s of listing.filter(pred)) found.push(await this.get(s.id));
    return found;
  }

  /** ServerManager.create → _boot */
  async create(name: string, imageId: string | null, flavorId: string, o: BootOptions = {}): Promise<Server> {
    const server: Info = { name, imageRef: imageId ?? '', flavorRef: flavorId };
    if (o.meta) server.metadata = o.meta;
    if (o.keyName) server.key_name = o.keyName;
    if (o.configDrive) server.config_drive = o.configDrive;
    if (o.adminPass) server.adminPass = o.adminPass;
    const minCount = o.minCount || 1;
    server.min_count = minCount;
    server.max_count = o.maxCount || minCount;
    if (o.securityGroups) server.security_groups = o.securityGroups.map((sg) => ({ name: sg }));
    if (o.availabilityZone) server.availability_zone = o.availabilityZone;
    server.networks = [];
    if (o.accessIpV4) server.accessIPv4 = o.accessIpV4;
    if (o.accessIpV6) server.accessIPv6 = o.accessIpV6;
    if (o.description) server.description = o.description;
    const { body } = await this.api.post('compute', '/servers', { server });
    return new Server((body as { server: Info }).server, false);
  }

  async delete(id: string): Promise<void> {
    await this.api.delete('compute', `/servers/${id}`);
  }

  /** ServerManager._action */
  async action(id: string, action: string, info: unknown = null): Promise<void> {
    await this.api.post('compute', `/servers/${id}/action`, { [action]: info });
  }

  lock(id: string): Promise<void> {
    return this.action(id, 'lock');
  }
  unlock(id: string): Promise<void> {
    return this.action(id, 'unlock');
  }
  stop(id: string): Promise<void> {
    return this.action(id, 'os-stop');
  }
  start(id: string): Promise<void> {
    return this.action(id, 'os-start');
  }
  pause(id: string): Promise<void> {
    return this.action(id, 'pause');
  }
  unpause(id: string): Promise<void> {
    return this.action(id, 'unpause');
  }
  suspend(id: string): Promise<void> {
    return this.action(id, 'suspend');
  }
  resume(id: string): Promise<void> {
    return this.action(id, 'resume');
  }
  /** ServerManager.reboot(server, reboot_type): REBOOT_SOFT or REBOOT_HARD */
  reboot(id: string, rebootType: 'SOFT' | 'HARD'): Promise<void> {
    return this.action(id, 'reboot', { type: rebootType });
  }
  resetState(id: string, state: string): Promise<void> {
    return this.action(id, 'os-resetState', { state });
  }
}
