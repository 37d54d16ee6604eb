// do_flavor_show
import type { CommandDef } from '../types.js';
import { findFlavor, printFlavor } from './flavor_common.js';

export const command: CommandDef = {
  name: 'flavor-show',
  doc: 'Show details about the given flavor.',
  args: [{ dest: 'flavor', metavar: '<flavor>', help: 'Name or ID of flavor.' }],
  async run(sh, args) {
    const flavor = await findFlavor(sh.cs, args.flavor as string);
    sh.out.out(await printFlavor(sh.cs, flavor));
  },
};
