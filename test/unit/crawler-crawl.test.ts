import crypto from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CrawledTable, CrawlRequest, CrawlResult } from '../../local-aws/glue/crawler';
import { crawlTargets, S3AccessError } from '../../local-aws/glue/crawler';
import { memoryObjectReader, type MemoryObjectReader } from '../helpers/memory-reader';

type Objects = Record<string, Buffer | string>;
type LogEntry = { level: 'info' | 'warn'; message: string; fields?: Record<string, unknown> };

const BUCKET = 'ticksync-lake';

interface Crawl extends CrawlResult {
  reader: MemoryObjectReader;
  logs: LogEntry[];
  table(name: string): CrawledTable;
}

async function crawl(
  objects: Objects,
  paths: string | (string | { path: string; exclusions?: string[]; sampleSize?: number })[],
  options: Partial<Omit<CrawlRequest, 'targets' | 'log'>> & { reader?: MemoryObjectReader } = {},
): Promise<Crawl> {
  const reader = options.reader ?? memoryObjectReader({ [BUCKET]: objects });
  const logs: LogEntry[] = [];
  const targets = (Array.isArray(paths) ? paths : [paths]).map((target) =>
    typeof target === 'string'
      ? { path: `s3://${BUCKET}/${target}`, exclusions: [] }
      : { exclusions: [], ...target, path: `s3://${BUCKET}/${target.path}` },
  );
  const result = await crawlTargets(
    {
      targets,
      tablePrefix: options.tablePrefix ?? '',
      grouping: options.grouping ?? { combineCompatibleSchemas: false },
      skipFolders: options.skipFolders,
      signal: options.signal ?? new AbortController().signal,
      log: (level, message, fields) => logs.push({ level, message, fields }),
    },
    reader,
  );
  return {
    ...result,
    reader,
    logs,
    table(name) {
      const found = result.tables.find((table) => table.name === name);
      if (!found) throw new Error(`no table ${name}; tables: ${result.tables.map((table) => table.name).join(', ')}`);
      return found;
    },
  };
}

const tick = (seq: number, extra: Record<string, unknown> = {}) => ({
  ts: `2024-01-02T03:04:${String(seq % 60).padStart(2, '0')}.000Z`,
  run_id: 'r1',
  seq,
  symbol: 'NYA',
  open: 1.5,
  volume: 123,
  ...extra,
});
const jsonLines = (records: object[]) => `${records.map((record) => JSON.stringify(record)).join('\n')}\n`;
const gzipLines = (records: object[]) => gzipSync(jsonLines(records));
const columnsOf = (table: { columns?: { Name?: string; Type?: string }[] }) =>
  Object.fromEntries((table.columns ?? []).map((column) => [column.Name, column.Type]));
const names = (result: CrawlResult) => result.tables.map((table) => table.name).sort();

describe('the lake: gzip JSON Lines under dt=/hour=', () => {
  const objects: Objects = {
    'raw/ticks/dt=2024-01-02/hour=03/ticks+0+0.jsonl.gz': gzipLines([tick(1), tick(2), tick(3)]),
    'raw/ticks/dt=2024-01-02/hour=03/ticks+1+0.jsonl.gz': gzipLines([tick(4), tick(5)]),
    'raw/ticks/dt=2024-01-02/hour=04/ticks+0+3.jsonl.gz': gzipLines([tick(6)]),
  };

  test('one table named after the include path, with typed columns, dt/hour partitions and Glue parameters', async () => {
    const result = await crawl(objects, 'raw/ticks/');
    expect(names(result)).toEqual(['ticks']);
    const ticks = result.table('ticks');
    const location = `s3://${BUCKET}/raw/ticks/`;
    expect(ticks.location).toBe(location);
    expect(ticks.columns).toEqual([
      { Name: 'ts', Type: 'string' },
      { Name: 'run_id', Type: 'string' },
      { Name: 'seq', Type: 'int' },
      { Name: 'symbol', Type: 'string' },
      { Name: 'open', Type: 'double' },
      { Name: 'volume', Type: 'int' },
    ]);
    expect(ticks.partitionKeys).toEqual([
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ]);
    const sizeKey = Object.values(objects).reduce((total, body) => total + Buffer.byteLength(body), 0);
    expect(ticks.parameters).toEqual({
      classification: 'json',
      compressionType: 'gzip',
      typeOfData: 'file',
      CrawlerSchemaDeserializerVersion: '1.0',
      CrawlerSchemaSerializerVersion: '1.0',
      objectCount: '3',
      recordCount: '6',
      sizeKey: String(sizeKey),
      averageRecordSize: String(Math.round(sizeKey / 6)),
    });
    expect(ticks.storageDescriptor).toEqual({
      Columns: ticks.columns,
      Location: location,
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      Compressed: true,
      NumberOfBuckets: -1,
      SerdeInfo: {
        SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        Parameters: { paths: 'open,run_id,seq,symbol,ts,volume' },
      },
      BucketColumns: [],
      SortColumns: [],
      Parameters: ticks.parameters,
      StoredAsSubDirectories: false,
    });
    expect(ticks.partitions.map((partition) => partition.values)).toEqual([
      ['2024-01-02', '03'],
      ['2024-01-02', '04'],
    ]);
    const [first, second] = ticks.partitions;
    expect(first?.storageDescriptor.Location).toBe(`${location}dt=2024-01-02/hour=03/`);
    expect(first?.parameters).toMatchObject({ objectCount: '2', recordCount: '5', classification: 'json' });
    expect(second?.parameters).toMatchObject({ objectCount: '1', recordCount: '1' });
    expect(first?.storageDescriptor.Parameters).toEqual(first?.parameters);
    expect(result.crawledFolders).toEqual([`${location}dt=2024-01-02/hour=03/`, `${location}dt=2024-01-02/hour=04/`]);
    expect(result.skipped).toEqual([]);
  });

  test('a later file adding a field: the field is appended to the table; each partition keeps its own columns', async () => {
    const result = await crawl(
      { ...objects, 'raw/ticks/dt=2024-01-02/hour=05/ticks+0+4.jsonl.gz': gzipLines([tick(7, { venue: 'XNYS' })]) },
      'raw/ticks/',
    );
    const ticks = result.table('ticks');
    expect(ticks.columns.map((column) => column.Name)).toEqual([
      'ts',
      'run_id',
      'seq',
      'symbol',
      'open',
      'volume',
      'venue',
    ]);
    expect(ticks.storageDescriptor.SerdeInfo?.Parameters?.paths).toBe('open,run_id,seq,symbol,ts,venue,volume');
    const columnsByHour = ticks.partitions.map((partition) => partition.storageDescriptor.Columns?.length);
    expect(columnsByHour).toEqual([6, 6, 7]);
  });

  test('types widen across files: int+bigint → bigint, int+double → double, string+int → string', async () => {
    const result = await crawl(
      {
        'raw/ticks/dt=2024-01-02/hour=03/a.jsonl.gz': gzipLines([tick(1, { open: 12570, volume: 10, code: 7 })]),
        'raw/ticks/dt=2024-01-02/hour=04/b.jsonl.gz': gzipLines([
          tick(2, { open: 12570.58, volume: 4156963100, code: 'X7' }),
        ]),
      },
      'raw/ticks/',
    );
    expect(columnsOf(result.table('ticks'))).toMatchObject({ open: 'double', volume: 'bigint', code: 'string' });
    const [hour3] = result.table('ticks').partitions;
    expect(columnsOf({ columns: hour3?.storageDescriptor.Columns })).toMatchObject({ open: 'int', code: 'int' });
  });

  test('nested objects and arrays become struct and array columns, merged across files', async () => {
    const result = await crawl(
      {
        'raw/book/dt=2024-01-01/a.jsonl': jsonLines([{ quote: { bid: 1, ask: 2 }, levels: [1, 2] }]),
        'raw/book/dt=2024-01-02/b.jsonl': jsonLines([{ quote: { bid: 1.5, Venue: 'X' }, levels: [3.5] }]),
      },
      'raw/book/',
    );
    expect(columnsOf(result.table('book'))).toEqual({
      quote: 'struct<bid:double,ask:int,venue:string>',
      levels: 'array<double>',
    });
  });
});

describe('CSV tables', () => {
  test('with a header, without one, pipe and tab delimiters, and quoted fields', async () => {
    const result = await crawl(
      {
        'csv/with_header/a.csv': 'Symbol,Price,Volume\nNYA,1.5,100\nIXIC,2.25,200\nGDAXI,3,300\n',
        'csv/without_header/b.csv': 'NYA|1.5|100\nIXIC|2.25|200\nGDAXI|3.0|300\n',
        'csv/tabs/c.tsv': 'symbol\tclose\nNYA\t1.5\nIXIC\t2\n',
        'csv/quoted/d.csv': 'name,amount\n"Smith, J",10\n"Doe, A",20\n',
      },
      'csv/',
    );
    expect(names(result)).toEqual(['quoted', 'tabs', 'with_header', 'without_header']);

    const withHeader = result.table('with_header');
    expect(withHeader.columns).toEqual([
      { Name: 'symbol', Type: 'string' },
      { Name: 'price', Type: 'double' },
      { Name: 'volume', Type: 'bigint' },
    ]);
    expect(withHeader.parameters).toMatchObject({
      classification: 'csv',
      compressionType: 'none',
      delimiter: ',',
      areColumnsQuoted: 'false',
      columnsOrdered: 'true',
      'skip.header.line.count': '1',
      recordCount: '3',
    });
    expect(withHeader.storageDescriptor.SerdeInfo).toEqual({
      SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
      Parameters: { 'field.delim': ',' },
    });

    const withoutHeader = result.table('without_header');
    expect(columnsOf(withoutHeader)).toEqual({ col0: 'string', col1: 'double', col2: 'bigint' });
    expect(withoutHeader.parameters).toMatchObject({ delimiter: '|', recordCount: '3' });
    expect(withoutHeader.parameters['skip.header.line.count']).toBeUndefined();

    expect(result.table('tabs').storageDescriptor.SerdeInfo?.Parameters).toEqual({ 'field.delim': '\t' });

    const quoted = result.table('quoted');
    expect(quoted.parameters).toMatchObject({ areColumnsQuoted: 'true', 'skip.header.line.count': '1' });
    expect(quoted.storageDescriptor.SerdeInfo).toEqual({
      SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
      Parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
    });
  });

  test('gzip CSV is classified through the decompressed content', async () => {
    const result = await crawl({ 'zipped/t/a.csv.gz': gzipSync('a,b\nx,1\ny,2\n') }, 'zipped/t/');
    expect(result.table('t').parameters).toMatchObject({ classification: 'csv', compressionType: 'gzip' });
    expect(columnsOf(result.table('t'))).toEqual({ a: 'string', b: 'bigint' });
  });
});

describe('folders, tables and partitions', () => {
  test('folders that are not key=value give partition_0, partition_1; mixed levels are named per level', async () => {
    const plain = await crawl(
      {
        'mixed/plain/2024/01/a.jsonl': '{"symbol":"NYA","n":1}\n',
        'mixed/plain/2024/02/b.jsonl': '{"symbol":"IXIC","n":2}\n',
        'mixed/other/x.csv': 'a,b\nx,1\ny,2\n',
      },
      'mixed/',
    );
    expect(plain.table('plain').partitionKeys.map((key) => key.Name)).toEqual(['partition_0', 'partition_1']);
    expect(plain.table('plain').partitions.map((partition) => partition.values)).toEqual([
      ['2024', '01'],
      ['2024', '02'],
    ]);

    const mixed = await crawl(
      { 'm/dt=2024-01-01/eu/a.jsonl': '{"a":1}\n', 'm/dt=2024-01-01/us/b.jsonl': '{"a":2}\n' },
      'm/',
    );
    expect(mixed.table('m').partitionKeys.map((key) => key.Name)).toEqual(['dt', 'partition_1']);
    expect(mixed.table('m').partitions.map((partition) => partition.values)).toEqual([
      ['2024-01-01', 'eu'],
      ['2024-01-01', 'us'],
    ]);
  });

  test('an include path with no objects gives no tables and no error', async () => {
    const result = await crawl({ 'raw/ticks/dt=2024-01-01/a.jsonl': '{"a":1}\n' }, 'nothing-here/');
    expect(result).toMatchObject({ tables: [], crawledFolders: [], skipped: [] });
  });

  test('two sibling folders with unrelated schemas are two tables named after the folders', async () => {
    const result = await crawl(
      {
        'data/trades/dt=2024-01-01/a.jsonl': '{"symbol":"A","price":1.5,"size":10}\n',
        'data/trades/dt=2024-01-02/b.jsonl': '{"symbol":"B","price":2.5,"size":20}\n',
        'data/news/dt=2024-01-01/c.jsonl': '{"headline":"x","body":"y","author":"z"}\n',
      },
      'data/',
    );
    expect(names(result)).toEqual(['news', 'trades']);
    expect(result.table('trades').location).toBe(`s3://${BUCKET}/data/trades/`);
    expect(result.table('trades').partitions).toHaveLength(2);
    expect(columnsOf(result.table('news'))).toEqual({ headline: 'string', body: 'string', author: 'string' });
  });

  test("Glue's example: year=2017 {A,B} and year=2018 {C,D} make tables year_2017 and year_2018", async () => {
    const objects = {
      'table1/year=2017/data1.json': '{"A": 1, "B": 2}',
      'table1/year=2018/data2.json': '{"C": 3, "D": 4}',
    };
    const separate = await crawl(objects, 'table1/');
    expect(names(separate)).toEqual(['year_2017', 'year_2018']);
    expect(columnsOf(separate.table('year_2017'))).toEqual({ a: 'int', b: 'int' });

    // CombineCompatibleSchemas: one table per include path when the formats match.
    const combined = await crawl(objects, 'table1/', { grouping: { combineCompatibleSchemas: true } });
    expect(names(combined)).toEqual(['table1']);
    expect(columnsOf(combined.table('table1'))).toEqual({ a: 'int', b: 'int', c: 'int', d: 'int' });
    expect(combined.table('table1').partitionKeys).toEqual([{ Name: 'year', Type: 'string' }]);
  });

  test('when most folders at a level are similar they are partitions of one table, the odd one merged in', async () => {
    const similar = (hour: string) => `m/hour=${hour}/a.jsonl`;
    const result = await crawl(
      {
        [similar('00')]: '{"a":1,"b":2,"c":3}\n',
        [similar('01')]: '{"a":1,"b":2,"c":3}\n',
        [similar('02')]: '{"a":1,"b":2,"c":3,"d":4}\n',
        [similar('03')]: '{"x":"other","y":"shape"}\n',
      },
      'm/',
    );
    expect(names(result)).toEqual(['m']);
    expect(Object.keys(columnsOf(result.table('m')))).toEqual(['a', 'b', 'c', 'd', 'x', 'y']);
    expect(result.table('m').partitions).toHaveLength(4);
  });

  test('two similar folders out of three are not a majority above 70%: each folder is a table', async () => {
    const result = await crawl(
      {
        'm/hour=00/a.jsonl': '{"a":1,"b":2,"c":3}\n',
        'm/hour=01/a.jsonl': '{"a":1,"b":2,"c":3}\n',
        'm/hour=02/a.jsonl': '{"x":"other","y":"shape"}\n',
      },
      'm/',
    );
    expect(names(result)).toEqual(['hour_00', 'hour_01', 'hour_02']);
  });

  test('more than five schema clusters at a level are never one table, however large the majority', async () => {
    const objects: Objects = {};
    for (let hour = 0; hour < 20; hour += 1) objects[`m/hour=${hour}/a.jsonl`] = '{"a":1,"b":2}\n';
    for (const odd of ['p', 'q', 'r', 's', 't']) objects[`m/hour=${odd}/a.jsonl`] = `{"${odd}1":1,"${odd}2":2}\n`;
    expect(names(await crawl(objects, 'm/'))).toHaveLength(25);
    delete objects['m/hour=t/a.jsonl'];
    expect(names(await crawl(objects, 'm/'))).toEqual(['m']);
  });

  test('CombineCompatibleSchemas still keeps different formats apart', async () => {
    const result = await crawl({ 'c/json/a.jsonl': '{"a":1}\n', 'c/csv/b.csv': 'a,b\nx,1\ny,2\n' }, 'c/', {
      grouping: { combineCompatibleSchemas: true },
    });
    expect(names(result)).toEqual(['csv', 'json']);
  });

  test('files at different depths cannot be one table', async () => {
    const result = await crawl({ 'd/x/a.jsonl': '{"a":1}\n', 'd/y/z/b.jsonl': '{"a":2}\n' }, 'd/');
    expect(names(result)).toEqual(['x', 'y']);
    expect(result.table('y').partitionKeys.map((key) => key.Name)).toEqual(['partition_0']);
  });

  test('files of different formats in one folder are tables of their own, named after the files', async () => {
    const result = await crawl({ 'f/data.csv': 'a,b\nx,1\ny,2\n', 'f/data.json': '{"a":1}\n' }, 'f/');
    expect(names(result)).toEqual(['data_csv', 'data_json']);
    expect(result.table('data_json').location).toBe(`s3://${BUCKET}/f/data.json`);
  });

  test('an include path holding only one ordinary folder is a wrapper; a lone key=value folder is a partition', async () => {
    const wrapper = await crawl({ 'gone/deleted/x.jsonl': '{"a":1}\n' }, 'gone/');
    expect(names(wrapper)).toEqual(['deleted']);
    expect(wrapper.table('deleted').location).toBe(`s3://${BUCKET}/gone/deleted/`);

    // The table is where sibling folders first appear: one `2024` folder holding months is not a partition.
    const years = await crawl({ 'plain/2024/01/a.jsonl': '{"a":1}\n', 'plain/2024/02/b.jsonl': '{"a":2}\n' }, 'plain/');
    expect(names(years)).toEqual(['2024']);
    expect(years.table('2024').partitions.map((partition) => partition.values)).toEqual([['01'], ['02']]);

    const partitioned = await crawl({ 'feed/dt=2024-01-01/a.jsonl': '{"a":1}\n' }, 'feed/');
    expect(names(partitioned)).toEqual(['feed']);
    expect(partitioned.table('feed').partitions.map((partition) => partition.values)).toEqual([['2024-01-01']]);
  });

  test('TableLevelConfiguration puts tables at that absolute level (the bucket is level 1)', async () => {
    const objects = {
      'raw/ticks/dt=2024-01-01/hour=00/a.jsonl': '{"a":1}\n',
      'raw/ticks/dt=2024-01-01/hour=01/b.jsonl': '{"a":2}\n',
      'raw/ticks/dt=2024-01-02/hour=00/c.jsonl': '{"x":"unrelated","y":true}\n',
    };
    const atTicks = await crawl(objects, 'raw/', { grouping: { combineCompatibleSchemas: false, tableLevel: 3 } });
    expect(names(atTicks)).toEqual(['ticks']);
    expect(atTicks.table('ticks').partitionKeys.map((key) => key.Name)).toEqual(['dt', 'hour']);
    expect(Object.keys(columnsOf(atTicks.table('ticks')))).toEqual(['a', 'x', 'y']);

    const atDays = await crawl(objects, 'raw/ticks/', {
      grouping: { combineCompatibleSchemas: false, tableLevel: 4 },
    });
    expect(names(atDays)).toEqual(['dt_2024_01_01', 'dt_2024_01_02']);
    expect(atDays.table('dt_2024_01_01').partitionKeys).toEqual([{ Name: 'hour', Type: 'string' }]);
    expect(atDays.table('dt_2024_01_01').partitions.map((partition) => partition.values)).toEqual([['00'], ['01']]);

    const above = await crawl(objects, 'raw/ticks/', {
      grouping: { combineCompatibleSchemas: false, tableLevel: 2 },
    });
    expect(names(above)).toEqual(['ticks']);
    expect(above.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/TableLevel/) }),
    );
  });

  test('table names: TablePrefix in front, lowercase, other characters as _, duplicates get a stable hash', async () => {
    const result = await crawl(
      { 'a/My-Data.v2/x.jsonl': '{"a":1}\n', 'b/My-Data.v2/y.jsonl': '{"a":1}\n' },
      ['a/My-Data.v2/', 'b/My-Data.v2/'],
      { tablePrefix: 'Lake_' },
    );
    const hash = crypto.createHash('md5').update(`s3://${BUCKET}/b/My-Data.v2/`).digest('hex');
    expect(result.tables.map((table) => table.name)).toEqual(['lake_my_data_v2', `lake_my_data_v2_${hash}`]);
  });

  test('an include path naming one object makes a table of that object', async () => {
    const result = await crawl({ 'input/prices.csv': 'symbol,close\nNYA,1.5\nIXIC,2\n' }, 'input/prices.csv');
    expect(names(result)).toEqual(['prices_csv']);
    expect(result.table('prices_csv')).toMatchObject({
      location: `s3://${BUCKET}/input/prices.csv`,
      partitionKeys: [],
      partitions: [],
    });
  });

  test('an include path without a trailing slash is a folder, not a prefix of its siblings', async () => {
    const result = await crawl(
      { 'raw/ticks/dt=2024-01-01/a.jsonl': '{"a":1}\n', 'raw/ticks2/dt=2024-01-01/b.jsonl': '{"b":1}\n' },
      'raw/ticks',
    );
    expect(names(result)).toEqual(['ticks']);
    expect(result.reader.reads.every((key) => key.startsWith('raw/ticks/'))).toBe(true);
  });
});

describe('what is read and what is not', () => {
  test('folder markers, empty objects and Hadoop bookkeeping files are not read', async () => {
    const result = await crawl(
      {
        'raw/ticks/': '',
        'raw/ticks/dt=2024-01-01/': '',
        'raw/ticks/dt=2024-01-01_$folder$': 'x',
        'raw/ticks/dt=2024-01-01/_SUCCESS': 'x',
        'raw/ticks/dt=2024-01-01/.a.jsonl.crc': 'x',
        'raw/ticks/dt=2024-01-01/empty.jsonl': '',
        'raw/ticks/dt=2024-01-01/a.jsonl': '{"a":1}\n',
      },
      'raw/ticks/',
    );
    expect(new Set(result.reader.reads)).toEqual(new Set(['raw/ticks/dt=2024-01-01/a.jsonl']));
    expect(result.table('ticks').parameters.objectCount).toBe('1');
  });

  test('exclusions are globs relative to the include path; they are recorded on the table', async () => {
    const result = await crawl(
      {
        'lake/ticks/dt=2024-01-01/a.jsonl': '{"a":1}\n',
        'lake/ticks/dt=2024-01-01/notes.csv': 'a,b\nx,1\ny,2\n',
        'lake/ticks/dlq/dt=2024-01-01/bad.jsonl': '{"reason":"x"}\n',
      },
      [{ path: 'lake/ticks/', exclusions: ['**.csv', 'dlq/**'] }],
    );
    expect(result.reader.reads.every((key) => key === 'lake/ticks/dt=2024-01-01/a.jsonl')).toBe(true);
    expect(names(result)).toEqual(['ticks']);
    expect(JSON.parse(result.table('ticks').parameters.exclusions!)).toEqual([
      `s3://${BUCKET}/lake/ticks/**.csv`,
      `s3://${BUCKET}/lake/ticks/dlq/**`,
    ]);
  });

  test('SampleSize: that many files of each leaf folder are read; the others are counted', async () => {
    const objects: Objects = {};
    for (let index = 0; index < 5; index += 1) {
      // Only the last file has the field `late`: it is not read, so the schema does not have it.
      const record = index === 4 ? { a: index, late: true } : { a: index };
      objects[`s/t/dt=2024-01-01/${index}.jsonl`] = jsonLines([record, record]);
    }
    objects['s/t/dt=2024-01-02/0.jsonl'] = jsonLines([{ a: 9 }, { a: 9 }]);
    const result = await crawl(objects, [{ path: 's/t/', sampleSize: 2 }]);
    expect(new Set(result.reader.reads)).toEqual(
      new Set(['s/t/dt=2024-01-01/0.jsonl', 's/t/dt=2024-01-01/1.jsonl', 's/t/dt=2024-01-02/0.jsonl']),
    );
    const table = result.table('t');
    expect(columnsOf(table)).toEqual({ a: 'int' });
    expect(table.parameters.objectCount).toBe('6');
    // Records are counted in the files read (8 bytes each) and estimated for the rest from their size:
    // 120 bytes in all, so 15 (the unread 40-byte file counts as 5).
    expect(table.parameters).toMatchObject({ sizeKey: '120', averageRecordSize: '8', recordCount: '15' });
    expect(table.partitions[0]?.parameters.objectCount).toBe('5');
  });

  test('of a large text object only the first megabyte is read, and the record count is estimated', async () => {
    const records = Array.from({ length: 60_000 }, (_, index) => tick(index + 1));
    const text = jsonLines(records);
    const key = 'big/ticks/dt=2024-01-01/big.jsonl';
    const result = await crawl({ [key]: text }, 'big/ticks/');
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * 1024 * 1024);
    expect(result.reader.bytesRead.get(key)).toBeLessThanOrEqual(1024 * 1024);
    const count = Number(result.table('ticks').parameters.recordCount);
    expect(count).toBeGreaterThan(60_000 * 0.95);
    expect(count).toBeLessThan(60_000 * 1.05);
  });

  test('of a large gzip object only enough compressed bytes for a megabyte of records are read', async () => {
    const records = Array.from({ length: 100_000 }, (_, index) => tick(index + 1, { price: Math.random() }));
    const body = gzipLines(records);
    const key = 'big/ticks/dt=2024-01-01/big.jsonl.gz';
    const result = await crawl({ [key]: body }, 'big/ticks/');
    expect(result.reader.bytesRead.get(key)).toBeLessThan(body.length / 2);
    expect(columnsOf(result.table('ticks'))).toMatchObject({ seq: 'int', price: 'double' });
    const count = Number(result.table('ticks').parameters.recordCount);
    expect(count).toBeGreaterThan(100_000 * 0.8);
    expect(count).toBeLessThan(100_000 * 1.2);
  });

  test('a corrupt gzip object is skipped, reported and logged; the crawl goes on with the others', async () => {
    const bad = 'corrupt/events/dt=2024-01-02/bad.jsonl.gz';
    const result = await crawl(
      {
        'corrupt/events/dt=2024-01-01/good.jsonl.gz': gzipLines([{ id: 1, kind: 'ok' }]),
        [bad]: Buffer.concat([gzipSync('{"id":2}\n').subarray(0, 12), Buffer.from('garbage')]),
        'corrupt/events/dt=2024-01-03/binary.bin': Buffer.from([0, 1, 2, 3, 0, 0, 7]),
      },
      'corrupt/events/',
    );
    expect(names(result)).toEqual(['events']);
    expect(columnsOf(result.table('events'))).toEqual({ id: 'int', kind: 'string' });
    expect(result.table('events').partitions.map((partition) => partition.values)).toEqual([['2024-01-01']]);
    expect(result.skipped).toEqual([
      { key: `s3://${BUCKET}/corrupt/events/dt=2024-01-02/bad.jsonl.gz`, reason: expect.stringMatching(/gzip/) },
      {
        key: `s3://${BUCKET}/corrupt/events/dt=2024-01-03/binary.bin`,
        reason: expect.stringMatching(/no built-in classifier/),
      },
    ]);
    const warnings = result.logs.filter((entry) => entry.level === 'warn').map((entry) => entry.message);
    expect(warnings.sort()).toEqual([expect.stringContaining(bad), expect.stringContaining('binary.bin')]);
  });

  test('an object deleted between the listing and the read is skipped', async () => {
    const inner = memoryObjectReader({
      [BUCKET]: { 'x/t/a.jsonl': '{"a":1}\n', 'x/t/b.jsonl': '{"a":2}\n' },
    });
    const reader: MemoryObjectReader = {
      ...inner,
      read: (bucket, key, signal, range) =>
        key.endsWith('b.jsonl')
          ? Promise.reject(new S3AccessError('NoSuchKey', 'The specified key does not exist.'))
          : inner.read(bucket, key, signal, range),
    };
    const result = await crawl({}, 'x/t/', { reader });
    expect(result.table('t').parameters.objectCount).toBe('1');
    expect(result.skipped).toEqual([{ key: `s3://${BUCKET}/x/t/b.jsonl`, reason: 'deleted since it was listed' }]);
  });

  test('skipFolders: folders crawled before are not read and give no partitions; new folders do', async () => {
    const location = `s3://${BUCKET}/incremental/feed/`;
    const objects = {
      'incremental/feed/dt=2024-01-01/a.jsonl': '{"a":1}\n',
      'incremental/feed/dt=2024-01-01/corrupt.jsonl.gz': Buffer.from([0x1f, 0x8b, 0, 1, 2]),
      'incremental/feed/dt=2024-01-02/b.jsonl': '{"a":2}\n',
    };
    const result = await crawl(objects, 'incremental/feed/', {
      skipFolders: new Set([`${location}dt=2024-01-01/`]),
    });
    expect(result.reader.reads.every((key) => key.includes('dt=2024-01-02'))).toBe(true);
    expect(result.skipped).toEqual([]);
    expect(result.table('feed').partitions.map((partition) => partition.values)).toEqual([['2024-01-02']]);
    expect(result.crawledFolders).toEqual([`${location}dt=2024-01-02/`]);
  });
});

describe('failures', () => {
  test('a bucket that does not exist fails the crawl with its name', async () => {
    const reader = memoryObjectReader({});
    await expect(crawl({}, 'raw/', { reader })).rejects.toThrow(/ticksync-lake/);
  });

  test('access denied on a read fails the crawl instead of skipping the object', async () => {
    const inner = memoryObjectReader({ [BUCKET]: { 'x/t/a.jsonl': '{"a":1}\n' } });
    const reader: MemoryObjectReader = {
      ...inner,
      read: () =>
        Promise.reject(new S3AccessError('AccessDenied', `S3 GetObject of s3://${BUCKET}/x/t/a.jsonl failed`)),
    };
    await expect(crawl({}, 'x/t/', { reader })).rejects.toMatchObject({ name: 'S3AccessError', code: 'AccessDenied' });
  });

  test('an aborted crawl stops with an AbortError between objects', async () => {
    const objects: Objects = {};
    for (let hour = 0; hour < 24; hour += 1) objects[`a/t/hour=${hour}/x.jsonl`] = '{"a":1}\n';
    const controller = new AbortController();
    const inner = memoryObjectReader({ [BUCKET]: objects });
    const reader: MemoryObjectReader = {
      ...inner,
      read: async (bucket, key, signal, range) => {
        const bytes = await inner.read(bucket, key, signal, range);
        controller.abort();
        return bytes;
      },
    };
    await expect(crawl({}, 'a/t/', { reader, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(new Set(inner.reads).size).toBeLessThan(24);

    const aborted = new AbortController();
    aborted.abort();
    await expect(crawl(objects, 'a/t/', { signal: aborted.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
