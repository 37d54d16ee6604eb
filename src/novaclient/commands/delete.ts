// do_delete
import { manyServersAction } from './common.js';

export const command = manyServersAction(
  'delete',
  'Immediately shut down and delete specified server(s).',
  'delete',
  'Delete server(s) in another tenant by name (Admin only).',
  (cs, id) => cs.servers.delete(id),
);
