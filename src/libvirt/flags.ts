// libvirt-domain.h flag values the swap path uses.

export const VIR_DOMAIN_BLOCK_REBASE = {
  SHALLOW: 1,
  REUSE_EXT: 2,
  COPY_RAW: 4,
  COPY: 8,
  RELATIVE: 16,
  COPY_DEV: 32,
  BANDWIDTH_BYTES: 64,
} as const;

export const VIR_DOMAIN_BLOCK_JOB_ABORT = { ASYNC: 1, PIVOT: 2 } as const;

export const VIR_DOMAIN_BLOCK_JOB_TYPE = { UNKNOWN: 0, PULL: 1, COPY: 2, COMMIT: 3, ACTIVE_COMMIT: 4 } as const;

/** block job event codes */
export const VIR_DOMAIN_BLOCK_JOB = { COMPLETED: 0, FAILED: 1, CANCELED: 2, READY: 3 } as const;

export const VIR_DOMAIN_XML = { SECURE: 1, INACTIVE: 2 } as const;

export const VIR_DOMAIN_UNDEFINE = { MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2 } as const;

export const VIR_DOMAIN_AFFECT = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

export const VIR_DOMAIN_BLOCK_RESIZE = { BYTES: 1 } as const;

/** virDomainState */
export const VIR_DOMAIN_STATE = { NOSTATE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, SHUTDOWN: 4, SHUTOFF: 5, CRASHED: 6, PMSUSPENDED: 7 } as const;

export function decodeFlags(table: Record<string, number>, flags: number): string {
  const names = Object.entries(table)
    .filter(([, v]) => v !== 0 && (flags & v) === v)
    .map(([k]) => k);
  return names.length ? names.join('|') : '0';
}
