// do_lock
import { singleServerAction } from './common.js';

export const command = singleServerAction('lock', 'Lock a server. A normal (non-admin) user will not be able to execute actions on a locked server.', (cs, id) => cs.servers.lock(id));
