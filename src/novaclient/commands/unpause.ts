// do_unpause
import { singleServerAction } from './common.js';

export const command = singleServerAction('unpause', 'Unpause a server.', (cs, id) => cs.servers.unpause(id));
