// The API and Cinder side of issue 8, as a user meets it with the built `nova`: each
// refusal is one line and exit 1 and changes nothing; a log folder that cannot be written
// costs one warning line, never the command.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOVA, type Result, World, build, tableRows, worldPerTest } from './helpers.js';

const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const REQ = '\\(Request-ID: req-[0-9a-f-]{36}\\)';
const JS_ERROR = /TypeError|RangeError|SyntaxError|ReferenceError|Maximum call stack|Regular expression too large|\bat .*\.(c?js|ts):\d+/;

beforeAll(() => build());

let w: World;
worldPerTest((world) => (w = world));

const ADMIN = { OS_USERNAME: 'admin', OS_PROJECT_NAME: 'demo' };
/** stderr without novaclient's deprecation warnings of the volume proxy */
const errLines = (r: Result) => r.stderr.split('\n').filter((l) => l && !l.startsWith('WARNING: Command volume-'));
const state = () => JSON.parse(readFileSync(w.state, 'utf8'));
const images = () => readdirSync(join(w.dir, 'state.images', 'volumes')).sort();

function attachments(server = 'web-1'): string[][] {
  const r = w.nova(['volume-attachments', server]);
  expect({ code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({ code: 0, stderr: '' });
  return tableRows(r.stdout).slice(1);
}

/** `nova ARGS` as a child process that runs alongside others */
function novaAsync(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NOVA, '--state', w.state, ...args], { env: w.env(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('attaching a volume that is already attached', () => {
  it('is a 400 in one line, exit 1; the attachment stays, and the volume can still be swapped and detached', () => {
    const before = attachments();
    expect(before.map((r) => [r[1], r[3]])).toEqual([['/dev/vdb', WEB_DATA]]);
    const r = w.nova(['volume-attach', 'web-1', 'web-data']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(errLines(r)).toEqual([
      expect.stringMatching(new RegExp(`^ERROR \\(BadRequest\\): Invalid volume: volume '${WEB_DATA}' status must be 'available'\\. Currently in 'in-use' \\(HTTP 400\\) ${REQ}$`)),
    ]);
    expect(attachments()).toEqual(before);
    // a later command finds nothing interrupted
    const again = w.nova(['volume-attachments', 'web-1']);
    expect(again.stderr).toBe('');

    const swap = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], ADMIN);
    expect({ code: swap.code, stderr: swap.code ? swap.stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(attachments().map((row) => [row[1], row[3]])).toEqual([['/dev/vdb', 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d01']]);
    const detach = w.nova(['volume-detach', 'web-1', 'new-web-data']);
    expect({ code: detach.code, stderr: detach.code ? detach.stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(attachments()).toEqual([]);
  });
});

describe('volume-create of a size Cinder refuses', () => {
  for (const size of ['99999999999', '100000', '2147483648']) {
    it(`${size}: OverLimit (413) in one line, exit 1; no volume, no image`, () => {
      const vols = state().cinder.volumes.length;
      const imgs = images();
      const r = w.nova(['volume-create', size]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(errLines(r)).toEqual([
        expect.stringMatching(
          new RegExp(`^ERROR \\(OverLimit\\): Requested volume or snapshot exceeds allowed gigabytes quota\\. Requested ${size}G, quota is 1000G and \\d+G has been consumed\\. \\(HTTP 413\\) ${REQ}$`),
        ),
      ]);
      expect(state().cinder.volumes.length).toBe(vols);
      expect(images()).toEqual(imgs);
    });
  }

  it('a size past 2**53: BadRequest with Cinder\'s message, exit 1, nothing made', () => {
    const imgs = images();
    const r = w.nova(['volume-create', '9007199254740993']);
    expect(r.code).toBe(1);
    expect(errLines(r)).toEqual([
      expect.stringMatching(new RegExp(`^ERROR \\(BadRequest\\): Invalid input received: Volume size '9007199254740992' must be an integer and greater than 0 \\(HTTP 400\\) ${REQ}$`)),
    ]);
    expect(images()).toEqual(imgs);
  });

  it('a backend that cannot make the image (EFBIG: a file-size limit) leaves the volume in error with no image; swapping onto it is refused, deleting it removes only its record', async () => {
    const imgs = images();
    // the shell ignores SIGXFSZ so that ftruncate past the limit is EFBIG, not a kill
    const r = await new Promise<Result>((resolve) => {
      const child = spawn('/bin/sh', ['-c', `trap '' XFSZ; ulimit -f 4096; exec "${process.execPath}" "${NOVA}" --state "${w.state}" volume-create --display-name toolarge 2`], {
        env: w.env(),
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    // Cinder answered 202: the failure is cinder-volume's, and shows in the volume's status
    expect(r.code).toBe(0);
    const rows = Object.fromEntries(tableRows(r.stdout).map((c) => [c[0], c[1]]));
    expect(rows.status).toBe('error');
    expect(images()).toEqual(imgs);
    expect(readFileSync(join(w.dir, 'state.images', 'logs', 'cinder-volume.log'), 'utf8')).toMatch(/\[Errno 27\] File too large\n.*Volume [0-9a-f-]{36}: create failed\n/);

    const swap = w.nova(['volume-update', 'web-1', 'web-data', 'toolarge'], ADMIN);
    expect(swap.code).toBe(1);
    expect(errLines(swap)).toEqual([expect.stringMatching(/^ERROR \(BadRequest\): Invalid volume: volume '[0-9a-f-]{36}' status must be 'available'\. Currently in 'error' \(HTTP 400\)/)]);
    expect(attachments().map((row) => row[3])).toEqual([WEB_DATA]);

    const del = w.nova(['volume-delete', 'toolarge']);
    expect(del.code).toBe(0);
    expect(images()).toEqual(imgs);
    expect(state().cinder.volumes.some((v: { displayName: string }) => v.displayName === 'toolarge')).toBe(false);
  });
});

describe('the name filter of nova list', () => {
  it("an invalid regular expression is a 400 in one line, exit 1", () => {
    const r = w.nova(['list', '--name', '(']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(errLines(r)).toEqual([expect.stringMatching(new RegExp(`^ERROR \\(BadRequest\\): Invalid input for query parameters name\\. Value: \\(\\. '\\(' is not a 'regex' \\(HTTP 400\\) ${REQ}$`))]);
  });

  it('a 40,000-character name: the request line is refused (414) in one line, exit 1, no JavaScript error', () => {
    const r = w.nova(['list', '--name', 'a'.repeat(40000)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(errLines(r)).toEqual(['ERROR (ClientException): Unknown Error (HTTP 414)']);
    expect(r.stderr).not.toMatch(JS_ERROR);
  });
});

describe('two swaps of one disk at once, from two processes', () => {
  for (let round = 1; round <= 3; round++) {
    it(`round ${round}: one completes (exit 0), the other is a 400 in one line (exit 1); BDM, Cinder and the domain agree`, async () => {
      const [a, b] = await Promise.all([
        novaAsync(['volume-update', 'web-1', 'web-data', 'new-web-data'], ADMIN),
        novaAsync(['volume-update', 'web-1', 'web-data', 'spare'], ADMIN),
      ]);
      expect([a.code, b.code].sort()).toEqual([0, 1]);
      const [winner, loser] = a.code === 0 ? [a, b] : [b, a];
      const won = a.code === 0 ? 'new-web-data' : 'spare';
      const lost = a.code === 0 ? 'spare' : 'new-web-data';
      expect(winner.stderr).toMatch(new RegExp(`^Swapped volume web-data -> ${won} on web-1: copied`, 'm'));
      expect(loser.stdout).toBe('');
      expect(errLines(loser)).toEqual([
        expect.stringMatching(
          /^ERROR \(BadRequest\): Invalid volume: Invalid input received: Invalid volume: Unable to detach volume\. Volume status must be 'in-use' and attach_status must be 'attached' to detach\. \(HTTP 400\) /,
        ),
      ]);
      expect(`${a.stderr}${b.stderr}`).not.toMatch(JS_ERROR);

      const s = state();
      const byName = (n: string) => s.cinder.volumes.find((v: { displayName: string }) => v.displayName === n);
      const wonVol = byName(won);
      const bdms = s.nova.bdms.filter((x: { instanceUuid: string; deviceName: string }) => x.instanceUuid === '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01' && x.deviceName === '/dev/vdb');
      expect(bdms.map((x: { volumeId: string }) => x.volumeId)).toEqual([wonVol.id]);
      expect([wonVol.status, wonVol.attachments.map((x: { mountpoint: string }) => x.mountpoint)]).toEqual(['in-use', ['/dev/vdb']]);
      expect([byName('web-data').status, byName(lost).status]).toEqual(['available', 'available']);
      const dom = s.libvirt.domains.find((d: { uuid: string }) => d.uuid === '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01');
      expect(dom.def.disks.find((d: { targetDev: string }) => d.targetDev === 'vdb').source).toMatch(new RegExp(`volume-${wonVol.id}$`));
    });
  }
});

describe('a log folder that cannot be written', () => {
  it('a file in place of the logs folder: nova list and a whole swap succeed, with one warning line each', () => {
    const logs = join(w.dir, 'state.images', 'logs');
    rmSync(logs, { recursive: true, force: true });
    writeFileSync(logs, 'x');
    const warning = `WARNING: cannot write the services' logs to ${logs}: EEXIST; going on without them`;
    const list = w.nova(['list']);
    expect(list.code).toBe(0);
    expect(tableRows(list.stdout).length).toBeGreaterThan(1);
    expect(list.stderr.split('\n').filter(Boolean)).toEqual([warning]);
    const swap = w.nova(['volume-update', 'web-1', 'web-data', 'new-web-data'], ADMIN);
    expect(swap.code).toBe(0);
    expect(swap.stderr.split('\n').filter((l) => l.startsWith('WARNING'))).toEqual([warning]);
    expect(swap.stderr).not.toMatch(JS_ERROR);
    expect(readFileSync(logs, 'utf8')).toBe('x');
  });

  it('nova-sim logs with a file in place of the folder: the services are still named, exit 0', () => {
    rmSync(join(w.dir, 'state.images', 'logs'), { recursive: true, force: true });
    writeFileSync(join(w.dir, 'state.images', 'logs'), 'x');
    const r = w.sim(['logs', '--state', w.state]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
