// do_reset_state: a database change in Cinder, nothing more (no detach, no connection)
import type { CommandDef } from '../types.js';
import { eachVolume, errText, findVolume } from './common.js';

export const command: CommandDef = {
  name: 'reset-state',
  doc:
    'Explicitly updates the volume state in the Cinder database.\n\n' +
    '    Note that this does not affect whether the volume is actually attached to\n' +
    '    the Nova compute host or instance and can result in an unusable volume.\n' +
    '    Being a database change only, this has no impact on the true state of the\n' +
    '    volume and may not match the actual state. This can render a volume\n' +
    "    unusable in the case of change to the 'available' state.\n    ",
  args: [
    { dest: 'volume', metavar: '<volume>', nargs: '+', help: 'Name or ID of volume to modify.' },
    {
      flags: ['--state'],
      dest: 'state',
      metavar: '<state>',
      default: 'available',
      help:
        'The state to assign to the volume. Valid values are "available", "error", "creating", "deleting", "in-use", ' +
        '"attaching", "detaching", "error_deleting" and "maintenance". NOTE: This command simply changes the state of the ' +
        'Volume in the DataBase with no regard to actual status, exercise caution when using. Default=available.',
    },
    {
      flags: ['--attach-status'],
      dest: 'attach_status',
      metavar: '<attach-status>',
      default: null,
      help:
        'The attach status to assign to the volume in the DataBase, with no regard to the actual status. Valid values are ' +
        '"attached" and "detached". Default=None, that means the status is unchanged.',
    },
    {
      flags: ['--reset-migration-status'],
      dest: 'reset_migration_status',
      action: 'store_true',
      default: false,
      help:
        'Clears the migration status of the volume in the DataBase that indicates the volume is source or destination of ' +
        'volume migration, with no regard to the actual status.',
    },
  ],
  async run(sh, args) {
    const migrationStatus = args.reset_migration_status ? 'none' : null;
    await eachVolume(
      sh.out,
      args.volume as string[],
      async (v) => {
        const vol = await findVolume(sh.cs, v);
        await sh.cs.volumes.resetState(vol.id, args.state as string, args.attach_status as string | null, migrationStatus);
        return null;
      },
      (v, e) => `Reset state for volume ${v} failed: ${errText(e)}`,
      () => true,
      'Unable to reset the state for the specified volume(s).',
    );
  },
};
