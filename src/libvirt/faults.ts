// What a `nova-sim fault` at a libvirt point means: the API call fails in libvirtd before it
// changes the domain, and python-libvirt raises libvirtError with the error libvirtd
// reported — each point's code and a message libvirt really gives for that call (or the
// `--error TEXT` as the detail after the code's prefix).
import { faultAt, type FaultPoint } from '../common/faults.js';
import { getLogger } from '../common/log.js';
import { LibvirtError, VIR_ERR, systemError } from './errors.js';

const LOG = getLogger('libvirt.qemu.qemu_driver', 'libvirtd');

/** What the call is about: the domain, and the disk and path where there is one. */
export interface LibvirtFaultSite {
  domain: string;
  disk?: string;
  path?: string | null;
}

type LibvirtPoint = Extract<FaultPoint, `libvirt.${string}`>;

/** Each point's virErrorNumber, and the error libvirtd gives when that step really fails. */
export const LIBVIRT_FAULTS: Readonly<Record<LibvirtPoint, { code: number; fn: string; default: (s: LibvirtFaultSite) => LibvirtError }>> = {
  // virDomainDeleteConfig: the config file cannot be removed
  'libvirt.undefine': {
    code: VIR_ERR.SYSTEM_ERROR,
    fn: 'qemuDomainUndefineFlags',
    default: (s) => systemError(`cannot remove config /etc/libvirt/qemu/${s.domain}.xml`, 'EIO'),
  },
  // drive-mirror refused by QEMU: the target cannot be opened
  'libvirt.blockRebase': {
    code: VIR_ERR.INTERNAL_ERROR,
    fn: 'qemuDomainBlockRebase',
    default: (s) => new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'drive-mirror': Could not open '${s.path ?? ''}': Permission denied`),
  },
  // qemuDomainBlockJobAbort with VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT: the switch never happens
  'libvirt.blockJobAbort.pivot': {
    code: VIR_ERR.OPERATION_FAILED,
    fn: 'qemuDomainBlockJobAbort',
    default: (s) => new LibvirtError(VIR_ERR.OPERATION_FAILED, `failed to pivot job for disk ${s.disk ?? ''}`),
  },
  // block_resize refused by QEMU (qmp_block_resize's default branch)
  'libvirt.blockResize': {
    code: VIR_ERR.INTERNAL_ERROR,
    fn: 'qemuDomainBlockResize',
    default: () => new LibvirtError(VIR_ERR.INTERNAL_ERROR, `unable to execute QEMU command 'block_resize': Could not resize: Input/output error`),
  },
  // virDomainSaveConfig → virFileRewrite: the new config file cannot be written
  'libvirt.defineXML': {
    code: VIR_ERR.SYSTEM_ERROR,
    fn: 'qemuDomainDefineXMLFlags',
    default: (s) => systemError(`cannot write data to file '/etc/libvirt/qemu/${s.domain}.xml.new'`, 'ENOSPC'),
  },
};

/** Raises the libvirtError of `point` when a fault is set there (called first thing in the call). */
export function libvirtFault(point: LibvirtPoint, site: LibvirtFaultSite): void {
  const rule = faultAt(point);
  if (!rule) return;
  const f = LIBVIRT_FAULTS[point];
  const err = rule.error === null ? f.default(site) : new LibvirtError(f.code, rule.error);
  LOG.error(`${f.fn}:${site.domain}${site.disk ? ` ${site.disk}` : ''}: ${err.message} (fault set with nova-sim fault add ${point})`);
  throw err;
}
