// do_stop
import { manyServersAction } from './common.js';

export const command = manyServersAction(
  'stop',
  'Stop the server(s).',
  'stop',
  'Stop server(s) in another tenant by name (Admin only).',
  (cs, id) => cs.servers.stop(id),
);
