// `nova-sim virsh`: the operator's view of the simulated libvirtd, with virsh's own
// subcommand names and output (tools/virsh-domain-monitor.c, virsh-domain.c, vsh-table.c).
// It runs in a process of its own, so it reads what the host process running a block job
// persists (the domain's <mirror> with its progress snapshot) — as virsh reads libvirtd's
// status, and never the QEMU of another process. Output is returned, the nova-sim shell prints it.
import { SimError } from '../common/errors.js';
import { LibvirtConnection } from '../libvirt/connection.js';
import { driveId } from '../libvirt/qemu-host.js';
import { blkdebugRulesFrom } from './host-records.js';
import { instanceName } from '../nova/db.js';
import { StateStore } from '../state/store.js';
import type { DiskMirror, Domain, State } from '../state/types.js';
import { pidAlive } from '../common/process.js';

export interface VirshOutput {
  stdout: string;
  /** virsh writes job progress to stderr */
  stderr?: string;
  /** novasim's own line, on stderr after stdout: whose job the output describes */
  note?: string;
}

function error(msg: string): SimError {
  return new SimError('libvirtError', msg);
}

/** vshTable: " cell" columns padded to the widest cell + 2, a dash rule of widths + 3 */
export function vshTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => ` ${c}${i < cells.length - 1 ? ' '.repeat(widths[i] - c.length + 2) : ''}`).join('') + '\n';
  return line(header) + widths.map((w) => '-'.repeat(w + 3)).join('') + '\n' + rows.map(line).join('');
}

const STATE_TEXT: Record<Domain['state'], string> = { running: 'running', paused: 'paused', shutoff: 'shut off', pmsuspended: 'pmsuspended' };

function isActive(d: Domain): boolean {
  return d.state === 'running' || d.state === 'paused';
}

/** DOMAIN: the libvirt name or uuid, or the server's name or uuid */
export function resolveDomain(s: State, ref: string): Domain {
  const doms = s.libvirt.domains;
  const direct = doms.find((d) => d.name === ref || d.uuid === ref);
  if (direct) return direct;
  const servers = s.nova.instances.filter((i) => !i.deleted && (i.name === ref || i.uuid === ref));
  if (servers.length === 1) {
    const d = doms.find((x) => x.uuid === servers[0].uuid || x.name === instanceName(servers[0]));
    if (d) return d;
  }
  if (servers.length > 1) throw error(`failed to get domain '${ref}': ${servers.length} servers are named so, use the uuid`);
  throw error(`failed to get domain '${ref}'`);
}

/** mirrors whose host process is gone died with its QEMU (libvirt's reconnect drops them) */
function liveMirrors(d: Domain): Domain['mirrors'] {
  return Object.fromEntries(Object.entries(d.mirrors).filter(([, m]) => pidAlive(m.ownerPid)));
}

/**
 * Who runs a block job seen from here, and what the output rests on: the <mirror> record the
 * host process saved (cur, end, ready, bandwidth, its pid), not QEMU, which only that process
 * can ask. The operation journal names the request the process runs, when it has an entry.
 */
export function ownerNote(s: State, d: Domain, m: DiskMirror): string {
  const op = (s.operations ?? []).find((o) => o.pid === m.ownerPid && o.instance === d.uuid);
  const what = op ? ` (${op.kind} ${op.id}, step ${op.step})` : '';
  return (
    `Note: the block job on ${m.dev} of ${d.name} is run by process ${m.ownerPid}${what}; shown as that process last saved it at ${m.updatedAt} ` +
    `(cur ${m.cur}, end ${m.end}, ready ${m.ready ? 'yes' : 'no'}, bandwidth ${m.bandwidth} B/s)\n`
  );
}

/** virsh list [--all] */
export function list(statePath: string, all: boolean): VirshOutput {
  const s = new StateStore(statePath).read();
  const active = s.libvirt.domains.filter(isActive).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const inactive = all ? s.libvirt.domains.filter((d) => !isActive(d)).sort((a, b) => a.name.localeCompare(b.name)) : [];
  const rows = [...active, ...inactive].map((d) => [d.id === null ? '-' : String(d.id), d.name, STATE_TEXT[d.state]]);
  return { stdout: vshTable(['Id', 'Name', 'State'], rows) + '\n' };
}

/** virsh domblklist DOMAIN */
export function domblklist(statePath: string, ref: string): VirshOutput {
  const d = resolveDomain(new StateStore(statePath).read(), ref);
  const def = isActive(d) ? d.def : (d.persistentDef ?? d.def);
  const rows = def.disks.map((x) => [x.targetDev, x.source || '-']);
  return { stdout: vshTable(['Target', 'Source'], rows) + '\n' };
}

/** virsh dumpxml DOMAIN (the live XML: <mirror> on a disk under copy) */
export function dumpxml(statePath: string, ref: string, inactive: boolean): VirshOutput {
  const store = new StateStore(statePath);
  const d = resolveDomain(store.read(), ref);
  const conn = new LibvirtConnection(store, { blkdebugRules: blkdebugRulesFrom(store) });
  return { stdout: conn.lookupByUUIDString(d.uuid).XMLDesc(inactive ? 2 : 0) };
}

/** virshPrintJobProgress (the integer form): "Block Copy: [ 42 %]" */
export function jobProgress(label: string, remaining: number, total: number): string {
  let progress = 100;
  if (remaining !== 0) {
    progress = Math.trunc(100 - (remaining * 100) / total);
    // not completed: never "[100 %]"
    if (progress >= 100) progress = 99;
  }
  return `\r${label}: [${String(progress).padStart(3)} %]`;
}

/** vshPrettyCapacity */
function prettyCapacity(bytes: number): [number, string] {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return [v, units[i]];
}

const JOB_LABEL: Record<number, string> = { 1: 'Block Pull', 2: 'Block Copy', 3: 'Block Commit', 4: 'Active Block Commit' };

/** virsh blockjob DOMAIN PATH [--info] [--raw] */
export async function blockjob(statePath: string, ref: string, path: string, raw: boolean): Promise<VirshOutput> {
  const store = new StateStore(statePath);
  const s = store.read();
  const d = resolveDomain(s, ref);
  const conn = new LibvirtConnection(store, { blkdebugRules: blkdebugRulesFrom(store) });
  try {
    // libvirt answers a job run by another host process from that process's last report
    const info = await conn.lookupByUUIDString(d.uuid).blockJobInfo(path, 0);
    if (info.type === undefined) return { stdout: raw ? '' : `No current block job for ${path}\n` };
    const disk = (isActive(d) ? d.def : (d.persistentDef ?? d.def)).disks.find((x) => x.targetDev === path || x.source === path);
    const m = disk ? liveMirrors(d)[disk.targetDev] : undefined;
    const note = m && m.ownerPid !== process.pid ? ownerNote(s, d, m) : undefined;
    const cur = info.cur ?? 0;
    const end = info.end ?? 0;
    const bandwidth = info.bandwidth ?? 0;
    if (raw) {
      const type = info.type === 2 ? 'copy' : 'unknown';
      return { stdout: ` type=${type}\n bandwidth=${bandwidth}\n cur=${cur}\n end=${end}\n`, note };
    }
    let stdout = '';
    const speed = bandwidth * 1024 * 1024;
    if (speed) {
      const [val, unit] = prettyCapacity(speed);
      stdout += `    Bandwidth limit: ${speed} bytes/s (${val.toFixed(3)} ${unit}/s)`;
    }
    return { stderr: jobProgress(JOB_LABEL[info.type] ?? 'Unknown job', end - cur, end), stdout: stdout + '\n', note };
  } finally {
    await conn.close();
  }
}

/** QEMU's monitor prints JSON with ", " and ": " separators */
export function qmpJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(qmpJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}: ${qmpJson(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v);
}

/**
 * virsh qemu-monitor-command DOMAIN '{"execute":…}' [--pretty]. The QEMU of a domain runs
 * inside the host process that started it; from here query-block-jobs is answered from the
 * job snapshot that process persists, and query commands of a QEMU nobody hosts are run in
 * one rebuilt for the call. Anything else is refused: it would need the other process.
 */
export async function qemuMonitorCommand(statePath: string, ref: string, text: string, pretty: boolean): Promise<VirshOutput> {
  const store = new StateStore(statePath);
  const s = store.read();
  const d = resolveDomain(s, ref);
  let cmd: { execute?: unknown; arguments?: unknown };
  try {
    cmd = JSON.parse(text) as typeof cmd;
  } catch (e) {
    throw error(`internal error: cannot parse json ${text}: ${(e as Error).message}`);
  }
  if (!cmd || typeof cmd !== 'object' || typeof cmd.execute !== 'string') {
    throw error(`internal error: cannot parse json ${text}: an object with "execute" is expected`);
  }
  if (!isActive(d)) throw error('Requested operation is not valid: domain is not running');
  const show = (reply: unknown): VirshOutput => ({ stdout: (pretty ? JSON.stringify(reply, null, 4) : qmpJson(reply)) + '\n' });
  const id = `libvirt-${Math.floor(Date.now() / 1000) % 100000}`;

  const mirrors = liveMirrors(d);
  const hostedBy = [
    ...Object.values(mirrors).map((m) => m.ownerPid),
    ...(s.guestLoads ?? []).filter((l) => l.server === d.uuid && pidAlive(l.runnerPid)).map((l) => l.runnerPid as number),
  ].filter((pid) => pid !== process.pid);

  if (cmd.execute === 'query-block-jobs') {
    // Every mirror here is another process's (virsh starts none), and its QEMU is out of
    // reach: the reply carries only what that process saved — len/offset (end/cur), speed,
    // ready — under QEMU's names, and never busy, paused, status or io-status, which only
    // its QEMU knows. The note on stderr says whose job it is.
    const jobs = Object.values(mirrors).map((m) => {
      const disk = d.def.disks.find((x) => x.targetDev === m.dev);
      return { device: driveId(disk?.alias ?? m.dev), len: m.end, offset: m.cur, speed: m.bandwidth, ready: m.ready, type: 'mirror' };
    });
    const note = Object.values(mirrors)
      .filter((m) => m.ownerPid !== process.pid)
      .map((m) => ownerNote(s, d, m))
      .join('');
    return { ...show({ return: jobs, id }), ...(note ? { note } : {}) };
  }
  if (hostedBy.length) {
    throw error(
      `Requested operation is not valid: the QEMU of ${d.name} runs in process ${hostedBy[0]}; ` +
        `from another process only query-block-jobs is answered (from the persisted job snapshot)`,
    );
  }
  if (!cmd.execute.startsWith('query-')) {
    throw error(`Requested operation is not valid: '${cmd.execute}' needs a QEMU hosted by a nova process; virsh runs only query commands here`);
  }
  // nobody hosts this QEMU: rebuild it from the live definition for the call (no guest)
  const conn = new LibvirtConnection(store, { blkdebugRules: blkdebugRulesFrom(store) });
  try {
    const mon = await conn.qemu.get(d);
    const reply = await mon.proc.qmp({ execute: cmd.execute, ...(cmd.arguments ? { arguments: cmd.arguments as Record<string, unknown> } : {}), id });
    return show(reply);
  } finally {
    await conn.close();
  }
}
