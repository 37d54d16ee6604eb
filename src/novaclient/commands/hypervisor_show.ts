// do_hypervisor_show: print_dict(flatten_dict(hyper._info), wrap=int(args.wrap))
import { findResource } from '../base.js';
import { printDict } from '../table.js';
import type { CommandDef } from '../types.js';

/** utils._flatten: nested dicts (and non-empty lists inside them) become prefix_key rows */
function* flatten(data: unknown, prefix: string | null = null): Generator<[string, unknown]> {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      const newKey = prefix ? `${prefix}_${key}` : key;
      const nonEmpty = Array.isArray(value) ? value.length > 0 : value !== null && typeof value === 'object' && Object.keys(value).length > 0;
      if (nonEmpty) yield* flatten(value, newKey);
      else yield [newKey, value];
    }
  } else {
    yield [prefix ?? '', data];
  }
}

/** utils.flatten_dict: JSON text in a value is decoded first */
export function flattenDict(data: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'string') {
      try {
        copy[k] = JSON.parse(v);
        continue;
      } catch {
        // not JSON: kept as it is
      }
    }
    copy[k] = v;
  }
  return Object.fromEntries(flatten(copy));
}

export const command: CommandDef = {
  name: 'hypervisor-show',
  doc: 'Display the details of the specified hypervisor.',
  args: [
    { dest: 'hypervisor', metavar: '<hypervisor>', help: 'Name or ID of the hypervisor to show the details of.' },
    { flags: ['--wrap'], dest: 'wrap', metavar: '<integer>', default: 40, help: 'Wrap the output to a specified length. Default is 40 or 0 to disable' },
  ],
  async run(sh, args) {
    const hyper = await findResource(sh.cs.hypervisors, args.hypervisor as string);
    // int(args.wrap), after the lookup as in Mitaka
    const raw = String(args.wrap);
    if (!/^\s*[+-]?\d+\s*$/.test(raw)) {
      throw Object.assign(new Error(`invalid literal for int() with base 10: '${raw}'`), { name: 'ValueError' });
    }
    sh.out.out(printDict(flattenDict(hyper.info), 'Property', 'Value', Number.parseInt(raw, 10)));
  },
};
