// nova/compute/vm_states.py, task_states.py and power_state.py, and the API's status map
// (nova/api/openstack/common.py _STATE_MAP).

export const vm_states = {
  ACTIVE: 'active',
  BUILDING: 'building',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  STOPPED: 'stopped',
  RESCUED: 'rescued',
  RESIZED: 'resized',
  SOFT_DELETED: 'soft-delete',
  DELETED: 'deleted',
  ERROR: 'error',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
} as const;

export const task_states = {
  SCHEDULING: 'scheduling',
  SPAWNING: 'spawning',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  DELETING: 'deleting',
  REBOOTING: 'rebooting',
  REBOOT_PENDING: 'reboot_pending',
  REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard',
  REBOOT_PENDING_HARD: 'reboot_pending_hard',
  REBOOT_STARTED_HARD: 'reboot_started_hard',
} as const;

export const power_state = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;

const STATE_MAP: Record<string, Record<string, string>> = {
  [vm_states.ACTIVE]: { default: 'ACTIVE', 'rebooting': 'REBOOT', 'reboot_pending': 'REBOOT', 'reboot_started': 'REBOOT', 'rebooting_hard': 'HARD_REBOOT', 'reboot_pending_hard': 'HARD_REBOOT', 'reboot_started_hard': 'HARD_REBOOT', 'migrating': 'MIGRATING', 'resize_prep': 'RESIZE', 'resize_migrating': 'RESIZE', 'resize_migrated': 'RESIZE', 'resize_finish': 'RESIZE', 'rebuilding': 'REBUILD', 'updating_password': 'PASSWORD' },
  [vm_states.BUILDING]: { default: 'BUILD' },
  [vm_states.STOPPED]: { default: 'SHUTOFF', 'resize_prep': 'RESIZE', 'resize_migrating': 'RESIZE', 'resize_migrated': 'RESIZE', 'resize_finish': 'RESIZE' },
  [vm_states.RESIZED]: { default: 'VERIFY_RESIZE', 'resize_reverting': 'REVERT_RESIZE' },
  [vm_states.PAUSED]: { default: 'PAUSED', 'migrating': 'MIGRATING' },
  [vm_states.SUSPENDED]: { default: 'SUSPENDED' },
  [vm_states.RESCUED]: { default: 'RESCUE' },
  [vm_states.ERROR]: { default: 'ERROR', 'rebuilding': 'REBUILD' },
  [vm_states.DELETED]: { default: 'DELETED' },
  [vm_states.SOFT_DELETED]: { default: 'SOFT_DELETED' },
  [vm_states.SHELVED]: { default: 'SHELVED' },
  [vm_states.SHELVED_OFFLOADED]: { default: 'SHELVED_OFFLOADED' },
};

/** common.status_from_state */
export function statusFromState(vmState: string, taskState: string | null): string {
  const m = STATE_MAP[vmState] ?? { default: 'UNKNOWN' };
  const status = (taskState && m[taskState]) || m.default;
  if (status === 'UNKNOWN') return 'UNKNOWN';
  return status;
}

/** common.task_and_vm_state_from_status (the ?status= filter) */
export function vmStatesForStatus(status: string): string[] {
  const up = status.toUpperCase();
  return Object.entries(STATE_MAP)
    .filter(([, m]) => m.default === up)
    .map(([vm]) => vm);
}
