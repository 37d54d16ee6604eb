// Defects a user met in a first hour with the CLI (issue 12 §4): each test failed before its fix.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, NOVA, NOVA_SIM, World, type Result } from './helpers.js';
import { logsDir } from '../../src/state/paths.js';

let w: World;
beforeAll(() => {
  build();
  w = new World();
  expect(w.sim(['init', '--state', w.state]).code).toBe(0);
});
afterAll(() => w.cleanup());

/** run `bin ARGS | CONSUMER` in bash with pipefail; returns the pipeline's output, stderr and codes */
function pipeline(w: World, bin: string, args: string[], consumer: string): { stdout: string; stderr: string; codes: number[] } {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const script = `"$NODE" ${q(bin)} ${args.map(q).join(' ')} 2>"$ERRFILE" | ${consumer}; echo "codes:\${PIPESTATUS[*]}" >&2`;
  const errFile = join(w.dir, `stderr-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('bash', ['-c', script], { env: w.env({ NODE: process.execPath, ERRFILE: errFile, OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' }), encoding: 'utf8' });
  const codes = /codes:([\d ]+)/.exec(r.stderr)![1].trim().split(' ').map(Number);
  return { stdout: r.stdout, stderr: readFileSync(errFile, 'utf8'), codes };
}

describe('piped output', () => {
  // a world of its own: the other tests' commands would add to (and rotate) its big log
  let w: World;
  beforeAll(() => {
    w = new World();
    expect(w.sim(['init', '--state', w.state]).code).toBe(0);
    // well over a pipe's 64 KiB: the records of one request, many times over
    const file = join(logsDir(w.state), 'nova-api.log');
    expect(w.nova(['list']).code).toBe(0);
    const lines = readFileSync(file, 'utf8');
    appendFileSync(file, lines.repeat(Math.ceil(300_000 / lines.length)));
  });
  afterAll(() => w.cleanup());

  it('nova-sim logs into a slow reader: every byte arrives', () => {
    const whole = w.sim(['logs', '--state', w.state]);
    expect(whole.code).toBe(0);
    expect(whole.stdout.length).toBeGreaterThan(200_000);
    const r = pipeline(w, NOVA_SIM, ['logs', '--state', w.state], '(sleep 1; wc -c)');
    expect(r.codes).toEqual([0, 0]);
    expect(Number(r.stdout.trim())).toBe(Buffer.byteLength(whole.stdout));
  });

  it('nova-sim logs | head: the first lines, exit 0, no stack trace', () => {
    const r = pipeline(w, NOVA_SIM, ['logs', 'nova-api', '--state', w.state], '(sleep 0.3; head -2)');
    expect(r.stdout.split('\n').length).toBe(3);
    expect(r.stderr).toBe('');
    expect(r.codes).toEqual([0, 0]);
  });

  it('nova-sim logs | grep: the matching lines of the whole log', () => {
    const whole = w.sim(['logs', 'nova-api', '--state', w.state]);
    const expected = whole.stdout.split('\n').filter((l) => l.includes('GET /v2.1/servers/detail')).length;
    expect(expected).toBeGreaterThan(500);
    const r = pipeline(w, NOVA_SIM, ['logs', 'nova-api', '--state', w.state], "(sleep 1; grep -c 'GET /v2.1/servers/detail')");
    expect(Number(r.stdout.trim())).toBe(expected);
  });

  it('nova --debug list | head: exit 0, no stack trace', () => {
    const r = pipeline(w, NOVA, ['--state', w.state, 'list'], '(sleep 0.3; head -1)');
    expect(r.stdout).toMatch(/^\+-+/);
    expect(r.stderr).toBe('');
    expect(r.codes).toEqual([0, 0]);
  });
});

describe('nova-sim init --force', () => {
  it('a new world starts with empty logs', () => {
    const w2 = new World();
    try {
      expect(w2.sim(['init', '--state', w2.state]).code).toBe(0);
      expect(w2.nova(['list']).code).toBe(0);
      expect(w2.sim(['logs', '--state', w2.state]).stdout).toMatch(/GET \/v2\.1\/servers\/detail/);
      const r = w2.sim(['init', '--force', '--state', w2.state]);
      expect(r.code).toBe(0);
      const dir = logsDir(w2.state);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
      expect(w2.sim(['logs', '--state', w2.state])).toMatchObject({ code: 0, stdout: '' });
    } finally {
      w2.cleanup();
    }
  });
});

describe('nova --timings', () => {
  it("prints novaclient's table of each request's time and a Total row after the command's output", () => {
    const r = w.nova(['--timings', 'list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const head = lines.findIndex((l) => /^\| url +\| seconds +\|$/.test(l));
    // the command's own table comes first
    expect(lines.slice(0, head).join('\n')).toMatch(/\| ID +\| Name +\|/);
    const rows = lines.slice(head + 2, -1).map((l) => l.slice(2, -2).split(' | ').map((c) => c.trimEnd()));
    // version discovery (GET of the endpoint, absolute), then the listing (relative), then Total
    expect(rows.map((c) => c[0])).toEqual([expect.stringMatching(/^GET http:\/\/\S+\/v2\.1$/), 'GET /servers/detail', 'Total']);
    const secs = rows.map((c) => Number(c[1]));
    for (const s of secs) expect(s).toBeGreaterThan(0);
    expect(secs[2]).toBeCloseTo(secs[0] + secs[1], 9);
  });

  it('without --timings: no table', () => {
    expect(w.nova(['list']).stdout).not.toMatch(/\| url /);
  });
});

describe('a swap that fails after the 202', () => {
  it("names the PUT's request id, and nova-sim logs --request-id finds the failure with it", () => {
    const w3 = new World();
    try {
      // a SHUTOFF server: libvirt has no domain to copy on, nova-compute fails after the 202
      const r = w3.admin(['volume-update', 'batch-1', 'batch-data', 'spare']);
      expect(r.code).toBe(1);
      const m = /nova-compute failed the swap after the API had answered 202; real Nova would have failed silently \(see nova-compute's log: nova-sim logs --request-id (req-[0-9a-f-]{36}), or rerun with --debug\)\.\n$/.exec(r.stderr);
      expect(m).not.toBeNull();
      const id = m![1];
      // the same id the API gave the PUT
      const dbg = w3.admin(['--debug', 'volume-update', 'batch-1', 'batch-data', 'spare']);
      const put = /PUT call to compute for \S+ used request id (req-[0-9a-f-]+)/.exec(dbg.stderr)![1];
      expect(dbg.stderr).toContain(`--request-id ${put},`);
      const logs = w3.sim(['logs', '--request-id', id, '--state', w3.state]);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toMatch(new RegExp(`nova-api +\\| .*\\[${id} .*"PUT /v2\\.1/servers/\\S+/os-volume_attachments/\\S+ HTTP/1\\.1" status: 202`));
      expect(logs.stdout).toMatch(new RegExp(`nova-compute +\\| .*ERROR nova\\.compute\\.manager \\[${id} .*Failed to swap volume`));
      expect(logs.stdout).not.toContain(put);
    } finally {
      w3.cleanup();
    }
  });
});

describe('nova --os-compute-api-version', () => {
  const fields = (version: string | null): string[] => {
    const r = w.admin([...(version ? ['--os-compute-api-version', version] : []), 'show', 'web-1']);
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.slice(2).split(' | ')[0].trim());
  };
  it.each([
    ['2.1', []],
    ['2.3', ['OS-EXT-SRV-ATTR:hostname']],
    ['2.9', ['OS-EXT-SRV-ATTR:hostname', 'locked']],
    ['2.16', ['OS-EXT-SRV-ATTR:hostname', 'host_status', 'locked']],
    ['2.19', ['OS-EXT-SRV-ATTR:hostname', 'description', 'host_status', 'locked']],
    [null, ['OS-EXT-SRV-ATTR:hostname', 'description', 'host_status', 'locked']],
  ] as [string | null, string[]][])('%s: nova show has exactly the later fields that version has', (version, later) => {
    const f = fields(version);
    expect(f).toContain('OS-EXT-SRV-ATTR:instance_name');
    expect(f.filter((k) => ['OS-EXT-SRV-ATTR:hostname', 'locked', 'host_status', 'description'].includes(k)).sort()).toEqual(later);
  });
});

describe('nova delete while a swap of the server runs', () => {
  it("goes through as in Mitaka (the swap sets no task_state): the server is deleted, the block job dies with its domain, the swap fails and says so; nothing is silently lost", async () => {
    const w4 = new World();
    try {
      expect(w4.sim(['init', '--state', w4.state]).code).toBe(0);
      // hold each of the job's target writes 3 s: the copy is surely running when the delete comes
      expect(w4.sim(['blkdebug', 'web-1', 'vdb', '--delay', 'write_aio=3000', '--state', w4.state]).code).toBe(0);
      const admin = { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };
      const child = spawn(process.execPath, [NOVA, '--state', w4.state, 'volume-update', 'web-1', 'web-data', 'new-web-data'], { env: w4.env(admin) });
      let swapErr = '';
      child.stderr.on('data', (d: Buffer) => (swapErr += d.toString()));
      const swapCode = new Promise<number | null>((resolve) => child.on('close', resolve));
      for (let i = 0; i < 200 && !/volume-update: copying: /.test(swapErr); i++) await new Promise((r) => setTimeout(r, 50));
      expect(swapErr).toMatch(/volume-update: copying: /);

      // Mitaka's swap sets no task_state, so the API accepts the delete (204), and
      // terminate_instance destroys the domain the swap made transient: _undefine_domain
      // finds it gone, which is done
      const del = await new Promise<Result>((resolve) => {
        const d = spawn(process.execPath, [NOVA, '--state', w4.state, 'delete', 'web-1'], { env: w4.env(admin) });
        let stdout = '';
        let stderr = '';
        d.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        d.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        d.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(del).toMatchObject({ code: 0, stdout: 'Request to delete server web-1 has been accepted.\n' });
      expect(w4.admin(['list']).stdout).not.toMatch(/web-1/);

      // the block job died with the domain: the swap fails, says so, and rolls back
      expect(await swapCode).toBe(1);
      expect(swapErr).toMatch(/ERROR \(\w+\): /);
      expect(swapErr).toMatch(/nova-compute failed the swap after the API had answered 202/);
      expect(swapErr).not.toMatch(/Swapped volume/);
      // the volumes are free again: web-data detached by the delete, new-web-data unreserved
      const vols = w4.nova(['volume-list']).stdout;
      expect(vols).toMatch(/\| available +\| web-data /);
      expect(vols).toMatch(/\| available +\| new-web-data /);
    } finally {
      w4.cleanup();
    }
  }, 60_000);
});

describe('nova delete of a transient domain (the default world\'s cache-1)', () => {
  it('goes through: _undefine_domain finds the domain gone with its destroy, which is done', () => {
    const w5 = new World();
    try {
      expect(w5.sim(['init', '--state', w5.state]).code).toBe(0);
      expect(w5.admin(['delete', 'cache-1'])).toMatchObject({ code: 0, stdout: 'Request to delete server cache-1 has been accepted.\n', stderr: '' });
      expect(w5.admin(['list']).stdout).not.toMatch(/cache-1/);
      expect(w5.nova(['volume-list']).stdout).toMatch(/\| available +\| cache-data /);
    } finally {
      w5.cleanup();
    }
  });
});

describe('nova volume-detach of a volume left detaching', () => {
  it("answers Nova's 400 with Cinder's reason (volumes.py delete() maps InvalidInput to HTTPBadRequest), never a 500", () => {
    const w5 = new World();
    try {
      // a member's swap: Cinder refuses migrate_volume_completion, web-data stays 'detaching'
      expect(w5.nova(['volume-update', 'web-1', 'web-data', 'new-web-data']).code).toBe(1);
      expect(w5.nova(['volume-list']).stdout).toMatch(/\| detaching +\| web-data /);
      const r = w5.admin(['volume-detach', 'web-1', 'web-data']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^ERROR \(BadRequest\): Invalid input received: Invalid volume: Unable to detach volume\. Volume status must be 'in-use' and attach_status must be 'attached' to detach\. \(HTTP 400\) \(Request-ID: req-[0-9a-f-]+\) \(HTTP 400\) \(Request-ID: req-[0-9a-f-]+\)\n$/,
      );
      expect(r.stderr).not.toMatch(/Unexpected API Error|HTTP 500/);
    } finally {
      w5.cleanup();
    }
  });
});

describe('volume-update on a terminal: the spinner draws through the shell\'s one Output', () => {
  it('a pty of known width gets ora\'s spinner (redrawn lines, the cursor hidden and shown again) ending in the summary', () => {
    const w6 = new World();
    try {
      expect(w6.sim(['init', '--state', w6.state]).code).toBe(0);
      const cmd = `stty cols 100; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(NOVA)} --state ${JSON.stringify(w6.state)} volume-update web-1 web-data new-web-data`;
      // ora draws only on an interactive terminal: a TTY, TERM not dumb, and no CI variable
      const env = w6.env({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo', TERM: 'xterm' });
      delete env.CI;
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      // ora hides the cursor, rewrites its line in place (\r or CSI 1G, then erase) and shows the cursor again
      expect(r.stdout).toContain('\u001b[?25l');
      expect(r.stdout).toMatch(/\u001b\[1G\u001b\[0K/);
      expect(r.stdout).toContain('\u001b[?25h');
      expect(r.stdout).toContain('waiting for nova-compute: web-data -> new-web-data on web-1');
      expect(r.stdout).toMatch(/Swapped volume web-data -> new-web-data on web-1: copied 7\.0 MiB \(7344128 bytes\) in [\d.]+ s/);
      // no plain progress lines on a terminal
      expect(r.stdout).not.toContain('volume-update: started:');
    } finally {
      w6.cleanup();
    }
  }, 30_000);
});
