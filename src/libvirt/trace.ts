// --trace: python-libvirt's virDomain/virConnect methods, the public C entry points and the
// QEMU driver functions behind them, as spans. Patched onto the classes once, when
// connection.ts loads (it calls traceLibvirt with its class: this module cannot import
// connection.ts, which imports it).
import { instrument, type SpanSpec } from '../trace/tracer.js';
import type { LibvirtConnection } from './connection.js';
import { VirDomain } from './domain.js';
import { VIR_DOMAIN_BLOCK_JOB_ABORT, VIR_DOMAIN_BLOCK_REBASE, VIR_DOMAIN_BLOCK_RESIZE, VIR_DOMAIN_UNDEFINE, VIR_DOMAIN_XML, decodeFlags } from './flags.js';
import { qemuDriver } from './qemu-driver-block.js';
import type { QemuMonitor } from './qemu-host.js';

const PY = { location: 'libvirt.py', layer: 'libvirt-python', service: 'nova-compute' } as const;
const C = (name: string, location = 'src/qemu/qemu_driver.c'): SpanSpec => ({ name, location, layer: 'libvirt', service: 'libvirtd' });

export function traceLibvirt(connection: LibvirtConnection): void {
  const dom = VirDomain.prototype;
  const rebaseAttrs = function (this: VirDomain, disk: string, base: string | null, bandwidth: number, flags: number) {
    return { domain: this.domName, disk, base, bandwidth, flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags) };
  };
  instrument(dom, 'blockRebase', { name: 'virDomain.blockRebase()', ...PY }, rebaseAttrs);
  instrument(dom, 'virDomainBlockRebase', C('virDomainBlockRebase()', 'src/libvirt-domain.c'), rebaseAttrs);
  // the drive-mirror command as the two monitor layers see it
  const mirrorAttrs = (_mon: QemuMonitor, device: string, file: string, format: string, bandwidth: number, granularity: number, bufSize: number, flags: number) => ({
    device,
    target: file,
    speed: bandwidth,
    ...(granularity ? { granularity } : {}),
    ...(bufSize ? { 'buf-size': bufSize } : {}),
    sync: 'full',
    mode: flags & VIR_DOMAIN_BLOCK_REBASE.REUSE_EXT ? 'existing' : 'absolute-paths',
    format,
    flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags),
  });
  instrument(qemuDriver, 'qemuMonitorDriveMirror', C('qemuMonitorDriveMirror()', 'src/qemu/qemu_monitor.c'), mirrorAttrs);
  instrument(qemuDriver, 'qemuMonitorJSONDriveMirror', C('qemuMonitorJSONDriveMirror()', 'src/qemu/qemu_monitor_json.c'), mirrorAttrs);
  instrument(qemuDriver, 'qemuDomainBlockRebase', C('qemuDomainBlockRebase()'), (_dom: VirDomain, path: string, base: string | null, bandwidth: number, flags: number) => ({
    disk: path,
    base,
    bandwidth,
    flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags),
  }));
  instrument(
    qemuDriver,
    'qemuDomainBlockCopyCommon',
    C('qemuDomainBlockCopyCommon()'),
    (_dom: VirDomain, path: string, mirror: string, destType: string, destFormat: string | null, bandwidth: number, granularity: number, bufSize: number, flags: number) => ({
      disk: path,
      mirror,
      dest_type: destType,
      format: destFormat,
      bandwidth,
      granularity,
      buf_size: bufSize,
      flags: decodeFlags(VIR_DOMAIN_BLOCK_REBASE, flags),
    }),
  );
  instrument(dom, 'blockJobInfo', [{ name: 'virDomain.blockJobInfo()', ...PY }, C('qemuDomainGetBlockJobInfo()')], function (this: VirDomain, disk: string, flags = 0) {
    return { domain: this.domName, disk, flags };
  });
  instrument(dom, 'blockJobAbort', [{ name: 'virDomain.blockJobAbort()', ...PY }, C('qemuDomainBlockJobAbort()')], function (this: VirDomain, disk: string, flags = 0) {
    return { domain: this.domName, disk, flags: decodeFlags(VIR_DOMAIN_BLOCK_JOB_ABORT, flags) };
  });
  instrument(dom, 'blockResize', [{ name: 'virDomain.blockResize()', ...PY }, C('qemuDomainBlockResize()')], function (this: VirDomain, disk: string, size: number, flags = 0) {
    return { domain: this.domName, disk, size, flags: decodeFlags(VIR_DOMAIN_BLOCK_RESIZE, flags) };
  });
  instrument(dom, 'undefineFlags', [{ name: 'virDomain.undefineFlags()', ...PY }, C('qemuDomainUndefineFlags()')], function (this: VirDomain, flags = 0) {
    return { domain: this.domName, flags: decodeFlags(VIR_DOMAIN_UNDEFINE, flags) };
  });
  instrument(dom, 'XMLDesc', { name: 'virDomain.XMLDesc()', ...PY }, function (this: VirDomain, flags = 0) {
    return { domain: this.domName, flags: decodeFlags(VIR_DOMAIN_XML, flags) };
  }, (xml: string) => `${xml.length} chars`);
  instrument(dom, 'isPersistent', { name: 'virDomain.isPersistent()', ...PY }, function (this: VirDomain) {
    return { domain: this.domName };
  });
  instrument(connection, 'defineXML', [{ name: 'virConnect.defineXML()', ...PY }, C('qemuDomainDefineXMLFlags()')], (xml: string) => ({
    name: /<name>([^<]*)<\/name>/.exec(xml)?.[1],
    xml: `${xml.length} chars`,
  }), (d: VirDomain) => d.domName);
}
