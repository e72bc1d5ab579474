import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { CsvReader, CsvReaderPool } from '../../activities/replay/csv-reader';
import { CSV_OPTIONS, type ParsedBatch } from '../../activities/replay/csv';

/** The batches' records as [fields, raw text, end offset] triples. */
function records(batches: ParsedBatch[]): [string[], string, number][] {
  const out: [string[], string, number][] = [];
  for (const { fields, widths, raw, rawEnds, ends } of batches) {
    let field = 0;
    widths.forEach((width, index) => {
      out.push([
        fields.slice(field, field + width),
        raw.slice(index ? rawEnds[index - 1] : 0, rawEnds[index]),
        ends[index]!,
      ]);
      field += width;
    });
  }
  return out;
}

/** A stream of the text's bytes in chunks of `size`: boundaries fall inside fields, quotes and characters. */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

async function collect(reader: CsvReader, stream: Readable): Promise<ParsedBatch[]> {
  const batches: ParsedBatch[] = [];
  for await (const batch of reader.batches(stream)) batches.push(batch);
  return batches;
}

let reader: CsvReader;
beforeAll(() => (reader = new CsvReader()));
afterAll(() => reader.close());

test('records come in file order with their fields, text and byte offsets, across any chunking', async () => {
  const lines = ['A,1.5,"quoted, with comma"', 'Ünïcödé,2,"two\nlines"', 'C,3,"say ""hi"""', 'D,4', 'E,5,x,extra'];
  for (let row = 0; row < 10_000; row++) lines.push(`S${row % 97},${row},€${row}`);
  const text = `${lines.join('\r\n')}\n`;
  const expected = (parse(text, { relax_column_count: true }) as string[][]).length;
  for (const size of [1, 7, 4096, 1 << 20]) {
    if (size === 1 && expected > 2000) {
      // One byte a message: the first records are enough to cross every kind of boundary.
      const head = lines.slice(0, 300).join('\n') + '\n';
      const got = records(await collect(reader, chunked(head, 1)));
      expect(got.map(([fields]) => fields)).toEqual(parse(head, { relax_column_count: true }));
      expect(got.at(-1)?.[2]).toBe(Buffer.byteLength(head));
      continue;
    }
    const got = records(await collect(reader, chunked(text, size)));
    // Exactly what csv-parse gives in the activity's own thread: fields, text and end offsets.
    const inProcess = parse(text, CSV_OPTIONS) as unknown as {
      record: string[];
      raw: string;
      info: { bytes: number };
    }[];
    expect(got).toEqual(inProcess.map(({ record, raw, info }) => [record, raw, info.bytes]));
    expect(got).toHaveLength(expected);
    expect(got.at(-1)?.[2]).toBe(Buffer.byteLength(text));
  }
});

test('a malformed CSV fails with csv-parse error code after the good records; the reader parses on', async () => {
  const stream = Readable.from([Buffer.from('A,1\nB,2\n"unclosed,3\nC,4\n')]);
  const got: string[][] = [];
  const parsing = (async () => {
    for await (const batch of reader.batches(stream)) got.push(...records([batch]).map(([fields]) => fields));
  })();
  await expect(parsing).rejects.toMatchObject({ code: expect.stringMatching(/^CSV_/) });
  expect(got).toEqual([
    ['A', '1'],
    ['B', '2'],
  ]);
  expect(records(await collect(reader, Readable.from([Buffer.from('X,9\n')]))).map(([f]) => f)).toEqual([['X', '9']]);
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
  for await (const batch of reader.batches(chunked(big, 1 << 16))) {
    expect(batch.widths.length).toBeGreaterThan(0);
    break;
  }
  const got = records(await collect(reader, Readable.from([Buffer.from('NEW,1\nNEW,2\n')])));
  expect(got.map(([fields]) => fields)).toEqual([
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
  const batches = reader.batches(source);
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
  expect(records(await collect(next, Readable.from([Buffer.from('A,1\n')]))).map(([f]) => f)).toEqual([['A', '1']]);
  await next.close();
});
