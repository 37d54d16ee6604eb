// nova/api/openstack/compute/schemas/: the request bodies Nova validates, and the
// validator that words errors like nova.api.validation does. Ajv is loaded on first use,
// so read-only commands never pay for it.
import { createRequire } from 'node:module';
import { pyRepr } from '../../common/pyrepr.js';
import { HttpFault } from '../../http/wsgi.js';
import { surelyValid, type Formats } from './schema-fastpath.js';

const uuid = { type: 'string', format: 'uuid' };

export const update_volume_attachment = {
  type: 'object',
  properties: {
    volumeAttachment: {
      type: 'object',
      properties: { volumeId: uuid },
      required: ['volumeId'],
      additionalProperties: false,
    },
  },
  required: ['volumeAttachment'],
  additionalProperties: false,
};

export const create_volume_attachment = {
  type: 'object',
  properties: {
    volumeAttachment: {
      type: 'object',
      properties: {
        volumeId: uuid,
        device: { type: ['string', 'null'], pattern: '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$' },
      },
      required: ['volumeId'],
      additionalProperties: false,
    },
  },
  required: ['volumeAttachment'],
  additionalProperties: false,
};

export const create_server = {
  type: 'object',
  properties: {
    server: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 255 },
        imageRef: { type: 'string' },
        flavorRef: { type: ['string', 'integer'], minLength: 1 },
        availability_zone: { type: 'string' },
        key_name: { type: 'string' },
        metadata: { type: 'object', additionalProperties: { type: 'string', maxLength: 255 } },
        min_count: { type: ['integer', 'string'] },
        max_count: { type: ['integer', 'string'] },
        networks: {},
        security_groups: {},
        block_device_mapping: {},
        block_device_mapping_v2: {},
        user_data: {},
        config_drive: {},
        adminPass: { type: 'string' },
        accessIPv4: { type: 'string' },
        accessIPv6: { type: 'string' },
        description: { type: ['string', 'null'] },
        personality: {},
        return_reservation_id: {},
        'OS-DCF:diskConfig': {},
      },
      required: ['name', 'flavorRef'],
      additionalProperties: false,
    },
    'os:scheduler_hints': {},
  },
  required: ['server'],
  additionalProperties: false,
};

export const reset_state = {
  type: 'object',
  properties: {
    'os-resetState': {
      type: 'object',
      properties: { state: { type: 'string', enum: ['active', 'error'] } },
      required: ['state'],
      additionalProperties: false,
    },
  },
  required: ['os-resetState'],
  additionalProperties: false,
};

/** schemas/servers.py reboot */
export const reboot = {
  type: 'object',
  properties: {
    reboot: {
      type: 'object',
      properties: { type: { enum: ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'] } },
      required: ['type'],
      additionalProperties: false,
    },
  },
  required: ['reboot'],
  additionalProperties: false,
};

/** oslo_utils.uuidutils.is_uuid_like: any spelling uuid.UUID() accepts */
export function isUuidLike(v: string): boolean {
  const hex = v.toLowerCase().replace(/^urn:uuid:/, '').replace(/[{}-]/g, '');
  return /^[0-9a-f]{32}$/.test(hex);
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  schema: unknown;
  parentSchema?: unknown;
  data: unknown;
}

type ValidateFn = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

const compiled = new Map<object, ValidateFn>();

/** the formats the schemas name, as Ajv is given them */
const FORMATS: Formats = { uuid: isUuidLike };

async function compile(schema: object): Promise<ValidateFn> {
  let v = compiled.get(schema);
  if (v) return v;
  // ajv is CommonJS: required on the first validation, never at start-up
  const AjvCtor = (createRequire(import.meta.url)('ajv') as { default: new (o: object) => { addFormat(n: string, f: (s: string) => boolean): void; compile(s: object): ValidateFn } }).default;
  const ajv = new AjvCtor({ allErrors: false, verbose: true, strict: false });
  for (const [name, test] of Object.entries(FORMATS)) ajv.addFormat(name, test);
  v = ajv.compile(schema);
  compiled.set(schema, v);
  return v;
}

function jsonschemaMessage(e: AjvError): string {
  switch (e.keyword) {
    case 'required':
      return `${pyRepr(e.params.missingProperty)} is a required property`;
    case 'additionalProperties': {
      // jsonschema names every unexpected key, in the instance's order
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const extra = e.data && typeof e.data === 'object' ? Object.keys(e.data).filter((k) => !allowed.includes(k)) : [];
      const keys = extra.length ? extra : [String(e.params.additionalProperty)];
      return `Additional properties are not allowed (${keys.map((k) => pyRepr(k)).join(', ')} ${keys.length > 1 ? 'were' : 'was'} unexpected)`;
    }
    case 'type': {
      const t = e.params.type;
      const types = Array.isArray(t) ? t : String(t).split(',');
      return `${pyRepr(e.data)} is not of type ${types.map((x) => pyRepr(x)).join(', ')}`;
    }
    case 'format':
      return `${pyRepr(e.data)} is not a ${pyRepr(e.params.format)}`;
    case 'enum':
      return `${pyRepr(e.data)} is not one of ${pyRepr(e.params.allowedValues)}`;
    case 'pattern':
      return `${pyRepr(e.data)} does not match ${pyRepr(e.params.pattern)}`;
    case 'minLength':
      return `${pyRepr(e.data)} is too short`;
    case 'maxLength':
      return `${pyRepr(e.data)} is too long`;
    default:
      return `${pyRepr(e.data)} is not valid under the given schema`;
  }
}

/** nova.api.validation._SchemaValidator.validate: 400 with Nova's wording */
export async function validate(schema: object, body: unknown): Promise<void> {
  // a body that is certainly valid needs no Ajv (schema-fastpath.ts); anything else is Ajv's
  if (surelyValid(schema, body, FORMATS)) return;
  const v = await compile(schema);
  if (v(body)) return;
  const e = (v.errors ?? [])[0];
  if (!e) throw new HttpFault(400, 'Invalid input');
  const path = e.instancePath.split('/').filter(Boolean);
  const message = jsonschemaMessage(e);
  if (path.length > 0) {
    const field = path[path.length - 1].replace(/~1/g, '/').replace(/~0/g, '~');
    const value = typeof e.data === 'string' ? e.data : pyRepr(e.data);
    throw new HttpFault(400, `Invalid input for field/attribute ${field}. Value: ${value}. ${message}`);
  }
  throw new HttpFault(400, message);
}
