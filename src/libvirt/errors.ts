// virterror: libvirt's error numbers and the prefix each one puts before its message
// (src/util/virerror.c virErrorMsg), so callers see exactly what python-libvirt raises.
import { SimError } from '../common/errors.js';

export const VIR_ERR = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  NO_DOMAIN: 42,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  ARGUMENT_UNSUPPORTED: 74,
  OVERFLOW: 82,
  BLOCK_COPY_ACTIVE: 83,
  SYSTEM_ERROR: 38,
  XML_ERROR: 27,
} as const;

const PREFIX: Record<number, string> = {
  [VIR_ERR.INTERNAL_ERROR]: 'internal error',
  [VIR_ERR.NO_SUPPORT]: 'this function is not supported by the connection driver',
  [VIR_ERR.NO_DOMAIN]: 'Domain not found',
  [VIR_ERR.INVALID_ARG]: 'invalid argument',
  [VIR_ERR.OPERATION_FAILED]: 'operation failed',
  [VIR_ERR.OPERATION_INVALID]: 'Requested operation is not valid',
  [VIR_ERR.CONFIG_UNSUPPORTED]: 'unsupported configuration',
  [VIR_ERR.ARGUMENT_UNSUPPORTED]: 'argument unsupported',
  [VIR_ERR.OVERFLOW]: 'value too large',
  [VIR_ERR.BLOCK_COPY_ACTIVE]: 'block copy still active',
  [VIR_ERR.XML_ERROR]: 'XML error',
};

/** python-libvirt's libvirtError: str() is the formatted virError message */
export class LibvirtError extends SimError {
  constructor(readonly code: number, detail: string) {
    const prefix = PREFIX[code];
    super('libvirtError', prefix ? `${prefix}: ${detail}` : detail);
  }

  getErrorCode(): number {
    return this.code;
  }
}

/** virReportSystemError: "<message>: <strerror(errno)>" */
export function systemError(message: string, errno: string): LibvirtError {
  const text: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EPERM: 'Operation not permitted',
    EIO: 'Input/output error',
    ENOTDIR: 'Not a directory',
    EISDIR: 'Is a directory',
    ELOOP: 'Too many levels of symbolic links',
    ENAMETOOLONG: 'File name too long',
    EOVERFLOW: 'Value too large for defined data type',
    ENOSPC: 'No space left on device',
    EROFS: 'Read-only file system',
    EBUSY: 'Device or resource busy',
  };
  return new LibvirtError(VIR_ERR.SYSTEM_ERROR, `${message}: ${text[errno] ?? errno}`);
}
