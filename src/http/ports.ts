// The services' well-known ports (devstack's): where the embedded cloud's transport answers
// them, and what the service catalog names.
/** nova-api (osapi_compute_listen_port) */
export const NOVA_PORT = 8774;
/** cinder-api (osapi_volume_listen_port) */
export const CINDER_PORT = 8776;
