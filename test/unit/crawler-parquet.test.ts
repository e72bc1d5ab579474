import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { SchemaElement, SchemaTree } from 'hyparquet' with { 'resolution-mode': 'import' };
import type { CrawlResult } from '../../local-aws/glue/crawler';
import { parquetFields } from '../../local-aws/glue/crawler/parquet';
import { toColumns } from '../../local-aws/glue/crawler/schema';

/**
 * hyparquet and hyparquet-writer are ES modules, which jest (CommonJS, no
 * transform of node_modules) cannot load. The crawls over Parquet fixtures
 * therefore run in a child Node process with tsx, as the service runs the
 * engine, and report their results as JSON.
 */
const CHILD = String.raw`
const { crawlTargets } = require('./local-aws/glue/crawler');
const { memoryObjectReader } = require('./test/helpers/memory-reader');
(async () => {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const write = (options) => Buffer.from(parquetWriteBuffer(options));
  const flat = write({
    columnData: [
      { name: 'Symbol', data: ['NYA', 'IXIC'], type: 'STRING' },
      { name: 'price', data: [1.5, 2.25], type: 'DOUBLE' },
      { name: 'volume', data: [100n, 200n], type: 'INT64' },
      { name: 'n', data: [1, 2], type: 'INT32' },
      { name: 'flag', data: [true, false], type: 'BOOLEAN' },
      { name: 'small', data: [1.5, 2.5], type: 'FLOAT' },
      { name: 'raw', data: [new Uint8Array([1]), new Uint8Array([2])], type: 'BYTE_ARRAY' },
      { name: 'at', data: [new Date(0), new Date(1000)], type: 'TIMESTAMP' },
    ],
  });
  const nested = write({
    columnData: [
      { name: 'quote', data: [{ bid: 1.5, ask: 1.6 }, { bid: 2.5, ask: 2.6 }] },
      { name: 'tags', data: [['a', 'b'], ['c']] },
      { name: 'attrs', data: [{ a: 1 }, { b: 2 }] },
      { name: 'day', data: [new Date(0), new Date(86400000)] },
      { name: 'amount', data: [1.23, 4.56] },
    ],
    schema: [
      { name: 'root', num_children: 5 },
      { name: 'quote', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bid', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'ask', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'tags', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'attrs', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'MAP' },
      { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
      { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'value', type: 'INT32', repetition_type: 'OPTIONAL' },
      { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
      { name: 'amount', type: 'INT64', converted_type: 'DECIMAL', precision: 10, scale: 2, repetition_type: 'OPTIONAL' },
    ],
  });
  const rows = 300000;
  const big = write({
    columnData: [
      { name: 'seq', data: Int32Array.from({ length: rows }, (_, i) => (i * 7919) % 1000003), type: 'INT32' },
      { name: 'symbol', data: Array.from({ length: rows }, (_, i) => 'sym' + ((i * 31) % 9973)), type: 'STRING' },
    ],
  });
  const objects = {
    'pq/flat/part-0.parquet': flat,
    'pq/nested/part-0.parquet': nested,
    'big/t/dt=2024-01-01/part-0.parquet': big,
    'big/t/dt=2024-01-02/part-0.parquet': big,
    'broken/t/dt=2024-01-01/part-0.parquet': flat,
    'broken/t/dt=2024-01-02/part-0.parquet': Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7)]),
  };
  const reader = memoryObjectReader({ lake: objects });
  const results = {};
  for (const prefix of ['pq/', 'big/t/', 'broken/t/']) {
    results[prefix] = await crawlTargets(
      {
        targets: [{ path: 's3://lake/' + prefix, exclusions: [] }],
        tablePrefix: '',
        grouping: { combineCompatibleSchemas: false },
        signal: AbortSignal.timeout(60000),
        log: () => undefined,
      },
      reader,
    );
  }
  process.stdout.write(
    JSON.stringify({ results, bytesRead: Object.fromEntries(reader.bytesRead), bigSize: big.length }),
  );
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

interface ChildOutput {
  results: Record<string, CrawlResult>;
  bytesRead: Record<string, number>;
  bigSize: number;
}

let output: ChildOutput;

beforeAll(() => {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '-e', CHILD], {
    cwd: path.resolve(__dirname, '../..'),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  output = JSON.parse(stdout) as ChildOutput;
});

const table = (prefix: string, name: string) => {
  const found = output.results[prefix]?.tables.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no table ${name} under ${prefix}`);
  return found;
};
const columnsOf = (columns: { Name?: string; Type?: string }[] | undefined) =>
  Object.fromEntries((columns ?? []).map((column) => [column.Name, column.Type]));

test('the schema comes from the footer, with Glue type names and lowercased column names', () => {
  const flat = table('pq/', 'flat');
  expect(flat.columns).toEqual([
    { Name: 'symbol', Type: 'string' },
    { Name: 'price', Type: 'double' },
    { Name: 'volume', Type: 'bigint' },
    { Name: 'n', Type: 'int' },
    { Name: 'flag', Type: 'boolean' },
    { Name: 'small', Type: 'float' },
    { Name: 'raw', Type: 'binary' },
    { Name: 'at', Type: 'timestamp' },
  ]);
  expect(flat.parameters).toMatchObject({ classification: 'parquet', compressionType: 'none', recordCount: '2' });
  expect(flat.storageDescriptor).toMatchObject({
    InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    SerdeInfo: {
      SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      Parameters: { 'serialization.format': '1' },
    },
    Compressed: false,
  });
});

test('groups become struct, LIST array, MAP map; DATE and DECIMAL keep their logical types', () => {
  expect(columnsOf(table('pq/', 'nested').columns)).toEqual({
    quote: 'struct<bid:double,ask:double>',
    tags: 'array<string>',
    attrs: 'map<string,int>',
    day: 'date',
    amount: 'decimal(10,2)',
  });
});

test('only the footer of a large Parquet object is read; its row count is exact', () => {
  const key = 'big/t/dt=2024-01-01/part-0.parquet';
  expect(output.bigSize).toBeGreaterThan(1024 * 1024);
  expect(output.bytesRead[key]).toBeLessThan(output.bigSize / 10);
  const big = table('big/t/', 't');
  expect(big.parameters).toMatchObject({ recordCount: '600000', objectCount: '2' });
  expect(big.partitions.map((partition) => partition.values)).toEqual([['2024-01-01'], ['2024-01-02']]);
});

test('an object with the Parquet magic but no valid footer is skipped', () => {
  const result = output.results['broken/t/']!;
  expect(result.skipped).toEqual([
    { key: 's3://lake/broken/t/dt=2024-01-02/part-0.parquet', reason: expect.stringMatching(/not valid Parquet/) },
  ]);
  expect(table('broken/t/', 't').partitions.map((partition) => partition.values)).toEqual([['2024-01-01']]);
});

describe('legacy Parquet layouts (schema trees built by hand)', () => {
  const node = (element: SchemaElement, children: SchemaTree[] = []): SchemaTree => ({
    element: { ...element, num_children: children.length || undefined },
    children,
    count: 1 + children.reduce((total, child) => total + child.count, 0),
    path: [],
  });
  const columns = (...children: SchemaTree[]) => columnsOf(toColumns(parquetFields(node({ name: 'root' }, children))));

  test('a repeated field outside a LIST is an array; two-level lists take the repeated field as the element', () => {
    expect(
      columns(
        node({ name: 'scores', type: 'INT32', repetition_type: 'REPEATED' }),
        node({ name: 'legacy', converted_type: 'LIST', repetition_type: 'OPTIONAL' }, [
          node({ name: 'array', repetition_type: 'REPEATED' }, [node({ name: 'x', type: 'INT64' })]),
        ]),
        node({ name: 'points', converted_type: 'LIST' }, [
          node({ name: 'element', repetition_type: 'REPEATED' }, [
            node({ name: 'x', type: 'DOUBLE' }),
            node({ name: 'y', type: 'DOUBLE' }),
          ]),
        ]),
        node({ name: 'bare', converted_type: 'LIST' }, [
          node({ name: 'item', type: 'FLOAT', repetition_type: 'REPEATED' }),
        ]),
      ),
    ).toEqual({
      scores: 'array<int>',
      legacy: 'array<struct<x:bigint>>',
      points: 'array<struct<x:double,y:double>>',
      bare: 'array<float>',
    });
  });

  test('logical and converted integer, timestamp and string annotations', () => {
    expect(
      columns(
        node({ name: 'tiny', type: 'INT32', converted_type: 'INT_8' }),
        node({ name: 'u16', type: 'INT32', logical_type: { type: 'INTEGER', bitWidth: 16, isSigned: false } }),
        node({
          name: 'nanos',
          type: 'INT64',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'NANOS' },
        }),
        node({ name: 'legacy_ts', type: 'INT96' }),
        node({ name: 'doc', type: 'BYTE_ARRAY', converted_type: 'JSON' }),
        node({ name: 'id', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' } }),
        node({
          name: 'price',
          type: 'FIXED_LEN_BYTE_ARRAY',
          logical_type: { type: 'DECIMAL', precision: 18, scale: 4 },
        }),
      ),
    ).toEqual({
      tiny: 'tinyint',
      u16: 'int',
      nanos: 'timestamp',
      legacy_ts: 'timestamp',
      doc: 'string',
      id: 'string',
      price: 'decimal(18,4)',
    });
  });
});
