import { parse } from 'csv-parse/sync';
import { CSV_OPTIONS } from '../../activities/replay/csv';
import { CsvRecordSplitter } from '../../activities/replay/csv-records';

type Record = [fields: string[], end: number, raw: string];

/** A reject's text, compared without line ends around it (csv-parse's raw keeps skipped empty lines before it). */
const text = (raw: string) => raw.replace(/^[\r\n]+/, '').replace(/[\r\n]+$/, '');

/** What csv-parse itself makes of the bytes, with `info` (end offsets) and `raw`, or its error code. */
function csvParse(bytes: Buffer, withBom = false): Record[] | string {
  try {
    const rows = parse(bytes, { ...CSV_OPTIONS, bom: withBom }) as unknown as {
      record: string[];
      raw: string;
      info: { bytes: number };
    }[];
    return rows.map(({ record, raw, info }) => [record, info.bytes, text(raw)]);
  } catch (error) {
    return `error ${(error as { code?: string }).code}`;
  }
}

/** The splitter's records over the bytes cut into chunks of the given sizes (cycled), or its error code. */
function split(bytes: Buffer, sizes: number[], withBom = false, exactRaw = false): Record[] | string {
  const records: Record[] = [];
  const sink = (fields: string[], end: number, raw: string) => records.push([fields, end, exactRaw ? raw : text(raw)]);
  const splitter = new CsvRecordSplitter(withBom);
  try {
    for (let at = 0, chunk = 0; at < bytes.length; chunk++) {
      const size = sizes[chunk % sizes.length]!;
      splitter.write(bytes.subarray(at, at + size), sink);
      at += size;
    }
    splitter.end(sink);
    return records;
  } catch (error) {
    return `error ${(error as { code?: string }).code}`;
  }
}

/** A seeded generator: the same cases on every run. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

const CHUNKINGS = [[1], [2, 3], [7], [1, 64, 5], [1 << 20]];

test('random CSVs: the same records, end offsets, reject texts and errors as csv-parse, across any chunking', () => {
  const next = random(19);
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const pieces = ['a', 'bc', 'é', '€', '😀', ',', '"', '""', '\n', '\r\n', '\r', ' ', '1.5', '\n\n', 'x,y'];
  let compared = 0;
  let quoted = 0;
  for (let iteration = 0; iteration < 3000; iteration++) {
    const style = next();
    const lineEnd = style < 0.4 ? '\n' : style < 0.8 ? '\r\n' : pick(['\n', '\r\n', '\r']);
    const lines = 1 + Math.floor(next() * 8);
    let csv = '';
    for (let line = 0; line < lines; line++) {
      for (let field = Math.floor(next() * 6); field > 0; field--) {
        const kind = next();
        csv += kind < 0.15 ? `"${pick(pieces)}${pick(pieces)}"` : kind < 0.5 ? pick(pieces) : 'x,y';
      }
      // Now and then the last line has no line end.
      if (line < lines - 1 || next() < 0.9) csv += lineEnd;
    }
    const bytes = Buffer.from(csv);
    const expected = csvParse(bytes);
    if (csv.includes('"')) quoted += 1;
    for (const sizes of [pick(CHUNKINGS), [1 + Math.floor(next() * 12)]]) {
      expect([csv, split(bytes, sizes)]).toEqual([csv, expected]);
      compared += 1;
    }
  }
  expect(compared).toBe(6000);
  expect(quoted).toBeGreaterThan(1000);
});

test.each([
  ['quoted fields with embedded line ends and commas', 'A,"one\ntwo",1\nB,"x, y",2\nC,"say ""hi""",3\n'],
  ['CRLF', 'A,1\r\nB,2\r\n\r\nC,3\r\n'],
  ['a CRLF file with a bare LF inside an unquoted field', 'A,1\r\nB\nb,2\r\nC,3\r\n'],
  ['a CRLF file whose quoted field holds CRLF', 'A,"x\r\ny"\r\nB,2\r\n'],
  ['an LF file with a CR inside a line', 'A,1\nB\r,2\r\nC,3\n'],
  ['bare CR line ends (old Mac)', 'A,1\rB,"2\r3"\rC,4\r'],
  ['multibyte UTF-8', 'Ünïcödé,€1\n😀,"日本\n語"\nZ,ß\n'],
  ['empty lines, and a last line without a line end', '\n\nA,1\n\n\nB,2\n\nC,3'],
  ['relaxed quotes inside unquoted fields', 'A,ab"c,1\nB,"x"y,2\nC,3\n'],
  ['a first line that is quoted', '"A\n1",2\r\nB,3\r\nC,4\r\n'],
])('%s: csv-parse’s records and offsets, whatever the chunking', (_, csv) => {
  const bytes = Buffer.from(csv);
  const expected = csvParse(bytes);
  expect(typeof expected).not.toBe('string');
  for (const sizes of [...CHUNKINGS, [3, 1, 4, 1, 5, 9, 2, 6]]) expect(split(bytes, sizes)).toEqual(expected);
  expect((expected as Record[]).at(-1)?.[1]).toBe(bytes.length);
});

test('a multibyte character or a record cut by a chunk boundary is read whole', () => {
  const csv = 'SYM€,1.5\nNEXT,😀\n';
  const bytes = Buffer.from(csv);
  // Every place to cut: inside the euro sign's three bytes, the emoji's four, the line end.
  for (let cut = 1; cut < bytes.length; cut++) {
    expect(split(bytes, [cut, bytes.length])).toEqual([
      [['SYM€', '1.5'], Buffer.byteLength('SYM€,1.5\n'), 'SYM€,1.5'],
      [['NEXT', '😀'], bytes.length, 'NEXT,😀'],
    ]);
  }
});

test("a file's first bytes with a BOM: skipped as csv-parse skips it, offsets count its three bytes", () => {
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('h1,h2\nA,1\n')]);
  expect(split(bytes, [2, 5], true)).toEqual(csvParse(bytes, true));
  expect(split(bytes, [2, 5], true)).toEqual([
    [['h1', 'h2'], 9, 'h1,h2'],
    [['A', '1'], 13, 'A,1'],
  ]);
});

test('a plain line’s reject text is the line as written, without its line end', () => {
  expect(split(Buffer.from('A,1\r\nB,2\r\n'), [4], false, true)).toEqual([
    [['A', '1'], 5, 'A,1'],
    [['B', '2'], 10, 'B,2'],
  ]);
  expect(split(Buffer.from('A,1\n\nB,2\n'), [100], false, true)).toEqual([
    [['A', '1'], 4, 'A,1'],
    [['B', '2'], 9, 'B,2'],
  ]);
});

test('a quote left open fails with csv-parse’s code after the records before it, and the splitter stays failed', () => {
  const records: string[][] = [];
  const splitter = new CsvRecordSplitter();
  const sink = (fields: string[]) => records.push(fields);
  splitter.write(Buffer.from('A,1\nB,2\n"unclosed,3\nC,4\n'), sink);
  expect(() => splitter.end(sink)).toThrow(expect.objectContaining({ code: 'CSV_QUOTE_NOT_CLOSED' }));
  expect(records).toEqual([
    ['A', '1'],
    ['B', '2'],
  ]);
  expect(() => splitter.write(Buffer.from('D,5\n'), sink)).toThrow(/Quote Not Closed/);
});

test('a resumed parse (from a record’s end offset) reads on exactly as the whole file’s parse did', () => {
  const csv = 'A,1\r\nB,"two\r\nlines"\r\nC,3\r\n"D",4\r\nE,5\r\n';
  const bytes = Buffer.from(csv);
  const whole = split(bytes, [6]) as Record[];
  for (const [index, [, end]] of whole.entries()) {
    const resumed = (split(bytes.subarray(end), [5]) as Record[]).map(([fields, at, raw]): Record => [
      fields,
      end + at,
      raw,
    ]);
    expect(resumed).toEqual(whole.slice(index + 1));
  }
});
