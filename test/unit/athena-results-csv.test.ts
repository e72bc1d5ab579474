import { parse } from 'csv-parse/sync';
import { fromCsvLines, toCsvLine } from '../../local-aws/athena/results';

/** What the spool read before: csv-parse, an unquoted empty field as NULL. */
const csvParse = (text: string) =>
  parse(text, {
    cast: (value, context) => (context.quoting || value !== '' ? value : null),
    relax_column_count: true,
  }) as (string | null)[][];

const PIECES = ['', '"', '""', ',', '\n', '\r\n', 'a', 'é', '𝄞', ' ', '__proto__', 'null', '\\', "'", '\t', '0'];

function randomValue(random: () => number): string | null {
  if (random() < 0.15) return null;
  let value = '';
  for (let i = Math.floor(random() * 6); i > 0; i--) value += PIECES[Math.floor(random() * PIECES.length)];
  return value;
}

/** A small seeded generator, so a failure reproduces. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("reading the result file this service writes (toCsvLine's inverse)", () => {
  test('random rows with quotes, commas, newlines, empty strings and NULLs read back exactly, as csv-parse reads them', () => {
    const random = seeded(42);
    for (let round = 0; round < 300; round++) {
      const width = 1 + Math.floor(random() * 5);
      const rows = Array.from({ length: 1 + Math.floor(random() * 20) }, () =>
        Array.from({ length: width }, () => randomValue(random)),
      );
      const text = rows.map(toCsvLine).join('');
      expect(fromCsvLines(text)).toEqual(rows);
      expect(fromCsvLines(text)).toEqual(csvParse(text));
    }
  });

  test('NULL and the empty string stay apart; a row of one NULL is an empty line', () => {
    expect(fromCsvLines('"",\n\n,""\n')).toEqual([['', null], [null], [null, '']]);
    expect(fromCsvLines('')).toEqual([]);
    // The last row's newline may be missing (a page cut at the file's end).
    expect(fromCsvLines('"a","b"')).toEqual([['a', 'b']]);
    expect(fromCsvLines('"a",')).toEqual([['a', null]]);
  });

  test.each([
    ['an unquoted value', 'abc,"d"\n'],
    ['text after a closing quote', '"a"b,"c"\n'],
    ['an unterminated quote', '"a,"b\n'],
    ['a lone quote', '"'],
    ['CRLF line ends', '"a","b"\r\n'],
    ['a space before a quote', ' "a"\n'],
  ])('%s is not its format: undefined, for csv-parse to read', (_name, text) => {
    expect(fromCsvLines(text)).toBeUndefined();
  });

  test('a value of 4 MB of doubled quotes (8 MB written) and 100,000 columns read back whole', () => {
    const value = '"'.repeat(4 * 1024 * 1024);
    expect(fromCsvLines(toCsvLine([value, null]))).toEqual([[value, null]]);
    const wide = Array.from({ length: 100_000 }, (_, index) => (index % 3 === 0 ? null : String(index)));
    expect(fromCsvLines(toCsvLine(wide))).toEqual([wide]);
  });
});
