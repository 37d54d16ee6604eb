// do_pause
import { singleServerAction } from './common.js';

export const command = singleServerAction('pause', 'Pause a server.', (cs, id) => cs.servers.pause(id));
