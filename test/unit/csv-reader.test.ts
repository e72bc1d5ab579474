import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { CsvReader, CsvReaderPool } from '../../activities/replay/csv-reader';
import { CSV_OPTIONS, type ParsedBatch } from '../../activities/replay/csv';
import { convertForSending, type ConvertedRow, type RowSchema } from '../../lib/rows';

/** The batches' records as [converted row, end offset] pairs, decoded from their columns. */
function records(batches: ParsedBatch[]): [ConvertedRow, number][] {
  const out: [ConvertedRow, number][] = [];
  for (const { ends, keys, keyEnds, heads, headEnds, eventTimes, rejects } of batches) {
    const rejected = new Map(rejects.map((reject) => [reject.index, reject]));
    ends.forEach((end, index) => {
      const reject = rejected.get(index);
      const eventTime = eventTimes[index]!;
      out.push([
        reject
          ? { ok: false, reason: reject.reason, raw: reject.raw }
          : {
              ok: true,
              key: keys.slice(index ? keyEnds[index - 1] : 0, keyEnds[index]),
              head: heads.slice(index ? headEnds[index - 1] : 0, headEnds[index]),
              eventTime: Number.isNaN(eventTime) ? undefined : eventTime,
            },
        end,
      ]);
    });
  }
  return out;
}

/** A schema of `width` text columns named c1, c2…, keyed by the first. */
function textSchema(width: number): RowSchema {
  const columns = Array.from({ length: width }, (_, index) => `c${index + 1}`);
  return { columns, fields: columns, numeric: columns.map(() => false), symbolIndex: 0 };
}

/** A converted row's fields (text columns), or its reject's text. */
const fieldsOf = ([row]: [ConvertedRow, number]): string[] | string =>
  row.ok ? Object.values(JSON.parse(`${row.head.replace(/,$/, '')}}`) as Record<string, string>) : row.raw;

/** What the activity's own thread makes of the text: csv-parse there, then convertForSending. */
function inProcess(text: string, schema: RowSchema): [ConvertedRow, number][] {
  const parsed = parse(text, CSV_OPTIONS) as unknown as { record: string[]; raw: string; info: { bytes: number } }[];
  return parsed.map(({ record, raw, info }) => [convertForSending(schema, record, raw), info.bytes]);
}

/** A stream of the text's bytes in chunks of `size`: boundaries fall inside fields, quotes and characters. */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

async function collect(reader: CsvReader, stream: Readable, schema = textSchema(2)): Promise<ParsedBatch[]> {
  const batches: ParsedBatch[] = [];
  for await (const batch of reader.batches(stream, schema)) batches.push(batch);
  return batches;
}

let reader: CsvReader;
beforeAll(() => (reader = new CsvReader()));
afterAll(() => reader.close());

test("records come in file order, converted as on the activity's thread, with their byte offsets, across any chunking", async () => {
  const lines = ['A,1.5,"quoted, with comma"', 'Ünïcödé,2,"two\nlines"', 'C,3,"say ""hi"""', 'D,4', 'E,5,x,extra'];
  for (let row = 0; row < 10_000; row++) lines.push(`S${row % 97},${row},€${row}`);
  const text = `${lines.join('\r\n')}\n`;
  const schema = textSchema(3);
  const expected = (parse(text, { relax_column_count: true }) as string[][]).length;
  for (const size of [1, 7, 4096, 1 << 20]) {
    if (size === 1 && expected > 2000) {
      // One byte a message: the first records are enough to cross every kind of boundary.
      const head = lines.slice(0, 300).join('\n') + '\n';
      const got = records(await collect(reader, chunked(head, 1), schema));
      expect(got).toEqual(inProcess(head, schema));
      expect(got.at(-1)?.[1]).toBe(Buffer.byteLength(head));
      continue;
    }
    const got = records(await collect(reader, chunked(text, size), schema));
    // Exactly what the activity's own thread would make of it: keys, value heads, rejects and end offsets.
    expect(got).toEqual(inProcess(text, schema));
    expect(got).toHaveLength(expected);
    expect(got.at(-1)?.[1]).toBe(Buffer.byteLength(text));
    expect(got.slice(0, 5).map(fieldsOf)).toEqual([
      ['A', '1.5', 'quoted, with comma'],
      ['Ünïcödé', '2', 'two\nlines'],
      ['C', '3', 'say "hi"'],
      'D,4',
      'E,5,x,extra',
    ]);
  }
});

test('bad rows are rejected on the thread with their reason, text and byte offset; good ones carry key, value head and event time', async () => {
  const schema: RowSchema = {
    columns: ['Symbol', 'Time', 'Price'],
    fields: ['symbol', 'time', 'price'],
    numeric: [false, false, true],
    symbolIndex: 0,
    timestampIndex: 1,
  };
  const text = [
    'A,2024-01-02T10:00:00.250Z,1.5',
    'B,2024-01-02T10:00:01Z,1e400',
    ' ,2024-01-02T10:00:02Z,2',
    'C,yesterday,3',
    'D,1704189603,',
    'E,1',
    'F,1704189604,"4"',
    '',
  ].join('\r\n');
  const got = records(await collect(reader, chunked(text, 5), schema));
  expect(got).toEqual(inProcess(text, schema));
  const offset = (lines: number) => Buffer.byteLength(text.split('\r\n').slice(0, lines).join('\r\n') + '\r\n');
  expect(got).toEqual([
    [
      {
        ok: true,
        key: 'A',
        head: '{"symbol":"A","time":"2024-01-02T10:00:00.250Z","price":1.5,',
        eventTime: Date.parse('2024-01-02T10:00:00.250Z'),
      },
      offset(1),
    ],
    [
      { ok: false, reason: "column Price: '1e400' is too large for a double", raw: 'B,2024-01-02T10:00:01Z,1e400' },
      offset(2),
    ],
    [{ ok: false, reason: 'empty symbol in column Symbol', raw: ' ,2024-01-02T10:00:02Z,2' }, offset(3)],
    [{ ok: false, reason: "column Time: 'yesterday' is not a timestamp", raw: 'C,yesterday,3' }, offset(4)],
    [
      { ok: true, key: 'D', head: '{"symbol":"D","time":"1704189603","price":null,', eventTime: 1704189603000 },
      offset(5),
    ],
    [{ ok: false, reason: 'expected 3 columns, found 2', raw: 'E,1' }, offset(6)],
    [{ ok: true, key: 'F', head: '{"symbol":"F","time":"1704189604","price":4,', eventTime: 1704189604000 }, offset(7)],
  ]);
});

test('a malformed CSV fails with csv-parse error code after the good records; the reader parses on', async () => {
  const stream = Readable.from([Buffer.from('A,1\nB,2\n"unclosed,3\nC,4\n')]);
  const got: (string[] | string)[] = [];
  const parsing = (async () => {
    for await (const batch of reader.batches(stream, textSchema(2))) got.push(...records([batch]).map(fieldsOf));
  })();
  await expect(parsing).rejects.toMatchObject({ code: expect.stringMatching(/^CSV_/) });
  expect(got).toEqual([
    ['A', '1'],
    ['B', '2'],
  ]);
  expect(records(await collect(reader, Readable.from([Buffer.from('X,9\n')]))).map(fieldsOf)).toEqual([['X', '9']]);
});

test("a failed read fails the parse with the stream's own error", async () => {
  const failing = new Readable({
    read() {
      this.push(Buffer.from('A,1\n'));
      this.destroy(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
    },
  });
  await expect(collect(reader, failing)).rejects.toMatchObject({ message: 'connection reset', code: 'ECONNRESET' });
});

test('a parse left halfway leaves nothing behind for the next one', async () => {
  const big = Array.from({ length: 50_000 }, (_, row) => `OLD,${row}`).join('\n');
  for await (const batch of reader.batches(chunked(big, 1 << 16), textSchema(2))) {
    expect(batch.ends.length).toBeGreaterThan(0);
    break;
  }
  const got = records(await collect(reader, Readable.from([Buffer.from('NEW,1\nNEW,2\n')])));
  expect(got.map(fieldsOf)).toEqual([
    ['NEW', '1'],
    ['NEW', '2'],
  ]);
});

test('a slow sender holds the source back: memory stays bounded, whatever the file size', async () => {
  const line = Buffer.from('SYM,123.45,6789,buy,some padding to make the row longer\n');
  const total = 100 << 20;
  let emitted = 0;
  const source = new Readable({
    highWaterMark: 1 << 16,
    read() {
      if (emitted >= total) return void this.push(null);
      const chunk = Buffer.alloc(1 << 16);
      for (let at = 0; at + line.length <= chunk.length; at += line.length) line.copy(chunk, at);
      emitted += chunk.length;
      this.push(chunk);
    },
  });
  const batches = reader.batches(source, textSchema(5));
  await batches.next();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(emitted).toBeLessThan(16 << 20);
  await batches.return(undefined);
  source.destroy();
});

test('the pool hands an idle reader out again, and never a closed one', async () => {
  const pool = new CsvReaderPool();
  const first = pool.acquire();
  pool.release(first);
  expect(pool.acquire()).toBe(first);
  await first.close();
  pool.release(first);
  const next = pool.acquire();
  expect(next).not.toBe(first);
  await expect(collect(first, Readable.from([Buffer.from('A\n')]))).rejects.toThrow(/closed/);
  expect(records(await collect(next, Readable.from([Buffer.from('A,1\n')]))).map(fieldsOf)).toEqual([['A', '1']]);
  await next.close();
});
