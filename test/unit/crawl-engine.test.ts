import { gzipSync } from 'node:zlib';
import { crawlTargets, type CrawlRequest, type ObjectReader } from '../../local-aws/glue/engine';
import { mergeTypes, renderType, typeOfJson } from '../../local-aws/glue/engine/schema';

/** An in-memory bucket behind the engine's reader interface, counting what is read. */
function memoryReader(objects: Record<string, Buffer | string>) {
  const reads: string[] = [];
  const reader: ObjectReader = {
    async *list(bucket, prefix) {
      for (const key of Object.keys(objects).sort()) {
        if (key.startsWith(`${bucket}/${prefix}`))
          yield { key: key.slice(bucket.length + 1), size: Buffer.byteLength(objects[key]!) };
      }
      await Promise.resolve();
    },
    read(bucket, key, _signal, range) {
      reads.push(key);
      const body = Buffer.from(objects[`${bucket}/${key}`]!);
      return Promise.resolve(range ? body.subarray(range.start, range.end + 1) : body);
    },
  };
  return { reader, reads };
}

const request = (paths: string[], overrides: Partial<CrawlRequest> = {}): CrawlRequest => ({
  targets: paths.map((path) => ({ path, exclusions: [] })),
  tablePrefix: '',
  grouping: { combineCompatibleSchemas: false },
  signal: new AbortController().signal,
  log: () => undefined,
  ...overrides,
});

const lines = (...records: object[]) => records.map((record) => JSON.stringify(record)).join('\n') + '\n';
const columns = (table: { columns: { Name?: string; Type?: string }[] } | undefined) =>
  Object.fromEntries((table?.columns ?? []).map((column) => [column.Name, column.Type]));

describe('types', () => {
  test('JSON values get Glue types and merge as Glue merges them', () => {
    expect(renderType(typeOfJson(1))).toBe('int');
    expect(renderType(typeOfJson(2 ** 40))).toBe('bigint');
    expect(renderType(typeOfJson(1.5))).toBe('double');
    expect(renderType(typeOfJson({ A: [1, 2 ** 40], b: { c: true } }))).toBe(
      'struct<a:array<bigint>,b:struct<c:boolean>>',
    );
    expect(renderType(mergeTypes(typeOfJson(1), typeOfJson(1.5)))).toBe('double');
    expect(renderType(mergeTypes(typeOfJson(1), typeOfJson('x')))).toBe('string');
    expect(renderType(mergeTypes(typeOfJson(null), typeOfJson(true)))).toBe('boolean');
    expect(renderType(typeOfJson(null))).toBe('string');
    expect(renderType(mergeTypes(typeOfJson({ a: 1 }), typeOfJson({ b: 's', a: 2 ** 40 })))).toBe(
      'struct<a:bigint,b:string>',
    );
  });
});

describe('classification', () => {
  test('gzip JSON Lines in dt/hour folders make one partitioned table with estimated counts', async () => {
    const { reader } = memoryReader({
      'lake/raw/ticks/dt=2024-01-01/hour=00/a.jsonl.gz': gzipSync(
        lines({ ts: 't', seq: 1, Price: 1 }, { ts: 't', seq: 2, Price: 1.5 }),
      ),
      'lake/raw/ticks/dt=2024-01-01/hour=01/b.jsonl.gz': gzipSync(
        lines({ ts: 't', seq: 2 ** 40, price: 2, extra: [1] }),
      ),
    });
    const { tables, crawledFolders } = await crawlTargets(request(['s3://lake/raw/ticks/']), reader);
    expect(tables).toHaveLength(1);
    const [table] = tables;
    expect(table).toMatchObject({ name: 'ticks', location: 's3://lake/raw/ticks/' });
    expect(columns(table)).toEqual({ ts: 'string', seq: 'bigint', price: 'double', extra: 'array<int>' });
    expect(table!.partitionKeys).toEqual([
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ]);
    expect(table!.parameters).toMatchObject({
      classification: 'json',
      compressionType: 'gzip',
      recordCount: '3',
      objectCount: '2',
    });
    expect(table!.partitions.map((partition) => [partition.values, partition.storageDescriptor.Location])).toEqual([
      [['2024-01-01', '00'], 's3://lake/raw/ticks/dt=2024-01-01/hour=00/'],
      [['2024-01-01', '01'], 's3://lake/raw/ticks/dt=2024-01-01/hour=01/'],
    ]);
    // Each partition keeps its own columns.
    expect(table!.partitions[0]!.storageDescriptor.Columns!.map((column) => column.Name)).toEqual([
      'ts',
      'seq',
      'price',
    ]);
    expect(crawledFolders).toEqual([
      's3://lake/raw/ticks/dt=2024-01-01/hour=00/',
      's3://lake/raw/ticks/dt=2024-01-01/hour=01/',
    ]);
  });

  test("CSV: Glue's header rules, delimiters and quoting", async () => {
    const { reader } = memoryReader({
      'b/h/a.csv': 'Symbol,Price,Volume\nNYA,1.5,100\nIXIC,2,200\n',
      'b/n/a.tsv': 'NYA\t1.5\t100\nIXIC\t2\t200\n',
      'b/s/a.csv': 'name;city\nann;paris\nbob;rome\n',
      'b/q/a.csv': 'sym,note\n"NYA","a, b"\n"IXIC",1\n',
    });
    const { tables } = await crawlTargets(request(['s3://b/h/', 's3://b/n/', 's3://b/s/', 's3://b/q/']), reader);
    const byName = Object.fromEntries(tables.map((table) => [table.name, table]));
    expect(columns(byName.h)).toEqual({ symbol: 'string', price: 'double', volume: 'bigint' });
    expect(byName.h!.parameters).toMatchObject({
      classification: 'csv',
      delimiter: ',',
      'skip.header.line.count': '1',
    });
    expect(byName.n!.storageDescriptor.SerdeInfo).toEqual({
      SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
      Parameters: { 'field.delim': '\t' },
    });
    expect(Object.keys(columns(byName.n))).toEqual(['col0', 'col1', 'col2']);
    // All strings: the first row is not different enough to be a header.
    expect(Object.keys(columns(byName.s))).toEqual(['col0', 'col1']);
    expect(byName.s!.parameters.delimiter).toBe(';');
    expect(byName.q!.storageDescriptor.SerdeInfo?.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.serde2.OpenCSVSerde',
    );
    expect(byName.q!.parameters.areColumnsQuoted).toBe('true');
  });

  test('unreadable objects are skipped and reported; ignored names, exclusions and empty prefixes give nothing', async () => {
    const { reader, reads } = memoryReader({
      'b/t/good.json': lines({ a: 1 }),
      'b/t/bad.json.gz': Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]),
      'b/t/_SUCCESS': 'x',
      'b/t/.hidden': 'x',
      'b/t/skip.csv': 'a,b\n1,2\n3,4\n',
      'b/t/empty': '',
    });
    const warnings: string[] = [];
    const result = await crawlTargets(
      request([], {
        targets: [{ path: 's3://b/t/', exclusions: ['**.csv'] }],
        log: (_level, message) => warnings.push(message),
      }),
      reader,
    );
    expect(result.skipped).toEqual([
      { key: 't/bad.json.gz', reason: expect.stringMatching(/not a valid gzip stream/) },
    ]);
    expect(warnings.join('\n')).toContain('s3://b/t/bad.json.gz');
    expect(result.tables.map((table) => [table.name, columns(table)])).toEqual([['t', { a: 'int' }]]);
    expect(new Set(reads)).toEqual(new Set(['t/good.json', 't/bad.json.gz']));
    expect((await crawlTargets(request(['s3://b/nothing/']), reader)).tables).toEqual([]);
  });
});

describe('grouping', () => {
  const objects = {
    'b/data/trades/dt=1/a.json': lines({ sym: 'a', qty: 1, px: 1.5 }),
    'b/data/trades/dt=2/a.json': lines({ sym: 'b', qty: 2, px: 2.5, venue: 'x' }),
    'b/data/users/u.json': lines({ id: 1, email: 'e', name: 'n', age: 3 }),
    'b/data/users/v.json': lines({ id: 2, email: 'f', name: 'm', age: 4 }),
  };

  test('dissimilar sibling folders become separate tables; similar ones partitions', async () => {
    const { tables } = await crawlTargets(request(['s3://b/data/']), memoryReader(objects).reader);
    expect(
      tables.map((table) => [table.name, table.partitionKeys.map((key) => key.Name), table.partitions.length]),
    ).toEqual([
      ['trades', ['dt'], 2],
      ['users', [], 0],
    ]);
    expect(columns(tables[0])).toEqual({ sym: 'string', qty: 'int', px: 'double', venue: 'string' });
  });

  test('CombineCompatibleSchemas makes one table of the include path; TableLevelConfiguration fixes the level', async () => {
    const { reader } = memoryReader({
      'b/data/trades/a.json': lines({ sym: 'a' }),
      'b/data/quotes/a.json': lines({ bid: 1, ask: 2, size: 3, venue: 'x' }),
    });
    const combined = await crawlTargets(
      request(['s3://b/data/'], { grouping: { combineCompatibleSchemas: true } }),
      reader,
    );
    expect(combined.tables.map((table) => [table.name, table.partitionKeys.map((key) => key.Name)])).toEqual([
      ['data', ['partition_0']],
    ]);
    const levelled = await crawlTargets(
      request(['s3://b/data/'], { grouping: { combineCompatibleSchemas: false, tableLevel: 2 } }),
      reader,
    );
    expect(levelled.tables.map((table) => table.name)).toEqual(['data']);
    const deeper = await crawlTargets(
      request(['s3://b/data/'], { grouping: { combineCompatibleSchemas: false, tableLevel: 3 } }),
      reader,
    );
    expect(deeper.tables.map((table) => table.name)).toEqual(['quotes', 'trades']);
  });

  test('plain folders give partition_N keys; clashing names get a hash; a prefix is applied', async () => {
    const { reader } = memoryReader({
      'b/x/logs/2024/01/a.json': lines({ a: 1 }),
      'b/x/logs/2024/02/a.json': lines({ a: 2 }),
      'b/y/logs/a.csv': 'p,q\n1,2\n3,4\n',
    });
    const { tables } = await crawlTargets(
      request(['s3://b/x/logs/', 's3://b/y/logs/'], { tablePrefix: 'raw_' }),
      reader,
    );
    expect(tables[0]).toMatchObject({
      name: 'raw_logs',
      partitionKeys: [{ Name: 'partition_0' }, { Name: 'partition_1' }],
    });
    expect(tables[0]!.partitions.map((partition) => partition.values)).toEqual([
      ['2024', '01'],
      ['2024', '02'],
    ]);
    expect(tables[1]!.name).toMatch(/^raw_logs_[0-9a-f]{8}$/);
  });

  test('SampleSize reads that many files per folder; skipFolders are not read at all', async () => {
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`b/t/dt=1/${i}.json`, lines({ i }, { i })]));
    const { reader, reads } = memoryReader({ ...many, 'b/t/dt=2/z.json': lines({ i: 1 }) });
    const sampled = await crawlTargets(
      request([], { targets: [{ path: 's3://b/t/', exclusions: [], sampleSize: 2 }] }),
      reader,
    );
    expect(new Set(reads.filter((key) => key.startsWith('t/dt=1/')))).toEqual(
      new Set(['t/dt=1/0.json', 't/dt=1/1.json']),
    );
    expect(sampled.tables[0]!.parameters).toMatchObject({ objectCount: '7', recordCount: '13' });

    reads.length = 0;
    const incremental = await crawlTargets(
      request(['s3://b/t/'], { skipFolders: new Set(['s3://b/t/dt=1/']) }),
      reader,
    );
    expect(reads).toEqual(['t/dt=2/z.json', 't/dt=2/z.json']);
    expect(incremental.tables[0]!.partitions.map((partition) => partition.values)).toEqual([['2']]);
  });

  test('a stopped crawl stops', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    await expect(
      crawlTargets(request(['s3://b/data/'], { signal: controller.signal }), memoryReader(objects).reader),
    ).rejects.toThrow('stopped');
  });
});
