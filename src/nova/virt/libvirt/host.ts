// nova/virt/libvirt/host.py: the driver's handle on the libvirt connection.
import { LibvirtError, VIR_ERR } from '../../../libvirt/errors.js';
import type { LibvirtConnection } from '../../../libvirt/connection.js';
import type { Instance } from '../../../state/types.js';
import { instanceName } from '../../db.js';
import { InstanceNotFound } from '../../exception.js';
import { Guest } from './guest.js';
import { instrument } from '../../../trace/tracer.js';

export class Host {
  constructor(readonly conn: LibvirtConnection) {}

  /** Host.get_guest → _get_domain: lookupByName(instance.name) */
  get_guest(instance: Instance): Guest {
    try {
      return new Guest(this.conn.lookupByName(instanceName(instance)));
    } catch (err) {
      if (err instanceof LibvirtError && err.code === VIR_ERR.NO_DOMAIN) throw new InstanceNotFound(instance.uuid);
      throw err;
    }
  }

  /** Host.write_instance_config: defineXML */
  async write_instance_config(xml: string): Promise<Guest> {
    return new Guest(await this.conn.defineXML(xml));
  }
}

// --trace
const HOST = { location: 'nova/virt/libvirt/host.py', layer: 'nova', service: 'nova-compute' } as const;
instrument(Host.prototype, 'get_guest', { name: 'Host.get_guest()', ...HOST }, (i: Instance) => ({ instance: i.uuid }), (g: Guest) => g._domain.name());
instrument(Host.prototype, 'write_instance_config', { name: 'Host.write_instance_config()', ...HOST }, (xml: string) => ({ xml: `${xml.length} chars` }), (g: Guest) => g._domain.name());
