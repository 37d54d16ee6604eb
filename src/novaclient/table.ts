// utils.print_list / utils.print_dict: prettytable's layout (+---+ borders, one space of
// padding, everything left-aligned, header between two rules, closing rule), drawn with
// cli-table3. Loaded only by the commands that print tables.
import CliTable from 'cli-table3';
import type { Resource } from './base.js';
import { pyCompare, pyJson, pyStr } from './pyfmt.js';
import { fill } from './textwrap.js';

type Cell = string;
interface TableCtor {
  new (opts: object): { push(...rows: Cell[][]): void; toString(): string };
}

function Table(): TableCtor {
  return CliTable as unknown as TableCtor;
}

const CHARS = {
  top: '-',
  'top-mid': '+',
  'top-left': '+',
  'top-right': '+',
  bottom: '-',
  'bottom-mid': '+',
  'bottom-left': '+',
  'bottom-right': '+',
  left: '|',
  'left-mid': '+',
  mid: '-',
  'mid-mid': '+',
  right: '|',
  'right-mid': '+',
  middle: '|',
};

/** prettytable.get_string() for a header and rows of strings */
export function renderTable(header: string[], rows: Cell[][]): string {
  return plainTable(header, rows) ?? cliTable(header, rows);
}

/** the table as cli-table3 draws it (any cell) */
export function cliTable(header: string[], rows: Cell[][]): string {
  const T = Table();
  const t = new T({
    head: header,
    chars: CHARS,
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1, compact: true },
  });
  if (rows.length) t.push(...rows.map((r) => r.map((c) => c.replace(/\t/g, ' '))));
  let out = t.toString();
  if (!rows.length) {
    // prettytable prints the closing rule under an empty header too
    const rule = out.split('\n')[0];
    out += `\n${rule}`;
  }
  return out;
}

/** one line of printable ASCII: its width is its length */
const PLAIN = /^[\x20-\x7e]*$/;

/**
 * The same table, drawn in one pass, when every cell is one line of printable ASCII (a
 * list of ten thousand servers): cli-table3 lays a table out in time that grows with the
 * square of its rows. Anything else (wide characters, line breaks, tabs) goes to cli-table3.
 */
function plainTable(header: string[], rows: Cell[][]): string | null {
  if (!header.every((h) => PLAIN.test(h))) return null;
  const widths = header.map((h) => h.length);
  for (const r of rows) {
    if (r.length !== header.length) return null;
    for (let i = 0; i < r.length; i++) {
      const c = r[i];
      if (typeof c !== 'string' || !PLAIN.test(c)) return null;
      if (c.length > widths[i]) widths[i] = c.length;
    }
  }
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: string[]): string => {
    let text = '|';
    for (let i = 0; i < cells.length; i++) text += ` ${cells[i].padEnd(widths[i])} |`;
    return text;
  };
  const out = [rule, line(header), rule];
  for (const r of rows) out.push(line(r as string[]));
  out.push(rule);
  return out.join('\n');
}

export type Formatter = (o: Resource) => unknown;

/** utils.print_list(objs, fields, formatters, sortby_index) */
export function printList(
  objs: Resource[],
  fields: string[],
  formatters: Record<string, Formatter> = {},
  sortbyIndex: number | null = null,
  mixedCaseFields: string[] = ['serverId'],
): string {
  // each column's formatter or attribute name, worked out once (not once per row)
  const columns = fields.map((field) =>
    field in formatters
      ? { formatter: formatters[field], name: '' }
      : { formatter: undefined, name: mixedCaseFields.includes(field) ? field.replace(/ /g, '_') : field.toLowerCase().replace(/ /g, '_') },
  );
  const rows = objs.map((o) =>
    columns.map(({ formatter, name }) => {
      if (formatter) return pyStr(formatter(o));
      let data = o.has(name) ? o.attr(name) : '';
      if (data === null || data === undefined) data = '-';
      const text = pyStr(data);
      return text.includes('\r') ? text.replace(/\r/g, '') : text;
    }),
  );
  if (sortbyIndex !== null) {
    // prettytable sorts on [sort column] + row, so ties fall back to the whole row (compared
    // in place: a key array made per comparison was most of the sort's cost on 10,000 rows)
    rows.sort((a, b) => {
      const c = pyCompare(a[sortbyIndex], b[sortbyIndex]);
      if (c) return c;
      for (let i = 0; i < a.length; i++) {
        const d = pyCompare(a[i], b[i]);
        if (d) return d;
      }
      return 0;
    });
  }
  return `${renderTable(fields, rows)}\n`;
}

/** utils.print_dict(d, dict_property, dict_value, wrap) */
export function printDict(d: Record<string, unknown>, property = 'Property', value = 'Value', wrap = 0): string {
  const rows: Cell[][] = [];
  for (const k of Object.keys(d).sort(pyCompare)) {
    let v = d[k];
    if (v !== null && typeof v === 'object') v = pyJson(v);
    // textwrap.fill(six.text_type(v), wrap): None becomes 'None' here, not '-'
    if (wrap > 0) v = fill(pyStr(v), wrap);
    if (typeof v === 'string' && v && (v.includes('\\n') || v.includes('\r'))) {
      const lines = v.replace(/\r/g, '').trim().split('\\n');
      let col1 = k;
      for (const line of lines) {
        rows.push([col1, line]);
        col1 = '';
      }
    } else {
      rows.push([k, v === null || v === undefined ? '-' : pyStr(v)]);
    }
  }
  return `${renderTable([property, value], rows)}\n`;
}
