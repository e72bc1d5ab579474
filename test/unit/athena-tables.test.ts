import type { Table } from '@aws-sdk/client-glue';
import { stringConstant, type JsonObject } from '../../local-aws/athena/engine/ast';
import {
  mapLimit,
  parseS3Location,
  readableObjects,
  resolveTable,
  tableName,
} from '../../local-aws/athena/engine/catalog';
import { QueryFailure } from '../../local-aws/athena/engine/errors';
import {
  conjuncts,
  isPartitionPredicate,
  partitionColumnTest,
  pruningPredicates,
  pruningQuery,
} from '../../local-aws/athena/engine/pruning';
import type { TableReference } from '../../local-aws/athena/engine/table-reference';
import { parseUtilityStatement, tokenize } from '../../local-aws/athena/engine/sql-text';
import {
  compressionOf,
  partitionFormat,
  tableLayout,
  tableSourceSql,
} from '../../local-aws/athena/engine/table-source';
import type { TableCatalog } from '../../local-aws/athena/engine/types';
import { runUtilityStatement } from '../../local-aws/athena/engine/utility';
import { thrownBy } from '../helpers/thrown';

const columns = [
  { Name: 'ts', Type: 'string' },
  { Name: 'Seq', Type: 'int' },
  { Name: 'volume', Type: 'bigint' },
];
const ticks: Table = {
  Name: 'ticks',
  DatabaseName: 'lake',
  PartitionKeys: [
    { Name: 'dt', Type: 'string' },
    { Name: 'hour', Type: 'string' },
  ],
  Parameters: { classification: 'json', compressionType: 'gzip' },
  StorageDescriptor: {
    Columns: columns,
    Location: 's3://lake/raw/ticks/',
    SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
  },
};
const partitions = [
  { Values: ['2024-01-01', '00'], StorageDescriptor: { Location: 's3://lake/raw/ticks/dt=2024-01-01/hour=00/' } },
];
const catalog: TableCatalog = {
  getTable: (database, table) =>
    database !== 'lake'
      ? { missing: 'database' }
      : table === 'ticks'
        ? { table: ticks, partitions }
        : { missing: 'table' },
  listDatabases: () => ['lake', 'default'],
  listTables: (database) => (database === 'lake' ? ['ticks', 'trades'] : undefined),
};
const object = (key: string, size = 10) => ({ bucket: 'lake', key, size, etag: '"e"' });
const failure = (run: () => unknown) => thrownBy<QueryFailure>(run);

test('table names resolve through the catalog, failing as Athena does', () => {
  expect(tableName({ table: 'Ticks' }, 'Lake')).toEqual({
    catalog: 'awsdatacatalog',
    database: 'lake',
    table: 'ticks',
  });
  expect(resolveTable(catalog, tableName({ schema: 'lake', table: 'ticks' }, 'default')).table).toBe(ticks);
  expect(
    failure(() => resolveTable(catalog, tableName({ table: 'nope' }, 'lake'), { line: 1, column: 15 })).message,
  ).toBe("TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.lake.nope' does not exist");
  expect(failure(() => resolveTable(catalog, tableName({ schema: 'db', table: 't' }, 'lake'))).message).toBe(
    "SCHEMA_NOT_FOUND: Schema 'db' does not exist",
  );
  expect(failure(() => resolveTable(catalog, tableName({ catalog: 'hive', table: 't' }, 'lake'))).message).toMatch(
    /CATALOG_NOT_FOUND: Catalog 'hive'/,
  );
});

test('S3 locations and the objects Hive reads under them', () => {
  expect(parseS3Location('s3://lake/raw/ticks')).toEqual({ bucket: 'lake', prefix: 'raw/ticks/' });
  expect(parseS3Location('s3a://lake/')).toEqual({ bucket: 'lake', prefix: '' });
  expect(parseS3Location('/local/path')).toBeUndefined();
  const listed = [
    object('raw/ticks/a.gz'),
    object('raw/ticks/empty.gz', 0),
    object('raw/ticks/_SUCCESS'),
    object('raw/ticks/.a.gz.crc'),
    object('raw/ticks/_temporary/0/b.gz'),
    object('raw/ticks/sub/c.gz'),
    object('raw/ticks/dir/'),
    object('raw/ticks_$folder$'),
  ];
  expect(readableObjects(listed, 'raw/ticks/').map((o) => o.key)).toEqual(['raw/ticks/a.gz', 'raw/ticks/sub/c.gz']);
});

test('mapLimit keeps order and the limit', async () => {
  let running = 0;
  let peak = 0;
  const results = await mapLimit([5, 1, 3, 2], 2, async (n) => {
    peak = Math.max(peak, ++running);
    await new Promise((resolve) => setTimeout(resolve, n));
    running--;
    return n * 10;
  });
  expect(results).toEqual([50, 10, 30, 20]);
  expect(peak).toBe(2);
});

test('layouts come from the SerDe', () => {
  const json = tableLayout(ticks);
  expect(json).toMatchObject({ format: 'json', ignoreMalformedJson: false });
  expect(json.columns).toEqual([
    { name: 'ts', type: 'VARCHAR' },
    { name: 'seq', type: 'INTEGER' },
    { name: 'volume', type: 'BIGINT' },
  ]);
  const csv = tableLayout({
    ...ticks,
    PartitionKeys: [],
    Parameters: { classification: 'csv', 'skip.header.line.count': '1' },
    StorageDescriptor: {
      ...ticks.StorageDescriptor,
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
        Parameters: { 'field.delim': '|' },
      },
    },
  });
  expect(csv).toMatchObject({
    format: 'csv',
    csv: { delimiter: '|', quote: '', skipHeaderLines: 1, nullString: '\\N' },
  });
  const openCsv = tableLayout({
    ...ticks,
    StorageDescriptor: {
      ...ticks.StorageDescriptor,
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
        Parameters: { separatorChar: ';' },
      },
    },
  });
  expect(openCsv.csv).toMatchObject({ delimiter: ';', quote: '"', escape: '\\' });
  const parquet = tableLayout({
    ...ticks,
    StorageDescriptor: {
      ...ticks.StorageDescriptor,
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    },
  });
  expect(parquet.format).toBe('parquet');
  const ignoring = tableLayout({
    ...ticks,
    StorageDescriptor: {
      ...ticks.StorageDescriptor,
      SerdeInfo: {
        SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        Parameters: { 'ignore.malformed.json': 'TRUE', 'mapping.seq': 'sequence' },
      },
    },
  });
  expect(ignoring).toMatchObject({ ignoreMalformedJson: true, jsonKeys: { seq: 'sequence' } });
  const avro = { ...ticks, Parameters: {}, StorageDescriptor: { SerdeInfo: { SerializationLibrary: 'x.AvroSerDe' } } };
  expect(failure(() => tableLayout(avro)).message).toMatch(/NOT_SUPPORTED: .*SerDe 'x.avroserde'/);
});

test('compression follows the file extension', () => {
  expect(compressionOf(object('a.jsonl.gz'))).toBe('gzip');
  expect(compressionOf(object('a.json.zst'))).toBe('zstd');
  expect(compressionOf(object('a.json'))).toBe('uncompressed');
  expect(failure(() => compressionOf(object('a.json.bz2'))).message).toMatch(
    /HIVE_UNSUPPORTED_FORMAT: Compression codec '.bz2' .* \(object s3:\/\/lake\/a.json.bz2\)/,
  );
});

test('a JSON source reads each column by its spelling in the files and joins partition values on the file', () => {
  const layout = tableLayout(ticks);
  const scanFile = (file: string, keys: string[]) => ({
    file,
    object: object(`${file}.gz`),
    format: 'json' as const,
    profile: { keys },
  });
  const sql = tableSourceSql(layout, [
    { values: ['2024-01-01', '00'], files: [scanFile('/c/a', ['ts', 'SEQ', 'volume'])] },
    { values: ['2024-01-01', '01'], files: [scanFile('/c/b', ['ts', 'SEQ', 'volume'])] },
  ]);
  expect(sql).toContain(
    `read_json(['/c/a', '/c/b'], columns = {'ts': 'VARCHAR', 'SEQ': 'INTEGER', 'volume': 'BIGINT'}`,
  );
  expect(sql).toContain(`"SEQ" AS "seq"`);
  expect(sql).toContain("compression = 'gzip'");
  expect(sql).toContain("filename = '__athena_file'");
  expect(sql).toContain(
    "(VALUES ('/c/a', TRY_CAST('2024-01-01' AS VARCHAR), TRY_CAST('00' AS VARCHAR)), ('/c/b', TRY_CAST('2024-01-01' AS VARCHAR), TRY_CAST('01' AS VARCHAR)))",
  );
  // Files whose keys are spelled differently are read by separate calls.
  const mixed = tableSourceSql(layout, [
    { values: ['2024-01-01', '00'], files: [scanFile('/c/a', ['seq']), scanFile('/c/b', ['SEQ'])] },
  ]);
  expect(mixed.split(' UNION ALL ')).toHaveLength(2);
  // Files of one partition only: its values are constants, no file column, no join.
  const single = tableSourceSql(layout, [
    { values: ['2024-01-01', '00'], files: [scanFile('/c/a', ['seq']), scanFile('/c/b', ['seq'])] },
  ]);
  expect(single).toContain(`TRY_CAST('2024-01-01' AS VARCHAR) AS "dt", TRY_CAST('00' AS VARCHAR) AS "hour" FROM (`);
  expect(single).not.toMatch(/JOIN|__athena_file/);
  expect(tableSourceSql(layout, [])).toBe(
    'SELECT CAST(NULL AS VARCHAR) AS "ts", CAST(NULL AS INTEGER) AS "seq", CAST(NULL AS BIGINT) AS "volume", CAST(NULL AS VARCHAR) AS "dt", CAST(NULL AS VARCHAR) AS "hour" WHERE false',
  );
});

test('a partition whose storage names another SerDe is read in its own format (a compacted hour in a JSON table)', () => {
  const parquetStorage = {
    Location: 's3://lake/curated/ticks/dt=2024-01-01/hour=00/v=1/',
    InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  };
  expect(partitionFormat(ticks, parquetStorage)).toBe('parquet');
  expect(partitionFormat(ticks, { Location: 's3://lake/raw/ticks/dt=2024-01-01/hour=01/' })).toBe('json');
  const layout = tableLayout(ticks);
  const sql = tableSourceSql(layout, [
    {
      values: ['2024-01-01', '00'],
      files: [{ file: '/c/p', object: object('p.parquet'), format: 'parquet', profile: { keys: ['ts', 'seq'] } }],
    },
    {
      values: ['2024-01-01', '01'],
      files: [{ file: '/c/j', object: object('j.gz'), format: 'json', profile: { keys: ['ts', 'seq'] } }],
    },
  ]);
  const parts = sql.split(' UNION ALL ');
  expect(parts).toHaveLength(2);
  expect(parts[0]).toContain("read_parquet(['/c/p']");
  expect(parts[0]).toContain('CAST(NULL AS BIGINT) AS "volume"');
  expect(parts[1]).toContain("read_json(['/c/j']");
});

const columnRef = (...names: string[]): JsonObject => ({
  class: 'COLUMN_REF',
  type: 'COLUMN_REF',
  column_names: names,
});
const compare = (type: string, left: JsonObject, right: JsonObject): JsonObject => ({
  class: 'COMPARISON',
  type,
  left,
  right,
});

test('WHERE terms about partition keys alone choose partitions; others do not', () => {
  const dtTerm = compare('COMPARE_EQUAL', columnRef('dt'), stringConstant('2024-01-01'));
  const hourTerm = compare('COMPARE_GREATERTHAN', columnRef('t', 'hour'), stringConstant('03'));
  const volumeTerm = compare('COMPARE_GREATERTHAN', columnRef('volume'), stringConstant('3'));
  const mixedOr = { class: 'CONJUNCTION', type: 'CONJUNCTION_OR', children: [dtTerm, volumeTerm] };
  const random = { class: 'FUNCTION', function_name: 'random', children: [] };
  const where = { class: 'CONJUNCTION', type: 'CONJUNCTION_AND', children: [dtTerm, hourTerm, volumeTerm, mixedOr] };
  expect(conjuncts(where)).toEqual([dtTerm, hourTerm, volumeTerm, mixedOr]);
  const table: TableReference = {
    node: {},
    catalog: '',
    schema: '',
    table: 'ticks',
    alias: 'T',
    location: 0,
    from: { select: { where_clause: where }, items: [{}] },
    preserved: true,
  };
  const keys = [
    { name: 'dt', type: 'VARCHAR' },
    { name: 'hour', type: 'VARCHAR' },
  ];
  const isKey = partitionColumnTest(table, keys, () => false);
  expect(isPartitionPredicate(compare('COMPARE_EQUAL', columnRef('dt'), random), isKey)).toBe(false);
  expect(pruningPredicates(table, isKey)).toEqual([dtTerm, hourTerm]);
  // On the NULL side of an outer join, or when another FROM item may have a `dt` column, nothing prunes.
  expect(pruningPredicates({ ...table, preserved: false }, isKey)).toEqual([]);
  expect(
    pruningPredicates(
      table,
      partitionColumnTest(table, keys, () => true),
    ),
  ).toEqual([hourTerm]);
});

test('the pruning query numbers the partitions and filters them under the table alias', () => {
  const sql = pruningQuery(
    'T',
    [{ name: 'dt', type: 'DATE' }],
    [['2024-01-01'], ['__HIVE_DEFAULT_PARTITION__']],
    'dt > x',
  );
  expect(sql).toBe(
    `SELECT "__athena_partition_index" FROM (VALUES (0, TRY_CAST('2024-01-01' AS DATE)), (1, CAST(NULL AS DATE))) AS "T"("__athena_partition_index", "dt") WHERE dt > x`,
  );
});

test('utility statements answer from the catalog', () => {
  const run = (sql: string) =>
    runUtilityStatement(parseUtilityStatement(sql, tokenize(sql)), { sql, database: 'lake', catalog });
  expect(run("SHOW TABLES 'tick*'")).toEqual({
    statementType: 'DDL',
    columns: [{ name: 'tab_name', type: 'string', precision: 0, scale: 0, nullable: 'UNKNOWN' }],
    rows: [['ticks']],
  });
  expect(run('SHOW DATABASES').rows).toEqual([['default'], ['lake']]);
  expect(run('SHOW PARTITIONS ticks').rows).toEqual([['dt=2024-01-01/hour=00']]);
  expect(run('SHOW COLUMNS IN ticks').rows.flat()).toEqual(['ts', 'Seq', 'volume', 'dt', 'hour']);
  const described = run('DESCRIBE lake.ticks');
  expect(described.statementType).toBe('UTILITY');
  expect(described.rows.slice(0, 2)).toEqual([
    ['ts', 'string', ''],
    ['Seq', 'int', ''],
  ]);
  expect(described.rows).toContainEqual(['# Partition Information', '', '']);
  expect(failure(() => run('SHOW TABLES IN nope')).message).toBe(
    "SCHEMA_NOT_FOUND: line 1:16: Schema 'nope' does not exist",
  );
  expect(failure(() => run('DESCRIBE missing')).message).toBe(
    "TABLE_NOT_FOUND: line 1:10: Table 'awsdatacatalog.lake.missing' does not exist",
  );
});
