// _print_flavor_list, _print_flavor, _find_flavor: shared by flavor-list and flavor-show.
import { findResource } from '../base.js';
import { NotFound } from '../exceptions.js';
import { printDict, printList, type Formatter } from '../table.js';
import type { Client } from '../types.js';
import type { Flavor } from '../v2/flavors_images.js';

/** str() of a Python float (rxtx_factor is one; JSON gives back 1 for 1.0) */
export function pyFloat(v: unknown): unknown {
  return typeof v === 'number' && Number.isInteger(v) ? v.toFixed(1) : v;
}

/** _find_flavor: by ID, name (any is_public) or, failing that, RAM size */
export function findFlavor(cs: Client, flavor: string): Promise<Flavor> {
  return findResource(cs.flavors, flavor, { is_public: null });
}

/** _print_flavor_extra_specs: the flavor's os-extra_specs, "N/A" when there are none to ask */
async function extraSpecs(cs: Client, f: Flavor): Promise<unknown> {
  try {
    return await cs.flavors.getKeys(f.id);
  } catch (e) {
    if (e instanceof NotFound) return 'N/A';
    throw e;
  }
}

/** _print_flavor_list(flavors, show_extra_specs) */
export async function printFlavorList(cs: Client, flavors: Flavor[], showExtraSpecs: boolean): Promise<string> {
  // _translate_flavor_keys: ram → memory_mb
  for (const f of flavors) if (f.has('ram') && !f.has('memory_mb')) f.info.memory_mb = f.info.ram;
  const headers = ['ID', 'Name', 'Memory_MB', 'Disk', 'Ephemeral', 'Swap', 'VCPUs', 'RXTX_Factor', 'Is_Public'];
  const formatters: Record<string, Formatter> = {
    Ephemeral: (o) => (o as Flavor).ephemeral,
    Is_Public: (o) => (o as Flavor).isPublic,
    RXTX_Factor: (o) => pyFloat(o.attr('rxtx_factor')),
  };
  if (showExtraSpecs) {
    const specs = new Map<Flavor, unknown>();
    for (const f of flavors) specs.set(f, await extraSpecs(cs, f));
    formatters.extra_specs = (o) => specs.get(o as Flavor);
    headers.push('extra_specs');
  }
  return printList(flavors, headers, formatters, 0);
}

/** _print_flavor */
export async function printFlavor(cs: Client, flavor: Flavor): Promise<string> {
  const info: Record<string, unknown> = { ...flavor.info };
  delete info.links;
  if ('rxtx_factor' in info) info.rxtx_factor = pyFloat(info.rxtx_factor);
  info.extra_specs = await extraSpecs(cs, flavor);
  return printDict(info);
}
