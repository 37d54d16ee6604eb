// How Python prints the values novaclient puts in tables: str() for scalars, json.dumps
// (", " and ": " separators, ASCII-only) for dicts and lists in print_dict.

/** json.dumps(value) with Python's default separators and ensure_ascii */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  if (typeof value === 'string') return jsonString(value);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${jsonString(k)}: ${pyJson(v)}`);
    return `{${parts.join(', ')}}`;
  }
  return jsonString(String(value));
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** repr() of a JSON value as Python would show it */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    const q = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(/\t/g, '\\t');
    return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** repr() (= str() on Python 3) of a float: shortest digits, 1.0 not 1, 5e-05 not 0.00005 */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [m, e] = x.toExponential().split('e');
    return `${m}e${e[0]}${e.slice(1).padStart(2, '0')}`;
  }
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** str() of a JSON value */
export function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  return pyRepr(value);
}

/** Python's sorted() order for strings (code points) */
export function pyCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Python's urllib.parse.urlencode (quote_plus) over ordered pairs */
export function urlencode(pairs: [string, unknown][]): string {
  const q = (s: string): string =>
    encodeURIComponent(s)
      .replace(/[!'()*~]/g, (c) => (c === '~' ? c : `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
      .replace(/%20/g, '+');
  return pairs.map(([k, v]) => `${q(k)}=${q(pyStr(v))}`).join('&');
}

/** repr() of a str in Python 3: quotes chosen as CPython does, control characters escaped */
function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\x${c.toString(16)}`;
    else out += ch;
  }
  return out + q;
}

/** pprint's _safe_repr: dicts with their keys sorted */
function safeRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v);
  if (typeof v === 'string') return strRepr(v);
  if (Array.isArray(v)) return `[${v.map(safeRepr).join(', ')}]`;
  const keys = Object.keys(v as object).sort(pyCompare);
  return `{${keys.map((k) => `${strRepr(k)}: ${safeRepr((v as Record<string, unknown>)[k])}`).join(', ')}}`;
}

/** str.splitlines(keepends=True) */
function splitlinesKeep(s: string): string[] {
  const out: string[] = [];
  const re = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
  let start = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out.push(s.slice(start, m.index + m[0].length));
    start = m.index + m[0].length;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/**
 * pprint.pformat(value) as CPython 3 writes it (indent=1, width=80, sort_dicts=True), for
 * the JSON values an API returns: a list or dict whose repr is too wide goes one item a
 * line, a too-long string is split into adjacent literals.
 */
export function pformat(value: unknown, width = 80): string {
  let out = '';
  const write = (t: string): void => {
    out += t;
  };
  const format = (v: unknown, indent: number, allowance: number, level: number): void => {
    const rep = safeRepr(v);
    if (rep.length > width - indent - allowance) {
      if (Array.isArray(v) && v.length) return pprintList(v, indent, allowance, level + 1);
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) return pprintDict(v as Record<string, unknown>, indent, allowance, level + 1);
      if (typeof v === 'string' && v.length) return pprintStr(v, indent, allowance, level + 1);
    }
    write(rep);
  };
  const pprintList = (items: unknown[], indent: number, allowance: number, level: number): void => {
    write('[');
    indent += 1;
    allowance += 1;
    items.forEach((item, i) => {
      const last = i === items.length - 1;
      if (i > 0) write(`,\n${' '.repeat(indent)}`);
      format(item, indent, last ? allowance : 1, level);
    });
    write(']');
  };
  const pprintDict = (d: Record<string, unknown>, indent: number, allowance: number, level: number): void => {
    write('{');
    const keys = Object.keys(d).sort(pyCompare);
    indent += 1;
    allowance += 1;
    keys.forEach((k, i) => {
      const last = i === keys.length - 1;
      const rep = strRepr(k);
      write(`${rep}: `);
      format(d[k], indent + rep.length + 2, last ? allowance : 1, level);
      if (!last) write(`,\n${' '.repeat(indent)}`);
    });
    write('}');
  };
  const pprintStr = (s: string, indent: number, allowance: number, level: number): void => {
    const chunks: string[] = [];
    const lines = splitlinesKeep(s);
    if (level === 1) {
      indent += 1;
      allowance += 1;
    }
    const maxWidth = width - indent;
    let maxWidth1 = maxWidth;
    lines.forEach((line, i) => {
      const rep = strRepr(line);
      if (i === lines.length - 1) maxWidth1 -= allowance;
      if (rep.length <= maxWidth1) {
        chunks.push(rep);
        return;
      }
      // alternating (non-space, space) parts, as re.findall(r'\S*\s*', line) without the last ''
      const parts = (line.match(/\S*\s*/g) ?? []).slice(0, -1);
      let maxWidth2 = maxWidth;
      let current = '';
      parts.forEach((part, j) => {
        const candidate = current + part;
        if (j === parts.length - 1 && i === lines.length - 1) maxWidth2 -= allowance;
        if (strRepr(candidate).length > maxWidth2) {
          if (current) chunks.push(strRepr(current));
          current = part;
        } else current = candidate;
      });
      if (current) chunks.push(strRepr(current));
    });
    if (chunks.length === 1) {
      write(strRepr(s));
      return;
    }
    if (level === 1) write('(');
    chunks.forEach((c, i) => write(i > 0 ? `\n${' '.repeat(indent)}${c}` : c));
    if (level === 1) write(')');
  };
  format(value, 0, 0, 0);
  return out;
}
