// do_boot / _boot: the options the embedded cloud can honour are sent as Mitaka sends
// them; the rest are refused up front rather than silently dropped.
import type { ArgSpec } from '../argparse.js';
import { findResource } from '../base.js';
import { CommandError } from '../exceptions.js';
import type { CommandDef } from '../types.js';
import { printServer } from './print_server.js';

const opt = (flag: string, dest: string, metavar: string, help: string, extra: Partial<ArgSpec> = {}): ArgSpec => ({
  flags: [flag],
  dest,
  metavar,
  default: null,
  help,
  ...extra,
});
const append = { action: 'append', default: [] } as const;

/** options novasim parses (for help and usage errors) but cannot act on */
const UNSUPPORTED: [string, string][] = [
  ['image_with', '--image-with'],
  ['boot_volume', '--boot-volume'],
  ['snapshot', '--snapshot'],
  ['files', '--file'],
  ['user_data', '--user-data'],
  ['block_device_mapping', '--block-device-mapping'],
  ['block_device', '--block-device'],
  ['swap', '--swap'],
  ['ephemeral', '--ephemeral'],
  ['scheduler_hints', '--hint'],
  ['nics', '--nic'],
  ['poll', '--poll'],
];

export const command: CommandDef = {
  name: 'boot',
  doc: 'Boot a new server.',
  args: [
    opt('--flavor', 'flavor', '<flavor>', "Name or ID of flavor (see 'nova flavor-list')."),
    opt('--image', 'image', '<image>', "Name or ID of image (see 'nova image-list'). "),
    opt('--image-with', 'image_with', '<key=value>', "Image metadata property (see 'nova image-show'). ", append),
    opt('--boot-volume', 'boot_volume', '<volume_id>', 'Volume ID to boot from.'),
    opt('--snapshot', 'snapshot', '<snapshot_id>', 'Snapshot ID to boot from (will create a volume).'),
    opt('--min-count', 'min_count', '<number>', 'Boot at least <number> servers (limited by quota).', { type: 'int' }),
    opt('--max-count', 'max_count', '<number>', 'Boot up to <number> servers (limited by quota).', { type: 'int' }),
    opt(
      '--meta',
      'meta',
      '<key=value>',
      'Record arbitrary key/value metadata to /meta_data.json on the metadata server. Can be specified multiple times.',
      append,
    ),
    opt(
      '--file',
      'files',
      '<dst-path=src-path>',
      'Store arbitrary files from <src-path> locally to <dst-path> on the new server. Limited by the injected_files quota value.',
      append,
    ),
    opt('--key-name', 'key_name', '<key-name>', 'Key name of keypair that should be created earlier with the command keypair-add.', {
      default: process.env.NOVACLIENT_DEFAULT_KEY_NAME ?? null,
    }),
    { dest: 'name', metavar: '<name>', help: 'Name for the new server.' },
    opt('--user-data', 'user_data', '<user-data>', 'user data file to pass to be exposed by the metadata server.'),
    opt('--availability-zone', 'availability_zone', '<availability-zone>', 'The availability zone for server placement.'),
    opt('--security-groups', 'security_groups', '<security-groups>', 'Comma separated list of security group names.'),
    opt(
      '--block-device-mapping',
      'block_device_mapping',
      '<dev-name=mapping>',
      'Block device mapping in the format <dev-name>=<id>:<type>:<size(GB)>:<delete-on-terminate>.',
      append,
    ),
    opt(
      '--block-device',
      'block_device',
      'key1=value1[,key2=value2...]',
      'Block device mapping with the keys: id=UUID (image_id, snapshot_id or volume_id only if using source image, snapshot or volume) ' +
        'source=source type (image, snapshot, volume or blank), dest=destination type of the block device (volume or local), ' +
        "bus=device's bus (e.g. uml, lxc, virtio, ...; if omitted, hypervisor driver chooses a suitable default, " +
        "honoured only if device type is supplied) type=device type (e.g. disk, cdrom, ...; defaults to 'disk') " +
        'device=name of the device (e.g. vda, xda, ...; if omitted, hypervisor driver chooses suitable device ' +
        'depending on selected bus; note the libvirt driver always uses default device names), ' +
        'size=size of the block device in MB(for swap) and in GB(for other formats) ' +
        '(if omitted, hypervisor driver calculates size), format=device will be formatted (e.g. swap, ntfs, ...; optional), ' +
        'bootindex=integer used for ordering the boot disks (for image backed instances it is equal to 0, ' +
        'for others need to be specified) and shutdown=shutdown behaviour (either preserve or remove, ' +
        'for local destination set to remove).',
      append,
    ),
    opt('--swap', 'swap', '<swap_size>', 'Create and attach a local swap block device of <swap_size> MB.'),
    opt(
      '--ephemeral',
      'ephemeral',
      'size=<size>[,format=<format>]',
      'Create and attach a local ephemeral block device of <size> GB and format it to <format>.',
      append,
    ),
    opt('--hint', 'scheduler_hints', '<key=value>', 'Send arbitrary key/value pairs to the scheduler for custom use.', append),
    opt(
      '--nic',
      'nics',
      '<net-id=net-uuid,net-name=network-name,v4-fixed-ip=ip-addr,v6-fixed-ip=ip-addr,port-id=port-uuid>',
      'Create a NIC on the server. Specify option multiple times to create multiple NICs. net-id: attach NIC to network with this UUID ' +
        'net-name: attach NIC to network with this name (either port-id or net-id or net-name must be provided), ' +
        'v4-fixed-ip: IPv4 fixed address for NIC (optional), v6-fixed-ip: IPv6 fixed address for NIC (optional), ' +
        'port-id: attach NIC to port with this UUID (either port-id or net-id must be provided).',
      append,
    ),
    opt('--config-drive', 'config_drive', '<value>', 'Enable config drive.', { default: false }),
    { flags: ['--poll'], dest: 'poll', action: 'store_true', default: false, help: 'Report the new server boot progress until it completes.' },
    opt('--admin-pass', 'admin_pass', '<value>', 'Admin password for the instance.'),
    opt('--access-ip-v4', 'access_ip_v4', '<value>', 'Alternative access IPv4 of the instance.'),
    opt('--access-ip-v6', 'access_ip_v6', '<value>', 'Alternative access IPv6 of the instance.'),
    opt('--description', 'description', '<description>', "Description for the server. (Supported by API versions '2.19' - '2.latest')"),
  ],
  async run(sh, args) {
    const cs = sh.cs;
    if (!args.flavor) throw new CommandError('you need to specify a Flavor ID.');
    for (const [dest, flag] of UNSUPPORTED) {
      const v = args[dest];
      if (Array.isArray(v) ? v.length : v) {
        throw new CommandError(`${flag} is not supported by novasim's embedded cloud.`);
      }
    }
    const image = args.image ? await findResource(cs.images, args.image as string) : null;
    const minCount = args.min_count as number | null;
    const maxCount = args.max_count as number | null;
    if (minCount !== null && minCount < 1) throw new CommandError('min_count should be >= 1');
    if (maxCount !== null && maxCount < 1) throw new CommandError('max_count should be >= 1');
    if (minCount !== null && maxCount !== null && minCount > maxCount) throw new CommandError('min_count should be <= max_count');
    const flavor = await findResource(cs.flavors, args.flavor as string, { is_public: null });
    // a key is data, whatever its name (--meta __proto__=x is a key like any other)
    const meta = Object.create(null) as Record<string, string>;
    for (const m of args.meta as string[]) {
      const i = m.indexOf('=');
      if (i < 0) throw Object.assign(new Error('dictionary update sequence element #0 has length 1; 2 is required'), { name: 'ValueError' });
      meta[m.slice(0, i)] = m.slice(i + 1);
    }
    if (!image) {
      throw new CommandError(
        'you need to specify at least one source ID (Image, Snapshot, or Volume), a block device mapping or provide a set of properties to match against an image',
      );
    }
    const cd = String(args.config_drive).toLowerCase();
    const configDrive = ['true', '1'].includes(cd) ? true : ['false', '0', '', 'none'].includes(cd) ? null : args.config_drive;
    const created = await cs.servers.create(args.name as string, image.id, flavor.id, {
      meta: Object.keys(meta).length ? meta : null,
      keyName: args.key_name as string | null,
      minCount: minCount ?? 1,
      maxCount: maxCount ?? minCount ?? 1,
      securityGroups: args.security_groups ? (args.security_groups as string).split(',') : null,
      availabilityZone: args.availability_zone as string | null,
      adminPass: args.admin_pass as string | null,
      accessIpV4: args.access_ip_v4 as string | null,
      accessIpV6: args.access_ip_v6 as string | null,
      description: args.description as string | null,
      configDrive,
    });
    // Resource.__getattr__ lazy-loads the full server the first time _print_server asks
    const full = await cs.servers.get(created.id);
    created.merge(full.info);
    sh.out.out(await printServer(cs, created, false));
  },
};
