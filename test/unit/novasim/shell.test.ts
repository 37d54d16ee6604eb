// nova-sim's shell on commander (src/novasim/shell/): the global --state before or after the
// subcommand, help on stdout with exit 0, usage errors as one `error:` line between the
// command's usage and a hint (exit 2, nothing written), command errors as one
// `ERROR (<Class>)` line (exit 1), and the exit code an action returns.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simMain } from '../../../src/novasim/shell/main.js';
import { initWorld } from '../../../src/novasim/world.js';

let dir = '';
let statePath = '';

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novasim-shell-'));
  statePath = join(dir, 'state.json');
  await initWorld(statePath, 'default', false);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function sim(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = { stdout: '', stderr: '' };
  const code = await simMain(
    argv,
    (t) => void (o.stdout += t),
    (t) => void (o.stderr += t),
  );
  return { code, ...o };
}

/** the three lines of a usage error */
function usageError(usage: string, error: string, hintFor: string): string {
  return `Usage: ${usage}\nerror: ${error}\nTry '${hintFor} --help' for more information.\n`;
}

describe('--state', () => {
  it('is accepted before the subcommand, after it, and after a nested one', async () => {
    const other = join(dir, 'other.json');
    const before = await sim('--state', other, 'volume-path', 'web-data');
    expect(before).toMatchObject({ code: 0, stdout: `${join(dir, 'other.images', 'volumes', 'volume-d0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01')}\n` });
    // the state did not exist: it was created from the default fixture, and said so
    expect(before.stderr).toContain(`created ${other}`);
    const after = await sim('volume-path', 'web-data', '--state', statePath);
    expect(after).toEqual({ code: 0, stderr: '', stdout: `${join(dir, 'state.images', 'volumes', 'volume-d0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01')}\n` });
    const nested = await sim('virsh', 'list', '--state', statePath, '--all');
    expect(nested.code).toBe(0);
    expect(nested.stdout).toMatch(/^ Id +Name +State\n-+\n 1 +instance-00000001 +running\n/);
  });

  it('without a value is a usage error of nova-sim itself', async () => {
    expect(await sim('volume-path', 'web-data', '--state')).toEqual({
      code: 2,
      stdout: '',
      stderr: usageError('nova-sim [options] [command]', "option '--state <state-file>' argument missing", 'nova-sim'),
    });
  });
});

describe('help', () => {
  it('nova-sim and nova-sim virsh alone show their help on stdout, exit 0', async () => {
    for (const argv of [[], ['--help'], ['--state', statePath]]) {
      const r = await sim(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: nova-sim \[options\] \[command\]\n\nManage novasim's embedded cloud\.\n/);
      for (const name of ['init', 'volume-path', 'logs', 'config', 'blkdebug', 'doctor', 'fault', 'guest-load', 'virsh']) expect(r.stdout).toMatch(new RegExp(`\\n  ${name} `));
    }
    const virsh = await sim('virsh');
    expect(virsh.code).toBe(0);
    expect(virsh.stdout).toMatch(/^Usage: nova-sim virsh \[options\] \[command\]\n/);
    expect(virsh.stdout).toContain('qemu-monitor-command [options] <domain> <cmd>');
  });

  it("a command's help lists its options, the global --state and its epilog", async () => {
    const r = await sim('fault', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: nova-sim fault \[options\] \[action\] \[point\]\n/);
    expect(r.stdout).toContain('Global Options:\n  --state <state-file>');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('Points: cinder.reserve_volume,');
  });
});

describe('usage errors: exit 2, one error line, the state untouched', () => {
  it('unknown subcommands (prototype names too), unknown options, missing and extra arguments, bad numbers', async () => {
    const before = readFileSync(statePath);
    const cases: Array<[string[], string, string, string]> = [
      [['nosuch'], 'nova-sim [options] [command]', "unknown command 'nosuch'", 'nova-sim'],
      [['constructor'], 'nova-sim [options] [command]', "unknown command 'constructor'", 'nova-sim'],
      [['blkdeb', 'web-1'], 'nova-sim [options] [command]', "unknown command 'blkdeb' (Did you mean blkdebug?)", 'nova-sim'],
      [['virsh', '__proto__'], 'nova-sim virsh [options] [command]', "unknown command '__proto__'", 'nova-sim virsh'],
      [['--nosuch'], 'nova-sim [options] [command]', "unknown option '--nosuch'", 'nova-sim'],
      [['doctor', '--fx'], 'nova-sim doctor [options]', "unknown option '--fx' (Did you mean --fix?)", 'nova-sim doctor'],
      [['blkdebug'], 'nova-sim blkdebug [options] <server> [disk]', "missing required argument 'server'", 'nova-sim blkdebug'],
      [['virsh', 'blockjob', 'web-1'], 'nova-sim virsh blockjob [options] <domain> <path>', "missing required argument 'path'", 'nova-sim virsh blockjob'],
      [['init', 'extra'], 'nova-sim init [options]', "too many arguments for 'init'. Expected 0 arguments but got 1.", 'nova-sim init'],
      [['blkdebug', 'web-1', 'vdb', '--count'], 'nova-sim blkdebug [options] <server> [disk]', "option '--count <n>' argument missing", 'nova-sim blkdebug'],
      [['guest-load', 'web-1', '--seed', '1.5'], 'nova-sim guest-load [options] <server>', "option '--seed <seed>' argument '1.5' is invalid. Expected a whole number.", 'nova-sim guest-load'],
      [['guest-load', 'web-1', '--run', '-1'], 'nova-sim guest-load [options] <server>', "option '--run <seconds>' argument '-1' is invalid. Expected a positive number of seconds.", 'nova-sim guest-load'],
      [['guest-load', 'web-1', '--region', '0'], 'nova-sim guest-load [options] <server>', "option '--region <offset:length>' argument '0' is invalid. Expected OFFSET:LENGTH, e.g. 0:256M.", 'nova-sim guest-load'],
      [['guest-load', 'web-1', '--seed', '1', '--run', '1'], 'nova-sim guest-load [options] <server>', "option '--run <seconds>' cannot be used with option '--seed <seed>'", 'nova-sim guest-load'],
      [['fault', 'add', 'rpc.cast', '--once', '--times', '2'], 'nova-sim fault [options] [action] [point]', 'argument --times: not allowed with argument --once', 'nova-sim fault'],
      [['fault', 'remove'], 'nova-sim fault [options] [action] [point]', "argument <action>: invalid choice: 'remove' (choose from 'add', 'list', 'clear')", 'nova-sim fault'],
    ];
    for (const [argv, usage, error, hint] of cases) {
      expect(await sim(...argv, '--state', statePath), argv.join(' ')).toEqual({ code: 2, stdout: '', stderr: usageError(usage, error, hint) });
    }
    expect(readFileSync(statePath).equals(before), 'a refused command changes nothing').toBe(true);
  });

  it('a usage error comes before the state is created', async () => {
    const missing = join(dir, 'none.json');
    expect((await sim('--state', missing, 'guest-load', 'web-1', '--off', '--verify')).code).toBe(2);
    expect((await sim('--state', missing, 'fault', 'add', 'nosuch')).code).toBe(2);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('what the action returns', () => {
  it("a command error is one ERROR line, exit 1; a checker's findings exit 1 without one; success 0", async () => {
    expect(await sim('--state', statePath, 'volume-path', 'nope')).toEqual({ code: 1, stdout: '', stderr: "ERROR (CommandError): No volume with a name or ID of 'nope' exists.\n" });
    expect(await sim('--state', statePath, 'virsh', 'dumpxml', 'nope')).toEqual({ code: 1, stdout: '', stderr: "ERROR (libvirtError): failed to get domain 'nope'\n" });
    // the default world's cache-1 runs as a transient domain: doctor reports it on stdout
    const findings = await sim('--state', statePath, 'doctor');
    expect(findings).toMatchObject({ code: 1, stderr: '' });
    expect(findings.stdout).toMatch(/^domain-transient: domain instance-00000005 of server cache-1 .*\n1 found; /);
    expect(await sim('--state', statePath, 'config', 'libvirt.disk_cachemodes', 'file=none')).toMatchObject({ code: 0 });
    expect((await sim('--state', statePath, 'config', 'libvirt.disk_cachemodes')).stdout).toContain('file=none');
  });
});
