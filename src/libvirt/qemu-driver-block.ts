// The QEMU driver's block-job entry points (src/qemu/qemu_driver.c): what
// virDomainBlockRebase, virDomainGetBlockJobInfo, virDomainBlockJobAbort and
// virDomainBlockResize reach once the public API (domain.ts) has checked its arguments.
// Each checks in libvirt's order, talks QMP to the domain's QEMU, and hands the jobs it
// starts to the block-job tracker (blockjob.ts).
import { statSync } from 'node:fs';
import { getLogger } from '../common/log.js';
import { isoMicros } from '../common/time.js';
import type { QmpReply } from '../qemu/types.js';
import type { BlockJobInfo, VirDomain } from './domain.js';
import { findDisk, isActive } from './domain-conf.js';
import { LibvirtError, VIR_ERR, systemError } from './errors.js';
import { VIR_DOMAIN_BLOCK_JOB_ABORT, VIR_DOMAIN_BLOCK_JOB_TYPE, VIR_DOMAIN_BLOCK_REBASE, VIR_DOMAIN_BLOCK_RESIZE, decodeFlags } from './flags.js';
import { driveId, type QemuMonitor } from './qemu-host.js';

const LOG = getLogger('libvirt.qemu.qemu_driver', 'libvirtd');

const LLONG_MAX = 2n ** 63n - 1n;
const MiB = 1024 * 1024;

/** qemuMonitorDriveMirror (src/qemu/qemu_monitor.c): the monitor's entry point logs the
 * request and hands it to the JSON monitor */
function qemuMonitorDriveMirror(mon: QemuMonitor, device: string, file: string, format: string, bandwidth: number, granularity: number, bufSize: number, flags: number): Promise<QmpReply> {
  LOG.debug(`qemuMonitorDriveMirror: device=${device}, file=${file}, format=${format}, bandwidth=${bandwidth}, granularity=0x${granularity.toString(16)}, buf_size=${bufSize}, flags=${flags.toString(16)}`);
  return qemuDriver.qemuMonitorJSONDriveMirror(mon, device, file, format, bandwidth, granularity, bufSize, flags);
}

/** qemuMonitorJSONDriveMirror (src/qemu/qemu_monitor_json.c): builds the drive-mirror command
 * (sync full; mode existing when the target is reused) and sends it */
function qemuMonitorJSONDriveMirror(mon: QemuMonitor, device: string, file: string, format: string, bandwidth: number, granularity: number, bufSize: number, flags: number): Promise<QmpReply> {
  const args: Record<string, unknown> = { device, target: file, speed: bandwidth };
  if (granularity) args.granularity = granularity;
  if (bufSize) args['buf-size'] = bufSize;
  args.sync = 'full';
  args.mode = flags & VIR_DOMAIN_BLOCK_REBASE.REUSE_EXT ? 'existing' : 'absolute-paths';
  args.format = format;
  return mon.qmp({ execute: 'drive-mirror', arguments: args });
}

/** qemuDomainBlockRebase: the COPY branch (block pull is not modelled) */
async function qemuDomainBlockRebase(dom: VirDomain, path: string, base: string | null, bandwidth: number, flags: number): Promise<number> {
  const F = VIR_DOMAIN_BLOCK_REBASE;
  const known = F.SHALLOW | F.REUSE_EXT | F.COPY | F.COPY_RAW | F.RELATIVE | F.COPY_DEV | F.BANDWIDTH_BYTES;
  if (flags & ~known) throw new LibvirtError(VIR_ERR.INVALID_ARG, `unsupported flags (0x${(flags & ~known).toString(16)}) in function qemuDomainBlockRebase`);
  domObj(dom); // qemuDomObjFromDomain
  if (!(flags & F.COPY)) {
    throw new LibvirtError(VIR_ERR.ARGUMENT_UNSUPPORTED, 'block pull is not supported by novasim');
  }
  const destType: 'file' | 'block' = flags & F.COPY_DEV ? 'block' : 'file';
  const destFormat = flags & F.COPY_RAW ? 'raw' : null;
  let speed = BigInt(Math.trunc(bandwidth));
  if (!(flags & F.BANDWIDTH_BYTES)) {
    if (speed > LLONG_MAX >> 20n) {
      throw new LibvirtError(VIR_ERR.OVERFLOW, `bandwidth must be less than ${LLONG_MAX >> 20n}`);
    }
    speed <<= 20n;
  }
  if (flags & F.RELATIVE) {
    throw new LibvirtError(VIR_ERR.ARGUMENT_UNSUPPORTED, 'Relative backing during copy not supported yet');
  }
  // called through qemuDriver so that --trace sees it
  return qemuDriver.qemuDomainBlockCopyCommon(dom, path, base as string, destType, destFormat, Number(speed), 0, 0, flags & (F.SHALLOW | F.REUSE_EXT));
}

/** qemuDomainBlockCopyCommon: the checks in libvirt's order, then drive-mirror */
async function qemuDomainBlockCopyCommon(
  dom: VirDomain,
  path: string,
  mirrorPath: string,
  destType: 'file' | 'block',
  destFormat: string | null,
  bandwidth: number,
  granularity: number,
  bufSize: number,
  flags: number,
): Promise<number> {
  const F = VIR_DOMAIN_BLOCK_REBASE;
  const conn = dom.connect();
  const vm = domObj(dom);
  if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
  const disk = findDisk(vm.def, path);
  const device = driveId(disk.alias ?? '');
  if (vm.mirrors[disk.targetDev] || conn.blockJobs.get(vm.uuid, disk.targetDev)) {
    throw new LibvirtError(VIR_ERR.BLOCK_COPY_ACTIVE, `disk '${disk.targetDev}' already in active block job`);
  }
  if (vm.persistentDef) {
    // qemu can't yet restart a domain with a mirror running, and libvirt-guests may
    // managed-save a persistent one, so block copy needs a transient domain
    throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not transient');
  }
  // only one layer here, so SHALLOW is cleared, and a raw destination is fine
  flags &= ~F.SHALLOW;
  let st: ReturnType<typeof statSync> | null = null;
  try {
    st = statSync(mirrorPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code !== 'ENOENT') throw systemError(`unable to stat for disk ${disk.targetDev}: ${mirrorPath}`, code);
    if (flags & F.REUSE_EXT || destType === 'block') {
      throw systemError(`missing destination file for disk ${disk.targetDev}: ${mirrorPath}`, code);
    }
  }
  if (st && !st.isBlockDevice()) {
    if (st.size && !(flags & F.REUSE_EXT)) {
      throw new LibvirtError(
        VIR_ERR.CONFIG_UNSUPPORTED,
        `external destination file for disk ${disk.targetDev} already exists and is not a block device: ${mirrorPath}`,
      );
    }
    if (destType === 'block') {
      throw new LibvirtError(VIR_ERR.INVALID_ARG, `blockdev flag requested for disk ${disk.targetDev}, but file '${mirrorPath}' is not a block device`);
    }
  }
  // the format is probed from a reused file (all our images are raw) or copied from the source
  const format = destFormat ?? (flags & F.REUSE_EXT ? 'raw' : disk.driverType);
  const mon = await conn.qemu.get(vm);
  const jobs = conn.blockJobs;
  const job = jobs.newJob(vm, disk.targetDev, device, mirrorPath);
  let reply: QmpReply;
  try {
    // called through qemuDriver so that --trace sees each monitor layer
    reply = await qemuDriver.qemuMonitorDriveMirror(mon, device, mirrorPath, format, bandwidth, granularity, bufSize, flags);
  } catch (err) {
    jobs.discardJob(job);
    throw err;
  }
  if ('error' in reply) {
    jobs.discardJob(job);
    throw new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'drive-mirror': ${reply.error.desc}`);
  }
  // disk->mirror is recorded and the status saved (virDomainSaveStatus). libvirtd writes
  // its status XML to tmpfs (/run/libvirt/qemu), and its caller polls the job a millisecond
  // after QEMU answered; here the status is the durable state file (an fsync, ~10 ms), so
  // the save goes on beside the caller's first poll instead of in front of it. The job's
  // own state changes (finishJob, persistMirror) queue behind it in the store.
  const saved = conn.store.update((s) => {
    const d = conn.domainObj(dom.uuid, dom.domName, s);
    d.mirrors[disk.targetDev] = {
      dev: disk.targetDev,
      type: destType,
      source: mirrorPath,
      format,
      job: 'copy',
      ready: false,
      cur: 0,
      end: 0,
      bandwidth,
      ownerPid: process.pid,
      updatedAt: isoMicros(),
    };
  });
  // qemuBlockJobStarted: the API call ends here, and the job's events (any that came in
  // while drive-mirror ran) are handled from now on
  jobs.startedJob(job);
  jobs.jobSaved(
    job,
    saved.catch(async (err: unknown) => {
      // a job whose record could not be saved must not go on copying unseen: stop it
      if (jobs.get(vm.uuid, disk.targetDev) === job) {
        await mon.qmp({ execute: 'block-job-cancel', arguments: { device, force: true } }).catch(() => undefined);
      }
      throw err;
    }),
  );
  return 0;
}

/** qemuDomainGetBlockJobInfo */
async function qemuDomainGetBlockJobInfo(dom: VirDomain, path: string, flags: number): Promise<BlockJobInfo> {
  void flags;
  const vm = domObj(dom);
  if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
  const disk = findDisk(vm.def, path);
  const device = driveId(disk.alias ?? '');
  const stored = vm.mirrors[disk.targetDev];
  let raw: { type: string; speed: number; offset: number; len: number; ready: boolean } | undefined;
  if (stored && stored.ownerPid !== process.pid) {
    // the job runs in another host process: answer from what it last reported
    raw = { type: 'mirror', speed: stored.bandwidth, offset: stored.cur, len: stored.end, ready: stored.ready };
  } else {
    const reply = await (await dom.connect().qemu.get(vm)).qmp({ execute: 'query-block-jobs' });
    // qemuMonitorJSONCheckError
    if ('error' in reply) throw new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'query-block-jobs': ${reply.error.desc}`);
    const jobs = reply.return as { device: string; type: string; speed: number; offset: number; len: number; ready: boolean }[];
    raw = jobs.find((j) => j.device === device);
  }
  if (!raw) return {};
  let cur = raw.offset;
  let end = raw.len;
  // a job that has not started reports 0/0; libvirt makes that read as "not done"
  if (cur === 0 && end === 0) {
    end = 1;
    if (raw.ready) cur = 1;
  }
  return {
    type: raw.type === 'mirror' ? VIR_DOMAIN_BLOCK_JOB_TYPE.COPY : VIR_DOMAIN_BLOCK_JOB_TYPE.UNKNOWN,
    bandwidth: Math.ceil(raw.speed / MiB),
    cur,
    end,
  };
}

/** qemuDomainBlockJobAbort: cancel, or (PIVOT) complete a ready copy; waits for the job's
 * end unless ASYNC */
async function qemuDomainBlockJobAbort(dom: VirDomain, path: string, flags: number): Promise<number> {
  const conn = dom.connect();
  const vm = domObj(dom);
  if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running');
  const disk = findDisk(vm.def, path);
  const device = driveId(disk.alias ?? '');
  const pivot = Boolean(flags & VIR_DOMAIN_BLOCK_JOB_ABORT.PIVOT);
  const job = conn.blockJobs.get(vm.uuid, disk.targetDev);
  const stored = vm.mirrors[disk.targetDev];
  // (a mirror this process recorded without a live job is one whose end is being saved)
  if (stored && !job && stored.ownerPid !== process.pid) {
    throw new LibvirtError(VIR_ERR.OPERATION_INVALID, `disk '${disk.targetDev}' has a block job run by process ${stored.ownerPid}`);
  }
  const mon = await conn.qemu.get(vm);
  if (pivot) {
    if (!job) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, `pivot of disk '${disk.targetDev}' requires an active copy job`);
    if (!job.ready) throw new LibvirtError(VIR_ERR.BLOCK_COPY_ACTIVE, `disk '${disk.targetDev}' not ready for pivot yet`);
    job.pivoting = true;
    conn.blockJobs.notify({ type: 'job', phase: 'pivot', domain: vm.name, disk: disk.targetDev });
    const reply = await mon.qmp({ execute: 'block-job-complete', arguments: { device } });
    if ('error' in reply) {
      job.pivoting = false;
      throw qmpBlockJobError(reply.error.class, reply.error.desc, device, 'block-job-complete');
    }
  } else {
    const reply = await mon.qmp({ execute: 'block-job-cancel', arguments: { device } });
    if ('error' in reply) throw qmpBlockJobError(reply.error.class, reply.error.desc, device, 'block-job-cancel');
  }
  if (job && !(flags & VIR_DOMAIN_BLOCK_JOB_ABORT.ASYNC)) {
    const how = await job.ended;
    if (pivot && how !== 'completed') {
      throw new LibvirtError(VIR_ERR.OPERATION_FAILED, `failed to pivot job for disk ${disk.targetDev}`);
    }
  }
  return 0;
}

/** qemuDomainBlockResize (size in KiB unless BYTES) */
async function qemuDomainBlockResize(dom: VirDomain, path: string, size: number, flags: number): Promise<number> {
  const vm = domObj(dom);
  if (!isActive(vm)) throw new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not active');
  const disk = findDisk(vm.def, path);
  const bytes = flags & VIR_DOMAIN_BLOCK_RESIZE.BYTES ? size : size * 1024;
  const reply = await (await dom.connect().qemu.get(vm)).qmp({ execute: 'block_resize', arguments: { device: driveId(disk.alias ?? ''), size: bytes } });
  if ('error' in reply) throw new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'block_resize': ${reply.error.desc}`);
  return 0;
}

/** qemuDomObjFromDomain */
function domObj(dom: VirDomain) {
  return dom.connect().domainObj(dom.uuid, dom.domName);
}

/** qemuMonitorJSONBlockJobError: how libvirt words QEMU's block-job errors */
function qmpBlockJobError(klass: string, desc: string, device: string, cmd: string): LibvirtError {
  if (klass === 'DeviceNotActive') return new LibvirtError(VIR_ERR.OPERATION_INVALID, `No active operation on device: ${device}`);
  return new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command '${cmd}': ${desc}`);
}

/** The driver table (virHypervisorDriver) for the block calls: the public entry points and
 * these functions call each other through it, so the tracer can wrap each one. */
export const qemuDriver = {
  qemuDomainBlockRebase,
  qemuDomainBlockCopyCommon,
  qemuDomainGetBlockJobInfo,
  qemuDomainBlockJobAbort,
  qemuDomainBlockResize,
  qemuMonitorDriveMirror,
  qemuMonitorJSONDriveMirror,
};
