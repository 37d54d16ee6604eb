// do_availability_zone_list: the detailed tree when policy allows it (admin), else the
// summary; _treeizeAvailabilityZone lays zones, hosts and services out as rows.
import { Resource, type Info } from '../base.js';
import { Forbidden } from '../exceptions.js';
import { printList } from '../table.js';
import type { CommandDef } from '../types.js';

type Hosts = Record<string, Record<string, { active?: boolean; available?: boolean; updated_at?: unknown }>>;

/** _treeizeAvailabilityZone */
function treeize(zone: Info): Resource[] {
  const row = (name: string, status: string) => new Resource({ name, status }, true);
  const state = (zone.zoneState ?? {}) as { available?: boolean };
  const result = [row(String(zone.zoneName), state.available ? 'available' : 'not available')];
  const hosts = zone.hosts as Hosts | null | undefined;
  if (hosts !== null && hosts !== undefined) {
    for (const host of Object.keys(hosts).sort()) {
      result.push(row(`|- ${host}`, ''));
      for (const [svc, st] of Object.entries(hosts[host])) {
        const updated = st.updated_at === null || st.updated_at === undefined ? 'None' : String(st.updated_at);
        result.push(row(`| |- ${svc}`, `${st.active ? 'enabled' : 'disabled'} ${st.available ? ':-)' : 'XXX'} ${updated}`));
      }
    }
  }
  return result;
}

export const command: CommandDef = {
  name: 'availability-zone-list',
  doc: 'List all the availability zones.',
  args: [],
  async run(sh) {
    let zones: Resource[];
    try {
      zones = await sh.cs.availabilityZones.list();
    } catch (e) {
      // policy doesn't allow the detail, probably: the summary then
      if (!(e instanceof Forbidden)) throw e;
      try {
        zones = await sh.cs.availabilityZones.list(false);
      } catch {
        throw e;
      }
    }
    const rows = zones.flatMap((z) => treeize(z.info));
    sh.out.out(printList(rows, ['Name', 'Status'], {}, null));
  },
};
