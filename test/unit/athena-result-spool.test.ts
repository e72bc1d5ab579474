import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ColumnInfo } from '@aws-sdk/client-athena';
import { ResultSpool } from '../../local-aws/athena/result-spool';

/** A whole result written as the service writes one: the header, then the rows in chunks. */
async function write(
  spool: ResultSpool,
  id: string,
  header: string[] | undefined,
  all: (string | null)[][],
): Promise<void> {
  const writer = spool.writer(id, header !== undefined);
  if (header) await writer.add([header]);
  for (let start = 0; start < all.length; start += 700) await writer.add(all.slice(start, start + 700));
  await writer.end(columns);
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-spool-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const columns: ColumnInfo[] = [
  { Name: 'n', Type: 'varchar' },
  { Name: 'text', Type: 'varchar' },
];
/** Values with what CSV must quote: commas, quotes, newlines, and NULLs. */
const rows = Array.from({ length: 2_500 }, (_, index): (string | null)[] => [
  String(index),
  index % 7 === 0 ? null : index % 5 === 0 ? `line\nbreak "${index}", more` : `v${index}`,
]);

test.each([
  [0, 10],
  [995, 1_010],
  [999, 1_000],
  [1_000, 2_000],
  [2_400, 2_600],
  [2_500, 2_600],
])('a page [%i, %i) is the rows it names, across checkpoints', async (first, last) => {
  const spool = new ResultSpool(path.join(dir, 'spool'));
  await write(spool, 'q1', ['n', 'text'], rows);
  expect(spool.shape('q1')).toEqual({ columns, rows: rows.length });
  expect(await spool.page('q1', first, last)).toEqual(rows.slice(first, last));
});

test('a result read back from a stream pages as the one written', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'));
  await write(spool, 'q1', ['n', 'text'], rows);
  const bytes = fs.readFileSync(spool.file('q1')!);
  // Chunks cut anywhere, inside quoted values too.
  const chunks = Array.from({ length: Math.ceil(bytes.length / 777) }, (_, i) =>
    bytes.subarray(i * 777, (i + 1) * 777),
  );
  await spool.copy('q2', columns, true, Readable.from(chunks));
  expect(spool.shape('q2')?.rows).toBe(rows.length);
  for (const [first, last] of [
    [0, 1000],
    [1_500, 2_500],
    [998, 1_003],
  ] as const) {
    expect(await spool.page('q2', first, last)).toEqual(rows.slice(first, last));
  }
});

test('a result file not in the form this service writes (unquoted values, CRLF) still pages, by csv-parse', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'));
  const text = '"n","text"\r\n1,plain\r\n2,\r\n"3",""\r\n4,"a ""quoted"", value"\r\n';
  await spool.copy('other', columns, true, Readable.from([Buffer.from(text)]));
  expect(await spool.page('other', 0, 1000)).toEqual([
    ['1', 'plain'],
    ['2', null],
    ['3', ''],
    ['4', 'a "quoted", value'],
  ]);
});

test('a result without a header, and an empty one', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'));
  await write(spool, 'utility', undefined, [['a', 'b']]);
  expect(await spool.page('utility', 0, 1000)).toEqual([['a', 'b']]);
  await write(spool, 'empty', ['n', 'text'], []);
  expect(spool.shape('empty')?.rows).toBe(0);
  expect(await spool.page('empty', 0, 1000)).toEqual([]);
});

test('the folder keeps at most 50 results, the least recently used going first', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'));
  for (let index = 0; index < 51; index++) await write(spool, `q${index}`, ['n'], [[String(index)]]);
  expect(spool.has('q0')).toBe(false);
  expect(spool.has('q50')).toBe(true);
  expect(fs.readdirSync(path.join(dir, 'spool'))).toHaveLength(50);
});

test('beyond its byte bound the folder drops the oldest results, and keeps the newest whatever its size', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'), { maxFiles: 50, maxBytes: 10_000 });
  await write(spool, 'small', ['n', 'text'], rows.slice(0, 10));
  await write(spool, 'large', ['n', 'text'], rows);
  const large = fs.statSync(spool.file('large')!).size;
  expect(large).toBeGreaterThan(10_000);
  expect(spool.has('small')).toBe(false);
  expect(await spool.page('large', 2_400, 2_500)).toEqual(rows.slice(2_400, 2_500));
  await write(spool, 'next', ['n'], [['1']]);
  expect(spool.has('large')).toBe(false);
  expect(fs.readdirSync(path.join(dir, 'spool'))).toHaveLength(1);
});

test('a result evicted while a page reads it answers that page, then its file goes', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'), { maxFiles: 1, maxBytes: 1024 ** 3 });
  await write(spool, 'q1', ['n', 'text'], rows);
  const file = spool.file('q1')!;
  const reading = spool.page('q1', 1_000, 2_000);
  // Evicts q1 while its page is in flight (the read has not opened the file yet).
  await write(spool, 'q2', ['n'], [['1']]);
  expect(spool.has('q1')).toBe(false);
  expect(await reading).toEqual(rows.slice(1_000, 2_000));
  expect(fs.existsSync(file)).toBe(false);
});

test('a result read back again takes a file of its own: a page of the old file still reads it', async () => {
  const spool = new ResultSpool(path.join(dir, 'spool'));
  await write(spool, 'q1', ['n', 'text'], rows);
  const old = spool.file('q1')!;
  const bytes = fs.readFileSync(old);
  const reading = spool.page('q1', 0, 1_000);
  await spool.copy('q1', columns, true, Readable.from([bytes]));
  expect(spool.file('q1')).not.toBe(old);
  expect(await reading).toEqual(rows.slice(0, 1_000));
  expect(fs.existsSync(old)).toBe(false);
  expect(await spool.page('q1', 2_000, 2_500)).toEqual(rows.slice(2_000, 2_500));
});
