// do_type_list (_print_volume_type_list)
import type { Resource } from '../../novaclient/base.js';
import type { CommandDef } from '../types.js';
import { printList } from '../utils.js';
import type { VolumeType } from '../v2/volume_types.js';

export const command: CommandDef = {
  name: 'type-list',
  doc: "Lists available 'volume types'. (Admin only will see private types)",
  args: [],
  async run(sh) {
    const types = await sh.cs.volumeTypes.list();
    const isPublic = (t: Resource): unknown => (t as VolumeType).isPublic;
    sh.out.out(printList(types, ['ID', 'Name', 'Description', 'Is_Public'], { Is_Public: isPublic }, 0));
  },
};
