// A quick look at a request body that says "certainly valid" for the JSON schemas of
// schemas.ts, so that a well-formed request (every `nova volume-update`) need not load and
// compile Ajv (about 0.15 s of a command). It knows only the keywords those schemas use, with
// Ajv's meaning of each; a schema with any other keyword, or a body it does not accept, goes
// to Ajv as before, so every answer (and every error message) is Ajv's. It never says yes to
// a body Ajv would refuse: that is all it has to get right.
type Schema = Record<string, unknown>;

const KNOWN = new Set(['type', 'properties', 'required', 'additionalProperties', 'format', 'enum', 'pattern', 'minLength', 'maxLength']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Ajv's type test (no coercion) */
function hasType(t: string, v: unknown): boolean | undefined {
  switch (t) {
    case 'object':
      return isObject(v);
    case 'string':
      return typeof v === 'string';
    case 'null':
      return v === null;
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return undefined;
  }
}

/** the length of a string as JSON Schema counts it: code points */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** the formats Ajv was given (addFormat), by name */
export type Formats = Record<string, (s: string) => boolean>;

/** true only when `data` is valid under `schema` (false: not known, ask Ajv) */
export function surelyValid(schema: unknown, data: unknown, formats: Formats): boolean {
  if (!isObject(schema)) return false;
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) return false;
  const s = schema as Schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    let ok = false;
    for (const t of types) {
      const r = typeof t === 'string' ? hasType(t, data) : undefined;
      if (r === undefined) return false;
      if (r) ok = true;
    }
    if (!ok) return false;
  }
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum) || !s.enum.every((e) => e === null || ['string', 'number', 'boolean'].includes(typeof e))) return false;
    if (!s.enum.includes(data)) return false;
  }
  if (typeof data === 'string') {
    if (s.format !== undefined && (typeof s.format !== 'string' || !Object.prototype.hasOwnProperty.call(formats, s.format) || !formats[s.format](data))) return false;
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') return false;
      let re: RegExp;
      try {
        re = new RegExp(s.pattern, 'u');
      } catch {
        return false;
      }
      if (!re.test(data)) return false;
    }
    if (s.minLength !== undefined && (typeof s.minLength !== 'number' || codePoints(data) < s.minLength)) return false;
    if (s.maxLength !== undefined && (typeof s.maxLength !== 'number' || codePoints(data) > s.maxLength)) return false;
  }
  if (isObject(data)) {
    const props = s.properties;
    if (props !== undefined && !isObject(props)) return false;
    if (s.required !== undefined) {
      if (!Array.isArray(s.required)) return false;
      for (const r of s.required) if (typeof r !== 'string' || !Object.prototype.hasOwnProperty.call(data, r)) return false;
    }
    const extra = s.additionalProperties;
    if (extra !== undefined && extra !== false && !isObject(extra)) return false;
    for (const [k, v] of Object.entries(data)) {
      if (props && Object.prototype.hasOwnProperty.call(props, k)) {
        if (!surelyValid(props[k], v, formats)) return false;
      } else if (extra === false) {
        return false;
      } else if (extra !== undefined && !surelyValid(extra, v, formats)) {
        return false;
      }
    }
  }
  return true;
}
