// `nova-sim config`: the nova.conf options the embedded services honour, kept in the
// state (`novaConf`). nova-compute reads them when it starts, as it reads nova.conf.
// Shown in nova.conf's own layout; an option at its default is shown commented out, as
// in oslo-config-generator's sample file.
import { CommandError } from '../common/errors.js';
import { StateStore } from '../state/store.js';
import { diskCachemodeProblem, type NovaConf, type State } from '../state/types.js';

interface OptionSpec {
  section: keyof NovaConf;
  name: string;
  /** oslo.config's ListOpt: comma-separated items */
  kind: 'list';
  help: string;
  /** the item's problem, or null */
  checkItem: (item: string) => string | null;
  get: (conf: NovaConf) => string[];
  set: (conf: NovaConf, value: string[]) => void;
}

const OPTIONS: OptionSpec[] = [
  {
    section: 'libvirt',
    name: 'disk_cachemodes',
    kind: 'list',
    help: 'Specific cachemodes to use for different disk types e.g: file=directsync,block=none',
    checkItem: diskCachemodeProblem,
    get: (conf) => conf.libvirt.disk_cachemodes,
    set: (conf, value) => {
      conf.libvirt.disk_cachemodes = value;
    },
  },
];

function defaults(): NovaConf {
  return { libvirt: { disk_cachemodes: [] } };
}

function findOption(ref: string): OptionSpec {
  const dot = ref.indexOf('.');
  const opt = OPTIONS.find((o) => dot > 0 && o.section === ref.slice(0, dot) && o.name === ref.slice(dot + 1));
  if (!opt) throw new CommandError(`Unknown option '${ref}' (known: ${OPTIONS.map((o) => `${o.section}.${o.name}`).join(', ')})`);
  return opt;
}

/** nova.conf lines for the options (all of them, or one) */
export function formatConfig(conf: NovaConf, only?: OptionSpec): string {
  const lines: string[] = [];
  let section = '';
  for (const o of only ? [only] : OPTIONS) {
    if (o.section !== section) {
      if (section) lines.push('');
      lines.push(`[${o.section}]`);
      section = o.section;
    }
    lines.push(`# ${o.help} (list value)`);
    const v = o.get(conf);
    lines.push(v.length ? `${o.name} = ${v.join(',')}` : `#${o.name} =`);
  }
  return `${lines.join('\n')}\n`;
}

function confOf(state: State): NovaConf {
  return state.novaConf ?? defaults();
}

/** `nova-sim config [SECTION.OPTION]` */
export function showConfig(statePath: string, ref?: string): string {
  const conf = confOf(new StateStore(statePath).read());
  return formatConfig(conf, ref === undefined ? undefined : findOption(ref));
}

/** `nova-sim config SECTION.OPTION VALUE`: validated as a whole before anything is written */
export async function setConfig(statePath: string, ref: string, value: string): Promise<string> {
  const opt = findOption(ref);
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const item of items) {
    const problem = opt.checkItem(item);
    if (problem) throw new CommandError(`${opt.section}.${opt.name}: ${problem}`);
  }
  const conf = await new StateStore(statePath).update((s) => {
    const c = confOf(s);
    opt.set(c, items);
    s.novaConf = c;
    return c;
  });
  return formatConfig(conf, opt);
}
