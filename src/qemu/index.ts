// The simulated QEMU: what the libvirt layer may use.
export { QemuProcess, QEMU_2_6, QEMU_7_2, type QemuProcessOptions } from './process.js';
export { QmpError, QemuError } from './errors.js';
export type * from './types.js';
