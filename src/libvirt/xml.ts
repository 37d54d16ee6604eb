// Domain XML as libvirt writes it (virDomainDefFormat) and a small reader for what the
// driver gives back to defineXML. Only the elements the simulated domains carry.
import { DISK_CACHE_MODES, type DiskCacheMode, type DiskMirror, type DomainDef, type DomainDisk } from '../state/types.js';
import { LibvirtError, VIR_ERR } from './errors.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unesc(s: string): string {
  return s.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export interface FormatOptions {
  /** the running domain's id (absent for an inactive definition) */
  id?: number | null;
  /** live aliases and mirrors are only shown for the live definition */
  live?: boolean;
  mirrors?: Record<string, DiskMirror>;
}

function sourceAttr(d: DomainDisk): string {
  if (d.type === 'block') return `dev='${esc(d.source)}'`;
  if (d.type === 'network') {
    const [protocol, ...name] = d.source.split(':');
    return `protocol='${esc(protocol)}' name='${esc(name.join(':'))}'`;
  }
  return `file='${esc(d.source)}'`;
}

export function formatDomainXml(def: DomainDef, opts: FormatOptions = {}): string {
  const idAttr = opts.live && opts.id != null ? ` id='${opts.id}'` : '';
  const lines = [
    `<domain type='kvm'${idAttr}>`,
    `  <name>${esc(def.name)}</name>`,
    `  <uuid>${def.uuid}</uuid>`,
    `  <memory unit='KiB'>${def.memoryKiB}</memory>`,
    `  <currentMemory unit='KiB'>${def.memoryKiB}</currentMemory>`,
    `  <vcpu placement='static'>${def.vcpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='pc-i440fx-rhel7.2.0'>hvm</type>`,
    `    <boot dev='hd'/>`,
    `  </os>`,
    `  <devices>`,
    `    <emulator>/usr/libexec/qemu-kvm</emulator>`,
  ];
  for (const d of def.disks) {
    lines.push(`    <disk type='${d.type}' device='${d.device}'>`);
    // libvirt reads cache='default' as no mode at all, and writes nothing back
    const cache = d.cache && d.cache !== 'default' ? ` cache='${d.cache}'` : '';
    lines.push(`      <driver name='qemu' type='${d.driverType}'${cache}/>`);
    lines.push(`      <source ${sourceAttr(d)}/>`);
    if (opts.live) lines.push(`      <backingStore/>`);
    const m = opts.live ? opts.mirrors?.[d.targetDev] : undefined;
    if (m) {
      const ready = m.ready ? ` ready='yes'` : '';
      lines.push(`      <mirror type='${m.type}' file='${esc(m.source)}' format='${m.format}' job='copy'${ready}>`);
      lines.push(`        <format type='${m.format}'/>`);
      lines.push(`        <source ${m.type === 'block' ? 'dev' : 'file'}='${esc(m.source)}'/>`);
      lines.push(`      </mirror>`);
    }
    lines.push(`      <target dev='${d.targetDev}' bus='${d.targetBus}'/>`);
    if (d.serial) lines.push(`      <serial>${esc(d.serial)}</serial>`);
    if (opts.live && d.alias) lines.push(`      <alias name='${d.alias}'/>`);
    lines.push(`    </disk>`);
  }
  lines.push(`  </devices>`, `</domain>`, '');
  return lines.join('\n');
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:-]+)=(['"])(.*?)\2/g)) out[m[1]] = unesc(m[3]);
  return out;
}

function text(xml: string, el: string): string | null {
  const m = xml.match(new RegExp(`<${el}(?:\\s[^>]*)?>([^<]*)</${el}>`));
  return m ? unesc(m[1].trim()) : null;
}

/** virDomainDefParseString for the subset we write; errors read like libvirt's XML errors */
export function parseDomainXml(xml: string): DomainDef {
  if (!/^\s*<domain[\s>]/.test(xml)) throw new LibvirtError(VIR_ERR.XML_ERROR, 'expected root element <domain>');
  const name = text(xml, 'name');
  const uuid = text(xml, 'uuid');
  if (!name) throw new LibvirtError(VIR_ERR.XML_ERROR, 'missing domain name');
  if (!uuid) throw new LibvirtError(VIR_ERR.XML_ERROR, 'missing domain uuid');
  const memoryKiB = Number(text(xml, 'memory') ?? '0');
  const vcpus = Number(text(xml, 'vcpu') ?? '1');
  return { name, uuid, memoryKiB, vcpus, disks: parseDisks(xml) };
}

/** virDomainDiskCache: an unknown value is libvirt's XML error */
function parseCache(v: string): DiskCacheMode {
  const mode = DISK_CACHE_MODES.find((m) => m === v);
  if (!mode) throw new LibvirtError(VIR_ERR.CONFIG_UNSUPPORTED, `unknown disk cache mode '${v}'`);
  return mode;
}

export function parseDisks(xml: string): DomainDisk[] {
  const disks: DomainDisk[] = [];
  for (const m of xml.matchAll(/<disk\s([^>]*)>([\s\S]*?)<\/disk>/g)) {
    const a = attrs(m[1]);
    const body = m[2].replace(/<mirror[\s\S]*?<\/mirror>/g, '');
    const src = attrs(body.match(/<source\s([^>]*)\/?>/)?.[1] ?? '');
    const tgt = attrs(body.match(/<target\s([^>]*)\/?>/)?.[1] ?? '');
    const drv = attrs(body.match(/<driver\s([^>]*)\/?>/)?.[1] ?? '');
    const alias = attrs(body.match(/<alias\s([^>]*)\/?>/)?.[1] ?? '').name ?? null;
    const type = (a.type ?? 'file') as DomainDisk['type'];
    const source = type === 'block' ? src.dev : type === 'network' ? `${src.protocol}:${src.name}` : src.file;
    if (!tgt.dev) throw new LibvirtError(VIR_ERR.XML_ERROR, 'missing target information for device');
    disks.push({
      type,
      device: (a.device ?? 'disk') as DomainDisk['device'],
      driverType: (drv.type ?? 'raw') as DomainDisk['driverType'],
      source: source ?? '',
      targetDev: tgt.dev,
      targetBus: tgt.bus ?? 'virtio',
      serial: text(body, 'serial'),
      alias,
      ...(drv.cache ? { cache: parseCache(drv.cache) } : {}),
    });
  }
  return disks;
}
