import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Partition, Table } from '@aws-sdk/client-glue';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { type QueryOutcome, QueryEngine, type TableCatalog, type TableLookup } from '../../local-aws/athena/engine';
import { BUCKET, FolderObjectSource } from '../helpers/folder-objects';

/**
 * Data scanned with Parquet row groups skipped by their min/max statistics, on the real engine over a real
 * Parquet file (10 row groups, rows in ts/seqno order, `size` random). For each query the row groups that
 * hold a row satisfying the table's WHERE are computed here from the file itself (DuckDB, file_row_number),
 * so the engine's count can be checked against what must be read: never less, and exactly that for the
 * predicates it understands; every row group for the ones it must not trust (OR, NOT, casts of text,
 * subqueries, columns compared with columns).
 */

const DATABASE = 'market';
const KEY = 'curated/trades/part-0.parquet';
const GROUP_ROWS = 2048;
const GROUPS = 10;

const table: Table = {
  Name: 'trades',
  DatabaseName: DATABASE,
  PartitionKeys: [],
  Parameters: { classification: 'parquet' },
  StorageDescriptor: {
    Columns: [
      { Name: 'ts', Type: 'string' },
      { Name: 'symbol', Type: 'string' },
      { Name: 'price', Type: 'double' },
      { Name: 'size', Type: 'bigint' },
      { Name: 'seqno', Type: 'bigint' },
      { Name: 'order', Type: 'bigint' },
      { Name: 'maybe', Type: 'bigint' },
    ],
    Location: `s3://${BUCKET}/curated/trades/`,
    InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
};

const catalog: TableCatalog = {
  getTable: (database: string, name: string): TableLookup =>
    database !== DATABASE
      ? { missing: 'database' }
      : name === 'trades'
        ? { table, partitions: [] as Partition[] }
        : { missing: 'table' },
  listDatabases: () => [DATABASE],
  listTables: (database) => (database === DATABASE ? ['trades'] : undefined),
};

let root: string;
let file: string;
let fileSize: number;
let objects: FolderObjectSource;
let engine: QueryEngine;
let instance: DuckDBInstance;
let duck: DuckDBConnection;
/** Per row group: its first row and each column chunk's compressed bytes. */
let groups: { first: number; rows: number; bytes: Map<string, number> }[];

const rowsOf = async (sql: string) => (await duck.runAndReadAll(sql)).getRows();

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'athena-row-groups-'));
  objects = new FolderObjectSource(path.join(root, 's3'));
  file = path.join(root, 'trades.parquet');
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  duck = await instance.connect();
  // Row i: ts one second after row i-1, seqno = i, price = i / 100, size pseudo-random, order = i, maybe NULL
  // in the first half.
  await duck.run(
    `COPY (SELECT strftime(TIMESTAMP '2026-12-06 01:00:00' + to_seconds(i), '%Y-%m-%dT%H:%M:%S.000Z') AS ts,
       'S' || (i % 7) AS symbol, i / 100 AS price, (i * 7919) % 1000 AS size, i AS seqno, i AS "order",
       CASE WHEN i >= ${(GROUPS * GROUP_ROWS) / 2} THEN i END AS maybe
     FROM range(${GROUPS * GROUP_ROWS}) t(i) ORDER BY i)
     TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE ${GROUP_ROWS})`,
  );
  const body = fs.readFileSync(file);
  fileSize = body.length;
  objects.put(KEY, body);
  const meta = await rowsOf(
    `SELECT row_group_id, row_group_num_rows, path_in_schema, total_compressed_size FROM parquet_metadata('${file}') ORDER BY row_group_id`,
  );
  const byGroup = new Map<number, { rows: number; bytes: Map<string, number> }>();
  for (const [group, rows, column, bytes] of meta) {
    const entry = byGroup.get(Number(group)) ?? { rows: Number(rows), bytes: new Map<string, number>() };
    entry.bytes.set(String(column), Number(bytes));
    byGroup.set(Number(group), entry);
  }
  let first = 0;
  groups = [...byGroup.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, entry]) => {
      const group = { first, ...entry };
      first += entry.rows;
      return group;
    });
  engine = new QueryEngine({ cacheDir: path.join(root, 'cache'), memoryLimit: '512MB', threads: 2 });
});

afterAll(async () => {
  await engine.close();
  duck.closeSync();
  instance.closeSync();
  fs.rmSync(root, { recursive: true, force: true });
});

const run = (sql: string): Promise<QueryOutcome> =>
  engine.run({ sql, database: DATABASE, catalog, objects, signal: new AbortController().signal, timeoutMs: 60_000 });

const allColumnBytes = () =>
  groups.reduce((total, group) => total + [...group.bytes.values()].reduce((sum, bytes) => sum + bytes, 0), 0);

/** Bytes a reader must read: the file's non-column bytes plus the named columns' chunks of the given row groups. */
function bytesOf(columns: string[], kept: number[]): number {
  const read = kept.reduce(
    (total, index) => total + columns.reduce((sum, column) => sum + (groups[index]!.bytes.get(column) ?? 0), 0),
    0,
  );
  return fileSize - allColumnBytes() + read;
}

/** The row groups holding at least one row that satisfies the DuckDB condition (the truth, from the file). */
async function groupsMatching(condition: string): Promise<number[]> {
  const rows = await rowsOf(
    `SELECT DISTINCT file_row_number FROM read_parquet('${file}', file_row_number = true) WHERE ${condition}`,
  );
  const kept = new Set<number>();
  for (const [row] of rows) {
    const index = groups.findIndex((group) => Number(row) >= group.first && Number(row) < group.first + group.rows);
    kept.add(index);
  }
  return [...kept].sort((a, b) => a - b);
}

const every = () => groups.map((_, index) => index);

test('the fixture has the row groups the tests assume', () => {
  expect(groups).toHaveLength(GROUPS);
  expect(groups.every((group) => group.rows === GROUP_ROWS)).toBe(true);
});

describe('predicates the statistics decide: exactly the row groups that hold a match', () => {
  const cases: [string, string, string, string[]][] = [
    // [name, Athena WHERE, the same condition in DuckDB, columns the query names]
    ['text >= on ts', "ts >= '2026-12-06T06:00'", "ts >= '2026-12-06T06:00'", ['ts']],
    ['< on a number', 'seqno < 3000', 'seqno < 3000', ['seqno']],
    ['constant on the left', '15000 < seqno', '15000 < seqno', ['seqno']],
    ['=', 'seqno = 4100', 'seqno = 4100', ['seqno']],
    ['BETWEEN', 'price BETWEEN 50 AND 70.5', 'price BETWEEN 50 AND 70.5', ['price']],
    ['IN', 'seqno IN (5, 19000)', 'seqno IN (5, 19000)', ['seqno']],
    ['a numeric cast', 'CAST(seqno AS double) > 19000.5', 'CAST(seqno AS DOUBLE) > 19000.5', ['seqno']],
    // The parser turns NOT over a comparison into the opposite comparison: then it is one it understands.
    ['NOT over a comparison', 'NOT (seqno < 19000)', 'seqno >= 19000', ['seqno']],
    ['a keyword as column', '"order" >= 18000', '"order" >= 18000', ['order']],
    [
      'AND with a term it cannot use',
      "seqno > 17000 AND symbol LIKE 'S%'",
      "seqno > 17000 AND symbol LIKE 'S%'",
      ['seqno', 'symbol'],
    ],
    [
      "constant expressions (the named queries' ts term)",
      "ts >= date_format(from_iso8601_timestamp('2026-12-06T06:00:00.000Z') - interval '10' minute, '%Y-%m-%dT%H:%i')",
      "ts >= '2026-12-06T05:50'",
      ['ts'],
    ],
  ];
  test.each(cases)('%s', async (_name, where, truth, columns) => {
    const kept = await groupsMatching(truth);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(GROUPS);
    const outcome = await run(`SELECT count(*) FROM trades WHERE ${where}`);
    const count = (await rowsOf(`SELECT count(*) FROM '${file}' WHERE ${truth}`))[0]![0];
    expect(outcome.rows).toEqual([[String(count)]]);
    expect(outcome.dataScannedBytes).toBe(bytesOf(columns, kept));
  });
});

describe('hostile SQL: never fewer bytes than the row groups a match needs', () => {
  // [name, query, the truth's condition (undefined: every row group of the columns is counted), columns named]
  const cases: [string, string, string[]][] = [
    ['OR', 'SELECT count(*) FROM trades WHERE seqno < 100 OR size = 3', ['seqno', 'size']],
    ['NOT over AND', 'SELECT count(*) FROM trades WHERE NOT (seqno < 19000 AND size < 1000)', ['seqno', 'size']],
    ['NOT BETWEEN', 'SELECT count(*) FROM trades WHERE seqno NOT BETWEEN 0 AND 19000', ['seqno']],
    ['<>', 'SELECT count(*) FROM trades WHERE seqno <> 5', ['seqno']],
    ['NOT IN', 'SELECT count(*) FROM trades WHERE seqno NOT IN (1, 2)', ['seqno']],
    [
      'a cast of text (not order-keeping)',
      "SELECT count(*) FROM trades WHERE CAST(ts AS timestamp) >= TIMESTAMP '2026-12-06 06:00:00'",
      ['ts'],
    ],
    [
      'a function of the column',
      "SELECT count(*) FROM trades WHERE from_iso8601_timestamp(ts) >= from_iso8601_timestamp('2026-12-06T06:00:00Z')",
      ['ts'],
    ],
    ['a cast to text', "SELECT count(*) FROM trades WHERE CAST(seqno AS varchar) >= '9'", ['seqno']],
    ['column against column', 'SELECT count(*) FROM trades WHERE price * 100 > seqno', ['price', 'seqno']],
    ['a nondeterministic constant', 'SELECT count(*) FROM trades WHERE seqno > random() * 30000', ['seqno']],
    ['= NULL', 'SELECT count(*) FROM trades WHERE seqno = NULL', ['seqno']],
    ['IS NULL', 'SELECT count(*) FROM trades WHERE maybe IS NULL', ['maybe']],
  ];
  test.each(cases)('%s counts every row group', async (_name, sql, columns) => {
    const outcome = await run(sql);
    expect(outcome.dataScannedBytes).toBe(bytesOf(columns, every()));
  });

  test('a subquery: its value is not known when the row groups are chosen', async () => {
    const outcome = await run('SELECT count(*) FROM trades WHERE seqno >= (SELECT max(seqno) - 10 FROM trades)');
    expect(outcome.rows).toEqual([['11']]);
    // Two reads of the table, neither pruned.
    expect(outcome.dataScannedBytes).toBe(2 * bytesOf(['seqno'], every()));
  });

  test('a filter inside a subquery prunes that read only', async () => {
    const outcome = await run(
      'SELECT (SELECT count(*) FROM trades WHERE seqno >= 18432), count(*) FROM trades WHERE seqno < 100 OR seqno > 0',
    );
    expect(outcome.rows).toEqual([['2048', String(GROUPS * GROUP_ROWS)]]);
    expect(outcome.dataScannedBytes).toBe(bytesOf(['seqno'], [GROUPS - 1]) + bytesOf(['seqno'], every()));
  });

  test('a NULL-only row group has no statistics and is counted', async () => {
    const kept = await groupsMatching('maybe > 5');
    expect(kept).toEqual([5, 6, 7, 8, 9]);
    const outcome = await run('SELECT count(*) FROM trades WHERE maybe > 5');
    // The first half's row groups hold only NULLs: DuckDB writes no min/max for them, so they are read.
    expect(outcome.dataScannedBytes).toBeGreaterThanOrEqual(bytesOf(['maybe'], kept));
  });

  test('the outer side of an outer join is not pruned by the WHERE', async () => {
    const outcome = await run(
      'SELECT count(*) FROM trades a LEFT JOIN trades b ON a.seqno = b.seqno WHERE b.seqno > 19000',
    );
    expect(outcome.dataScannedBytes).toBe(2 * bytesOf(['seqno'], every()));
  });

  test('SELECT * with a prunable term counts every column of the row groups kept', async () => {
    const kept = await groupsMatching('seqno >= 18432');
    const outcome = await run('SELECT * FROM trades WHERE seqno >= 18432 LIMIT 1');
    expect(outcome.dataScannedBytes).toBe(bytesOf([...groups[0]!.bytes.keys()], kept));
  });
});

describe('columns only an unused column of a WITH query reads are not counted (Trino prunes them)', () => {
  const all = () => [...groups[0]!.bytes.keys()];
  const cases: [string, string, string[]][] = [
    [
      'an item nothing reads',
      'WITH w AS (SELECT *, symbol AS s, CAST(seqno AS varchar) || ts AS o FROM trades) SELECT s, count(*) FROM w GROUP BY s',
      ['symbol'],
    ],
    [
      'the same item read by ORDER BY',
      'WITH w AS (SELECT *, symbol AS s, CAST(seqno AS varchar) || ts AS o FROM trades) SELECT s FROM w ORDER BY o LIMIT 1',
      ['symbol', 'seqno', 'ts'],
    ],
    // A ROW of columns, as the named queries' trade order is: its fields are the columns it reads.
    [
      'a ROW item nothing reads',
      'WITH w AS (SELECT *, symbol AS s, ROW(ts, seqno) AS o FROM trades) SELECT s, count(*) FROM w GROUP BY s',
      ['symbol'],
    ],
    [
      'a ROW item read by min_by',
      'WITH w AS (SELECT *, symbol AS s, ROW(ts, seqno) AS o FROM trades) SELECT s, min_by(price, o) FROM w GROUP BY s',
      ['symbol', 'price', 'seqno', 'ts'],
    ],
    // A * that reaches the result counts every column of the table (as before).
    ['a * outside the WITH query', 'WITH w AS (SELECT symbol AS s, seqno AS o FROM trades) SELECT * FROM w', ['*']],
    [
      'a * in a subquery over it',
      'WITH w AS (SELECT symbol AS s, seqno AS o FROM trades) SELECT s FROM (SELECT * FROM w) AS x',
      ['symbol', 'seqno'],
    ],
    [
      'a WITH query that groups',
      'WITH w AS (SELECT symbol AS s, max(seqno) AS m FROM trades GROUP BY symbol) SELECT s FROM w',
      ['symbol', 'seqno'],
    ],
    [
      'a WITH query with a LIMIT',
      'WITH w AS (SELECT symbol AS s, seqno AS m FROM trades LIMIT 5) SELECT s FROM w',
      ['symbol', 'seqno'],
    ],
    ['a column list', 'WITH w(s, o) AS (SELECT symbol, seqno FROM trades) SELECT s FROM w', ['symbol', 'seqno']],
    [
      'an alias another reference names',
      'WITH w AS (SELECT symbol AS s, seqno AS price FROM trades) SELECT s FROM w WHERE s IN (SELECT symbol FROM trades WHERE price > 0)',
      ['symbol', 'seqno', 'price'],
    ],
  ];
  test.each(cases)('%s', async (_name, sql, columns) => {
    const outcome = await run(sql);
    const reads = (sql.match(/FROM trades/g) ?? []).length;
    const counted = columns[0] === '*' ? all() : columns;
    expect(outcome.dataScannedBytes).toBe(reads * bytesOf(counted, every()));
  });
});
