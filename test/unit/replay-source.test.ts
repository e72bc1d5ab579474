import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  orderedRows,
  readHead,
  resolveSource,
  sampleIndex,
  sampleRows,
  type SampleCache,
  type SourceRow,
} from '../../activities/replay/source';
import { CsvReader } from '../../activities/replay/csv-reader';
import type { ReplayInput, ReplayMarker, ReplayPlan } from '../../lib/contracts';
import { ErrorType } from '../../lib/errors';

// File sources on the local disk: the S3 client is never called for them.
const noS3 = {} as S3Client;
let dir: string;
let reader: CsvReader;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-source-'));
  reader = new CsvReader();
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await reader.close();
});

function file(name: string, text: string): string {
  const target = path.join(dir, name);
  fs.writeFileSync(target, text);
  return target;
}

const input = (source: string, extra: Partial<ReplayInput> = {}): ReplayInput => ({
  source,
  topic: 'ticks',
  runId: 'run-1',
  pacing: { kind: 'max' },
  mode: 'ordered',
  loop: false,
  partitions: 1,
  batchRows: 100,
  chunkSeconds: 10,
  chunksPerRun: 10,
  ...extra,
});

async function plan(source: string): Promise<ReplayPlan> {
  const head = await readHead(resolveSource(source, noS3, 'inputs/'));
  return {
    columns: head.header,
    fields: head.header,
    numeric: [],
    symbolIndex: 0,
    dataOffset: head.dataOffset,
    sourceBytes: fs.statSync(source).size,
    rejectsTopic: 'ticks.rejects',
    progressTopic: 'ticks.replay-progress',
  };
}

/** The file's rows in order from a marker, parsed by the suite's reader. */
const ordered = (source: string, replayPlan: ReplayPlan, from: ReplayMarker, extra: Partial<ReplayInput> = {}) =>
  orderedRows(resolveSource(source, noS3, 'inputs/'), reader, input(source, extra), replayPlan, from);

const start = (dataOffset: number): ReplayMarker => ({
  rowsRead: 0,
  sent: 0,
  rejected: 0,
  byteOffset: dataOffset,
  pass: 0,
  passRow: 0,
});

async function take(rows: AsyncGenerator<SourceRow[]>, count: number): Promise<SourceRow[]> {
  const out: SourceRow[] = [];
  try {
    while (out.length < count) {
      const next = await rows.next();
      if (next.done) break;
      out.push(...next.value);
    }
  } finally {
    await rows.return(undefined);
  }
  return out.slice(0, count);
}

const CSV = '\uFEFFsymbol,price\r\nAAA,1\r\nBBB,2\r\nCCC,3\r\n';

/** A row's text: a reject's as written, a sent row's fields (all text in these plans) joined by commas again. */
const text = (row: SourceRow): string =>
  row.ok ? Object.values(JSON.parse(`${row.head.replace(/,$/, '')}}`) as Record<string, string>).join(',') : row.raw;

describe('replay source', () => {
  it('reads the header past a BOM and the rows in order, each with the byte offset after it', async () => {
    const source = file('ordered.csv', CSV);
    const replayPlan = await plan(source);
    expect(replayPlan.columns).toEqual(['symbol', 'price']);
    expect(replayPlan.dataOffset).toBe(Buffer.byteLength('\uFEFFsymbol,price\r\n'));
    const rows = await take(ordered(source, replayPlan, start(replayPlan.dataOffset)), 10);
    expect(rows.map((row) => [row.ok && row.key, row.ok && row.head, row.row, row.pass])).toEqual([
      ['AAA', '{"symbol":"AAA","price":"1",', 1, 0],
      ['BBB', '{"symbol":"BBB","price":"2",', 2, 0],
      ['CCC', '{"symbol":"CCC","price":"3",', 3, 0],
    ]);
    expect(rows.at(-1)!.byteOffset).toBe(fs.statSync(source).size);
  });

  it('resumes at a marker: the rows after its byte offset, numbered on from its row', async () => {
    const source = file('resume.csv', CSV);
    const replayPlan = await plan(source);
    const all = await take(ordered(source, replayPlan, start(replayPlan.dataOffset)), 10);
    const marker = { ...start(0), rowsRead: 1, sent: 1, byteOffset: all[0]!.byteOffset, passRow: 1 };
    const rest = await take(ordered(source, replayPlan, marker), 10);
    expect(rest.map((row) => [text(row), row.row])).toEqual([
      ['BBB,2', 2],
      ['CCC,3', 3],
    ]);
  });

  it('loops pass after pass from the first data row when asked, and not at all over a file without rows', async () => {
    const source = file('loop.csv', CSV);
    const replayPlan = await plan(source);
    const rows = await take(ordered(source, replayPlan, start(replayPlan.dataOffset), { loop: true }), 7);
    expect(rows.map((row) => `${row.pass}:${row.row}:${text(row)}`)).toEqual([
      '0:1:AAA,1',
      '0:2:BBB,2',
      '0:3:CCC,3',
      '1:1:AAA,1',
      '1:2:BBB,2',
      '1:3:CCC,3',
      '2:1:AAA,1',
    ]);
    const empty = file('empty-rows.csv', 'symbol,price\n');
    const emptyPlan = await plan(empty);
    const none = await take(ordered(empty, emptyPlan, start(emptyPlan.dataOffset), { loop: true }), 5);
    expect(none).toEqual([]);
  });

  it('a bad row comes as a reject with its reason, text, row number and byte offset; the rows around it are sent', async () => {
    const source = file('bad.csv', 'symbol,price\nAAA,1\nBBB,x\nCCC,3\n');
    const replayPlan = { ...(await plan(source)), numeric: [false, true] };
    const rows = await take(ordered(source, replayPlan, start(replayPlan.dataOffset)), 10);
    expect(rows).toEqual([
      { ok: true, key: 'AAA', head: '{"symbol":"AAA","price":1,', row: 1, byteOffset: 19, pass: 0 },
      { ok: false, reason: "column price: 'x' is not a number", raw: 'BBB,x', row: 2, byteOffset: 25, pass: 0 },
      { ok: true, key: 'CCC', head: '{"symbol":"CCC","price":3,', row: 3, byteOffset: 31, pass: 0 },
    ]);
    // Sample mode converts the same way, and a plan with other columns converts the cached file anew.
    const cache: SampleCache = new Map();
    const sampled = (samplePlan: ReplayPlan) =>
      take(
        sampleRows(
          resolveSource(source, noS3, 'inputs/'),
          input(source, { mode: 'sample' }),
          samplePlan,
          start(0),
          cache,
          () => undefined,
        ),
        30,
      );
    const typed = await sampled(replayPlan);
    expect(typed.find((row) => row.row === 2)).toMatchObject({ ok: false, raw: 'BBB,x' });
    const asText = await sampled({ ...replayPlan, numeric: [false, false] });
    expect(asText.find((row) => row.row === 2)).toMatchObject({ ok: true, head: '{"symbol":"BBB","price":"x",' });
  });

  it('sample mode draws the same rows for the same run and seq, so a retried chunk sends what the failed one drew', async () => {
    const source = file('sample.csv', CSV);
    const replayPlan = await plan(source);
    const draw = async (from: number) =>
      take(
        sampleRows(
          resolveSource(source, noS3, 'inputs/'),
          input(source, { mode: 'sample' }),
          replayPlan,
          { ...start(0), rowsRead: from },
          new Map() as SampleCache,
          () => undefined,
        ),
        20,
      );
    const first = await draw(0);
    expect(first.map((row) => text(row))).toEqual((await draw(0)).map((row) => text(row)));
    expect(first.map((row) => row.row)).toEqual(
      Array.from({ length: 20 }, (_, index) => sampleIndex('run-1', index + 1, 3) + 1),
    );
    expect(new Set(first.map((row) => text(row))).size).toBeGreaterThan(1);
    // Resumed after 5 rows: the 6th draw onwards.
    expect((await draw(5)).map((row) => text(row))).toEqual(
      first
        .slice(5)
        .concat((await draw(20)).slice(0, 5))
        .map((row) => text(row)),
    );
  });

  it('refuses what it cannot read as InvalidInput: a relative path, a missing file, an S3 key outside the prefix, no header', async () => {
    const invalid = { type: ErrorType.InvalidInput, nonRetryable: true };
    expect(() => resolveSource('relative.csv', noS3, 'inputs/')).toThrow(/absolute path/);
    expect(() => resolveSource('relative.csv', noS3, 'inputs/')).toThrow(expect.objectContaining(invalid));
    expect(() => resolveSource('s3://bucket/elsewhere/x.csv', noS3, 'inputs/')).toThrow(/under inputs\/ only/);
    await expect(resolveSource(path.join(dir, 'missing.csv'), noS3, 'inputs/').size()).rejects.toThrow(
      /no such file on worker host/,
    );
    await expect(resolveSource(path.join(dir, 'missing.csv'), noS3, 'inputs/').size()).rejects.toMatchObject(invalid);
    const empty = file('empty.csv', '');
    await expect(readHead(resolveSource(empty, noS3, 'inputs/'))).rejects.toMatchObject({
      ...invalid,
      message: expect.stringMatching(/empty file/),
    });
  });
});
