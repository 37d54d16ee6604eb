// exceptions.from_response: class by status, message from the fault body, request id.
import { describe, expect, it } from 'vitest';
import { BadRequest, ClientException, Conflict, fromResponse, HTTPNotImplemented, NotFound, OverLimit } from '../../../src/novaclient/exceptions.js';

const resp = (status: number, headers: Record<string, string> = {}) => ({ status, headers });

describe('from_response', () => {
  it('maps statuses to classes', () => {
    expect(fromResponse(resp(400), null, 'u', 'GET')).toBeInstanceOf(BadRequest);
    expect(fromResponse(resp(409), null, 'u', 'GET')).toBeInstanceOf(Conflict);
    expect(fromResponse(resp(413), null, 'u', 'GET')).toBeInstanceOf(OverLimit);
    expect(fromResponse(resp(501), null, 'u', 'GET')).toBeInstanceOf(HTTPNotImplemented);
    const e = fromResponse(resp(500), null, 'u', 'GET');
    expect(e.constructor).toBe(ClientException);
    expect(e.name).toBe('ClientException');
  });

  it('takes the message from the first key of the body, the id from x-compute-request-id', () => {
    const e = fromResponse(resp(404, { 'x-compute-request-id': 'req-1' }), { itemNotFound: { code: 404, message: 'gone' } }, 'u', 'GET');
    expect(e).toBeInstanceOf(NotFound);
    expect(e.message).toBe('gone (HTTP 404) (Request-ID: req-1)');
  });

  it('Cinder answers with x-openstack-request-id; a flat {"message"} body works too', () => {
    const e = fromResponse(resp(400, { 'X-OpenStack-Request-Id': 'req-2' }), { message: 'flat' }, 'u', 'POST');
    expect(e.message).toBe('flat (HTTP 400) (Request-ID: req-2)');
  });

  it('no body: the class\'s default message', () => {
    expect(fromResponse(resp(404), null, 'u', 'GET').message).toBe('Not found (HTTP 404)');
  });
});
