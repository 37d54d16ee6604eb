// The shape of the state file: one JSON document holding what each service keeps in its
// own database (Nova's instances and BDMs, Cinder's volumes) and what the hypervisor knows
// (libvirt's domains). Only src/state/ reads or writes it.
import type { FaultRule } from '../common/faults.js';

export const SCHEMA_VERSION = 1;

export interface Flavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
  swap: number;
}

export interface Image {
  id: string;
  name: string;
  status: string;
  minDisk: number;
  minRam: number;
  size: number;
  created: string;
  updated: string;
}

export interface ProjectRole {
  projectId: string;
  projectName: string;
  roles: string[];
}

/** A Keystone user and the projects it has roles on (devstack: admin is admin on demo too). */
export interface User {
  id: string;
  name: string;
  defaultProject: string;
  projects: ProjectRole[];
}

export interface Address {
  addr: string;
  version: 4 | 6;
  type: 'fixed' | 'floating';
  mac: string;
}

/** nova.objects.Instance (the fields the swap path and the CLI touch) */
export interface Instance {
  uuid: string;
  /** instances.id: gives the libvirt name instance-%08x */
  id: number;
  name: string;
  projectId: string;
  userId: string;
  host: string;
  node: string;
  availabilityZone: string;
  vmState: string;
  taskState: string | null;
  powerState: number;
  locked: boolean;
  lockedBy: 'owner' | 'admin' | null;
  launchedAt: string | null;
  terminatedAt: string | null;
  createdAt: string;
  updatedAt: string;
  flavorId: string;
  imageRef: string;
  keyName: string | null;
  metadata: Record<string, string>;
  securityGroups: string[];
  addresses: Record<string, Address[]>;
  accessIPv4: string;
  accessIPv6: string;
  configDrive: string;
  deleted: boolean;
}

/**
 * nova.objects.InstanceAction: a user's request on an instance, as the compute API records
 * it (instance_actions), with the events nova-compute records under it
 * (instance_actions_events). Times are the DB's (whole seconds, as MySQL keeps them).
 */
export interface InstanceAction {
  /** nova/compute/instance_actions.py: 'create', 'stop', … */
  action: string;
  instanceUuid: string;
  /** the request id (req-…) of the API call that started it */
  requestId: string;
  userId: string;
  projectId: string;
  startTime: string;
  /** set only by InstanceAction.action_finish, which Mitaka never calls */
  finishTime: string | null;
  /** 'Error' once one of its events failed, else null */
  message: string | null;
  events: InstanceActionEvent[];
}

/** nova.objects.InstanceActionEvent: one EventReporter block (compute_stop_instance, …) */
export interface InstanceActionEvent {
  event: string;
  startTime: string;
  /** null while it runs (or if its process died before it finished) */
  finishTime: string | null;
  /** 'Success' or 'Error', null while it runs */
  result: string | null;
  /** the failure's traceback, null unless result is 'Error' */
  traceback: string | null;
}

/** nova.objects.BlockDeviceMapping */
export interface Bdm {
  id: number;
  instanceUuid: string;
  deviceName: string;
  sourceType: 'image' | 'volume' | 'snapshot' | 'blank';
  destinationType: 'local' | 'volume';
  volumeId: string | null;
  snapshotId: string | null;
  imageId: string | null;
  bootIndex: number | null;
  deleteOnTermination: boolean;
  /** JSON text, as Nova stores it */
  connectionInfo: string | null;
  volumeSize: number | null;
  noDevice: boolean | null;
  diskBus: string | null;
  deviceType: string | null;
}

/** cinder.db volume_attachment */
export interface VolumeAttachment {
  id: string;
  instanceUuid: string;
  attachedHost: string;
  mountpoint: string;
  attachTime: string;
  attachMode: 'rw' | 'ro';
  attachStatus: 'attached' | 'attaching' | 'detached';
}

/** cinder.db volumes */
export interface Volume {
  id: string;
  displayName: string | null;
  displayDescription: string | null;
  size: number;
  status: string;
  attachStatus: 'attached' | 'detached' | 'attaching';
  attachments: VolumeAttachment[];
  migrationStatus: string | null;
  availabilityZone: string;
  volumeType: string;
  bootable: boolean;
  projectId: string;
  userId: string;
  host: string;
  createdAt: string;
  updatedAt: string;
  metadata: Record<string, string>;
}

/** One <disk> of a libvirt domain definition. */
export interface DomainDisk {
  type: 'file' | 'block' | 'network';
  device: 'disk' | 'cdrom';
  driverType: 'raw' | 'qcow2';
  /** <source file=…> / <source dev=…>; for network disks the protocol/name */
  source: string;
  targetDev: string;
  targetBus: string;
  serial: string | null;
  /** libvirt's alias, e.g. virtio-disk1; QEMU's drive id is drive-<alias> */
  alias: string | null;
  /** <driver cache=…> as Nova wrote it; absent: no attribute (the hypervisor's default) */
  cache?: DiskCacheMode;
}

/** libvirt's disk cache modes (Nova's valid_cachemodes) */
export const DISK_CACHE_MODES = ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];

/** The <mirror> libvirt records on a disk while a block copy job runs. */
export interface DiskMirror {
  dev: string;
  type: 'file' | 'block';
  source: string;
  format: string;
  job: 'copy';
  ready: boolean;
  /** progress as last reported by the QEMU job (bounded-rate snapshot) */
  cur: number;
  end: number;
  bandwidth: number;
  /** which host process runs the QEMU job */
  ownerPid: number;
  updatedAt: string;
}

export interface DomainDef {
  name: string;
  uuid: string;
  memoryKiB: number;
  vcpus: number;
  disks: DomainDisk[];
}

/** A libvirt domain: the live definition of a running domain, and its persistent config. */
export interface Domain {
  name: string;
  uuid: string;
  id: number | null;
  /** running, paused, shutoff, pmsuspended */
  state: 'running' | 'paused' | 'shutoff' | 'pmsuspended';
  /** the live (or, when shut off, the inactive) definition */
  def: DomainDef;
  /** the persistent configuration, null for a transient domain */
  persistentDef: DomainDef | null;
  /** a managed-save image exists (suspended with `virsh managedsave`) */
  managedSave: boolean;
  mirrors: Record<string, DiskMirror>;
}

/** One run of a guest workload's settings: write i of the segment is planned from (seed, i). */
export interface GuestLoadSegment {
  seed: number;
  /** bytes per second the guest writes */
  rate: number;
  /** write sizes the plan picks from (multiples of 4096) */
  blockSizes: number[];
  /** where on the disk the writes land (4096-aligned) */
  region: { offset: number; length: number };
  /** the segment stops after this many writes (null: it writes until stopped) */
  limit: number | null;
  /** writes 0..writes-1 of this segment have landed, in order (exact after every run) */
  writes: number;
}

/** A seeded, replayable workload of a server's guest on one of its disks. */
export interface GuestLoad {
  /** the instance (= domain) uuid */
  server: string;
  /** the disk's target, e.g. vdb */
  disk: string;
  /** the guest writes whenever a host process runs its QEMU (--off clears it) */
  active: boolean;
  /** the host process whose QEMU is running the workload now, or null */
  runnerPid: number | null;
  /** every setting ever used, in order: replaying them all gives the disk's written blocks */
  segments: GuestLoadSegment[];
  updatedAt: string;
}

export interface State {
  schemaVersion: number;
  fixture: string;
  createdAt: string;
  host: string;
  users: User[];
  flavors: Flavor[];
  images: Image[];
  nova: {
    instances: Instance[];
    bdms: Bdm[];
    nextInstanceId: number;
    nextBdmId: number;
    /** instance_actions with their events (absent in files written before they existed: none) */
    instanceActions?: InstanceAction[];
  };
  cinder: {
    volumes: Volume[];
  };
  libvirt: {
    domains: Domain[];
    nextDomainId: number;
  };
  /** guest workloads (absent in files written before they existed: read as none) */
  guestLoads?: GuestLoad[];
  /** nova.conf options set with `nova-sim config` (absent: every option at its default) */
  novaConf?: NovaConf;
  /** blkdebug-style rules for block jobs, set with `nova-sim blkdebug` (absent: none) */
  blkdebug?: BlkdebugRule[];
  /** faults on purpose, set with `nova-sim fault add` (absent: none) */
  faults?: FaultRule[];
  /** the journal: operations that span several saves, while they are in flight (absent: none) */
  operations?: Operation[];
}

export type { FaultRule };

/** the operations the journal follows */
export const OPERATION_KINDS = ['swap', 'attach', 'detach', 'boot', 'delete'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * One operation in flight that spans several saves (swap, attach, detach, boot, delete):
 * its intent, recorded before its first change, and the last step it saved. The entry goes
 * in the same save as the operation's last change; an entry whose process is gone is an
 * interrupted operation (`nova-sim doctor`).
 */
export interface Operation {
  /** the request id (req-…) that started it */
  id: string;
  kind: OperationKind;
  /** the instance (= domain) uuid */
  instance: string;
  /** swap: [old, new]; attach/detach: [volume]; boot/delete: [] */
  volumes: string[];
  /** the mountpoint (/dev/vdb) where a volume is concerned, else null */
  device: string | null;
  /** the host process that runs it */
  pid: number;
  startedAt: string;
  /** the last step it saved, e.g. cinder.detaching, libvirt.pivoted */
  step: string;
  updatedAt: string;
}

/** The nova.conf options novasim honours, by section */
export interface NovaConf {
  libvirt: {
    /** [libvirt] disk_cachemodes: "source_type=cache_mode" items, e.g. ["block=unsafe"] */
    disk_cachemodes: string[];
  };
}

/** the blkdebug events a --delay rule can hold (the block job's I/O to its target) */
export const BLKDEBUG_EVENTS = ['write_aio', 'flush_to_disk'] as const;
export type BlkdebugEventName = (typeof BLKDEBUG_EVENTS)[number];
/** the block job's operations an --inject-error rule fails: source reads, target writes */
export const BLKDEBUG_OPS = ['read', 'write'] as const;
export const BLKDEBUG_ERRNOS = ['EIO', 'ENOSPC'] as const;
/** the longest --delay (a cancel waits for the held request) */
export const BLKDEBUG_MAX_DELAY_MS = 60_000;

/** what is wrong with a [libvirt] disk_cachemodes item ("<disk type>=<cache mode>"), or null */
export function diskCachemodeProblem(item: string): string | null {
  const sep = item.indexOf('=');
  if (sep <= 0) return `'${item}' is not of the form <disk type>=<cache mode>`;
  const mode = item.slice(sep + 1);
  // Nova's own words (Nova logs them and skips the item)
  if (!(DISK_CACHE_MODES as readonly string[]).includes(mode)) return `Invalid cachemode ${mode} specified for disk type ${item.slice(0, sep)}.`;
  return null;
}

/**
 * One `nova-sim blkdebug` rule: how the block job's I/O on one disk of a server misbehaves.
 * Like the rules of a blkdebug config file, each is armed afresh whenever a host process
 * starts the domain's QEMU; `count` counts within that QEMU.
 */
export type BlkdebugRule = BlkdebugDelayRule | BlkdebugErrorRule;

interface BlkdebugRuleBase {
  /** the instance (= domain) uuid */
  server: string;
  /** the disk's target, e.g. vdb (QEMU's drive is drive-<alias> of that disk) */
  disk: string;
  /** the rule applies to the first `count` requests only (null: every time) */
  count: number | null;
}

/** hold each of the job's requests at `event` for `ms` before it runs */
export interface BlkdebugDelayRule extends BlkdebugRuleBase {
  action: 'delay';
  event: BlkdebugEventName;
  ms: number;
}

/** fail the job's `op` (source reads, or target writes) with `errno` */
export interface BlkdebugErrorRule extends BlkdebugRuleBase {
  action: 'error';
  op: (typeof BLKDEBUG_OPS)[number];
  errno: (typeof BLKDEBUG_ERRNOS)[number];
}
