// do_resume
import { singleServerAction } from './common.js';

export const command = singleServerAction('resume', 'Resume a server.', (cs, id) => cs.servers.resume(id));
