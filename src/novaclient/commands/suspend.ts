// do_suspend
import { singleServerAction } from './common.js';

export const command = singleServerAction('suspend', 'Suspend a server.', (cs, id) => cs.servers.suspend(id));
