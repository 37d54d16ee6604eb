// The QMP monitor (monitor/qmp.c) and the block commands it dispatches (blockdev.c,
// blockjob.c): argument checking as the QAPI visitors do it, then the command itself.
import { QmpError, msg } from './errors.js';
import { RawImage, imageLockConflict } from './image.js';
import { MirrorBlockJob } from './mirror.js';
import type { BlockBackend } from './block-backend.js';
import type { BlockdevOnError, JobStatus, MirrorSyncMode, NewImageMode, QmpCommand, QemuProfile } from './types.js';

type ArgType = 'str' | 'int' | 'bool' | 'any' | readonly string[];
type Schema = ReadonlyArray<readonly [name: string, type: ArgType, required: boolean]>;
type Args = Record<string, unknown>;

const ON_ERROR = ['report', 'ignore', 'stop', 'enospc'] as const;

// the members of each command, in qapi/block-core.json order (the visitor checks in that order)
const SCHEMAS: Record<string, Schema> = {
  qmp_capabilities: [['enable', 'any', false]],
  'query-version': [],
  'query-status': [],
  'query-block': [],
  'query-block-jobs': [],
  quit: [],
  'drive-mirror': [
    ['job-id', 'str', false],
    ['device', 'str', true],
    ['target', 'str', true],
    ['format', 'str', false],
    ['node-name', 'str', false],
    ['replaces', 'str', false],
    ['sync', ['top', 'full', 'none', 'incremental', 'bitmap'], true],
    ['mode', ['existing', 'absolute-paths'], false],
    ['speed', 'int', false],
    ['granularity', 'int', false],
    ['buf-size', 'int', false],
    ['on-source-error', ON_ERROR, false],
    ['on-target-error', ON_ERROR, false],
    ['unmap', 'bool', false],
    ['copy-mode', ['background', 'write-blocking'], false],
    ['auto-finalize', 'bool', false],
    ['auto-dismiss', 'bool', false],
  ],
  'block-job-set-speed': [
    ['device', 'str', true],
    ['speed', 'int', true],
  ],
  'block-job-cancel': [
    ['device', 'str', true],
    ['force', 'bool', false],
  ],
  'block-job-pause': [['device', 'str', true]],
  'block-job-resume': [['device', 'str', true]],
  'block-job-complete': [['device', 'str', true]],
  block_resize: [
    ['device', 'str', false],
    ['node-name', 'str', false],
    ['size', 'int', true],
  ],
};

/** the qobject input visitor: missing members, wrong types, bad enum values, extra members */
function visitArguments(schema: Schema, args: Args): Args {
  for (const [name, type, required] of schema) {
    const v = args[name];
    if (v === undefined) {
      if (required) throw new QmpError(msg.missing(name));
      continue;
    }
    if (type === 'any') continue;
    if (type === 'str' && typeof v !== 'string') throw new QmpError(msg.badType(name, 'string'));
    if (type === 'int' && !(typeof v === 'number' && Number.isInteger(v))) throw new QmpError(msg.badType(name, 'integer'));
    if (type === 'bool' && typeof v !== 'boolean') throw new QmpError(msg.badType(name, 'boolean'));
    if (Array.isArray(type)) {
      if (typeof v !== 'string') throw new QmpError(msg.badType(name, 'string'));
      if (!type.includes(v)) throw new QmpError(msg.badEnum(name, v));
    }
  }
  for (const k of Object.keys(args)) {
    if (!schema.some(([name]) => name === k)) throw new QmpError(msg.unexpected(k));
  }
  return args;
}

export interface MonitorHost {
  readonly name: string;
  readonly profile: Required<Pick<QemuProfile, 'rejectSizeMismatch'>> & { version: NonNullable<QemuProfile['version']> };
  drives: Map<string, BlockBackend>;
  jobs: Map<string, MirrorBlockJob>;
  emit(event: string, data: Record<string, unknown>): void;
  quit(): Promise<void>;
}

export class QmpMonitor {
  private negotiated = false;

  constructor(private readonly host: MonitorHost) {}

  /** the greeting QEMU sends when a client connects */
  greeting(): Record<string, unknown> {
    const v = this.host.profile.version;
    return { QMP: { version: { qemu: { micro: v.micro, minor: v.minor, major: v.major }, package: v.package }, capabilities: ['oob'] } };
  }

  /** monitor_qmp_dispatch: runs one command; throws QmpError for an error reply */
  dispatch(cmd: QmpCommand): unknown {
    const name = cmd.execute;
    const schema = SCHEMAS[name];
    if (!schema) throw new QmpError(msg.commandNotFound(name), 'CommandNotFound');
    if (!this.negotiated && name !== 'qmp_capabilities') throw new QmpError(msg.needCaps, 'CommandNotFound');
    const args = visitArguments(schema, cmd.arguments ?? {});
    switch (name) {
      case 'qmp_capabilities':
        if (this.negotiated) throw new QmpError(msg.capsDone, 'CommandNotFound');
        this.negotiated = true;
        return {};
      case 'query-version': {
        const v = this.host.profile.version;
        return { qemu: { micro: v.micro, minor: v.minor, major: v.major }, package: v.package };
      }
      case 'query-status':
        return { running: true, singlestep: false, status: 'running' };
      case 'query-block':
        return this.queryBlock();
      case 'query-block-jobs':
        return [...this.host.jobs.values()].map((j) => j.info());
      case 'drive-mirror':
        return this.driveMirror(args);
      case 'block-job-set-speed':
        this.findJob(args.device as string).setSpeed(args.speed as number);
        return {};
      case 'block-job-cancel': {
        const job = this.findJob(args.device as string);
        job.cancel(args.force === true);
        return {};
      }
      case 'block-job-pause':
        this.findJob(args.device as string).pause();
        return {};
      case 'block-job-resume':
        this.findJob(args.device as string).resume();
        return {};
      case 'block-job-complete':
        this.findJob(args.device as string).complete();
        return {};
      case 'block_resize':
        return this.blockResize(args);
      case 'quit':
        return this.host.quit().then(() => ({}));
      default:
        throw new QmpError(msg.commandNotFound(name), 'CommandNotFound');
    }
  }

  /** qmp_query_block, shaped like QEMU 7.2's reply */
  private queryBlock(): unknown[] {
    return [...this.host.drives.values()].map((d) => {
      const img = d.image;
      return {
        device: d.id,
        locked: false,
        removable: true,
        inserted: {
          iops_rd: 0,
          detect_zeroes: 'off',
          image: { 'virtual-size': img.size, filename: img.path, format: 'raw', 'actual-size': img.actualSize(), 'dirty-flag': false },
          iops_wr: 0,
          ro: false,
          'node-name': d.nodeName,
          backing_file_depth: 0,
          drv: 'raw',
          iops: 0,
          bps_wr: 0,
          write_threshold: 0,
          encrypted: false,
          bps: 0,
          bps_rd: 0,
          cache: { 'no-flush': img.cache['no-flush'], direct: img.cache.direct, writeback: img.cache.writeback },
          file: img.path,
        },
        type: 'unknown',
      };
    });
  }

  /** find_block_job */
  private findJob(device: string): MirrorBlockJob {
    const job = this.host.jobs.get(device);
    if (!job) throw new QmpError(msg.jobNotFound(device), 'DeviceNotActive');
    return job;
  }

  /** qmp_drive_mirror → blockdev_mirror_common → mirror_start_job */
  private driveMirror(args: Args): Record<string, never> {
    const device = args.device as string;
    const targetPath = args.target as string;
    // qmp_get_root_bs
    const drive = this.host.drives.get(device);
    if (!drive) throw new QmpError(msg.cannotFind(device, device));
    if (drive.jobId !== null) throw new QmpError(msg.needRoot);
    if (args.format !== undefined && args.format !== 'raw') throw new QmpError(msg.unknownDriver(args.format as string));
    if (args['copy-mode'] === 'write-blocking') throw new QmpError(msg.badEnum('copy-mode', 'write-blocking'));

    // NOTE: a raw image has no backing file, so sync=top means full (blockdev_mirror_common)
    let sync = args.sync as MirrorSyncMode | 'incremental' | 'bitmap';
    if (sync === 'incremental' || sync === 'bitmap') throw new QmpError(`Sync mode '${sync}' not supported`);
    if (sync === 'top') sync = 'full';
    const mode = (args.mode as NewImageMode | undefined) ?? 'absolute-paths';

    // the target: opened as it is (existing), or created at the source's size, with the
    // source's open flags (qmp_drive_mirror: flags = bs->open_flags | BDRV_O_RDWR)
    let target: RawImage;
    let targetIsNew = false;
    if (mode === 'existing' || imageLockConflict(targetPath, 'mirror-target')) {
      // an image in use is never recreated; the lock conflict is reported when the job takes it
      target = RawImage.open(targetPath, drive.image.cache);
    } else {
      target = RawImage.create(targetPath, drive.image.size, drive.image.cache);
      targetIsNew = true;
    }

    try {
      const granularity = (args.granularity as number | undefined) ?? 0;
      if (granularity !== 0 && (granularity < 512 || granularity > 64 * 1048576)) throw new QmpError(msg.granularityRange);
      if (granularity & (granularity - 1)) throw new QmpError(msg.granularityPow2);
      const bufSize = (args['buf-size'] as number | undefined) ?? 0;
      if (bufSize < 0) throw new QmpError(msg.bufSize);

      const job = new MirrorBlockJob({
        source: drive,
        target,
        sync,
        granularity,
        bufSize,
        speed: (args.speed as number | undefined) ?? 0,
        onSourceError: (args['on-source-error'] as BlockdevOnError | undefined) ?? 'report',
        onTargetError: (args['on-target-error'] as BlockdevOnError | undefined) ?? 'report',
        unmap: (args.unmap as boolean | undefined) ?? true,
        targetIsNew,
        rejectSizeMismatch: this.host.profile.rejectSizeMismatch,
        emit: (event, data) => this.host.emit(event, data),
        onStatus: (id, status) => this.onJobStatus(id, status),
      });
      // block_job_add_bdrv(target): the job needs to write the target
      try {
        target.lock('mirror-target');
      } catch (e) {
        job.abandon();
        throw e;
      }
      drive.jobId = job.id;
      this.host.jobs.set(job.id, job);
      job.start();
      return {};
    } catch (e) {
      target.close();
      throw e;
    }
  }

  private onJobStatus(id: string, status: JobStatus): void {
    this.host.emit('JOB_STATUS_CHANGE', { status, id });
    if (status === 'null') this.host.jobs.delete(id);
  }

  /** qmp_block_resize */
  private blockResize(args: Args): Record<string, never> {
    const device = args.device as string | undefined;
    const nodeName = args['node-name'] as string | undefined;
    const drive =
      (device !== undefined ? this.host.drives.get(device) : undefined) ??
      (nodeName !== undefined ? [...this.host.drives.values()].find((d) => d.nodeName === nodeName) : undefined);
    if (!drive) throw new QmpError(msg.cannotFind(device ?? '', nodeName ?? ''));
    const size = args.size as number;
    if (size < 0) throw new QmpError(msg.sizeNegative);
    if (drive.jobId !== null) throw new QmpError(msg.inUse(device ?? nodeName ?? drive.id));
    drive.image.truncate(size);
    return {};
  }
}
