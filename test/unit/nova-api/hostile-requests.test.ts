// Hostile requests to nova-api and cinder-api (issue 8): a name filter that is not a
// regular expression JavaScript can run, and bodies nested thousands deep. Each is one
// ordinary HTTP fault with Nova's or Cinder's wording; never a 500, never a JS error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorld, SERVERS, VOLS, type World } from '../../support/world.js';

let w: World;
beforeAll(async () => {
  w = await openWorld();
});
afterAll(async () => {
  await w.close();
});

const JS_ERRORS = /TypeError|RangeError|SyntaxError|ReferenceError|Maximum call stack|Regular expression too large/;

function nested(depth: number, leaf: unknown = 'x', kind: 'array' | 'object' = 'array'): string {
  const open = kind === 'array' ? '['.repeat(depth) : '{"a":'.repeat(depth);
  const close = kind === 'array' ? ']'.repeat(depth) : '}'.repeat(depth);
  return `${open}${JSON.stringify(leaf)}${close}`;
}

describe('the name filter of GET /servers (a regular expression, as Nova matches it in the DB)', () => {
  it('a valid regular expression filters as before', async () => {
    const r = await w.nova('GET', '/servers?name=' + encodeURIComponent('^web-[0-9]$'));
    expect(r.status).toBe(200);
    expect(r.body.servers.map((s: { id: string }) => s.id)).toEqual([SERVERS.web1]);
  });

  for (const bad of ['(', '[a-', 'a**', '(?<n>x)(?<n>y)', '\\']) {
    it(`an invalid regular expression ${JSON.stringify(bad)} is a 400 with the query-parameter wording`, async () => {
      const r = await w.nova('GET', '/servers/detail?name=' + encodeURIComponent(bad));
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toBe(`Invalid input for query parameters name. Value: ${bad}. '${bad.replace(/\\/g, '\\\\')}' is not a 'regex'`);
    });
  }

  it('a 40,000-character name is refused before nova-api: 414, as eventlet answers a request line over 8 KiB', async () => {
    const r = await w.nova('GET', '/servers/detail?name=' + 'a'.repeat(40000));
    expect(r.status).toBe(414);
    expect(r.body).toBeNull();
  });

  it('cinder-api stands behind the same eventlet limit: 414 for a request line over 8 KiB', async () => {
    const r = await w.cinder('GET', '/volumes/detail?name=' + 'a'.repeat(9000));
    expect(r.status).toBe(414);
    const ok = await w.cinder('GET', '/volumes/detail?name=' + 'a'.repeat(8000));
    expect(ok.status).toBe(200);
  });

  it('a pattern V8 cannot compile (too large) but short enough to pass the URL limit is a 400, not a JS error', async () => {
    const pattern = 'a{1,65535}'.repeat(100);
    const r = await w.nova('GET', '/servers/detail?name=' + encodeURIComponent(pattern));
    expect([200, 400]).toContain(r.status);
    expect(JSON.stringify(r.body)).not.toMatch(JS_ERRORS);
  });
});

describe('bodies nested thousands deep', () => {
  const DEPTHS = [2000, 10000, 100000];

  for (const depth of DEPTHS) {
    it(`metadata nested ${depth} deep in a boot request is a 400 "Malformed request body"`, async () => {
      const body = `{"server": {"name": "deep", "flavorRef": "1", "imageRef": "cirros-0.3.4-x86_64-uec", "metadata": {"k": ${nested(depth)}}}}`;
      const r = await w.nova('POST', '/servers', body);
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toBe('Malformed request body');
    });

    it(`a swap body nested ${depth} deep (objects) is a 400 "Malformed request body" and nothing moves`, async () => {
      const before = w.state().nova.bdms;
      const body = `{"volumeAttachment": {"volumeId": ${nested(depth, VOLS.newWebData, 'object')}}}`;
      const r = await w.nova('PUT', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.webData}`, body);
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toBe('Malformed request body');
      expect(w.state().nova.bdms).toEqual(before);
    });

    it(`cinder-api: a volume create nested ${depth} deep is a 400 "Malformed request body" and no volume is made`, async () => {
      const count = w.state().cinder.volumes.length;
      const r = await w.cinder('POST', '/volumes', `{"volume": {"size": 1, "metadata": {"k": ${nested(depth)}}}}`);
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toBe('Malformed request body');
      expect(w.state().cinder.volumes.length).toBe(count);
    });

    it(`cinder-api: a volume action nested ${depth} deep is a 400 "Malformed request body"`, async () => {
      const r = await w.cinder('POST', `/volumes/${VOLS.spare}/action`, `{"os-reserve": ${nested(depth)}}`);
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toBe('Malformed request body');
      expect(w.state().cinder.volumes.find((v) => v.id === VOLS.spare)?.status).toBe('available');
    });
  }

  it('at the limit (1000 deep) the body is decoded and answered as usual: a 400 from the schema, one line, no 500', async () => {
    // "metadata": {"k": [[…]]}: the body's own two objects and the metadata object come first
    const inner = 1000 - 3;
    const r = await w.nova('POST', '/servers', `{"server": {"name": "deep", "flavorRef": "1", "imageRef": "cirros-0.3.4-x86_64-uec", "metadata": {"k": ${nested(inner)}}}}`);
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toMatch(/^Invalid input for field\/attribute k\. Value: \[\[.* is not of type 'string'$/);
    const swap = await w.nova('PUT', `/servers/${SERVERS.web1}/os-volume_attachments/${VOLS.webData}`, `{"volumeAttachment": {"volumeId": ${nested(998, VOLS.newWebData, 'object')}}}`);
    expect(swap.status).toBe(400);
    expect(swap.body.badRequest.message).toMatch(/^Invalid input for field\/attribute volumeId\. .* is not of type 'string'$/);
    expect(JSON.stringify([r.body, swap.body])).not.toMatch(JS_ERRORS);
  });

  it('one level more (1001 deep) is "Malformed request body"', async () => {
    const r = await w.nova('POST', '/servers', `{"server": {"name": "deep", "flavorRef": "1", "imageRef": "cirros-0.3.4-x86_64-uec", "metadata": {"k": ${nested(998)}}}}`);
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe('Malformed request body');
  });

  it('metadata a few levels deep is still validated by the schema (a 400 naming the field)', async () => {
    const r = await w.nova('POST', '/servers', { server: { name: 'shallow', flavorRef: '1', imageRef: 'cirros-0.3.4-x86_64-uec', metadata: { k: [[['x']]] } } });
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe("Invalid input for field/attribute k. Value: [[['x']]]. [[['x']]] is not of type 'string'");
  });

  it('brackets inside strings do not count as nesting', async () => {
    const r = await w.nova('POST', '/servers', { server: { name: 'brackets', flavorRef: '1', imageRef: 'cirros-0.3.4-x86_64-uec', metadata: { k: '['.repeat(5000) } } });
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toMatch(/^Invalid input for field\/attribute k\. .* is too long$/);
  });
});

describe("FaultWrapper: an error no controller expected is nova-api's 500 fault, never a crash of the client", () => {
  it('a JavaScript error outside any @expected_errors (here: reading the users) answers computeFault 500 and is logged with its trace', async () => {
    const { FAULT_WRAPPER_500 } = await import('../../../src/nova/api/app.js');
    const { StateStore } = await import('../../../src/state/store.js');
    const { vi } = await import('vitest');
    const spy = vi.spyOn(StateStore.prototype, 'read').mockImplementationOnce(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'users')");
    });
    try {
      const r = await w.nova('GET', '/servers');
      expect(r.status).toBe(500);
      expect(r.body).toEqual({ computeFault: { code: 500, message: FAULT_WRAPPER_500 } });
      expect(r.headers['x-compute-request-id']).toMatch(/^req-/);
    } finally {
      spy.mockRestore();
    }
    expect((await w.nova('GET', '/servers')).status).toBe(200);
  });
});
