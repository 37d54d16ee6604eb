// The request-body fast path never accepts what Ajv refuses, and accepts the ordinary bodies
// (so that a well-formed request does not load Ajv at all).
import AjvModule from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { surelyValid } from '../../../src/nova/api/schema-fastpath.js';
import { create_server, create_volume_attachment, isUuidLike, reboot, reset_state, update_volume_attachment } from '../../../src/nova/api/schemas.js';

const FORMATS = { uuid: isUuidLike };
// ajv is CommonJS: its class is the module's default export
const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
const ajv = new (Ajv as unknown as new (o: object) => { addFormat(n: string, f: (s: string) => boolean): void; validate(s: object, d: unknown): boolean })({ allErrors: false, verbose: true, strict: false });
ajv.addFormat('uuid', isUuidLike);
const SCHEMAS = { update_volume_attachment, create_volume_attachment, create_server, reset_state, reboot };
const UUID = 'e1d2c3b4-5a6f-4b7c-8d9e-0f1a2b3c4d03';

describe('surelyValid', () => {
  it('accepts the bodies the clients send', () => {
    expect(surelyValid(update_volume_attachment, { volumeAttachment: { volumeId: UUID } }, FORMATS)).toBe(true);
    expect(surelyValid(create_volume_attachment, { volumeAttachment: { volumeId: UUID, device: '/dev/vdc' } }, FORMATS)).toBe(true);
    expect(surelyValid(create_volume_attachment, { volumeAttachment: { volumeId: UUID, device: null } }, FORMATS)).toBe(true);
    expect(surelyValid(create_server, { server: { name: 'vm', flavorRef: '1', imageRef: UUID, min_count: 1, max_count: 1, metadata: { a: 'b' } } }, FORMATS)).toBe(true);
    expect(surelyValid(reset_state, { 'os-resetState': { state: 'error' } }, FORMATS)).toBe(true);
    expect(surelyValid(reboot, { reboot: { type: 'HARD' } }, FORMATS)).toBe(true);
  });

  it('refuses what Ajv refuses (those go to Ajv for its error)', () => {
    const bad: Array<[object, unknown]> = [
      [update_volume_attachment, { volumeAttachment: { volumeId: 'not-a-uuid' } }],
      [update_volume_attachment, { volumeAttachment: { volumeId: UUID, extra: 1 } }],
      [update_volume_attachment, { volumeAttachment: {} }],
      [update_volume_attachment, { volumeAttachment: [] }],
      [update_volume_attachment, null],
      [create_volume_attachment, { volumeAttachment: { volumeId: UUID, device: 'vdc' } }],
      [create_server, { server: { name: '', flavorRef: '1' } }],
      [create_server, { server: { name: 'x'.repeat(256), flavorRef: '1' } }],
      [create_server, { server: { name: 'vm', flavorRef: 1.5 } }],
      [reset_state, { 'os-resetState': { state: 'deleted' } }],
      [reboot, { reboot: { type: 'hArd' } }],
    ];
    for (const [schema, body] of bad) {
      expect(ajv.validate(schema, body)).toBe(false);
      expect(surelyValid(schema, body, FORMATS)).toBe(false);
    }
  });

  it('says yes only where Ajv says yes, on any body', () => {
    const leaf = fc.oneof(
      fc.constant(UUID),
      fc.constantFrom('/dev/vdb', 'vdb', 'HARD', 'soft', 'active', 'error', '', 'x'.repeat(256), '1'),
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const keys = fc.constantFrom('volumeAttachment', 'volumeId', 'device', 'server', 'name', 'flavorRef', 'metadata', 'min_count', 'os-resetState', 'state', 'reboot', 'type', 'other');
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, leaf, fc.dictionary(keys, tie('value'), { maxKeys: 4 }), fc.array(tie('value'), { maxLength: 2 })),
    }));
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(SCHEMAS)), value, (schema, body) => {
        if (surelyValid(schema, body, FORMATS)) expect(ajv.validate(schema, body)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves a schema with a keyword it does not know to Ajv', () => {
    expect(surelyValid({ type: 'object', minProperties: 1 }, { a: 1 }, FORMATS)).toBe(false);
    expect(surelyValid({ type: 'string', format: 'date-time' }, '2016-01-01T00:00:00Z', FORMATS)).toBe(false);
  });
});
