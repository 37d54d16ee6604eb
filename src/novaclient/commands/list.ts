// do_list
import type { ArgSpec } from '../argparse.js';
import { findResource, type Resource } from '../base.js';
import { CommandError } from '../exceptions.js';
import { pyRepr } from '../pyfmt.js';
import { printList, type Formatter } from '../table.js';
import type { CommandDef } from '../types.js';
import type { Server } from '../v2/servers.js';

const POWER_STATES = ['NOSTATE', 'Running', '', 'Paused', 'Shutdown', '', 'Crashed', 'Suspended'];

function envBool(v: string | undefined): number {
  return v && ['1', 't', 'true', 'on', 'y', 'yes'].includes(v.trim().toLowerCase()) ? 1 : 0;
}

const opt = (flag: string, dest: string, metavar: string, help: string, extra: Partial<ArgSpec> = {}): ArgSpec => ({
  flags: [flag],
  dest,
  metavar,
  default: null,
  help,
  ...extra,
});

/** _translate_keys + _translate_extended_states */
function translate(servers: Resource[]): void {
  const convert: [string, string][] = [
    ['OS-EXT-SRV-ATTR:host', 'host'],
    ['OS-EXT-STS:task_state', 'task_state'],
    ['OS-EXT-SRV-ATTR:instance_name', 'instance_name'],
    ['OS-EXT-STS:power_state', 'power_state'],
    ['hostId', 'host_id'],
  ];
  for (const s of servers) {
    for (const [from, to] of convert) if (s.has(from) && !s.has(to)) s.info[to] = s.info[from];
    if (s.has('power_state')) {
      const p = s.info.power_state;
      s.info.power_state = typeof p === 'number' && POWER_STATES[p] !== undefined ? POWER_STATES[p] : 'N/A';
    } else s.info.power_state = 'N/A';
    if (!s.has('task_state')) s.info.task_state = 'N/A';
  }
}

/** utils._format_field_name */
function formatFieldName(attr: string): string {
  const i = attr.lastIndexOf(':');
  const parts = i < 0 ? [attr] : [attr.slice(0, i), attr.slice(i + 1)];
  let name = parts[parts.length - 1].replace(/_/g, ' ');
  const isUpper = name.toUpperCase() === name && /[A-Za-z]/.test(name);
  const isLower = name.toLowerCase() === name && /[A-Za-z]/.test(name);
  if (isUpper || isLower) name = name.toLowerCase().replace(/(^|[^A-Za-z])([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase());
  parts[parts.length - 1] = name;
  return parts.join(': ');
}

/** utils._format_servers_list_networks */
function formatNetworks(o: Resource): string {
  let text = '';
  for (const [label, addrs] of Object.entries((o as Server).networks)) {
    if (!addrs.length) continue;
    text += `${text ? '; ' : ''}${label}=${addrs.join(', ')}`;
  }
  return text;
}

function hasAttr(s: Server, field: string): boolean {
  return s.has(field) || field === 'networks' || field === 'human_id';
}

function getAttr(s: Server, field: string): unknown {
  if (field === 'networks') return pyRepr(s.networks);
  return s.has(field) ? s.info[field] : '';
}

const FILTERS: Record<string, (v: unknown) => unknown> = {
  flavor: (f) => (f as Record<string, unknown>).id,
  security_groups: (groups) => (groups as Record<string, unknown>[]).map((g) => String(g.name)).join(', '),
};

export const command: CommandDef = {
  name: 'list',
  doc: 'List active servers.',
  args: [
    opt('--reservation-id', 'reservation_id', '<reservation-id>', 'Only return servers that match reservation-id.'),
    opt('--ip', 'ip', '<ip-regexp>', 'Search with regular expression match by IP address.'),
    opt('--ip6', 'ip6', '<ip6-regexp>', 'Search with regular expression match by IPv6 address.'),
    opt('--name', 'name', '<name-regexp>', 'Search with regular expression match by name.'),
    opt('--instance-name', 'instance_name', '<name-regexp>', 'Search with regular expression match by server name.'),
    opt('--status', 'status', '<status>', 'Search by server status.'),
    opt('--flavor', 'flavor', '<flavor>', 'Search by flavor name or ID.'),
    opt('--image', 'image', '<image>', 'Search by image name or ID.'),
    opt('--host', 'host', '<hostname>', 'Search servers by hostname to which they are assigned (Admin only).'),
    opt('--all-tenants', 'all_tenants', '<0|1>', 'Display information from all tenants (Admin only).', {
      nargs: '?',
      type: 'int',
      const: 1,
      default: envBool(process.env.ALL_TENANTS),
    }),
    opt('--tenant', 'tenant', '<tenant>', 'Display information from single tenant (Admin only).', { nargs: '?' }),
    opt('--user', 'user', '<user>', 'Display information from single user (Admin only).', { nargs: '?' }),
    { flags: ['--deleted'], dest: 'deleted', action: 'store_true', default: false, help: 'Only display deleted servers (Admin only).' },
    opt('--fields', 'fields', '<fields>', 'Comma-separated list of fields to display. Use the show command to see which fields are available.'),
    { flags: ['--minimal'], dest: 'minimal', action: 'store_true', default: false, help: 'Get only UUID and name.' },
    opt(
      '--sort',
      'sort',
      '<key>[:<direction>]',
      'Comma-separated list of sort keys and directions in the form of <key>[:<asc|desc>]. The direction defaults to descending if not specified.',
    ),
    opt('--marker', 'marker', '<marker>', 'The last server UUID of the previous page; displays list of servers after "marker".'),
    opt(
      '--limit',
      'limit',
      '<limit>',
      "Maximum number of servers to display. If limit == -1, all servers will be displayed. If limit is bigger than 'osapi_max_limit' option of Nova API, limit 'osapi_max_limit' will be used instead.",
      { type: 'int' },
    ),
  ],
  async run(sh, args) {
    const cs = sh.cs;
    const imageId = args.image ? (await findResource(cs.images, args.image as string)).id : null;
    const flavorId = args.flavor ? (await findResource(cs.flavors, args.flavor as string, { is_public: null })).id : null;
    // search by tenant or user only works with all_tenants
    if (args.tenant || args.user) args.all_tenants = 1;
    const searchOpts: Record<string, unknown> = {
      all_tenants: args.all_tenants,
      reservation_id: args.reservation_id,
      ip: args.ip,
      ip6: args.ip6,
      name: args.name,
      image: imageId,
      flavor: flavorId,
      status: args.status,
      tenant_id: args.tenant,
      user_id: args.user,
      host: args.host,
      deleted: args.deleted,
      instance_name: args.instance_name,
    };
    const sortKeys: string[] = [];
    const sortDirs: string[] = [];
    if (args.sort) {
      for (const sort of (args.sort as string).split(',')) {
        const i = sort.indexOf(':');
        const key = i < 0 ? sort : sort.slice(0, i);
        let dir = i < 0 ? '' : sort.slice(i + 1);
        if (!dir) dir = 'desc';
        else if (dir !== 'asc' && dir !== 'desc') throw new CommandError(`Unknown sort direction: ${dir}`);
        sortKeys.push(key);
        sortDirs.push(dir);
      }
    }
    const servers = await cs.servers.list({
      detailed: !args.minimal,
      searchOpts,
      sortKeys,
      sortDirs,
      marker: args.marker as string | null,
      limit: args.limit as number | null,
    });
    translate(servers);

    const formatters: Record<string, Formatter> = {};
    const titles: string[] = [];
    if (args.fields) {
      const missing: string[] = [];
      for (const field of (args.fields as string).split(',')) {
        if (servers.length && !hasAttr(servers[0], field)) {
          missing.push(field);
          continue;
        }
        const title = formatFieldName(field);
        titles.push(title);
        const filter = FILTERS[field];
        formatters[title] = (o) => {
          const v = getAttr(o as Server, field);
          return v && filter ? filter(v) : v;
        };
      }
      if (missing.length) throw new CommandError(`Non-existent fields are specified: ${pyRepr(missing)}`);
    }
    let columns: string[];
    if (args.minimal) columns = ['ID', 'Name'];
    else if (titles.length) columns = ['ID', ...titles];
    else {
      columns = ['ID', 'Name', 'Status', 'Task State', 'Power State', 'Networks'];
      if (searchOpts.all_tenants) columns.splice(2, 0, 'Tenant ID');
    }
    formatters.Networks = formatNetworks;
    sh.out.out(printList(servers, columns, formatters, args.sort ? null : 1));
  },
};
