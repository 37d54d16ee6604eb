// Property-based fuzzing of the request bodies (and ids, queries, tokens, microversions)
// of every nova-api and cinder-api route, handled in this process by an embedded cloud on
// a default world. Properties: a status Nova or Cinder answers, never a 500 nor an
// exception out of the handler; a JSON fault body for an error, with no JavaScript in it;
// the state's bytes unchanged when the request was refused. See support/api-case.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest, CINDER, NOVA, type ApiRequest } from './support/api-arbs.js';
import { runApiCase } from './support/api-case.js';
import { knownApi } from './support/known.js';
import { CaseFailed, params } from './support/settings.js';
import { FuzzWorld } from './support/world.js';

let world: FuzzWorld;
beforeAll(async () => {
  world = await FuzzWorld.create();
});
afterAll(() => world?.close());

const WEB1 = '5b1a0c4e-2d3f-4a6b-8c9d-0e1f2a3b4c01';
const WEB_DATA = 'd0c1a2b3-4e5f-4a6b-9c7d-8e9f0a1b2c01';
const SPARE = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';
const PROJECT = '9a1d3b6c2f4e4d5a8b7c6d5e4f3a2b1c';

const r = (method: string, url: string, body: unknown, label: string): ApiRequest => ({
  method,
  url,
  body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body),
  token: 'admin:demo',
  version: '2.25',
  label,
});

describe('request bodies', () => {
  it('the issue\'s cases: deep nesting, huge sizes, bodies that are not objects', async () => {
    const deep = (d: number) => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
    const cases: ApiRequest[] = [
      r('POST', `${NOVA}/servers`, `{"server": {"name": "vm", "imageRef": "6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c", "flavorRef": "1", "metadata": ${deep(10000)}}}`, 'deep metadata'),
      r('POST', `${NOVA}/servers`, `{"server": {"name": "vm", "imageRef": "6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c", "flavorRef": "1", "metadata": {"a": ${deep(100000)}}}}`, 'deeper metadata'),
      r('PUT', `${NOVA}/servers/${WEB1}/os-volume_attachments/${WEB_DATA}`, `{"volumeAttachment": ${deep(5000)}}`, 'deep swap body'),
      r('POST', `${CINDER}/${PROJECT}/volumes`, { volume: { size: 99999999999 } }, 'volume of 99999999999 GiB'),
      r('POST', `${CINDER}/${PROJECT}/volumes`, { volume: { size: 2147483648 } }, 'volume of 2^31 GiB'),
      r('POST', `${CINDER}/${PROJECT}/volumes`, { volume: { size: 100000 } }, 'volume of 100000 GiB'),
      r('POST', `${CINDER}/${PROJECT}/volumes`, '{"volume": {"size": 1e999}}', 'volume of 1e999 GiB'),
      r('POST', `${CINDER}/${PROJECT}/volumes/${SPARE}/action`, '[]', 'an array as action'),
      r('POST', `${NOVA}/servers/${WEB1}/action`, 'null', 'null as action'),
      r('PUT', `${NOVA}/servers/${WEB1}/os-volume_attachments/${WEB_DATA}`, { volumeAttachment: { volumeId: 'constructor' } }, 'swap onto "constructor"'),
      // metadata keys are the user's: the state must still read after they are saved
      r('POST', `${NOVA}/servers`, { server: { name: 'vm', imageRef: '6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c', flavorRef: '1', metadata: { constructor: 'x' } } }, 'metadata key "constructor"'),
      r('POST', `${NOVA}/servers`, '{"server": {"name": "vm", "imageRef": "6b1d5a3e-9c2f-4e7a-8b1d-2c3e4f5a6b7c", "flavorRef": "1", "metadata": {"__proto__": "x"}}}', 'metadata key "__proto__"'),
      r('POST', `${NOVA}/servers/${WEB1}/action`, { hasOwnProperty: null }, 'action "hasOwnProperty"'),
      r('GET', `${NOVA}/servers/%`, undefined, 'a malformed percent-encoding'),
    ];
    const failures: string[] = [];
    for (const c of cases) {
      if (knownApi(c)) continue;
      const res = await runApiCase(world, c);
      if (res.problems.length) failures.push(`${c.label}: ${res.repro}: ${res.problems.join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 120000);

  it('fuzzed requests to every route', async () => {
    await fc.assert(
      fc.asyncProperty(apiRequest.filter((c) => !knownApi(c)), async (c) => {
        const res = await runApiCase(world, c);
        if (res.problems.length) throw new CaseFailed(res.problems, res.repro);
      }),
      params(150),
    );
  }, 240000);
});
