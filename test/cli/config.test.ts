// nova-sim config: nova.conf's [libvirt] disk_cachemodes, and what it changes down the
// stack (the disk's <driver cache=…>, the QEMU drive's flags, the mirror's flush). Built
// binaries against a temporary state.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sameBytes } from '../support/world.js';
import { World, worldPerTest } from './helpers.js';

let w!: World;
const sim = worldPerTest((x) => (w = x));
const HELP_LINE = '# Specific cachemodes to use for different disk types e.g: file=directsync,block=none (list value)';
const vdbDriver = () => sim('virsh', 'dumpxml', 'web-1').stdout.split('<disk ')[2]!.match(/<driver [^>]*>/)![0];

describe('nova-sim config', () => {
  it("shows nova.conf's layout, the option commented out at its default; sets and empties a list", () => {
    expect(sim('config')).toEqual({ code: 0, stderr: '', stdout: `[libvirt]\n${HELP_LINE}\n#disk_cachemodes =\n` });
    expect(sim('config', 'libvirt.disk_cachemodes', 'block=unsafe, file=writeback')).toEqual({
      code: 0,
      stderr: '',
      stdout: `[libvirt]\n${HELP_LINE}\ndisk_cachemodes = block=unsafe,file=writeback\n`,
    });
    expect(JSON.parse(readFileSync(w.state, 'utf8')).novaConf).toEqual({ libvirt: { disk_cachemodes: ['block=unsafe', 'file=writeback'] } });
    expect(sim('config', 'libvirt.disk_cachemodes').stdout).toContain('disk_cachemodes = block=unsafe,file=writeback\n');
    expect(sim('config', 'libvirt.disk_cachemodes', '').stdout).toContain('#disk_cachemodes =\n');
  });

  it('bad input: one line, exit 1, the state file untouched', () => {
    const before = readFileSync(w.state, 'utf8');
    expect(sim('config', 'libvirt.disk_cachemodes', 'block=unsafe,file=turbo')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ERROR (CommandError): libvirt.disk_cachemodes: Invalid cachemode turbo specified for disk type file.\n',
    });
    expect(sim('config', 'libvirt.disk_cachemodes', 'unsafe')).toMatchObject({
      code: 1,
      stderr: "ERROR (CommandError): libvirt.disk_cachemodes: 'unsafe' is not of the form <disk type>=<cache mode>\n",
    });
    expect(sim('config', 'libvirt.virt_type', 'qemu')).toMatchObject({
      code: 1,
      stderr: "ERROR (CommandError): Unknown option 'libvirt.virt_type' (known: libvirt.disk_cachemodes)\n",
    });
    expect(sim('config', 'a', 'b', 'c')).toMatchObject({ code: 2 });
    expect(readFileSync(w.state, 'utf8')).toBe(before);
  });

  it('block=unsafe reaches a re-attached volume: <driver cache=\'unsafe\'>, and a swap onto it keeps the data and the mode', () => {
    expect(vdbDriver()).toBe("<driver name='qemu' type='raw' cache='none'/>");
    expect(sim('config', 'libvirt.disk_cachemodes', 'block=unsafe').code).toBe(0);
    // a disk Nova configured before keeps its mode
    expect(vdbDriver()).toBe("<driver name='qemu' type='raw' cache='none'/>");
    expect(w.admin(['volume-detach', 'web-1', 'web-data']).code).toBe(0);
    expect(w.admin(['volume-attach', 'web-1', 'web-data', '/dev/vdb']).code).toBe(0);
    expect(vdbDriver()).toBe("<driver name='qemu' type='raw' cache='unsafe'/>");
    const path = (v: string) => sim('volume-path', v).stdout.trim();
    const r = w.admin(['volume-update', 'web-1', 'web-data', 'new-web-data']);
    expect(r.code, r.stderr).toBe(0);
    expect(vdbDriver()).toBe("<driver name='qemu' type='raw' cache='unsafe'/>");
    expect(sim('virsh', 'domblklist', 'web-1').stdout).toContain(path('new-web-data'));
    // the old volume is untouched by the swap: the new one must equal it byte for byte
    expect(sameBytes(path('web-data'), path('new-web-data'))).toBe(true);
  });
});
