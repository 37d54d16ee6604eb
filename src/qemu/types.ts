// The QMP wire shapes, as QEMU's monitor speaks them (qapi/block-core.json).
import type { CacheMode } from './cache.js';

export interface QmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: string;
}

export type QmpReply =
  | { return: unknown; id?: string }
  | { error: { class: string; desc: string }; id?: string };

export interface QmpEvent {
  timestamp: { seconds: number; microseconds: number };
  event: string;
  data: Record<string, unknown>;
}

/** One -drive of the QEMU process: the id libvirt gives it and the image it reads. */
export interface DriveSpec {
  /** e.g. drive-virtio-disk0 */
  id: string;
  file: string;
  format: 'raw';
  /** -drive cache=…; QEMU's default is writeback */
  cache?: CacheMode;
}

/** qapi JobStatus (job.c's state machine). */
export type JobStatus =
  | 'undefined'
  | 'created'
  | 'running'
  | 'paused'
  | 'ready'
  | 'standby'
  | 'waiting'
  | 'pending'
  | 'aborting'
  | 'concluded'
  | 'null';

/** qapi BlockdevOnError */
export type BlockdevOnError = 'report' | 'ignore' | 'stop' | 'enospc';

/** qapi MirrorSyncMode (the subset drive-mirror accepts) */
export type MirrorSyncMode = 'full' | 'top' | 'none';

/** qapi NewImageMode */
export type NewImageMode = 'existing' | 'absolute-paths';

/** qapi BlockJobInfo, with the members in the order QEMU 7.2 prints them. */
export interface BlockJobInfo {
  'auto-finalize': boolean;
  'io-status': 'ok' | 'failed' | 'nospace';
  device: string;
  'auto-dismiss': boolean;
  busy: boolean;
  len: number;
  offset: number;
  status: JobStatus;
  paused: boolean;
  speed: number;
  ready: boolean;
  type: 'mirror';
}

/** Which QEMU the process behaves like. */
export interface QemuProfile {
  /**
   * QEMU >= 5 fails a mirror whose target size differs from the source
   * ("Source and target image have different sizes"); the Mitaka-era QEMU 2.6 (the default)
   * accepts a larger target and copies the source's length.
   */
  rejectSizeMismatch?: boolean;
  /** What query-version and the greeting report; defaults follow rejectSizeMismatch. */
  version?: { major: number; minor: number; micro: number; package: string };
}

/** A cheap, non-QMP view of a block job for progress displays (no monitor traffic). */
export interface JobSnapshot {
  status: JobStatus;
  offset: number;
  len: number;
  ready: boolean;
  speed: number;
  paused: boolean;
  /** real bytes written to the target so far (holes skipped are not counted) */
  bytesCopied: number;
  elapsedMs: number;
}

/** blkdebug-style fault injection for the mirror job's I/O on a drive. */
export interface IoErrorInjection {
  device: string;
  /** 'read' fails the job's reads of the source, 'write' its writes to the target */
  op: 'read' | 'write';
  /** how many consecutive operations fail (EIO, or ENOSPC with errno 'ENOSPC') */
  count: number;
  /** optional, informative: the side the failing op touches; implied by op */
  target?: boolean;
  errno?: 'EIO' | 'ENOSPC';
}
