// JsonListBody answers exactly what jsonResponse answers for the same list.
import { describe, expect, it } from 'vitest';
import { JsonListBody, jsonResponse } from '../../../src/http/wsgi.js';

function both(key: string, items: unknown[]) {
  const b = new JsonListBody(key);
  for (const i of items) b.push(i);
  return [b.response(200), jsonResponse(200, { [key]: items })];
}

describe('JsonListBody', () => {
  it('makes the same body and Content-Length as jsonResponse', () => {
    for (const n of [0, 1, 255, 256, 257, 1000]) {
      const items = Array.from({ length: n }, (_, i) => ({ id: i, name: i % 7 ? `vol-${i}` : `é ü 卷 ${i} "q" \\ \n`, links: [{ rel: 'self' }], metadata: {} }));
      const [got, want] = both('volumes', items);
      expect(got.status).toBe(200);
      expect(got.body).toBe(want.body);
      expect(got.headers).toEqual(want.headers);
      expect(Number(got.headers['Content-Length'])).toBe(Buffer.byteLength(want.body));
    }
  });

  it('quotes an odd key as JSON does', () => {
    const [got, want] = both('a"b', [1, 'two', null]);
    expect(got.body).toBe(want.body);
  });
});
