// What libvirtd reports about the machine it runs on (virNodeGetInfo, virConnectGetType,
// virConnectGetVersion, the host <cpu> of virConnectGetCapabilities). The embedded libvirt
// runs on this machine, so these are this machine's figures, read when asked.
import { arch, cpus, totalmem } from 'node:os';
import { QEMU_7_2 } from '../qemu/process.js';

export interface NodeInfo {
  /** the CPU model string, e.g. x86_64 */
  model: string;
  /** memory, MiB */
  memoryMiB: number;
  cpus: number;
  mhz: number;
}

/** virNodeGetInfo */
export function nodeGetInfo(): NodeInfo {
  const list = cpus();
  return { model: libvirtArch(), memoryMiB: Math.floor(totalmem() / 1024 ** 2), cpus: Math.max(1, list.length), mhz: list[0]?.speed ?? 0 };
}

/** virConnectGetType for the qemu driver */
export function connectGetType(): string {
  return 'QEMU';
}

/** virConnectGetVersion: the hypervisor's version, major * 1000000 + minor * 1000 + micro */
export function connectGetVersion(): number {
  return QEMU_7_2.major * 1_000_000 + QEMU_7_2.minor * 1000 + QEMU_7_2.micro;
}

/** the host <cpu> of the capabilities: arch, model, vendor, topology */
export function hostCpu(): { arch: string; model: string; vendor: string; topology: { cells: number; sockets: number; cores: number; threads: number } } {
  const model = cpus()[0]?.model ?? '';
  const vendor = /intel/i.test(model) ? 'Intel' : /amd/i.test(model) ? 'AMD' : /arm|neoverse|cortex/i.test(model) ? 'ARM' : 'unknown';
  return { arch: libvirtArch(), model: model.trim(), vendor, topology: { cells: 1, sockets: 1, cores: Math.max(1, cpus().length), threads: 1 } };
}

function libvirtArch(): string {
  return ({ x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch()] ?? arch();
}
