// utils.print_list / print_dict: prettytable's layout, byte for byte.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Resource } from '../../../src/novaclient/base.js';
import { printDict, printList, renderTable } from '../../../src/novaclient/table.js';
import { pyFloat, pyJson, pyRepr, pyStr } from '../../../src/novaclient/pyfmt.js';

describe('prettytable layout', () => {
  it('draws the spec\'s example layout (columns as wide as their widest cell)', () => {
    const out = renderTable(
      ['ID', 'Name', 'Status', 'Task State', 'Power State', 'Networks'],
      [['11111111-1111-1111-1111-111111111111', 'web', 'ACTIVE', '-', 'Running', 'private=10.0.0.5']],
    );
    expect(`${out}\n`).toBe(
      '+--------------------------------------+------+--------+------------+-------------+------------------+\n' +
        '| ID                                   | Name | Status | Task State | Power State | Networks         |\n' +
        '+--------------------------------------+------+--------+------------+-------------+------------------+\n' +
        '| 11111111-1111-1111-1111-111111111111 | web  | ACTIVE | -          | Running     | private=10.0.0.5 |\n' +
        '+--------------------------------------+------+--------+------------+-------------+------------------+\n',
    );
  });

  it('an empty list still has its closing rule', () => {
    expect(printList([], ['ID', 'Name'])).toBe('+----+------+\n| ID | Name |\n+----+------+\n+----+------+\n');
  });

  it('print_list: None is "-", missing is empty, sort ties fall back to the whole row', () => {
    const objs = [
      new Resource({ id: 'b', name: 'x', status: null }),
      new Resource({ id: 'a', name: 'x' }),
      new Resource({ id: 'c', name: 'w', status: 'ACTIVE' }),
    ];
    expect(printList(objs, ['ID', 'Name', 'Status'], {}, 1)).toBe(
      '+----+------+--------+\n' +
        '| ID | Name | Status |\n' +
        '+----+------+--------+\n' +
        '| c  | w    | ACTIVE |\n' +
        '| a  | x    |        |\n' +
        '| b  | x    | -      |\n' +
        '+----+------+--------+\n',
    );
  });

  it('print_list sorts as prettytable does: on [sort column] + row, stable', () => {
    // the reference: prettytable's key, built as a list per comparison
    const reference = (rows: string[][], by: number): string[][] =>
      [...rows].sort((a, b) => {
        const ka = [a[by], ...a];
        const kb = [b[by], ...b];
        for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
        return 0;
      });
    // few distinct cells (ties at every column), unicode, empty strings, None and missing
    const cell = fc.constantFrom('', 'a', 'b', 'B', 'é', '卷', '😀', 'a b', null, undefined);
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, cell, cell), { maxLength: 40 }), fc.integer({ min: 0, max: 2 }), (cells, by) => {
        const objs = cells.map(([a, b, c]) => {
          const info: Record<string, unknown> = { a, b };
          if (c !== undefined) info.c = c;
          return new Resource(info);
        });
        const text = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
        const rows = cells.map(([a, b, c], i) => [text(a), text(b), 'c' in objs[i].info ? text(c) : '']);
        expect(printList(objs, ['A', 'B', 'C'], {}, by)).toBe(`${renderTable(['A', 'B', 'C'], reference(rows, by))}\n`);
      }),
      { numRuns: 300 },
    );
  });

  it('print_list keeps the API order when not told to sort', () => {
    const objs = [new Resource({ id: 'b' }), new Resource({ id: 'a' })];
    expect(printList(objs, ['ID'])).toBe('+----+\n| ID |\n+----+\n| b  |\n| a  |\n+----+\n');
  });

  it('print_dict: keys in ASCII order, JSON for dicts and lists, str() for scalars, literal \\n splits rows', () => {
    const out = printDict({ b: { k: 'v' }, a: [1, 'x'], C: true, d: null, e: 'line1\\nline2', f: 0 });
    expect(out).toBe(
      '+----------+------------+\n' +
        '| Property | Value      |\n' +
        '+----------+------------+\n' +
        '| C        | True       |\n' +
        '| a        | [1, "x"]   |\n' +
        '| b        | {"k": "v"} |\n' +
        '| d        | -          |\n' +
        '| e        | line1      |\n' +
        '|          | line2      |\n' +
        '| f        | 0          |\n' +
        '+----------+------------+\n',
    );
  });
});

describe('Python formatting', () => {
  it('json.dumps separators and ensure_ascii', () => {
    expect(pyJson({ a: [1, { b: null }], 'é': 'ü"\n' })).toBe('{"a": [1, {"b": null}], "\\u00e9": "\\u00fc\\"\\n"}');
  });
  it('str() and repr()', () => {
    expect(pyStr(false)).toBe('False');
    expect(pyStr(null)).toBe('None');
    expect(pyStr('x')).toBe('x');
    expect(pyRepr(['a', "it's"])).toBe('[\'a\', "it\'s"]');
    expect(pyRepr({ k: 1 })).toBe("{'k': 1}");
  });
});

describe('pyFloat: str() of a Python 3 float (the --timings seconds)', () => {
  it.each([
    [0.011546134948730469, '0.011546134948730469'],
    [1, '1.0'],
    [0, '0.0'],
    [5e-5, '5e-05'],
    [1.25e-7, '1.25e-07'],
    [0.0001, '0.0001'],
    [12.5, '12.5'],
    [1e16, '1e+16'],
  ])('%s → %s', (x, s) => {
    expect(pyFloat(x)).toBe(s);
  });
});
