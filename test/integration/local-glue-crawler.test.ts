import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  DeleteCrawlerCommand,
  DeleteDatabaseCommand,
  GetCrawlerCommand,
  GetCrawlerMetricsCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GetTablesCommand,
  StartCrawlerCommand,
  UpdateTableCommand,
  StopCrawlerCommand,
  UpdateCrawlerCommand,
  type Crawler,
  type CreateCrawlerCommandInput,
  type Table,
} from '@aws-sdk/client-glue';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { consumerWorkflow, replayWorkflow } from '../../workflows';
import { stopConsumerSignal } from '../../lib/contracts';
import { testDatabaseName } from '../helpers/glue';
import { consumerInputFor, readLake, waitForProgress } from '../helpers/lake';
import { largeCsv, replayInputFor } from '../helpers/replay';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

const env = { TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-crawler') };
const config = loadConfig({ ...process.env, ...env });
const glue = createGlueClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const { bucket } = config.s3;
// A sibling of the stack's database: the crawler role's policy lets it write there.
const database = testDatabaseName('crawl');
// Under raw/: the crawler role reads nothing else.
const root = `${config.s3.rawPrefix}${uniqueName('crawler-test')}/`;
const crawlers: string[] = [];
const serviceLog = path.join(config.stack.dir, 'logs', 'aws.log');

const jsonLines = (records: object[]) => gzipSync(records.map((record) => JSON.stringify(record)).join('\n') + '\n');
const put = (key: string, body: Buffer | string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${root}${key}`, Body: body }));
const columnsOf = (table: Table | undefined) =>
  Object.fromEntries((table?.StorageDescriptor?.Columns ?? []).map((column) => [column.Name, column.Type]));

/** A crawler of `path` (an s3:// URL) into the test's database, deleted after the tests. */
async function createCrawlerOf(path: string, overrides: Partial<CreateCrawlerCommandInput> = {}): Promise<string> {
  const name = uniqueName('crawler');
  await glue.send(
    new CreateCrawlerCommand({
      Name: name,
      Role: config.glue.crawlerRole,
      DatabaseName: database,
      Targets: { S3Targets: [{ Path: path }] },
      ...overrides,
    }),
  );
  crawlers.push(name);
  return name;
}

const createCrawler = (prefix: string, overrides: Partial<CreateCrawlerCommandInput> = {}) =>
  createCrawlerOf(`s3://${bucket}/${root}${prefix}`, overrides);

/** Starts the crawler and polls it as a user would, returning the states it went through and the crawler at READY. */
async function crawl(name: string): Promise<{ states: string[]; crawler: Crawler }> {
  const started = Date.now();
  await glue.send(new StartCrawlerCommand({ Name: name }));
  const states: string[] = [];
  for (;;) {
    const { Crawler: crawler } = await glue.send(new GetCrawlerCommand({ Name: name }));
    if (states.at(-1) !== crawler!.State) states.push(crawler!.State!);
    if (crawler!.State === 'READY' && (crawler!.LastCrawl?.StartTime?.getTime() ?? 0) >= started - 1000) {
      return { states, crawler: crawler! };
    }
    if (Date.now() - started > 60_000) throw new Error(`crawler ${name} still ${crawler!.State} after 60 s`);
    await sleep(100);
  }
}

const table = async (name: string) =>
  (await glue.send(new GetTableCommand({ DatabaseName: database, Name: name }))).Table!;
const partitionValues = async (name: string) =>
  ((await glue.send(new GetPartitionsCommand({ DatabaseName: database, TableName: name }))).Partitions ?? [])
    .map((partition) => partition.Values!.join('/'))
    .sort();

let client: Client;
let worker: WorkerProcess;

beforeAll(async () => {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  client = await connectClient(config);
  worker = await startWorkerProcess('ingest', env);
});

afterAll(async () => {
  for (const name of crawlers) await glue.send(new DeleteCrawlerCommand({ Name: name })).catch(() => undefined);
  await glue.send(new DeleteDatabaseCommand({ Name: database })).catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
  glue.destroy();
  s3.destroy();
});

test("the consumer's gzip JSON Lines make one table with typed columns and dt/hour partitions", async () => {
  const rows = 300;
  const replay = replayInputFor(largeCsv(rows));
  await client.workflow.execute(replayWorkflow, {
    workflowId: `replay-${replay.runId}`,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [replay],
  });
  const consumer = await client.workflow.start(consumerWorkflow, {
    workflowId: uniqueName('consumer'),
    taskQueue: config.temporal.ingestTaskQueue,
    args: [consumerInputFor(replay.topic)],
  });
  await waitForProgress(consumer, (progress) => progress.totals.records === rows && progress.buffered === 0);
  await consumer.signal(stopConsumerSignal);
  const { totals } = await consumer.result();

  const name = await createCrawlerOf(`s3://${bucket}/${config.s3.rawPrefix}${replay.topic}/`);
  const { states, crawler } = await crawl(name);
  expect(crawler.LastCrawl).toMatchObject({ Status: 'SUCCEEDED', LogGroup: '/aws-glue/crawlers' });
  expect(states.at(-1)).toBe('READY');
  expect(states.filter((state) => state !== 'READY')).toEqual(expect.arrayContaining(['STOPPING']));

  const tableName = replay.topic.replace(/[^a-z0-9_]/g, '_');
  const { TableList } = await glue.send(new GetTablesCommand({ DatabaseName: database }));
  expect(TableList!.map((t) => t.Name)).toEqual([tableName]);
  const ticks = await table(tableName);
  expect(columnsOf(ticks)).toMatchObject({
    ts: 'string',
    run_id: 'string',
    seq: 'int',
    index: 'string',
    open: 'double',
    close: 'double',
    volume: 'bigint',
  });
  expect(ticks.PartitionKeys).toEqual([
    { Name: 'dt', Type: 'string' },
    { Name: 'hour', Type: 'string' },
  ]);
  expect(ticks.StorageDescriptor).toMatchObject({
    Location: `s3://${bucket}/${config.s3.rawPrefix}${replay.topic}/`,
    SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
    InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  });
  expect(ticks.Parameters).toMatchObject({
    classification: 'json',
    compressionType: 'gzip',
    UPDATED_BY_CRAWLER: name,
    objectCount: String(totals.objects),
  });
  expect(Number(ticks.Parameters!.recordCount)).toBeGreaterThan(rows * 0.8);
  expect(Number(ticks.Parameters!.recordCount)).toBeLessThan(rows * 1.2);
  // One partition per dt/hour folder the consumer wrote (by each record's ts).
  const folders = (await readLake(s3, bucket, `${config.s3.rawPrefix}${replay.topic}/`)).map((object) =>
    /dt=([^/]+)\/hour=([^/]+)\//.exec(object.key)!.slice(1, 3).join('/'),
  );
  expect(await partitionValues(tableName)).toEqual([...new Set(folders)].sort());
  const { CrawlerMetricsList } = await glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [name] }));
  expect(CrawlerMetricsList![0]).toMatchObject({ CrawlerName: name, TablesCreated: 1, TablesUpdated: 0 });
});

test('a later batch with a new field updates the table under UPDATE_IN_DATABASE and not under LOG', async () => {
  const tick = (seq: number, extra: object = {}) => ({
    ts: '2024-01-01T00:00:00Z',
    run_id: 'r',
    seq,
    symbol: 'NYA',
    price: 1.5,
    ...extra,
  });
  for (const policy of ['update', 'log'] as const) {
    await put(`${policy}/ticks/dt=2024-01-01/hour=00/a.jsonl.gz`, jsonLines([tick(1), tick(2)]));
  }
  const update = await createCrawler('update/ticks/');
  const log = await createCrawler('log/ticks/', {
    SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
    TablePrefix: 'log_',
  });
  await crawl(update);
  await crawl(log);
  const firstUpdate = await table('ticks');
  const firstLog = await table('log_ticks');
  expect(Object.keys(columnsOf(firstUpdate))).toEqual(['ts', 'run_id', 'seq', 'symbol', 'price']);
  // Properties the crawler does not own (partition projection's) survive its update, as on AWS.
  const projection = { 'projection.enabled': 'true', 'projection.hour.type': 'integer' };
  const { Name, Owner, Retention, StorageDescriptor, PartitionKeys, TableType } = firstUpdate;
  await glue.send(
    new UpdateTableCommand({
      DatabaseName: database,
      TableInput: {
        ...{ Name, Owner, Retention, StorageDescriptor, PartitionKeys, TableType },
        Parameters: { ...firstUpdate.Parameters, ...projection },
      },
    }),
  );
  const withProjection = await table('ticks');

  for (const policy of ['update', 'log'] as const) {
    await put(`${policy}/ticks/dt=2024-01-01/hour=01/b.jsonl.gz`, jsonLines([tick(3, { exchange: 'NYSE' })]));
  }
  await crawl(update);
  await crawl(log);
  const updated = await table('ticks');
  expect(columnsOf(updated)).toMatchObject({ exchange: 'string', price: 'double' });
  expect(Number(updated.VersionId)).toBe(Number(withProjection.VersionId) + 1);
  expect(updated.Parameters).toMatchObject({ ...projection, UPDATED_BY_CRAWLER: update });
  expect(Number(updated.Parameters!.objectCount)).toBe(2);
  const logged = await table('log_ticks');
  expect(columnsOf(logged)).toEqual(columnsOf(firstLog));
  expect(logged.VersionId).toBe(firstLog.VersionId);
  // New folders still become partitions under LOG: only the table definition is left alone.
  expect(await partitionValues('ticks')).toEqual(['2024-01-01/00', '2024-01-01/01']);
  expect(await partitionValues('log_ticks')).toEqual(['2024-01-01/00', '2024-01-01/01']);
  const { CrawlerMetricsList } = await glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [update, log] }));
  expect(CrawlerMetricsList!.map((metrics) => [metrics.TablesCreated, metrics.TablesUpdated])).toEqual([
    [0, 1],
    [0, 0],
  ]);
});

test('CSV with and without a header, Parquet, plain folders, and an empty prefix', async () => {
  await put('mixed/with_header/a.csv', 'symbol,price,volume\nNYA,1.5,100\nIXIC,2.25,200\nGDAXI,3,300\n');
  await put('mixed/without_header/b.csv', 'NYA|1.5|100\nIXIC|2.25|200\nGDAXI|3.0|300\n');
  await put('mixed/plain/2024/01/a.jsonl', '{"symbol":"NYA","n":1}\n');
  await put('mixed/plain/2024/02/b.jsonl', '{"symbol":"IXIC","n":2}\n');
  await put('mixed/columnar/part-0.parquet', parquetFixture());
  const name = await createCrawler('mixed/');
  const { crawler } = await crawl(name);
  expect(crawler.LastCrawl?.Status).toBe('SUCCEEDED');

  const withHeader = await table('with_header');
  expect(withHeader.StorageDescriptor?.Columns).toEqual([
    { Name: 'symbol', Type: 'string' },
    { Name: 'price', Type: 'double' },
    { Name: 'volume', Type: 'bigint' },
  ]);
  expect(withHeader.Parameters).toMatchObject({ classification: 'csv', delimiter: ',', 'skip.header.line.count': '1' });

  const withoutHeader = await table('without_header');
  expect(withoutHeader.StorageDescriptor?.Columns?.map((column) => column.Name)).toEqual(['col0', 'col1', 'col2']);
  expect(withoutHeader.Parameters).toMatchObject({ classification: 'csv', delimiter: '|' });
  expect(withoutHeader.Parameters?.['skip.header.line.count']).toBeUndefined();

  const plain = await table('plain');
  expect(plain.PartitionKeys?.map((key) => key.Name)).toEqual(['partition_0', 'partition_1']);
  expect(await partitionValues('plain')).toEqual(['2024/01', '2024/02']);

  const columnar = await table('columnar');
  expect(columnar.Parameters).toMatchObject({ classification: 'parquet' });
  expect(columnsOf(columnar)).toEqual({ symbol: 'string', price: 'double', volume: 'bigint' });

  const empty = await createCrawler('nothing-here/');
  const emptyCrawl = await crawl(empty);
  expect(emptyCrawl.crawler.LastCrawl?.Status).toBe('SUCCEEDED');
  const { CrawlerMetricsList } = await glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [empty] }));
  expect(CrawlerMetricsList![0]).toMatchObject({ TablesCreated: 0, TablesUpdated: 0 });
});

test('a corrupt gzip object is skipped and logged; the crawl succeeds with the others', async () => {
  await put('corrupt/events/dt=2024-01-01/good.jsonl.gz', jsonLines([{ id: 1, kind: 'ok' }]));
  const bad = `${root}corrupt/events/dt=2024-01-02/bad.jsonl.gz`;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: bad,
      Body: Buffer.concat([gzipSync('{"id":2}\n').subarray(0, 12), Buffer.from('garbage')]),
    }),
  );
  const name = await createCrawler('corrupt/events/');
  const { crawler } = await crawl(name);
  expect(crawler.LastCrawl?.Status).toBe('SUCCEEDED');
  expect(columnsOf(await table('events'))).toEqual({ id: 'int', kind: 'string' });
  expect(fs.readFileSync(serviceLog, 'utf8')).toContain(bad);
});

test('DeleteBehavior: vanished data deletes the table (with a role allowed to) or marks it deprecated', async () => {
  await put('gone/deleted/x.jsonl', '{"a":1}\n');
  await put('gone2/deprecated/x.jsonl', '{"a":1}\n');
  const deleting = await createCrawler('gone/deleted/', {
    SchemaChangePolicy: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DELETE_FROM_DATABASE' },
  });
  const deprecating = await createCrawler('gone2/deprecated/');
  await crawl(deleting);
  await crawl(deprecating);
  expect((await table('deleted')).Parameters?.UPDATED_BY_CRAWLER).toBe(deleting);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${root}gone/deleted/x.jsonl` }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${root}gone2/deprecated/x.jsonl` }));
  // The crawler role may not delete tables (its policy has no glue:DeleteTable): that crawl fails, the table stays.
  const refused = await crawl(deleting);
  expect(refused.crawler.LastCrawl).toMatchObject({
    Status: 'FAILED',
    ErrorMessage: expect.stringMatching(
      /^User: arn:aws:sts::000000000000:assumed-role\/ticksync-crawler\/AWS-Crawler is not authorized to perform: glue:DeleteTable on resource: arn:aws:glue:[\w-]+:000000000000:table\/\w+\/deleted /,
    ),
  });
  expect((await table('deleted')).Parameters?.UPDATED_BY_CRAWLER).toBe(deleting);
  // With a role that may (locally the admin's, the account's root), it deletes.
  await glue.send(new UpdateCrawlerCommand({ Name: deleting, Role: 'ticksync-admin' }));
  await crawl(deleting);
  await crawl(deprecating);
  await expect(table('deleted')).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  expect((await table('deprecated')).Parameters).toMatchObject({ DEPRECATED_BY_CRAWLER: '1' });
  const { CrawlerMetricsList } = await glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [deleting] }));
  expect(CrawlerMetricsList![0]?.TablesDeleted).toBe(1);
});

test('a crawl refused one write changes nothing: the writes before it are undone', async () => {
  await put('rollback/ledger/dt=1/x.jsonl', '{"a":1}\n');
  await put('rollback/ledger/dt=2/x.jsonl', '{"a":2}\n');
  const name = await createCrawler('rollback/ledger/', {
    SchemaChangePolicy: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DELETE_FROM_DATABASE' },
  });
  await crawl(name);
  expect(await partitionValues('ledger')).toEqual(['1', '2']);
  // dt=3 appears (a partition the role may add), dt=1 goes (a partition it may not delete).
  await put('rollback/ledger/dt=3/x.jsonl', '{"a":3}\n');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${root}rollback/ledger/dt=1/x.jsonl` }));
  const refused = await crawl(name);
  expect(refused.crawler.LastCrawl?.Status).toBe('FAILED');
  expect(refused.crawler.LastCrawl?.ErrorMessage).toContain('glue:BatchDeletePartition');
  expect(await partitionValues('ledger')).toEqual(['1', '2']);
  await glue.send(new UpdateCrawlerCommand({ Name: name, Role: 'ticksync-admin' }));
  await crawl(name);
  expect(await partitionValues('ledger')).toEqual(['2', '3']);
});

test('CRAWL_NEW_FOLDERS_ONLY reads only folders it has not crawled', async () => {
  await put('incremental/feed/dt=2024-01-01/a.jsonl', '{"a":1}\n');
  const name = await createCrawler('incremental/feed/', {
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
    SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
  });
  await crawl(name);
  // An unreadable object in a folder already crawled is never read again; the new folder is.
  const old = `${root}incremental/feed/dt=2024-01-01/corrupt.jsonl.gz`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: old, Body: Buffer.from([0x1f, 0x8b, 0, 1, 2]) }));
  await put('incremental/feed/dt=2024-01-02/b.jsonl', '{"a":2}\n');
  await crawl(name);
  expect(await partitionValues('feed')).toEqual(['2024-01-01', '2024-01-02']);
  expect(fs.readFileSync(serviceLog, 'utf8')).not.toContain(old);
});

describe('crawler definitions and states', () => {
  test('bad definitions are refused with InvalidInputException naming the problem', async () => {
    const base = {
      Name: uniqueName('bad'),
      Role: config.glue.crawlerRole,
      DatabaseName: database,
      Targets: { S3Targets: [{ Path: `s3://${bucket}/x/` }] },
    };
    const refused = async (input: CreateCrawlerCommandInput, message: RegExp) =>
      expect(glue.send(new CreateCrawlerCommand(input))).rejects.toMatchObject({
        name: 'InvalidInputException',
        message: expect.stringMatching(message),
      });
    await refused({ ...base, Configuration: '{"Version": 1.0,' }, /Crawler configuration not valid/);
    await refused(
      { ...base, Configuration: '{"Grouping": {"TableLevelConfiguration": 0}}' },
      /TableLevelConfiguration must be a positive integer/,
    );
    await refused({ ...base, Role: 'arn:aws:iam::000000000000:role/stranger' }, /unable to assume provided role/);
    await refused({ ...base, Targets: { S3Targets: [{ Path: 'http://not-s3/' }] } }, /Invalid S3 target path/);
    await refused({ ...base, Targets: { S3Targets: [] } }, /at least one S3 target/);
    await refused({ ...base, Schedule: 'cron(0 * * * ? *)' }, /npm run schedule/);
    await refused(
      { ...base, RecrawlPolicy: { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' } },
      /can have only LOG DeleteBehavior/,
    );
    await expect(glue.send(new GetCrawlerCommand({ Name: base.Name }))).rejects.toMatchObject({
      name: 'EntityNotFoundException',
    });
  });

  test('start while running, stop while idle, delete while running; a stopped crawl is CANCELLED', async () => {
    await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        put(`many/items/dt=2024-01-01/hour=${String(i % 24).padStart(2, '0')}/${i}.jsonl`, `{"i":${i}}\n`),
      ),
    );
    const name = await createCrawler('many/items/');
    await expect(glue.send(new StopCrawlerCommand({ Name: name }))).rejects.toMatchObject({
      name: 'CrawlerNotRunningException',
    });
    await glue.send(new StartCrawlerCommand({ Name: name }));
    await expect(glue.send(new StartCrawlerCommand({ Name: name }))).rejects.toMatchObject({
      name: 'CrawlerRunningException',
    });
    await expect(glue.send(new DeleteCrawlerCommand({ Name: name }))).rejects.toMatchObject({
      name: 'CrawlerRunningException',
    });
    await expect(glue.send(new UpdateCrawlerCommand({ Name: name, Description: 'x' }))).rejects.toMatchObject({
      name: 'CrawlerRunningException',
    });
    const running = (await glue.send(new GetCrawlerCommand({ Name: name }))).Crawler!;
    expect(running.State).toBe('RUNNING');
    expect(running.CrawlElapsedTime).toBeGreaterThanOrEqual(0);
    await glue.send(new StopCrawlerCommand({ Name: name }));
    await expect(glue.send(new StopCrawlerCommand({ Name: name }))).rejects.toMatchObject({
      name: 'CrawlerStoppingException',
    });
    let crawler: Crawler;
    do {
      await sleep(100);
      crawler = (await glue.send(new GetCrawlerCommand({ Name: name }))).Crawler!;
    } while (crawler.State !== 'READY');
    expect(crawler.LastCrawl?.Status).toBe('CANCELLED');
    await expect(table('items')).rejects.toMatchObject({ name: 'EntityNotFoundException' });

    // Updated definitions take effect on the next crawl, which then completes.
    await glue.send(new UpdateCrawlerCommand({ Name: name, Description: 'all of them' }));
    const updated = (await glue.send(new GetCrawlerCommand({ Name: name }))).Crawler!;
    expect(updated).toMatchObject({ Description: 'all of them', Version: 2 });
    const done = await crawl(name);
    expect(done.crawler.LastCrawl?.Status).toBe('SUCCEEDED');
    expect(await partitionValues('items')).toHaveLength(24);
  });

  test('a crawl fails with the reason when its bucket does not exist or its database is gone', async () => {
    const name = await createCrawlerOf('s3://no-such-bucket-ticksync/x/');
    const { crawler } = await crawl(name);
    expect(crawler.LastCrawl).toMatchObject({
      Status: 'FAILED',
      ErrorMessage: expect.stringMatching(/no-such-bucket-ticksync/),
    });

    const missing = `${config.glue.database}_no_such_database`;
    const orphan = await createCrawler('x/', { DatabaseName: missing });
    const orphanCrawl = await crawl(orphan);
    expect(orphanCrawl.crawler.LastCrawl).toMatchObject({
      Status: 'FAILED',
      ErrorMessage: `Database ${missing} not found.`,
    });

    // A database outside the crawler role's policy: refused before Glue says whether it exists.
    const outside = await createCrawler('x/', { DatabaseName: 'elsewhere' });
    const outsideCrawl = await crawl(outside);
    expect(outsideCrawl.crawler.LastCrawl).toMatchObject({
      Status: 'FAILED',
      ErrorMessage: expect.stringContaining(
        'ticksync-crawler/AWS-Crawler is not authorized to perform: glue:GetDatabase on resource: arn:aws:glue:',
      ),
    });
  });
});

/** A small Parquet file written by hyparquet-writer (an ES module: written by a child Node process to its stdout). */
function parquetFixture(): Buffer {
  const script = `import { parquetWriteBuffer } from 'hyparquet-writer';
    const buffer = parquetWriteBuffer({ columnData: [
      { name: 'symbol', data: ['NYA', 'IXIC'], type: 'STRING' },
      { name: 'price', data: [1.5, 2.25], type: 'DOUBLE' },
      { name: 'volume', data: [100n, 200n], type: 'INT64' },
    ] });
    process.stdout.write(Buffer.from(buffer));`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: path.resolve(__dirname, '../..'),
  });
}
