// do_list
import type { ArgSpec } from '../../novaclient/argparse.js';
import { CommandError } from '../../novaclient/exceptions.js';
import type { CommandDef } from '../types.js';
import { printList } from '../utils.js';

const hidden = (flag: string, dest: string, extra: Partial<ArgSpec> = {}): ArgSpec => ({ flags: [flag], dest, help: null, ...extra });

/** int(os.environ.get("ALL_TENANTS", args.all_tenants)): the environment wins over the flag */
function allTenants(env: NodeJS.ProcessEnv, flag: unknown): number {
  const raw = env.ALL_TENANTS ?? flag;
  if (typeof raw === 'number') return raw;
  const text = String(raw);
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new CommandError(`invalid literal for int() with base 10: '${text}'`);
  return Number.parseInt(text, 10);
}

export const command: CommandDef = {
  name: 'list',
  doc: 'Lists all volumes.',
  args: [
    {
      flags: ['--all-tenants'],
      dest: 'all_tenants',
      metavar: '<0|1>',
      nargs: '?',
      type: 'int',
      const: 1,
      default: 0,
      help: 'Shows details for all tenants. Admin only.',
    },
    hidden('--all_tenants', 'all_tenants', { nargs: '?', type: 'int', const: 1 }),
    { flags: ['--name'], dest: 'name', metavar: '<name>', default: null, help: 'Filters results by a name. Default=None.' },
    hidden('--display-name', 'display_name'),
    { flags: ['--status'], dest: 'status', metavar: '<status>', default: null, help: 'Filters results by a status. Default=None.' },
  ],
  async run(sh, args) {
    // backwards compatibility with the v1 argument
    const name = (args.display_name as string | null) ?? (args.name as string | null);
    const all = allTenants(sh.out.env, args.all_tenants);
    const volumes = await sh.cs.volumes.list({ all_tenants: all, name, status: args.status });
    for (const vol of volumes) {
      // _translate_volume_keys
      if (vol.has('volumeType') && !vol.has('volume_type')) vol.info.volume_type = vol.info.volumeType;
      if (vol.has('os-vol-tenant-attr:tenant_id') && !vol.has('tenant_id')) vol.info.tenant_id = vol.info['os-vol-tenant-attr:tenant_id'];
      const atts = Array.isArray(vol.info.attachments) ? (vol.info.attachments as Record<string, unknown>[]) : [];
      vol.info.attached_to = atts.map((a) => (a.server_id === undefined || a.server_id === null ? 'None' : String(a.server_id))).join(',');
    }
    const keys = ['ID', 'Status', 'Name', 'Size', 'Volume Type', 'Bootable', 'Attached to'];
    if (all) keys.splice(1, 0, 'Tenant ID');
    // exclude_unavailable: a column no volume has (Tenant ID for a member) is left out
    const shown = keys.filter((k) => volumes.every((v) => v.has(k.toLowerCase().replace(/ /g, '_'))));
    sh.out.out(printList(volumes, shown, {}, 0));
  },
};
