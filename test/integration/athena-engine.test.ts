import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Column, Partition, Table } from '@aws-sdk/client-glue';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  type QueryOutcome,
  QueryEngine,
  QueryFailure,
  type TableCatalog,
  type TableLookup,
} from '../../local-aws/athena/engine';
import { BUCKET, FolderObjectSource } from '../helpers/folder-objects';

/**
 * The Athena engine on real DuckDB over real files: a folder stands in for S3
 * (bucket/key), an in-memory catalog holds Glue tables shaped as the crawler
 * makes them, and expected values are computed here from the rows written.
 */

const DATABASE = 'market';

class MemoryCatalog implements TableCatalog {
  readonly databases = new Map<string, Map<string, { table: Table; partitions: Partition[] }>>();

  add(table: Table, partitions: Partition[] = []): void {
    const database = table.DatabaseName!;
    if (!this.databases.has(database)) this.databases.set(database, new Map());
    this.databases.get(database)!.set(table.Name!, { table, partitions });
  }

  getTable(database: string, table: string): TableLookup {
    const tables = this.databases.get(database);
    if (!tables) return { missing: 'database' };
    return tables.get(table) ?? { missing: 'table' };
  }

  listDatabases(): string[] {
    return [...this.databases.keys()];
  }

  listTables(database: string): string[] | undefined {
    const tables = this.databases.get(database);
    return tables && [...tables.keys()];
  }
}

interface Tick {
  ts: string;
  run_id: string;
  seq: number;
  index: string;
  open: number;
  close: number;
  volume: number;
}

const TICK_COLUMNS: Column[] = [
  { Name: 'ts', Type: 'string' },
  { Name: 'run_id', Type: 'string' },
  { Name: 'seq', Type: 'int' },
  { Name: 'index', Type: 'string' },
  { Name: 'open', Type: 'double' },
  { Name: 'close', Type: 'double' },
  { Name: 'volume', Type: 'bigint' },
];

/** A table as the Glue crawler writes one for gzip JSON Lines under dt=/hour= folders. */
function crawledJsonTable(name: string, prefix: string, serdeParameters: Record<string, string> = {}): Table {
  return {
    Name: name,
    DatabaseName: DATABASE,
    TableType: 'EXTERNAL_TABLE',
    PartitionKeys: [
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ],
    Parameters: { classification: 'json', compressionType: 'gzip', typeOfData: 'file' },
    StorageDescriptor: {
      Columns: TICK_COLUMNS,
      Location: `s3://${BUCKET}/${prefix}`,
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      SerdeInfo: {
        SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        Parameters: { paths: 'close,index,open,run_id,seq,ts,volume', ...serdeParameters },
      },
      Compressed: true,
    },
  };
}

const partitionOf = (table: Table, dt: string, hour: string): Partition => ({
  DatabaseName: DATABASE,
  TableName: table.Name,
  Values: [dt, hour],
  StorageDescriptor: {
    ...table.StorageDescriptor,
    Location: `${table.StorageDescriptor!.Location}dt=${dt}/hour=${hour}/`,
  },
});

const jsonLines = (rows: object[]) => gzipSync(rows.map((row) => JSON.stringify(row)).join('\n') + '\n');

const SYMBOLS = ['NYA', 'IXIC', 'HSI', 'GDAXI'];
const MINUTE = 60_000;
/** Named-query windows; no tick is written within 30 s of one, so the few seconds a query takes to start change nothing. */
const WINDOWS = [10, 30, 60];

let root: string;
let objects: FolderObjectSource;
let catalog: MemoryCatalog;
let engine: QueryEngine;
let recent: Tick[];
/** Bytes of the recent ticks' objects, by partition as `dt || hour`. */
const recentBytes = new Map<string, number>();
/** Keys of the historical partitions, by hour, with their sizes. */
const history = new Map<string, { key: string; size: number }[]>();

const hourFolder = (time: number) => {
  const iso = new Date(time).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
};

function writeRecentTicks(table: Table, now: number): { ticks: Tick[]; partitions: Partition[] } {
  const ticks: Tick[] = [];
  let seq = 0;
  for (let ageSeconds = 3; ageSeconds < 75 * 60; ageSeconds += 7) {
    if (WINDOWS.some((window) => Math.abs(ageSeconds - window * 60) < 30)) continue;
    const symbol = SYMBOLS[seq % SYMBOLS.length]!;
    seq++;
    ticks.push({
      ts: new Date(now - ageSeconds * 1000).toISOString(),
      run_id: 'recent',
      seq,
      index: symbol,
      open: 100 + (seq % 13) + 0.25,
      close: 100 + (seq % 11) + 0.5,
      volume: 10 + ((seq * 37) % 500),
    });
  }
  const byPartition = new Map<string, Tick[]>();
  for (const tick of ticks) {
    const { dt, hour } = hourFolder(Date.parse(tick.ts));
    const id = `${dt}/${hour}`;
    byPartition.set(id, [...(byPartition.get(id) ?? []), tick]);
  }
  const partitions: Partition[] = [];
  for (const [id, rows] of byPartition) {
    const [dt, hour] = id.split('/') as [string, string];
    const half = Math.ceil(rows.length / 2);
    const size =
      objects.put(`raw/ticks/dt=${dt}/hour=${hour}/ticks+0+${seq}.jsonl.gz`, jsonLines(rows.slice(0, half))) +
      objects.put(`raw/ticks/dt=${dt}/hour=${hour}/ticks+1+${seq}.jsonl.gz`, jsonLines(rows.slice(half)));
    recentBytes.set(`${dt}${hour}`, size);
    partitions.push(partitionOf(table, dt, hour));
  }
  return { ticks, partitions };
}

function historicalTick(hour: number, i: number): Tick {
  return {
    ts: `2024-01-01T${String(hour).padStart(2, '0')}:${String(i).padStart(2, '0')}:00.000Z`,
    run_id: 'history',
    seq: hour * 100 + i,
    index: SYMBOLS[i % SYMBOLS.length]!,
    open: 1.5 + i,
    close: 1.6 + i,
    volume: hour * 1000 + i,
  };
}

function writeHistory(table: Table): Partition[] {
  const partitions: Partition[] = [];
  for (const hour of [0, 1, 2]) {
    const folder = `raw/ticks/dt=2024-01-01/hour=0${hour}/`;
    const files = [0, 1].map((part) => {
      const key = `${folder}ticks+${part}+${hour}.jsonl.gz`;
      const rows = [0, 1, 2, 3, 4].map((i) => historicalTick(hour, part * 5 + i));
      return { key, size: objects.put(key, jsonLines(rows)) };
    });
    // What Hadoop and Athena skip: markers and empty objects.
    objects.put(`${folder}_SUCCESS`, '');
    objects.put(`${folder}.hidden.jsonl.gz`, jsonLines([historicalTick(hour, 99)]));
    history.set(`0${hour}`, files);
    partitions.push(partitionOf(table, '2024-01-01', `0${hour}`));
  }
  return partitions;
}

const request = (sql: string, overrides: { signal?: AbortSignal; timeoutMs?: number; database?: string } = {}) => ({
  sql,
  database: overrides.database ?? DATABASE,
  catalog,
  objects,
  signal: overrides.signal ?? new AbortController().signal,
  timeoutMs: overrides.timeoutMs ?? 60_000,
});

const run = (sql: string, overrides?: Parameters<typeof request>[1]): Promise<QueryOutcome> =>
  engine.run(request(sql, overrides));

async function failure(promise: Promise<unknown>): Promise<QueryFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(QueryFailure);
    return error as QueryFailure;
  }
  throw new Error('expected the query to fail');
}

const columnsOf = (outcome: QueryOutcome) => outcome.columns.map((column) => [column.name, column.type]);

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'athena-engine-'));
  objects = new FolderObjectSource(path.join(root, 's3'));
  catalog = new MemoryCatalog();
  const ticks = crawledJsonTable('ticks', 'raw/ticks/');
  const written = writeRecentTicks(ticks, Date.now());
  recent = written.ticks;
  catalog.add(ticks, [...written.partitions, ...writeHistory(ticks)]);
  engine = new QueryEngine({ cacheDir: path.join(root, 'cache'), memoryLimit: '1GB', threads: 2 });
});

afterAll(async () => {
  await engine.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('named queries on recent ticks', () => {
  /** Only ticks recent enough for the window; partition terms let Athena skip the older hours. */
  const window = (minutes: number) =>
    `from_iso8601_timestamp(ts) >= current_timestamp - interval '${minutes}' minute
     AND dt || hour >= date_format(current_timestamp - interval '${minutes}' minute, '%Y-%m-%d%H')
     AND run_id = 'recent'`;
  const inWindow = (minutes: number) => recent.filter((tick) => Date.parse(tick.ts) >= Date.now() - minutes * MINUTE);
  const bySymbol = (ticks: Tick[]) => {
    const groups = new Map<string, Tick[]>();
    for (const tick of ticks) groups.set(tick.index, [...(groups.get(tick.index) ?? []), tick]);
    return groups;
  };

  test('trades in the last 10 minutes', async () => {
    const { dt, hour } = hourFolder(Date.now() - 10 * MINUTE);
    const pruned = [...recentBytes].filter(([partition]) => partition >= `${dt}${hour}`);
    const outcome = await run(`SELECT count(*) AS trades, sum(volume) AS volume FROM ticks WHERE ${window(10)}`);
    const expected = inWindow(10);
    expect(expected.length).toBeGreaterThan(50);
    expect(columnsOf(outcome)).toEqual([
      ['trades', 'bigint'],
      ['volume', 'bigint'],
    ]);
    expect(outcome.rows).toEqual([[String(expected.length), String(expected.reduce((sum, t) => sum + t.volume, 0))]]);
    expect(outcome.statementType).toBe('DML');
    // Only the hours the window reaches into were read.
    expect(pruned.length).toBeLessThan(recentBytes.size);
    expect(outcome.dataScannedBytes).toBe(pruned.reduce((sum, [, bytes]) => sum + bytes, 0));
  });

  test('top symbols by volume over 30 minutes', async () => {
    const outcome = await run(`
      SELECT index AS symbol, sum(volume) AS volume
      FROM ticks WHERE ${window(30)}
      GROUP BY index ORDER BY volume DESC, symbol LIMIT 3`);
    const expected = [...bySymbol(inWindow(30))]
      .map(([symbol, ticks]) => [symbol, ticks.reduce((sum, t) => sum + t.volume, 0)] as const)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 3)
      .map(([symbol, volume]) => [symbol, String(volume)]);
    expect(outcome.rows).toEqual(expected);
  });

  test('VWAP per symbol over 60 minutes', async () => {
    const outcome = await run(`
      SELECT index AS symbol, sum(close * volume) / sum(volume) AS vwap, count(*) AS trades
      FROM ticks WHERE ${window(60)}
      GROUP BY index ORDER BY symbol`);
    expect(columnsOf(outcome)).toEqual([
      ['symbol', 'varchar'],
      ['vwap', 'double'],
      ['trades', 'bigint'],
    ]);
    const expected = [...bySymbol(inWindow(60))].sort(([a], [b]) => a.localeCompare(b));
    expect(outcome.rows.map((row) => row[0])).toEqual(expected.map(([symbol]) => symbol));
    expected.forEach(([, ticks], i) => {
      const vwap = ticks.reduce((sum, t) => sum + t.close * t.volume, 0) / ticks.reduce((sum, t) => sum + t.volume, 0);
      expect(Number(outcome.rows[i]![1])).toBeCloseTo(vwap, 9);
      expect(outcome.rows[i]![2]).toBe(String(ticks.length));
    });
  });

  test('OHLC bars per minute with date_trunc and min_by/max_by', async () => {
    const outcome = await run(`
      WITH bars AS (
        SELECT index AS symbol,
               date_trunc('minute', from_iso8601_timestamp(ts)) AS minute,
               min_by(open, from_iso8601_timestamp(ts)) AS open,
               max(greatest(open, close)) AS high,
               min(least(open, close)) AS low,
               max_by(close, from_iso8601_timestamp(ts)) AS close,
               sum(volume) AS volume
        FROM ticks WHERE ${window(10)}
        GROUP BY 1, 2)
      SELECT * FROM bars ORDER BY symbol, minute`);
    expect(columnsOf(outcome)).toEqual([
      ['symbol', 'varchar'],
      ['minute', 'timestamp with time zone'],
      ['open', 'double'],
      ['high', 'double'],
      ['low', 'double'],
      ['close', 'double'],
      ['volume', 'bigint'],
    ]);
    const bars = new Map<string, Tick[]>();
    for (const tick of inWindow(10)) {
      const minute = new Date(Math.floor(Date.parse(tick.ts) / MINUTE) * MINUTE).toISOString();
      const id = `${tick.index}|${minute}`;
      bars.set(id, [...(bars.get(id) ?? []), tick]);
    }
    const number = (value: number) => (Number.isInteger(value) ? `${value}.0` : String(value));
    const expected = [...bars]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, ticks]) => {
        const [symbol, minute] = id.split('|') as [string, string];
        const ordered = [...ticks].sort((a, b) => a.ts.localeCompare(b.ts));
        return [
          symbol,
          `${minute.slice(0, 10)} ${minute.slice(11, 23)} UTC`,
          number(ordered[0]!.open),
          number(Math.max(...ticks.map((t) => Math.max(t.open, t.close)))),
          number(Math.min(...ticks.map((t) => Math.min(t.open, t.close)))),
          number(ordered.at(-1)!.close),
          String(ticks.reduce((sum, t) => sum + t.volume, 0)),
        ];
      });
    expect(outcome.rows).toEqual(expected);
  });
});

describe('partition pruning and the object cache', () => {
  const sizeOf = (hours: string[]) =>
    hours.flatMap((hour) => history.get(hour)!).reduce((sum, file) => sum + file.size, 0);
  const keysOf = (hours: string[]) => hours.flatMap((hour) => history.get(hour)!.map((file) => file.key)).sort();
  let pruning: QueryEngine;

  beforeAll(() => {
    pruning = new QueryEngine({ cacheDir: path.join(root, 'pruning-cache'), memoryLimit: '512MB', threads: 2 });
  });

  afterAll(async () => {
    await pruning.close();
  });

  const runPruned = (sql: string) => pruning.run(request(sql));

  test('a query on one dt/hour lists, reads and counts only that partition', async () => {
    objects.takeDownloads();
    const outcome = await runPruned(
      "SELECT count(*), sum(volume) FROM ticks WHERE dt = '2024-01-01' AND hour = '01' AND run_id = 'history'",
    );
    const expected = Array.from({ length: 10 }, (_, i) => historicalTick(1, i));
    expect(outcome.rows).toEqual([['10', String(expected.reduce((sum, t) => sum + t.volume, 0))]]);
    expect(objects.takeDownloads()).toEqual(keysOf(['01']));
    expect(outcome.dataScannedBytes).toBe(sizeOf(['01']));
  });

  test.each([
    ["hour IN ('00', '02')", ['00', '02']],
    ["hour BETWEEN '01' AND '02'", ['01', '02']],
    ["(hour = '00' OR hour = '02') AND dt <> '2023-12-31'", ['00', '02']],
    ["NOT (hour >= '01')", ['00']],
    ["t.hour < '01'", ['00']],
    ["concat(dt, ' ', hour) = '2024-01-01 02'", ['02']],
  ])('WHERE %s reads hours %p', async (predicate, hours) => {
    const outcome = await runPruned(
      `SELECT count(*) FROM ticks AS t WHERE t.dt = '2024-01-01' AND ${predicate} AND run_id = 'history'`,
    );
    expect(outcome.rows).toEqual([[String(hours.length * 10)]]);
    expect(outcome.dataScannedBytes).toBe(sizeOf(hours));
  });

  test('a term mixing partition keys with other columns does not prune; a partition column comes from the partition', async () => {
    const outcome = await runPruned(
      "SELECT hour, count(*) FROM ticks WHERE dt = '2024-01-01' AND (hour = '01' OR volume = 2) GROUP BY hour ORDER BY hour",
    );
    expect(outcome.rows).toEqual([
      ['00', '1'],
      ['01', '10'],
    ]);
    expect(outcome.dataScannedBytes).toBe(sizeOf(['00', '01', '02']));
  });

  test('a second run downloads nothing; a changed object (new ETag) is fetched again', async () => {
    const sql = "SELECT sum(volume) FROM ticks WHERE dt = '2024-01-01' AND hour = '02'";
    const first = await runPruned(sql);
    objects.takeDownloads();
    const second = await runPruned(sql);
    expect(objects.takeDownloads()).toEqual([]);
    expect(second.rows).toEqual(first.rows);
    expect(second.dataScannedBytes).toBe(first.dataScannedBytes);

    const changed = history.get('02')![0]!;
    const original = fs.readFileSync(path.join(objects.root, BUCKET, changed.key));
    try {
      const rows = [0, 1, 2, 3, 4].map((i) => ({ ...historicalTick(2, i), volume: 1 }));
      objects.put(changed.key, jsonLines(rows));
      const third = await runPruned(sql);
      expect(objects.takeDownloads()).toEqual([changed.key]);
      const untouched = [5, 6, 7, 8, 9].reduce((sum, i) => sum + historicalTick(2, i).volume, 0);
      expect(third.rows).toEqual([[String(untouched + 5)]]);
    } finally {
      objects.put(changed.key, original);
    }
  });
});

describe('compatibility with Athena (Trino) SQL', () => {
  // Each: a query, its result columns (name, Athena type) and rows as Athena returns them.
  const cases: [string, [string, string][], (string | null)[][]][] = [
    ['SELECT 1', [['_col0', 'integer']], [['1']]],
    ['VALUES 1, 2', [['_col0', 'integer']], [['1'], ['2']]],
    [
      'SELECT 7 / 2, -7 / 2, 7 % 3, 7e0 / 2',
      [
        ['_col0', 'integer'],
        ['_col1', 'integer'],
        ['_col2', 'integer'],
        ['_col3', 'double'],
      ],
      [['3', '-3', '1', '3.5']],
    ],
    ["SELECT 'tick' || 's' || CAST(42 AS varchar) AS s", [['s', 'varchar']], [['ticks42']]],
    ['SELECT ARRAY[1, 2] || ARRAY[3]', [['_col0', 'array']], [['[1, 2, 3]']]],
    [
      "SELECT CAST(1.5e0 AS varchar), CAST(TIMESTAMP '2024-01-02 03:04:05.678' AS varchar), CAST(true AS varchar)",
      [
        ['_col0', 'varchar'],
        ['_col1', 'varchar'],
        ['_col2', 'varchar'],
      ],
      [['1.5E0', '2024-01-02 03:04:05.678', 'true']],
    ],
    [
      "SELECT try_cast('12' AS integer), try_cast('twelve' AS integer), CAST(2.5e0 AS integer)",
      [
        ['_col0', 'integer'],
        ['_col1', 'integer'],
        ['_col2', 'integer'],
      ],
      [['12', null, '3']],
    ],
    [
      'SELECT current_timestamp = now(), typeof(current_timestamp)',
      [
        ['_col0', 'boolean'],
        ['_col1', 'varchar'],
      ],
      [['true', 'timestamp(3) with time zone']],
    ],
    [
      "SELECT date_diff('minute', current_timestamp - interval '10' minute, current_timestamp)",
      [['_col0', 'bigint']],
      [['10']],
    ],
    [
      "SELECT current_timestamp - interval '1' hour < current_timestamp, current_date = CAST(current_timestamp AS date)",
      [
        ['_col0', 'boolean'],
        ['_col1', 'boolean'],
      ],
      [['true', 'true']],
    ],
    [
      "SELECT date_add('day', 1, DATE '2024-01-31'), date_add('month', 1, TIMESTAMP '2024-01-31 10:00:00.000'), date_add('minute', -90, TIMESTAMP '2024-01-01 00:00:00.000')",
      [
        ['_col0', 'date'],
        ['_col1', 'timestamp'],
        ['_col2', 'timestamp'],
      ],
      [['2024-02-01', '2024-02-29 10:00:00.000', '2023-12-31 22:30:00.000']],
    ],
    [
      "SELECT date_diff('day', TIMESTAMP '2024-01-01 12:00:00.000', TIMESTAMP '2024-01-03 11:59:59.000'), date_diff('month', DATE '2024-01-31', DATE '2024-02-29'), date_diff('second', TIMESTAMP '2024-01-01 00:00:10.000', TIMESTAMP '2024-01-01 00:00:00.000')",
      [
        ['_col0', 'bigint'],
        ['_col1', 'bigint'],
        ['_col2', 'bigint'],
      ],
      [['1', '1', '-10']],
    ],
    [
      "SELECT date_trunc('hour', TIMESTAMP '2024-01-02 03:04:05.678'), date_trunc('week', DATE '2024-01-04'), date_trunc('month', from_iso8601_timestamp('2024-03-05T06:07:08Z'))",
      [
        ['_col0', 'timestamp'],
        ['_col1', 'date'],
        ['_col2', 'timestamp with time zone'],
      ],
      [['2024-01-02 03:00:00.000', '2024-01-01', '2024-03-01 00:00:00.000 UTC']],
    ],
    // A timestamp with time zone by every unit (the fixed ones floor epoch microseconds): before 1970 too,
    // weeks from a Monday, and a leap day.
    ...(
      [
        [
          '1969-12-31T23:59:59.999Z',
          [
            '1969-12-31 23:59:59.999',
            '1969-12-31 23:59:59.000',
            '1969-12-31 23:59:00.000',
            '1969-12-31 23:00:00.000',
            '1969-12-31 00:00:00.000',
            '1969-12-29 00:00:00.000',
            '1969-12-01 00:00:00.000',
            '1969-10-01 00:00:00.000',
            '1969-01-01 00:00:00.000',
          ],
        ],
        [
          '2024-02-29T13:47:31.123Z',
          [
            '2024-02-29 13:47:31.123',
            '2024-02-29 13:47:31.000',
            '2024-02-29 13:47:00.000',
            '2024-02-29 13:00:00.000',
            '2024-02-29 00:00:00.000',
            '2024-02-26 00:00:00.000',
            '2024-02-01 00:00:00.000',
            '2024-01-01 00:00:00.000',
            '2024-01-01 00:00:00.000',
          ],
        ],
        [
          '1900-03-04T05:06:07.089Z',
          [
            '1900-03-04 05:06:07.089',
            '1900-03-04 05:06:07.000',
            '1900-03-04 05:06:00.000',
            '1900-03-04 05:00:00.000',
            '1900-03-04 00:00:00.000',
            '1900-02-26 00:00:00.000',
            '1900-03-01 00:00:00.000',
            '1900-01-01 00:00:00.000',
            '1900-01-01 00:00:00.000',
          ],
        ],
      ] as [string, string[]][]
    ).map(([iso, truncated]): [string, [string, string][], string[][]] => {
      const units = ['millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];
      return [
        `SELECT ${units.map((unit) => `date_trunc('${unit}', from_iso8601_timestamp('${iso}'))`).join(', ')}`,
        units.map((_, index) => [`_col${index}`, 'timestamp with time zone']),
        [truncated.map((text) => `${text} UTC`)],
      ];
    }),
    [
      "SELECT from_iso8601_timestamp('2024-01-02T03:04:05.678Z'), from_iso8601_timestamp('2024-01-02T04:04:05+01:00') = from_iso8601_timestamp('2024-01-02T03:04:05Z')",
      [
        ['_col0', 'timestamp with time zone'],
        ['_col1', 'boolean'],
      ],
      [['2024-01-02 03:04:05.678 UTC', 'true']],
    ],
    [
      "SELECT to_iso8601(TIMESTAMP '2024-01-02 03:04:05.678'), to_iso8601(from_iso8601_timestamp('2024-01-02T03:04:05Z')), to_iso8601(DATE '2024-01-02')",
      [
        ['_col0', 'varchar'],
        ['_col1', 'varchar'],
        ['_col2', 'varchar'],
      ],
      [['2024-01-02T03:04:05.678', '2024-01-02T03:04:05.000Z', '2024-01-02']],
    ],
    [
      "SELECT from_unixtime(1704164645), to_unixtime(TIMESTAMP '2024-01-02 03:04:05.500')",
      [
        ['_col0', 'timestamp with time zone'],
        ['_col1', 'double'],
      ],
      [['2024-01-02 03:04:05.000 UTC', '1.7041646455E9']],
    ],
    [
      "SELECT date_format(TIMESTAMP '2024-01-02 13:04:05.000', '%Y-%m-%d %H:%i:%s'), date_format(TIMESTAMP '2024-01-02 13:04:05.000', '%W %e %M %Y %h %p')",
      [
        ['_col0', 'varchar'],
        ['_col1', 'varchar'],
      ],
      [['2024-01-02 13:04:05', 'Tuesday 2 January 2024 01 PM']],
    ],
    [
      'SELECT approx_percentile(x, 0.5), approx_distinct(x), arbitrary(x) BETWEEN 1 AND 5 FROM (VALUES 1, 2, 2, 4, 5) AS t(x)',
      [
        ['_col0', 'integer'],
        ['_col1', 'bigint'],
        ['_col2', 'boolean'],
      ],
      [['2', '4', 'true']],
    ],
    // A ROW key orders field by field, numbers as numbers: ties in the first field go to the second (10 > 9).
    [
      "SELECT min_by(name, ROW(t, s)), max_by(name, ROW(t, s)) FROM (VALUES ('a', '2024-01-01T00:00:01Z', 10), ('b', '2024-01-01T00:00:01Z', 9), ('c', '2024-01-01T00:00:02Z', 9), ('d', '2024-01-01T00:00:02Z', 10)) AS v(name, t, s)",
      [
        ['_col0', 'varchar'],
        ['_col1', 'varchar'],
      ],
      [['b', 'd']],
    ],
    [
      "SELECT max_by(name, score), min_by(name, score) FROM (VALUES ('a', 3), ('b', 9), ('c', 1)) AS t(name, score)",
      [
        ['_col0', 'varchar'],
        ['_col1', 'varchar'],
      ],
      [['b', 'c']],
    ],
    [
      "SELECT element_at(ARRAY['a', 'b'], 2), element_at(ARRAY['a'], 5), element_at(MAP(ARRAY['k'], ARRAY[7]), 'k'), element_at(ARRAY['a', 'b'], -1)",
      [
        ['_col0', 'varchar'],
        ['_col1', 'varchar'],
        ['_col2', 'integer'],
        ['_col3', 'varchar'],
      ],
      [['b', null, '7', 'b']],
    ],
    [
      "SELECT cardinality(ARRAY[1, 2, 3]), cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))",
      [
        ['_col0', 'bigint'],
        ['_col1', 'bigint'],
      ],
      [['3', '2']],
    ],
    [
      "SELECT regexp_like('NYA', '^N'), regexp_like('HSI', '^N'), split_part('a-b-c', '-', 2), split_part('a-b', '-', 5)",
      [
        ['_col0', 'boolean'],
        ['_col1', 'boolean'],
        ['_col2', 'varchar'],
        ['_col3', 'varchar'],
      ],
      [['true', 'false', 'b', null]],
    ],
    [
      'SELECT x, row_number() OVER (ORDER BY x DESC) AS rn, sum(x) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) AS running, lag(x) OVER (ORDER BY x) AS previous FROM (VALUES 10, 20, 30) AS t(x) ORDER BY x',
      [
        ['x', 'integer'],
        ['rn', 'bigint'],
        ['running', 'bigint'],
        ['previous', 'integer'],
      ],
      [
        ['10', '3', '10', null],
        ['20', '2', '30', '10'],
        ['30', '1', '60', '20'],
      ],
    ],
    [
      'WITH a AS (SELECT 1 AS n UNION ALL SELECT 2), b AS (SELECT n * 10 AS m FROM a) SELECT sum(m) AS total FROM b',
      [['total', 'bigint']],
      [['30']],
    ],
    [
      "SELECT DECIMAL '1.50' * 2, ROW(1, 'x'), MAP(ARRAY['a'], ARRAY[1.5e0]), DATE '2024-01-02'",
      [
        ['_col0', 'decimal'],
        ['_col1', 'row'],
        ['_col2', 'map'],
        ['_col3', 'date'],
      ],
      [['3.00', '{field0=1, field1=x}', '{a=1.5}', '2024-01-02']],
    ],
    [
      'SELECT 1e7, 1e-4, 0.1e0 + 0.2e0, 123e0',
      [
        ['_col0', 'double'],
        ['_col1', 'double'],
        ['_col2', 'double'],
        ['_col3', 'double'],
      ],
      [['1.0E7', '1.0E-4', '0.30000000000000004', '123.0']],
    ],
    ['SELECT x FROM UNNEST(ARRAY[3, 1, 2]) AS t(x) ORDER BY x', [['x', 'integer']], [['1'], ['2'], ['3']]],
    [
      'SELECT NULL IS NULL, coalesce(NULL, 2), nullif(1, 1), if(1 > 2, 1)',
      [
        ['_col0', 'boolean'],
        ['_col1', 'integer'],
        ['_col2', 'integer'],
        ['_col3', 'integer'],
      ],
      [['true', '2', null, null]],
    ],
    ["SELECT x FROM (VALUES 'b', NULL, 'a') AS t(x) ORDER BY x DESC", [['x', 'varchar']], [['b'], ['a'], [null]]],
  ];

  test.each(cases)('%s', async (sql, columns, rows) => {
    const outcome = await run(sql);
    expect(columnsOf(outcome)).toEqual(columns);
    expect(outcome.rows).toEqual(rows);
  });

  test('time windows relative to current_timestamp see one fixed query time', async () => {
    const outcome = await run(
      "SELECT count(*) FROM ticks WHERE run_id = 'recent' AND from_iso8601_timestamp(ts) BETWEEN current_timestamp - interval '30' minute AND now()",
    );
    const since = Date.now() - 30 * MINUTE;
    expect(outcome.rows).toEqual([[String(recent.filter((tick) => Date.parse(tick.ts) >= since).length)]]);
  });
});

describe('statements, errors and results', () => {
  test('utility statements answer from the catalog', async () => {
    expect(await run('SHOW TABLES')).toMatchObject({ statementType: 'DDL', rows: [['ticks']] });
    expect((await run('SHOW DATABASES')).rows).toEqual([[DATABASE]]);
    const partitions = await run(`SHOW PARTITIONS ${DATABASE}.ticks`);
    expect(partitions.rows).toContainEqual(['dt=2024-01-01/hour=01']);
    const described = await run('DESCRIBE ticks');
    expect(described.statementType).toBe('UTILITY');
    expect(described.rows.slice(0, 2)).toEqual([
      ['ts', 'string', ''],
      ['run_id', 'string', ''],
    ]);
    expect((await run('SHOW COLUMNS IN ticks')).rows.flat()).toEqual([
      ...TICK_COLUMNS.map((c) => c.Name),
      'dt',
      'hour',
    ]);
  });

  test('tables are named as Athena names them', async () => {
    const sql = (name: string) => `SELECT count(*) FROM ${name} WHERE dt = '2024-01-01' AND hour = '00'`;
    for (const name of ['ticks', 'market.ticks', '"market"."ticks"', 'awsdatacatalog.market.ticks', 'MARKET.Ticks']) {
      expect((await run(sql(name))).rows).toEqual([['10']]);
    }
    const qualified = await run(
      "SELECT market.ticks.seq FROM market.ticks WHERE dt = '2024-01-01' AND hour = '00' ORDER BY 1 LIMIT 1",
    );
    expect(qualified.rows).toEqual([['0']]);
    expect(await run(sql('ticks'), { database: 'default' }).catch((error: Error) => error.message)).toBe(
      "SCHEMA_NOT_FOUND: line 1:22: Schema 'default' does not exist",
    );
  });

  test('a syntax error names its place', async () => {
    const error = await failure(run('SELECT *\nFORM ticks'));
    expect(error.message).toMatch(/^SYNTAX_ERROR: line 2:6: syntax error at or near "ticks"/);
    expect(error).toMatchObject({ errorCategory: 2, errorType: 1006, retryable: false });
    expect((await failure(run('   '))).message).toBe(
      "SYNTAX_ERROR: line 1:1: mismatched input '<EOF>'. Expecting: 'SELECT', 'WITH', 'VALUES', 'SHOW', 'DESCRIBE'",
    );
  });

  test('unknown tables and databases fail as in Athena', async () => {
    expect((await failure(run('SELECT * FROM trades'))).message).toBe(
      "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.market.trades' does not exist",
    );
    expect((await failure(run('SELECT *\n  FROM nowhere.ticks'))).message).toBe(
      "SCHEMA_NOT_FOUND: line 2:8: Schema 'nowhere' does not exist",
    );
    expect((await failure(run('SELECT seq FROM ticks t JOIN other o ON t.seq = o.seq'))).errorType).toBe(1110);
  });

  test('functions Athena lacks fail FUNCTION_NOT_FOUND naming them', async () => {
    const unknown = await failure(run('SELECT levenshtein_ratio(index, open) FROM ticks'));
    expect(unknown.message).toBe("FUNCTION_NOT_FOUND: line 1:8: Function 'levenshtein_ratio' not registered");
    expect(unknown).toMatchObject({ errorCategory: 2, errorType: 1303 });
    // DuckDB has these; Athena does not.
    expect((await failure(run('SELECT list_sum(ARRAY[1, 2])'))).message).toMatch(/Function 'list_sum' not registered/);
    expect((await failure(run("SELECT strftime(now(), '%Y')"))).message).toMatch(/Function 'strftime' not registered/);
  });

  test('a misspelt column fails COLUMN_NOT_FOUND at its place', async () => {
    const error = await failure(run('SELECT volum FROM ticks'));
    expect(error.message).toBe("COLUMN_NOT_FOUND: line 1:8: Column 'volum' cannot be resolved");
  });

  test('concurrent queries are queued and all answered', async () => {
    const queue = new QueryEngine({
      cacheDir: path.join(root, 'cache'),
      memoryLimit: '512MB',
      threads: 1,
      maxConcurrentQueries: 2,
    });
    try {
      const hours = ['00', '01', '02', '00', '01', '02', '00', '01'];
      const outcomes = await Promise.all(
        hours.map((hour, i) =>
          queue.run(
            request(`SELECT ${i} AS query, sum(volume) FROM ticks WHERE dt = '2024-01-01' AND hour = '${hour}'`),
          ),
        ),
      );
      outcomes.forEach((outcome, i) => {
        const hour = Number(hours[i]);
        const volume = Array.from({ length: 10 }, (_, n) => historicalTick(hour, n).volume).reduce((a, b) => a + b);
        expect(outcome.rows).toEqual([[String(i), String(volume)]]);
      });
    } finally {
      await queue.close();
    }
  });
});

describe('table formats', () => {
  test('a malformed JSON line fails naming the object, unless the SerDe ignores malformed JSON', async () => {
    const key = 'raw/events/dt=2024-01-01/hour=00/events.jsonl.gz';
    objects.put(key, gzipSync('{"seq": 1, "index": "NYA"}\n{"seq": 2, "index": \n{"SEQ": 3, "Index": "HSI"}\n'));
    const strict = crawledJsonTable('events', 'raw/events/');
    catalog.add(strict, [partitionOf(strict, '2024-01-01', '00')]);
    const error = await failure(run('SELECT count(*) FROM events'));
    expect(error.message).toMatch(/^HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: /);
    expect(error.message).toContain(`(object s3://${BUCKET}/${key})`);
    expect(error).toMatchObject({ errorCategory: 2, errorType: 1001 });

    const lenient = crawledJsonTable('lenient_events', 'raw/events/', { 'ignore.malformed.json': 'true' });
    catalog.add(lenient, [partitionOf(lenient, '2024-01-01', '00')]);
    // As the OpenX SerDe: the malformed line is a row of NULLs; field names match case-insensitively.
    const outcome = await run('SELECT seq, index, hour FROM lenient_events ORDER BY seq');
    expect(outcome.rows).toEqual([
      ['1', 'NYA', '00'],
      ['3', 'HSI', '00'],
      [null, null, '00'],
    ]);
  });

  test('CSV with a header (LazySimpleSerDe) and Parquet tables', async () => {
    objects.put('tables/prices/a.csv', 'symbol,price,volume\nNYA,1.5,100\nIXIC,2.25,not-a-number\n');
    objects.put('tables/prices/b.csv', 'symbol,price,volume\nGDAXI,3,300\n');
    catalog.add({
      Name: 'prices',
      DatabaseName: DATABASE,
      PartitionKeys: [],
      Parameters: { classification: 'csv', delimiter: ',', 'skip.header.line.count': '1' },
      StorageDescriptor: {
        Columns: [
          { Name: 'symbol', Type: 'string' },
          { Name: 'price', Type: 'double' },
          { Name: 'volume', Type: 'bigint' },
        ],
        Location: `s3://${BUCKET}/tables/prices/`,
        SerdeInfo: {
          SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          Parameters: { 'field.delim': ',' },
        },
      },
    });
    const csv = await run('SELECT symbol, price, volume FROM prices ORDER BY symbol');
    expect(csv.rows).toEqual([
      ['GDAXI', '3.0', '300'],
      ['IXIC', '2.25', null],
      ['NYA', '1.5', '100'],
    ]);

    const parquetFile = path.join(root, 'fixture.parquet');
    const writer = await DuckDBInstance.create(':memory:');
    const connection = await writer.connect();
    await connection.run(
      `COPY (SELECT * FROM (VALUES ('NYA', 1.5::DOUBLE, 100::BIGINT), ('HSI', 2.5, 200)) AS t("Symbol", price, volume)) TO '${parquetFile}' (FORMAT parquet)`,
    );
    connection.closeSync();
    writer.closeSync();
    objects.put('tables/columnar/part-0.parquet', fs.readFileSync(parquetFile));
    catalog.add({
      Name: 'columnar',
      DatabaseName: DATABASE,
      PartitionKeys: [],
      Parameters: { classification: 'parquet' },
      StorageDescriptor: {
        Columns: [
          { Name: 'symbol', Type: 'string' },
          { Name: 'price', Type: 'double' },
          { Name: 'volume', Type: 'bigint' },
          { Name: 'venue', Type: 'string' },
        ],
        Location: `s3://${BUCKET}/tables/columnar/`,
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
      },
    });
    const parquet = await run('SELECT * FROM columnar ORDER BY volume');
    expect(columnsOf(parquet).map(([name]) => name)).toEqual(['symbol', 'price', 'volume', 'venue']);
    expect(parquet.rows).toEqual([
      ['NYA', '1.5', '100', null],
      ['HSI', '2.5', '200', null],
    ]);
  });
});

describe('more table shapes', () => {
  test('uncompressed JSON with a SerDe key mapping, and OpenCSVSerde with quoted fields', async () => {
    objects.put('tables/quotes/q.json', '{"Sym": "NYA", "px": 1.25}\n{"sym": "HSI", "px": "2"}\n');
    catalog.add({
      Name: 'quotes',
      DatabaseName: DATABASE,
      PartitionKeys: [],
      Parameters: { classification: 'json' },
      StorageDescriptor: {
        Columns: [
          { Name: 'sym', Type: 'string' },
          { Name: 'price', Type: 'decimal(10,2)' },
        ],
        Location: `s3://${BUCKET}/tables/quotes`,
        SerdeInfo: {
          SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
          Parameters: { 'mapping.price': 'px' },
        },
      },
    });
    const quotes = await run('SELECT sym, price FROM quotes ORDER BY sym');
    expect(columnsOf(quotes)).toEqual([
      ['sym', 'varchar'],
      ['price', 'decimal'],
    ]);
    expect(quotes.rows).toEqual([
      ['HSI', '2.00'],
      ['NYA', '1.25'],
    ]);

    objects.put('tables/venues/v.csv', '"NYSE","New York, NY",1\n"LSE","London",2\n');
    catalog.add({
      Name: 'venues',
      DatabaseName: DATABASE,
      PartitionKeys: [],
      Parameters: { classification: 'csv' },
      StorageDescriptor: {
        Columns: [
          { Name: 'code', Type: 'string' },
          { Name: 'city', Type: 'string' },
          { Name: 'rank', Type: 'int' },
        ],
        Location: `s3://${BUCKET}/tables/venues/`,
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde' },
      },
    });
    expect((await run('SELECT city, rank FROM venues ORDER BY rank')).rows).toEqual([
      ['New York, NY', '1'],
      ['London', '2'],
    ]);
  });
});

describe('sandbox and limits', () => {
  const outside = () => path.join(root, 'escape');

  test.each([
    [
      "SELECT * FROM read_csv('/etc/passwd')",
      /^FUNCTION_NOT_FOUND: line 1:15: Table function 'read_csv' not registered/,
    ],
    ["SELECT * FROM read_json_auto('/etc/hostname')", /Table function 'read_json_auto' not registered/],
    ["SELECT content FROM read_text('/etc/passwd')", /Table function 'read_text' not registered/],
    ["SELECT * FROM '/etc/passwd'", /^TABLE_NOT_FOUND: .*'awsdatacatalog.market.\/etc\/passwd'/],
    ["SELECT * FROM glob('/*')", /Table function 'glob' not registered/],
    ["SELECT getenv('HOME')", /^FUNCTION_NOT_FOUND: line 1:8: Function 'getenv' not registered/],
    ["SELECT current_setting('memory_limit')", /Function 'current_setting' not registered/],
    ['SELECT * FROM duckdb_settings()', /Table function 'duckdb_settings' not registered/],
    ["SELECT * FROM read_parquet('https://example.com/x.parquet')", /Table function 'read_parquet' not registered/],
    ["COPY (SELECT 1) TO 'ESCAPE/out.csv'", /^NOT_SUPPORTED: line 1:1: COPY statements are not supported/],
    ["ATTACH 'ESCAPE/x.db' AS x", /^NOT_SUPPORTED: line 1:1: ATTACH statements/],
    ['INSTALL httpfs', /INSTALL statements/],
    ['LOAD httpfs', /LOAD statements/],
    ["SET memory_limit = '100GB'", /SET statements/],
    ['RESET threads', /RESET statements/],
    ['PRAGMA version', /PRAGMA statements/],
    ['CALL pragma_version()', /CALL statements/],
    ["EXPORT DATABASE 'ESCAPE/db'", /EXPORT statements/],
    ['CREATE TABLE x AS SELECT 1', /CREATE statements/],
    ["INSERT INTO ticks VALUES ('x')", /INSERT statements/],
    ['DROP TABLE ticks', /DROP statements/],
    ["SELECT 1; COPY (SELECT 1) TO 'ESCAPE/out2.csv'", /^NOT_SUPPORTED: line 1:11: Only one SQL statement is allowed/],
    ["WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", /'read_csv' not registered/],
    ["SELECT transform(ARRAY[1], x -> getenv('HOME'))", /Function 'getenv' not registered/],
    ["SELECT main.read_text('/etc/passwd')", /Function 'main.read_text' not registered/],
    ['SELECT * FROM (DESCRIBE SELECT 1)', /^NOT_SUPPORTED/],
  ])('%s is refused, and the engine answers the next query', async (template, message) => {
    const error = await failure(run(template.replace(/ESCAPE/g, outside())));
    expect(error.message).toMatch(message);
    expect(error.errorCategory).toBe(2);
    expect(fs.existsSync(outside())).toBe(false);
    expect((await run('SELECT 1 + 1')).rows).toEqual([['2']]);
  });

  test('a query over its time limit is stopped; the engine goes on', async () => {
    const started = Date.now();
    const error = await failure(run('SELECT count(*) FROM ticks a, ticks b, ticks c, ticks d', { timeoutMs: 300 }));
    expect(error.message).toBe('EXCEEDED_TIME_LIMIT: Query exceeded the maximum execution time limit of 300ms');
    expect(error).toMatchObject({ errorCategory: 1, errorType: 206 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await run('SELECT 2')).rows).toEqual([['2']]);
  });

  test('cancelling the signal stops a running query', async () => {
    const controller = new AbortController();
    const running = run('SELECT count(*) FROM ticks a, ticks b, ticks c, ticks d', { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const error = await failure(running);
    expect(error.message).toBe('USER_CANCELED: Query was canceled by user');
    expect(error.errorType).toBe(1011);
    expect((await run('SELECT 3')).rows).toEqual([['3']]);
  });

  test('a query over the memory limit fails; the engine goes on', async () => {
    const small = new QueryEngine({ cacheDir: path.join(root, 'small-cache'), memoryLimit: '64MB', threads: 1 });
    try {
      const error = await failure(
        small.run(
          // A million rows: sequence makes at most 10,000 (Trino's cap), so two of them crossed.
          request(
            "SELECT cardinality(array_agg(lpad('x', 2000, 'y'))) FROM UNNEST(sequence(1, 10000)) AS t(n), UNNEST(sequence(1, 100)) AS u(m)",
          ),
        ),
      );
      expect(error.message).toBe('EXCEEDED_MEMORY_LIMIT: Query exceeded the local memory limit of 64MB');
      expect(error).toMatchObject({ errorCategory: 1, errorType: 0 });
      expect((await small.run(request('SELECT count(*) FROM UNNEST(sequence(1, 1000)) AS t(n)'))).rows).toEqual([
        ['1000'],
      ]);
    } finally {
      await small.close();
    }
  });
});
