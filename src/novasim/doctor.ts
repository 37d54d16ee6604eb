// `nova-sim doctor [--fix]`: what a crash, a kill -9, a failed save or a fault left in the
// world, and the repair an operator of a Mitaka cloud would make by hand (cinder reset-state,
// nova reset-state, virsh define, deleting a stale BDM row, finishing or undoing a pivot).
//
// One pass, `reconcile`, both finds and repairs: it walks what each service believes (Nova's
// BDMs and task states, Cinder's statuses and attachments, libvirt's domains) and makes the
// others agree with the one that holds the guest's data — the disk the domain really uses.
// Without --fix it runs on a copy and only reports. Instances whose operation is still in
// flight in a live process are left alone.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { pidAlive } from '../common/process.js';
import { isoSeconds } from '../common/time.js';
import { interruptedOperations } from '../state/journal.js';
import { instanceDiskPath, volumeImagePath } from '../state/paths.js';
import { StateStore } from '../state/store.js';
import { settleGuestLoads } from './guest-recover.js';
import { dropInstanceRecords } from './host-records.js';
import type { Bdm, Domain, DomainDef, DomainDisk, Instance, Operation, State, Volume } from '../state/types.js';

export interface Finding {
  /** a short name of the inconsistency, e.g. volume-stuck */
  kind: string;
  /** one line: what is wrong, and its cause */
  line: string;
  /** what --fix did about it (or would do) */
  repair: string;
}

const TRANSITIONAL = new Set(['attaching', 'detaching', 'reserved', 'creating', 'deleting']);
const SWAP_STEPS_AFTER_PIVOT = new Set(['libvirt.pivoted', 'libvirt.redefined', 'cinder.completed']);
/** the steps of a swap between the undefine and the pivot: the domain is transient then */
const SWAP_STEPS_TRANSIENT = new Set(['libvirt.undefined', 'libvirt.mirroring']);

function instName(s: State, uuid: string): string {
  const i = s.nova.instances.find((x) => x.uuid === uuid);
  return i ? `${i.name} (${uuid})` : uuid;
}

function volName(s: State, id: string): string {
  const v = s.cinder.volumes.find((x) => x.id === id);
  return v?.displayName ? `${v.displayName} (${id})` : id;
}

function opText(s: State, op: Operation): string {
  const server = instName(s, op.instance);
  switch (op.kind) {
    case 'swap':
      return `swap of volume ${volName(s, op.volumes[0] ?? '?')} for ${volName(s, op.volumes[1] ?? '?')} on server ${server} at ${op.device ?? '?'}`;
    case 'attach':
      return `attach of volume ${volName(s, op.volumes[0] ?? '?')} to server ${server} at ${op.device ?? '?'}`;
    case 'detach':
      return `detach of volume ${volName(s, op.volumes[0] ?? '?')} from server ${server} at ${op.device ?? '?'}`;
    case 'boot':
      return `boot of server ${server}`;
    case 'delete':
      return `delete of server ${server}`;
  }
}

/** What an operator of a real Mitaka cloud faces after such an interruption. */
function mitakaAftermath(op: Operation): string {
  switch (op.kind) {
    case 'swap':
      return SWAP_STEPS_AFTER_PIVOT.has(op.step)
        ? "on a real Mitaka cloud the guest now runs on the new volume while Nova's BDM and Cinder still name the old one, and the volumes stay 'detaching'/'attaching' until an operator repairs them by hand"
        : `on a real Mitaka cloud the volumes stay 'detaching'/'attaching' until an operator runs cinder reset-state${SWAP_STEPS_TRANSIENT.has(op.step) ? ', and the domain stays transient' : ''}`;
    case 'attach':
      return "on a real Mitaka cloud the volume stays 'attaching' and its BDM row stays until an operator runs cinder reset-state and deletes the row";
    case 'detach':
      return "on a real Mitaka cloud the volume stays 'detaching' until an operator runs cinder reset-state --state in-use";
    case 'boot':
      return 'on a real Mitaka cloud the server stays in BUILD until nova-compute restarts and sets it to ERROR';
    case 'delete':
      return "on a real Mitaka cloud the server stays in task_state 'deleting' until nova-compute restarts and finishes the delete";
  }
}

/** The one line the next command prints for each interrupted operation. */
export function interruptedNotices(s: State, ops: Operation[] = interruptedOperations(s)): string[] {
  return ops.map(
    (op) =>
      `WARNING: the ${opText(s, op)} was interrupted (process ${op.pid} ended after step ${op.step}, ${op.id}); ` +
      `${mitakaAftermath(op)}. Run 'nova-sim doctor' to see what it left, 'nova-sim doctor --fix' to repair it.`,
  );
}

/**
 * The notices of the operations that were surely interrupted: their process was seen gone
 * first, and a read made after that (`reread`) still holds their entry. A process ends its
 * operation in its last save and then exits, so a read just before that save followed by a
 * liveness check just after the exit would name a finished operation interrupted.
 */
export function confirmedInterruptedNotices(first: State, reread: () => State): string[] {
  const gone = interruptedOperations(first);
  if (!gone.length) return [];
  const now = reread();
  return interruptedNotices(now, (now.operations ?? []).filter((op) => gone.some((g) => g.id === op.id && g.pid === op.pid && g.kind === op.kind)));
}

/** The connection_info Cinder's local target gives for a volume (LVM-style path). */
function localConnectionInfo(statePath: string, volumeId: string, serial: string): string {
  return JSON.stringify({
    driver_volume_type: 'local',
    data: { device_path: volumeImagePath(statePath, volumeId), volume_id: volumeId, access_mode: 'rw', encrypted: false, qos_specs: null },
    serial,
  });
}

function cinfoOf(bdm: Bdm): { path: string | null; serial: string | null } {
  try {
    const c = JSON.parse(bdm.connectionInfo ?? 'null') as { data?: { device_path?: unknown }; serial?: unknown } | null;
    return { path: typeof c?.data?.device_path === 'string' ? c.data.device_path : null, serial: typeof c?.serial === 'string' ? c.serial : null };
  } catch {
    return { path: null, serial: null };
  }
}

function settleStatus(v: Volume): void {
  const attached = v.attachments.some((a) => a.attachStatus === 'attached');
  v.status = attached ? 'in-use' : 'available';
  v.attachStatus = attached ? 'attached' : 'detached';
  v.updatedAt = isoSeconds();
}

/** The domain definition Nova would generate from its BDMs (a hard reboot's XML). */
function defFromBdms(s: State, statePath: string, inst: Instance, bdms: Bdm[]): DomainDef {
  const flavor = s.flavors.find((f) => f.id === inst.flavorId);
  const disks: DomainDisk[] = [
    { type: 'file', device: 'disk', driverType: 'raw', source: instanceDiskPath(statePath, inst.uuid), targetDev: 'vda', targetBus: 'virtio', serial: null, alias: null },
  ];
  for (const b of bdms) {
    if (b.destinationType !== 'volume' || !b.volumeId) continue;
    const dev = b.deviceName.slice(b.deviceName.lastIndexOf('/') + 1);
    if (dev === 'vda') continue;
    disks.push({ type: 'block', device: 'disk', driverType: 'raw', source: volumeImagePath(statePath, b.volumeId), targetDev: dev, targetBus: 'virtio', serial: cinfoOf(b).serial ?? b.volumeId, alias: null });
  }
  return { name: `instance-${inst.id.toString(16).padStart(8, '0')}`, uuid: inst.uuid, memoryKiB: (flavor?.ram ?? 512) * 1024, vcpus: flavor?.vcpus ?? 1, disks };
}

function persistentFromLive(def: DomainDef): DomainDef {
  const p = structuredClone(def);
  for (const d of p.disks) d.alias = null;
  return p;
}

/** Finds every inconsistency and, on `s` itself, repairs it (files to delete go to `removals`,
 * for the caller to remove once the state is saved). Pass a copy to only look. */
export function reconcile(s: State, statePath: string, removals: string[] = []): Finding[] {
  const found: Finding[] = [];
  const add = (kind: string, line: string, repair: string) => found.push({ kind, line, repair });
  const liveOps = (s.operations ?? []).filter((o) => pidAlive(o.pid));
  const busy = new Set(liveOps.map((o) => o.instance));
  const busyVolumes = new Set(liveOps.flatMap((o) => o.volumes));
  const imageOwner = new Map<string, string>();
  for (const v of s.cinder.volumes) imageOwner.set(volumeImagePath(statePath, v.id), v.id);
  const dead = interruptedOperations(s);

  // 1. the journal: operations whose process is gone
  for (const op of dead) {
    add('interrupted-operation', `the ${opText(s, op)} was interrupted: process ${op.pid} ended after step ${op.step} (${op.id})`, 'finish or undo it from what the domain uses (below), then drop the journal entry');
  }

  // 2. block-job records of processes that are gone
  for (const d of s.libvirt.domains) {
    for (const [dev, m] of Object.entries(d.mirrors)) {
      if (pidAlive(m.ownerPid)) continue;
      add('orphaned-mirror', `domain ${d.name} disk ${dev} has a block-copy record of process ${m.ownerPid}, which is gone (its QEMU job died with it; the disk stayed on its source)`, 'drop the record, as libvirtd does on reconnect');
      delete d.mirrors[dev];
    }
  }

  for (const inst of s.nova.instances) {
    if (inst.deleted || busy.has(inst.uuid)) continue;
    const name = instName(s, inst.uuid);
    const op = dead.find((o) => o.instance === inst.uuid);
    let domain: Domain | undefined = s.libvirt.domains.find((d) => d.uuid === inst.uuid);

    // an interrupted delete: finish it, as nova-compute's init_host does for 'deleting'
    if (inst.taskState === 'deleting' || op?.kind === 'delete') {
      add('interrupted-delete', `server ${name} is stuck in task_state '${inst.taskState ?? 'None'}': its delete never finished`, 'finish the delete (domain, volumes detached in Cinder, BDMs, instance directory)');
      if (domain) s.libvirt.domains = s.libvirt.domains.filter((d) => d !== domain);
      for (const b of s.nova.bdms.filter((x) => x.instanceUuid === inst.uuid)) {
        const v = b.volumeId ? s.cinder.volumes.find((x) => x.id === b.volumeId) : undefined;
        if (!v) continue;
        v.attachments = v.attachments.filter((a) => a.instanceUuid !== inst.uuid);
        settleStatus(v);
      }
      s.nova.bdms = s.nova.bdms.filter((x) => x.instanceUuid !== inst.uuid);
      Object.assign(inst, { vmState: 'deleted', taskState: null, powerState: 0, deleted: true, terminatedAt: isoSeconds() });
      dropInstanceRecords(s, inst.uuid);
      removals.push(dirname(instanceDiskPath(statePath, inst.uuid)));
      continue;
    }

    // an interrupted boot: ERROR, as init_host sets an instance it finds building
    if (inst.vmState === 'building') {
      add('interrupted-boot', `server ${name} is stuck in BUILD (task_state ${inst.taskState ?? 'None'}): its boot never finished`, "set it to ERROR, as nova-compute's init_host does");
      Object.assign(inst, { vmState: 'error', taskState: null });
      continue;
    }

    const bdms = s.nova.bdms.filter((b) => b.instanceUuid === inst.uuid);
    if (!domain) {
      // a transient domain that was shut off is gone for good: Nova's BDMs are what is left
      const fromSwap = op?.kind === 'swap' && SWAP_STEPS_AFTER_PIVOT.has(op.step) ? op : null;
      if (fromSwap) {
        const bdm = bdms.find((b) => b.deviceName === fromSwap.device);
        if (bdm && fromSwap.volumes[1]) bdm.volumeId = fromSwap.volumes[1];
      }
      add('domain-missing', `server ${name} has no libvirt domain (a transient domain that was shut off after an interrupted swap disappears)`, "define it again from Nova's BDMs, shut off, as a hard reboot would generate it");
      const def = defFromBdms(s, statePath, inst, bdms);
      domain = { name: def.name, uuid: def.uuid, id: null, state: 'shutoff', def, persistentDef: structuredClone(def), managedSave: false, mirrors: {} };
      s.libvirt.domains.push(domain);
      Object.assign(inst, { vmState: inst.vmState === 'active' || inst.vmState === 'paused' ? 'stopped' : inst.vmState, powerState: 4 });
    }
    const live = domain.def;

    // 3. each volume BDM against the disk the domain really uses
    for (const bdm of bdms) {
      if (bdm.destinationType !== 'volume' || !bdm.volumeId) continue;
      const dev = bdm.deviceName.slice(bdm.deviceName.lastIndexOf('/') + 1);
      const disk = live.disks.find((d) => d.targetDev === dev);
      if (!disk) {
        add('bdm-without-disk', `server ${name}: Nova maps volume ${volName(s, bdm.volumeId)} at ${bdm.deviceName}, but the domain has no disk ${dev} (an attach that never reached libvirt, or a detach that did)`, 'delete the BDM row and detach the volume in Cinder');
        s.nova.bdms = s.nova.bdms.filter((b) => b !== bdm);
        const v = s.cinder.volumes.find((x) => x.id === bdm.volumeId);
        if (v) {
          v.attachments = v.attachments.filter((a) => a.instanceUuid !== inst.uuid);
          settleStatus(v);
        }
        continue;
      }
      const actual = imageOwner.get(disk.source);
      if (!actual) {
        add('unknown-image', `server ${name}: disk ${dev} uses ${disk.source}, which is no volume's image`, 'none: repair by hand');
        continue;
      }
      if (actual !== bdm.volumeId) {
        add(
          'bdm-wrong-volume',
          `server ${name}: the domain's disk ${dev} runs on volume ${volName(s, actual)} (the pivot happened) while Nova's BDM still names ${volName(s, bdm.volumeId)}`,
          'finish the swap: the BDM and Cinder follow the disk, which holds the guest\'s writes',
        );
        const prev = s.cinder.volumes.find((x) => x.id === bdm.volumeId);
        if (prev) {
          prev.attachments = prev.attachments.filter((a) => a.instanceUuid !== inst.uuid);
          settleStatus(prev);
        }
        bdm.volumeId = actual;
        // as swap_volume's BDM update does when the new volume is larger (resize_to)
        const now = s.cinder.volumes.find((x) => x.id === actual);
        if (now && prev && now.size > prev.size) bdm.volumeSize = now.size;
      }
      const ci = cinfoOf(bdm);
      const serial = disk.serial ?? ci.serial ?? actual;
      if (ci.path !== volumeImagePath(statePath, actual)) {
        add('leaked-connection', `server ${name}: the BDM at ${bdm.deviceName} holds the connection of ${ci.path ?? 'nothing'}, not of volume ${volName(s, actual)} that the disk uses (a connection initialised for the swap was never given back)`, "reset the BDM's connection_info to the disk's volume");
        bdm.connectionInfo = localConnectionInfo(statePath, actual, serial);
      } else if (ci.serial !== serial) {
        add('serial-mismatch', `server ${name}: disk ${dev} has serial ${serial}, the BDM's connection_info says ${ci.serial ?? 'none'}`, "set the BDM's serial to the disk's (the guest sees the disk's)");
        bdm.connectionInfo = localConnectionInfo(statePath, actual, serial);
      }
      const v = s.cinder.volumes.find((x) => x.id === actual);
      if (v) {
        const att = v.attachments.find((a) => a.instanceUuid === inst.uuid);
        if (!att || att.attachStatus !== 'attached' || att.mountpoint !== bdm.deviceName || v.status !== 'in-use') {
          add('cinder-attachment', `volume ${volName(s, actual)} is '${v.status}' in Cinder${att ? '' : ' with no attachment'} while server ${name} uses it at ${bdm.deviceName}`, 'record the attachment in Cinder (cinder reset-state --state in-use --attach-status attached)');
          v.attachments = v.attachments.filter((a) => a.instanceUuid !== inst.uuid);
          v.attachments.push({ id: att?.id ?? randomUUID(), instanceUuid: inst.uuid, attachedHost: inst.host, mountpoint: bdm.deviceName, attachTime: att?.attachTime ?? isoSeconds(), attachMode: 'rw', attachStatus: 'attached' });
          v.migrationStatus = null;
          settleStatus(v);
        }
      }
    }

    // 4. the persistent definition against the live one
    if (domain.state === 'running' || domain.state === 'paused') {
      if (!domain.persistentDef) {
        add('domain-transient', `domain ${domain.name} of server ${name} is transient: shut off, it would be gone for good (Nova defines every domain it boots; a swap undefines it for the copy, and one that never ended leaves it so)`, 'define it again from the live definition (virsh define)');
        domain.persistentDef = persistentFromLive(live);
      } else {
        const pdisks = domain.persistentDef.disks;
        const changed = pdisks.find((pd) => live.disks.some((d) => d.targetDev === pd.targetDev && d.source !== pd.source));
        // novasim: the saved XML re-defined over an attach or a detach another process made
        // during the copy lacks that disk, or keeps it
        const missing = live.disks.find((d) => !pdisks.some((pd) => pd.targetDev === d.targetDev));
        const extra = pdisks.find((pd) => !live.disks.some((d) => d.targetDev === pd.targetDev));
        const why = "Mitaka's _swap_volume re-defines the XML it saved before the copy";
        let line: string | null = null;
        if (changed) {
          const ld = live.disks.find((d) => d.targetDev === changed.targetDev)!;
          line = `domain ${domain.name}: its persistent definition names ${changed.source} for ${changed.targetDev}, the live domain uses ${ld.source} (${why})`;
        } else if (missing) {
          line = `domain ${domain.name}: its persistent definition has no disk ${missing.targetDev}, which the live domain has (${missing.source}): a restart from it would lose the disk (${why}, over an attach made meanwhile)`;
        } else if (extra) {
          line = `domain ${domain.name}: its persistent definition has a disk ${extra.targetDev} (${extra.source}) that the live domain no longer has: a restart from it would bring the disk back (${why}, over a detach made meanwhile)`;
        }
        if (line) {
          add('persistent-xml-stale', line, 'define the persistent XML from the live one');
          domain.persistentDef = persistentFromLive(live);
        }
      }
    }

    // 5. a task_state no operation will ever clear
    if (inst.taskState && !op) {
      add('task-state-stuck', `server ${name} is stuck in task_state '${inst.taskState}'`, "clear it (nova reset-state --active), as init_host does");
      inst.taskState = null;
    } else if (op && inst.taskState) {
      inst.taskState = null;
    }
  }

  // 5b. guest loads whose host process died: the writes the disk's image really holds
  for (const f of settleGuestLoads(s, busy)) add(f.kind, f.line, f.repair);

  // 6. Cinder's attachments that no BDM backs, and statuses no operation will move on
  for (const v of s.cinder.volumes) {
    if (busyVolumes.has(v.id)) continue;
    const before = v.attachments.length;
    v.attachments = v.attachments.filter((a) => {
      const inst = s.nova.instances.find((i) => i.uuid === a.instanceUuid);
      if (inst && busy.has(inst.uuid)) return true;
      return Boolean(inst && !inst.deleted && s.nova.bdms.some((b) => b.instanceUuid === inst.uuid && b.volumeId === v.id));
    });
    if (v.attachments.length !== before) {
      add('cinder-attachment', `volume ${volName(s, v.id)} has an attachment in Cinder that no Nova BDM backs`, 'drop the attachment (cinder reset-state --attach-status detached)');
      settleStatus(v);
    }
    if (TRANSITIONAL.has(v.status) && v.status !== 'creating' && v.status !== 'deleting') {
      add('volume-stuck', `volume ${volName(s, v.id)} is stuck '${v.status}' (an operation that set it never finished)`, `cinder reset-state --state ${v.attachments.length ? 'in-use' : 'available'}`);
      settleStatus(v);
    }
  }

  // 7. the journal entries are dealt with
  if (dead.length && s.operations) {
    const gone = new Set(dead);
    s.operations = s.operations.filter((o) => !gone.has(o));
    if (!s.operations.length) delete s.operations;
  }
  return found;
}

/** nova-sim doctor: the findings (exit 1 when there are any), or --fix: repair, then look again. */
export async function doctorCommand(statePath: string, fix: boolean): Promise<{ out: string; code: number }> {
  const store = new StateStore(statePath);
  if (!fix) {
    let findings = reconcile(store.read(), statePath);
    // an operation may end (its last save) and its process exit between the read and the
    // check of its pid: read again, and an entry still there with its process gone was
    // interrupted for sure (a dead process saves nothing more)
    if (findings.some((f) => f.kind === 'interrupted-operation')) findings = reconcile(store.read(), statePath);
    if (!findings.length) return { out: 'No inconsistencies found.\n', code: 0 };
    return { out: findings.map((f) => `${f.kind}: ${f.line}\n`).join('') + `${findings.length} found; 'nova-sim doctor --fix' repairs them.\n`, code: 1 };
  }
  const removals: string[] = [];
  const done = await store.update((s) => reconcile(s, statePath, removals));
  // files go only once the state that no longer needs them is saved
  for (const dir of removals) rmSync(dir, { recursive: true, force: true });
  const left = reconcile(store.read(), statePath);
  const lines = done.map((f) => `fixed ${f.kind}: ${f.line} → ${f.repair}\n`);
  if (left.length) {
    return { out: lines.join('') + left.map((f) => `left ${f.kind}: ${f.line}\n`).join('') + `${left.length} left that --fix could not repair.\n`, code: 1 };
  }
  return { out: lines.join('') + (done.length ? `${done.length} repaired; no inconsistencies left.\n` : 'No inconsistencies found.\n'), code: 0 };
}
