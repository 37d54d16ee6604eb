// do_start
import { manyServersAction } from './common.js';

export const command = manyServersAction(
  'start',
  'Start the server(s).',
  'start',
  'Start server(s) in another tenant by name (Admin only).',
  (cs, id) => cs.servers.start(id),
);
