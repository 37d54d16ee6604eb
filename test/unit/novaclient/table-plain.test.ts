// The one-pass table (plainTable, for cells of one line of printable ASCII) draws exactly what
// cli-table3 draws: the same rules, padding and widths, for any such table, empty ones too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cliTable, renderTable } from '../../../src/novaclient/table.js';

const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 });

describe('renderTable of plain cells is cli-table3’s table, drawn in one pass', () => {
  it('for any header and rows of printable ASCII', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.array(ascii, { minLength: n, maxLength: n }), fc.array(fc.array(ascii, { minLength: n, maxLength: n }), { maxLength: 6 }))),
        ([header, rows]) => {
          expect(renderTable(header, rows)).toBe(cliTable(header, rows));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a cell it cannot draw (a line break, a wide character) is left to cli-table3', () => {
    for (const cell of ['two\nlines', 'wide 漢字', 'tab\there']) {
      expect(renderTable(['A', 'B'], [['x', cell]])).toBe(cliTable(['A', 'B'], [['x', cell]]));
    }
  });

  it('ten thousand rows take well under a second', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => [`id-${i}`, `server-${i}`, 'ACTIVE']);
    const t0 = performance.now();
    const out = renderTable(['ID', 'Name', 'Status'], rows);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(out.split('\n')).toHaveLength(10_004);
  });
});
