// QEMU's Error objects as QMP reports them: an ErrorClass and a human description.
// The descriptions are QEMU 7.2's exact strings (qapi, blockdev.c, job.c, block/mirror.c).
import { SimError } from '../common/errors.js';

export type QmpErrorClass = 'GenericError' | 'CommandNotFound' | 'DeviceNotActive' | 'DeviceNotFound' | 'KVMMissingCap';

/** A QMP command failure: becomes {"error": {"class", "desc"}} on the wire. */
export class QmpError extends SimError {
  readonly errorClass: QmpErrorClass;
  constructor(desc: string, errorClass: QmpErrorClass = 'GenericError') {
    super('QmpError', desc);
    this.errorClass = errorClass;
  }
}

/** A failure outside QMP: a guest I/O error, a closed monitor, a start-up lock conflict. */
export class QemuError extends SimError {
  readonly errno?: string;
  constructor(message: string, errno?: string) {
    super('QemuError', message);
    this.errno = errno;
  }
}

/** strerror(3) for the errnos the block layer reports. */
export { strerror } from '../common/strerror.js';

export const msg = {
  // qapi/qobject-input-visitor.c and qapi-visit-core.c
  missing: (p: string) => `Parameter '${p}' is missing`,
  unexpected: (p: string) => `Parameter '${p}' is unexpected`,
  badType: (p: string, t: string) => `Invalid parameter type for '${p}', expected: ${t}`,
  badEnum: (p: string, v: string) => `Parameter '${p}' does not accept value '${v}'`,
  // monitor/qmp.c
  commandNotFound: (c: string) => `The command ${c} has not been found`,
  needCaps: "Expecting capabilities negotiation with 'qmp_capabilities'",
  capsDone: 'Capabilities negotiation is already complete, command ignored',
  // block.c bdrv_lookup_bs / blockdev.c qmp_get_root_bs
  cannotFind: (d: string, n: string) => `Cannot find device='${d}' nor node-name='${n}'`,
  needRoot: 'Need a root block node',
  couldNotOpen: (path: string, why: string) => `Could not open '${path}': ${why}`,
  unknownDriver: (fmt: string) => `Unknown driver '${fmt}'`,
  // blockdev.c blockdev_mirror_common, block/mirror.c mirror_start_job
  granularityRange: "Parameter 'granularity' expects a value in range [512B, 64MB]",
  granularityPow2: "Parameter 'granularity' expects a power of 2",
  bufSize: "Invalid parameter 'buf-size'",
  speedNegative: "Parameter 'speed' expects a non-negative value",
  sizeNegative: "Parameter 'size' expects a >0 size",
  // file-posix.c image locking
  writeLock: 'Failed to get "write" lock',
  consistentReadLock: 'Failed to get shared "consistent read" lock',
  // block/mirror.c mirror_run (QEMU >= 5)
  sizeMismatch: 'Source and target image have different sizes',
  // blockdev.c find_block_job / job.c
  jobNotFound: (d: string) => `Block job '${d}' not found`,
  verb: (id: string, state: string, verb: string) => `Job '${id}' in state '${state}' cannot accept command verb '${verb}'`,
  alreadyPaused: 'Job is already paused',
  notPaused: "Can't resume a job that was not paused",
  cancelPaused: (d: string) => `The block job for device '${d}' is currently paused`,
  cannotComplete: (id: string) => `The active block job '${id}' cannot be completed`,
  // qerror.h QERR_DEVICE_IN_USE (qmp_block_resize while a job holds the node)
  inUse: (d: string) => `Device '${d}' is in use`,
} as const;
