// cinder/volume/api.py (Mitaka) with the volume manager's DB effects folded in: the status
// machine that Nova's calls drive. Every function works on the loaded state; the caller
// saves it (one transaction per Cinder API call, as each is one DB update in Cinder).
import { randomUUID } from 'node:crypto';
import { isoMicros } from '../common/time.js';
import type { State, Volume } from '../state/types.js';
import { pyStr } from '../common/pyrepr.js';
import { append, byKey, each, remove, where } from '../state/collections.js';
import {
  InvalidInput,
  InvalidVolume,
  PolicyNotAuthorized,
  VolumeAttachmentNotFound,
  VolumeLimitExceeded,
  VolumeNotFound,
  VolumeSizeExceedsAvailableQuota,
  VolumeTypeNotFound,
} from './exception.js';

export interface CinderContext {
  projectId: string;
  userId: string;
  isAdmin: boolean;
}

/** migration statuses under which a volume may begin detaching (AVAILABLE_MIGRATION_STATUS) */
const AVAILABLE_MIGRATION_STATUS: (string | null)[] = [null, 'deleting', 'error', 'success'];

export function getVolume(state: State, ctx: CinderContext, volumeId: string): Volume {
  const v = byKey(state, 'volumes', volumeId);
  // a volume of another project is invisible to a non-admin, as Cinder's DB query filters it
  if (!v || (!ctx.isAdmin && v.projectId !== ctx.projectId)) throw new VolumeNotFound(volumeId);
  return v;
}

export function listVolumes(state: State, ctx: CinderContext, allTenants: boolean): Volume[] {
  return state.cinder.volumes.filter((v) => (ctx.isAdmin && allTenants) || v.projectId === ctx.projectId);
}

/** listVolumes, each volume handed to `fn` as it is read (none kept) */
export function eachListedVolume(state: State, ctx: CinderContext, allTenants: boolean, fn: (v: Volume) => void): void {
  each(state, 'volumes', (v) => {
    if ((ctx.isAdmin && allTenants) || v.projectId === ctx.projectId) fn(v);
  });
}

function touch(v: Volume): void {
  v.updatedAt = isoMicros();
}

export interface CreateVolumeRequest {
  size: number;
  name: string | null;
  description: string | null;
  volumeType: string | null;
  availabilityZone: string | null;
  snapshotId: string | null;
  imageRef: string | null;
}

/** devstack's one type, with a fixed id (devstack's is random at stack time) */
export const VOLUME_TYPE_RECORDS: readonly VolumeType[] = [
  {
    id: '3e1f6a2b-9c4d-4e5f-8a7b-6c5d4e3f2a11',
    name: 'lvmdriver-1',
    description: null,
    isPublic: true,
    extraSpecs: { volume_backend_name: 'lvmdriver-1' },
    qosSpecsId: null,
  },
];
export const VOLUME_TYPES = VOLUME_TYPE_RECORDS.map((t) => t.name);

/** volume_types.get_all_types: the public ones, and private ones for an admin */
export function listVolumeTypes(ctx: CinderContext): VolumeType[] {
  return VOLUME_TYPE_RECORDS.filter((t) => t.isPublic || ctx.isAdmin);
}

/** volume_types.get_volume_type, or the default one for 'default' */
export function getVolumeType(ctx: CinderContext, id: string): VolumeType {
  const t = id === 'default' ? VOLUME_TYPE_RECORDS[0] : VOLUME_TYPE_RECORDS.find((x) => x.id === id);
  if (!t || (!t.isPublic && !ctx.isAdmin)) throw new VolumeTypeNotFound(id);
  return t;
}

/**
 * The quotas every project has (cinder/quota.py). gigabytes is Mitaka's default; volumes
 * is raised from Mitaka's 10, as an operator of a test cloud would, because the default
 * fixture alone holds 13 volumes in one project. An admin has no way around them, as in
 * Cinder: they are what bounds a volume's size.
 */
export const QUOTA_GIGABYTES = 1000;
export const QUOTA_VOLUMES = 100;

/** cinder.utils.as_int: "2" → 2, 2.5 → 2, "2.5" → 2; anything else comes back unchanged */
export function asInt(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : v;
  if (typeof v === 'string') {
    if (/^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
    const f = v.trim() === '' ? NaN : Number(v.trim());
    if (Number.isFinite(f)) return Math.trunc(f);
  }
  return v;
}

/** %s of the size in Cinder's message: a whole number with all its digits */
function sizeText(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v).toString();
  if (v === undefined) return 'None';
  return pyStr(v);
}

/**
 * ExtractVolumeRequestTask._extract_size's validate_int: an integer greater than 0. Python
 * sizes past 2**63 are longs and fail isinstance(size, int); novasim refuses every size
 * past 2**53 (not a safe integer) the same way.
 */
export function extractSize(raw: unknown): number {
  const size = asInt(raw);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
    throw new InvalidInput(`Volume size '${sizeText(size)}' must be an integer and greater than 0`);
  }
  return size;
}

/** QuotaReserveTask: gigabytes (volumes and snapshots of the project), then volumes */
export function checkQuota(state: State, ctx: CinderContext, size: number): void {
  const mine = where(state, 'volumes', 'projectId', ctx.projectId);
  const consumed = mine.reduce((n, v) => n + v.size, 0);
  if (consumed + size > QUOTA_GIGABYTES) throw new VolumeSizeExceedsAvailableQuota('gigabytes', size, QUOTA_GIGABYTES, consumed);
  if (mine.length + 1 > QUOTA_VOLUMES) throw new VolumeLimitExceeded(QUOTA_VOLUMES);
}

/** API.create's checks, in the create flow's order: size, source, type, zone, quota. Nothing
 * is made before they pass. */
export function checkCreate(state: State, ctx: CinderContext, req: CreateVolumeRequest): void {
  extractSize(req.size);
  if (req.snapshotId) throw new InvalidInput(`snapshot ${req.snapshotId} could not be found`);
  if (req.imageRef && !state.images.some((i) => i.id === req.imageRef || i.name === req.imageRef)) {
    throw new InvalidInput(`Image ${req.imageRef} could not be found.`);
  }
  const volumeType = req.volumeType ?? VOLUME_TYPES[0];
  if (!VOLUME_TYPES.includes(volumeType)) {
    throw new CinderNotFoundType(volumeType);
  }
  const az = req.availabilityZone ?? 'nova';
  if (az !== 'nova') throw new InvalidInput('Availability zone \'' + az + '\' is invalid.');
  checkQuota(state, ctx, req.size);
}

/** API.create plus cinder-volume's outcome: the volume is recorded 'available' when its
 * image was made, 'error' when the backend failed (as the create flow's revert leaves it). */
export function createVolume(
  state: State,
  ctx: CinderContext,
  req: CreateVolumeRequest,
  made: { id?: string; status?: 'available' | 'error' } = {},
): Volume {
  checkCreate(state, ctx, req);
  const now = isoMicros();
  const vol: Volume = {
    id: made.id ?? randomUUID(),
    displayName: req.name,
    displayDescription: req.description,
    size: req.size,
    status: made.status ?? 'available',
    attachStatus: 'detached',
    attachments: [],
    migrationStatus: null,
    availabilityZone: req.availabilityZone ?? 'nova',
    volumeType: req.volumeType ?? VOLUME_TYPES[0],
    bootable: Boolean(req.imageRef),
    projectId: ctx.projectId,
    userId: ctx.userId,
    host: `${state.host}@lvmdriver-1#lvmdriver-1`,
    createdAt: now,
    updatedAt: now,
    metadata: {},
  };
  append(state, 'volumes', vol);
  return vol;
}

class CinderNotFoundType extends InvalidInput {
  constructor(name: string) {
    super(`Volume type with name ${name} could not be found.`);
  }
}

/** API.delete: only settled, unattached volumes. Then the driver's delete: when the image
 * is still open (`inUse`: lvremove's "in use"), the volume stays, in 'error_deleting', as
 * the manager leaves it; else the record goes and the caller removes that volume's image.
 * `force` (os-force_delete) drops the status condition only: an attached or migrating
 * volume is refused all the same, as Mitaka's conditional update does. */
export function deleteVolume(
  state: State,
  ctx: CinderContext,
  volumeId: string,
  inUse: (v: Volume) => boolean = () => false,
  force = false,
): { volume: Volume; deleted: boolean } {
  const v = getVolume(state, ctx, volumeId);
  const deletable = ['available', 'error', 'error_restoring', 'error_extending'];
  const statusOk = force || deletable.includes(v.status);
  const migrationOk = force ? AVAILABLE_MIGRATION_STATUS.includes(v.migrationStatus) : v.migrationStatus !== 'migrating';
  if (!statusOk || v.attachStatus === 'attached' || !migrationOk) {
    // utils.build_or_str(None) is '': the forced message keeps the double space
    const status = force ? '' : `status must be ${deletable.join(' or ')} and`;
    throw new InvalidVolume(`Volume ${status} must not be migrating, attached, belong to a consistency group or have snapshots.`);
  }
  if (inUse(v)) {
    v.status = 'error_deleting';
    touch(v);
    return { volume: v, deleted: false };
  }
  remove(state, 'volumes', [byKey(state, 'volumes', v.id)]);
  return { volume: v, deleted: true };
}

/** API.reserve_volume: available → attaching */
export function reserveVolume(state: State, ctx: CinderContext, volumeId: string): void {
  const v = getVolume(state, ctx, volumeId);
  if (v.status !== 'available') throw new InvalidVolume('Volume status must be available to reserve.');
  v.status = 'attaching';
  touch(v);
}

/** API.unreserve_volume: attaching → in-use when it has attachments, else available */
export function unreserveVolume(state: State, ctx: CinderContext, volumeId: string): void {
  const v = getVolume(state, ctx, volumeId);
  if (v.status !== 'attaching') return;
  v.status = v.attachments.some((a) => a.attachStatus === 'attached') ? 'in-use' : 'available';
  touch(v);
}

/** API.begin_detaching: in-use & attached & not migrating → detaching */
export function beginDetaching(state: State, ctx: CinderContext, volumeId: string): void {
  const v = getVolume(state, ctx, volumeId);
  const ok =
    v.status === 'in-use' && v.attachStatus === 'attached' && AVAILABLE_MIGRATION_STATUS.includes(v.migrationStatus);
  if (ok) {
    v.status = 'detaching';
    touch(v);
    return;
  }
  // _is_volume_migrating: while Cinder migrates the volume, migration_status hides the
  // detach from the user
  if (!AVAILABLE_MIGRATION_STATUS.includes(v.migrationStatus)) return;
  throw new InvalidVolume(
    "Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
  );
}

/** API.roll_detaching: detaching → in-use */
export function rollDetaching(state: State, ctx: CinderContext, volumeId: string): void {
  const v = getVolume(state, ctx, volumeId);
  if (v.status === 'detaching') {
    v.status = 'in-use';
    touch(v);
  }
}

/** VolumeManager.attach_volume (os-attach): records the attachment, in-use/attached */
export function attachVolume(
  state: State,
  ctx: CinderContext,
  volumeId: string,
  instanceUuid: string,
  hostName: string,
  mountpoint: string,
  mode: 'rw' | 'ro',
): void {
  const v = getVolume(state, ctx, volumeId);
  let att = v.attachments.find((a) => a.instanceUuid === instanceUuid && a.attachStatus !== 'detached');
  if (!att) {
    att = {
      id: randomUUID(),
      instanceUuid,
      attachedHost: hostName,
      mountpoint,
      attachTime: isoMicros(),
      attachMode: mode,
      attachStatus: 'attached',
    };
    v.attachments.push(att);
  }
  att.mountpoint = mountpoint;
  att.attachStatus = 'attached';
  att.attachMode = mode;
  v.status = 'in-use';
  v.attachStatus = 'attached';
  touch(v);
}

/** VolumeManager.detach_volume (os-detach): drops the attachment; the last one makes it available */
export function detachVolume(state: State, ctx: CinderContext, volumeId: string, attachmentId: string | null): void {
  const v = getVolume(state, ctx, volumeId);
  const att = attachmentId ? v.attachments.find((a) => a.id === attachmentId) : v.attachments[0];
  if (!att) {
    if (attachmentId) throw new VolumeAttachmentNotFound(`attachment_id = ${attachmentId}`);
    // no attachment left: Cinder just settles the status
  } else {
    v.attachments = v.attachments.filter((a) => a !== att);
  }
  if (v.attachments.length === 0) {
    v.status = 'available';
    v.attachStatus = 'detached';
  } else {
    v.status = 'in-use';
  }
  touch(v);
}

/** API.migrate_volume_completion (admin only). A swap Nova started (neither volume migrating):
 * on success every attachment of the old volume moves to the new one; returns the id to keep. */
export function migrateVolumeCompletion(
  state: State,
  ctx: CinderContext,
  volumeId: string,
  newVolumeId: string,
  error: boolean,
): string {
  if (!ctx.isAdmin) throw new PolicyNotAuthorized('volume_extension:volume_admin_actions:migrate_volume_completion');
  const vol = getVolume(state, ctx, volumeId);
  const newVol = getVolume(state, ctx, newVolumeId);
  if (!(vol.migrationStatus || newVol.migrationStatus)) {
    if (!error) {
      for (const att of [...vol.attachments]) {
        detachVolume(state, ctx, vol.id, att.id);
        attachVolume(state, ctx, newVol.id, att.instanceUuid, att.attachedHost, att.mountpoint, 'rw');
      }
    }
    return newVol.id;
  }
  if (!vol.migrationStatus) throw new InvalidVolume('Source volume not mid-migration.');
  if (!newVol.migrationStatus) throw new InvalidVolume('Destination volume not mid-migration.');
  const expected = `target:${vol.id}`;
  if (newVol.migrationStatus !== expected) {
    throw new InvalidVolume(`Destination has migration_status ${newVol.migrationStatus}, expected ${expected}.`);
  }
  // Cinder-initiated migration: keep the original id (the records swap places)
  if (error) {
    vol.migrationStatus = 'error';
    vol.status = vol.attachments.length ? 'in-use' : 'available';
    remove(state, 'volumes', [byKey(state, 'volumes', newVol.id)]);
    return vol.id;
  }
  const keepAttachments = vol.attachments;
  newVol.attachments = [];
  remove(state, 'volumes', [byKey(state, 'volumes', newVol.id)]);
  vol.attachments = keepAttachments;
  vol.migrationStatus = 'success';
  vol.status = keepAttachments.length ? 'in-use' : 'available';
  touch(vol);
  return vol.id;
}

/** VolumeAdminController.valid_status (AdminController's set plus the volume ones) */
export const VALID_RESET_STATUS = ['creating', 'available', 'deleting', 'error', 'error_deleting', 'attaching', 'in-use', 'detaching', 'maintenance'];
export const VALID_ATTACH_STATUS = ['detached', 'attached'];
export const VALID_MIGRATION_STATUS = ['migrating', 'error', 'success', 'completing', 'none', 'starting'];

/** AdminController.authorize: volume_extension:volume_admin_actions:<action> is rule:admin_api */
export function authorizeAdminAction(ctx: CinderContext, action: string): void {
  if (!ctx.isAdmin) throw new PolicyNotAuthorized(`volume_extension:volume_admin_actions:${action}`);
}

/** What os-reset_status may change: the fields of db.volume_update it is given. */
export interface ResetStatusUpdate {
  status?: string;
  attachStatus?: 'attached' | 'detached';
  /** null clears it ('none' on the wire) */
  migrationStatus?: string | null;
}

/** db.volume_detached for every attachment still in use (admin_actions' _clean_volume_attachment):
 * the attachments go, and the volume settles as the last detach leaves it. */
function cleanVolumeAttachments(v: Volume): void {
  v.attachments = v.attachments.filter((a) => a.attachStatus === 'detached');
  // the status is hidden from the user while a migration runs (volume_detached)
  if (!v.migrationStatus || v.migrationStatus === 'success' || v.migrationStatus === 'error') {
    if (v.status !== 'uploading') v.status = 'available';
  }
  v.attachStatus = 'detached';
}

/**
 * VolumeAdminController._reset_status after its checks: db.volume_update with the fields
 * given, and nothing else — no attach, no detach, no connection touched (Mitaka's reset-state
 * is a database change only). attach_status 'detached' also detaches every attachment in the
 * database, as _clean_volume_attachment does.
 */
export function resetStatus(state: State, ctx: CinderContext, volumeId: string, update: ResetStatusUpdate): Volume {
  authorizeAdminAction(ctx, 'reset_status');
  const v = getVolume(state, ctx, volumeId);
  if (update.status !== undefined) v.status = update.status;
  if (update.attachStatus !== undefined) v.attachStatus = update.attachStatus;
  if (update.migrationStatus !== undefined) v.migrationStatus = update.migrationStatus;
  touch(v);
  if (update.attachStatus === 'detached') cleanVolumeAttachments(v);
  return v;
}

/** The volume types Cinder knows (devstack makes one per backend; novasim has lvmdriver-1) */
export interface VolumeType {
  id: string;
  name: string;
  description: string | null;
  isPublic: boolean;
  extraSpecs: Record<string, string>;
  qosSpecsId: string | null;
}
