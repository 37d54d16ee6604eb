// nova/compute/instance_actions.py (Mitaka): the names the compute API records its actions
// under, for the operations novasim implements. Mitaka has none for lock, unlock,
// os-resetState, attach_volume, detach_volume or swap_volume (Queens added the last three).
export const CREATE = 'create';
export const DELETE = 'delete';
export const STOP = 'stop';
export const START = 'start';
export const REBOOT = 'reboot';
export const PAUSE = 'pause';
export const UNPAUSE = 'unpause';
export const SUSPEND = 'suspend';
export const RESUME = 'resume';

/** Mitaka keeps every action; novasim keeps the newest this many per instance */
export const MAX_ACTIONS_PER_INSTANCE = 200;
