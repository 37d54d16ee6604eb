// Base of every component's typed errors. Each component (nova, cinder, libvirt, qemu)
// subclasses it with the exact upstream message; behaviour never depends on message text.

export class SimError extends Error {
  /** The upstream class name, e.g. "InvalidVolume" or "libvirtError". */
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
    this.name = kind;
  }
}

/** a nova-sim command refused its input or its target (one line, exit 1) */
export class CommandError extends SimError {
  constructor(message: string) {
    super('CommandError', message);
  }
}
