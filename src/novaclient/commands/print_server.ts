// _print_server(cs, args, server): the Property/Value table of `show` and `boot`.
import { findResource } from '../base.js';
import { printDict } from '../table.js';
import type { Client } from '../types.js';
import type { Server } from '../v2/servers.js';

export async function printServer(cs: Client, server: Server, minimal: boolean): Promise<string> {
  const info: Record<string, unknown> = { ...server.info };
  for (const [label, addrs] of Object.entries(server.networks)) info[`${label} network`] = addrs.join(', ');

  const flavor = (info.flavor ?? {}) as Record<string, unknown>;
  const flavorId = String(flavor.id ?? '');
  if (minimal) info.flavor = flavorId;
  else {
    try {
      info.flavor = `${(await findResource(cs.flavors, flavorId, { is_public: null })).name} (${flavorId})`;
    } catch {
      info.flavor = `Flavor not found (${flavorId})`;
    }
  }

  if ('security_groups' in info) {
    // one entry per NIC: show each group once
    const groups = Array.isArray(info.security_groups) ? (info.security_groups as Record<string, unknown>[]) : [];
    info.security_groups = [...new Set(groups.map((g) => String(g.name)))].sort().join(', ');
  }

  const image = info.image;
  if (image && typeof image === 'object' && Object.keys(image).length) {
    const imageId = String((image as Record<string, unknown>).id ?? '');
    if (minimal) info.image = imageId;
    else {
      try {
        info.image = `${(await findResource(cs.images, imageId)).name} (${imageId})`;
      } catch {
        info.image = `Image not found (${imageId})`;
      }
    }
  } else {
    info.image = 'Attempt to boot from volume - no image supplied';
  }

  delete info.links;
  delete info.addresses;
  return printDict(info);
}
