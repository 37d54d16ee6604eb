// do_unlock
import { singleServerAction } from './common.js';

export const command = singleServerAction('unlock', 'Unlock a server.', (cs, id) => cs.servers.unlock(id));
