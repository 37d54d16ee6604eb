// do_volume_list (deprecated Cinder proxy)
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';
import { emitVolumeDeprecationWarning } from './common.js';

function envBool(v: string | undefined): number {
  return v && ['1', 't', 'true', 'on', 'y', 'yes'].includes(v.trim().toLowerCase()) ? 1 : 0;
}

export const command: CommandDef = {
  name: 'volume-list',
  doc: 'DEPRECATED: List all the volumes.',
  args: [
    {
      flags: ['--all-tenants'],
      dest: 'all_tenants',
      metavar: '<0|1>',
      nargs: '?',
      type: 'int',
      const: 1,
      default: envBool(process.env.ALL_TENANTS),
      help: 'Display information from all tenants (Admin only).',
    },
  ],
  async run(sh, args) {
    emitVolumeDeprecationWarning(sh.out, 'volume-list');
    const volumes = await sh.cs.volumes.list({ all_tenants: args.all_tenants });
    for (const vol of volumes) {
      // _translate_volume_keys; Cinder v2 names the field "name"
      if (vol.has('displayName') && !vol.has('display_name')) vol.info.display_name = vol.info.displayName;
      if (vol.has('volumeType') && !vol.has('volume_type')) vol.info.volume_type = vol.info.volumeType;
      if (!vol.has('display_name') && vol.has('name')) vol.info.display_name = vol.info.name;
      const atts = Array.isArray(vol.info.attachments) ? (vol.info.attachments as Record<string, unknown>[]) : [];
      vol.info.attached_to = atts.map((a) => (a.server_id === undefined || a.server_id === null ? 'None' : String(a.server_id))).join(',');
    }
    sh.out.out(printList(volumes, ['ID', 'Status', 'Display Name', 'Size', 'Volume Type', 'Attached to']));
  },
};
