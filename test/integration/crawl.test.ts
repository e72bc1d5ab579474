import { GetTableCommand } from '@aws-sdk/client-glue';
import { CancelledFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { ErrorType } from '../../lib/errors';
import { connectClient } from '../../lib/temporal';
import { type CrawlInput, crawlProgressQuery } from '../../lib/contracts';
import { crawlWorkflow } from '../../workflows';
import {
  createTestCrawler,
  deletePrefix,
  dropTestCrawler,
  getCrawler,
  ticks,
  testCrawlerName,
  testDatabaseName,
  uniqueGlueName,
  waitForCrawlerReady,
  writeTickObjects,
  type TestCrawler,
} from '../helpers/glue';
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

// Endpoint, credentials, bucket and crawler role come from the configuration alone: with TICKSYNC_TARGET=aws
// (and a bucket, a crawler role and AWS credentials) the same tests run against AWS Glue.
const env = { TICKSYNC_CATALOG_TASK_QUEUE: uniqueName('test-crawl') };
const config = loadConfig({ ...process.env, ...env });
const glue = createGlueClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const { bucket, rawPrefix } = config.s3;
let client: Client;
let worker: WorkerProcess;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  client = await connectClient(config);
  worker = await startWorkerProcess('catalog', env);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
  await worker?.stop();
  await client?.connection.close();
  glue.destroy();
  s3.destroy();
});

/** A crawler of its own over a topic folder of its own under raw/; removed with its data after the tests. */
async function lakeCrawler(): Promise<TestCrawler & { prefix: string; table: string }> {
  const topic = uniqueGlueName('crawltest');
  const prefix = `${rawPrefix}${topic}/`;
  const crawler = {
    crawler: testCrawlerName('crawltest'),
    database: testDatabaseName('crawltest'),
    path: `s3://${bucket}/${prefix}`,
  };
  await createTestCrawler(glue, config, crawler);
  cleanups.push(() => dropTestCrawler(glue, crawler));
  cleanups.push(() => deletePrefix(s3, bucket, prefix));
  // The crawler names the table after the folder it finds the partitions in.
  return { ...crawler, prefix, table: `${crawler.database}.${topic}` };
}

const input = (crawler: string): CrawlInput => ({ crawler, pollInitialSeconds: 0.5, pollMaxSeconds: 2 });

function startCrawl(crawler: string, overrides: Partial<CrawlInput> = {}) {
  return client.workflow.start(crawlWorkflow, {
    workflowId: uniqueName('crawl'),
    taskQueue: config.temporal.catalogTaskQueue,
    args: [{ ...input(crawler), ...overrides }],
  });
}

async function failureOf(promise: Promise<unknown>): Promise<WorkflowFailedError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return error as WorkflowFailedError;
}

test('a crawl creates the table with its partitions and columns; the next one reports what it added', async () => {
  const lake = await lakeCrawler();
  await writeTickObjects(s3, bucket, lake.prefix, [
    { dt: '2024-01-02', hour: '03', objects: [ticks(3), ticks(2)] },
    { dt: '2024-01-02', hour: '04', objects: [ticks(4)] },
  ]);
  const handle = await startCrawl(lake.crawler);
  const result = await handle.result();

  expect(result).toMatchObject({
    crawler: lake.crawler,
    outcome: 'started',
    status: 'SUCCEEDED',
    tablesCreated: [lake.table],
    tablesUpdated: [],
    partitionsAdded: { [lake.table]: 2 },
  });
  expect(Number.isNaN(Date.parse(result.startTime))).toBe(false);
  expect(result.durationSeconds).toBeGreaterThanOrEqual(0);
  expect(result.columnsAdded[lake.table]).toEqual([
    { name: 'symbol', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'size', type: 'int' },
    { name: 'side', type: 'string' },
    { name: 'ts', type: 'string' },
    { name: 'run_id', type: 'string' },
    { name: 'seq', type: 'int' },
    { name: 'dt', type: 'string' },
    { name: 'hour', type: 'string' },
  ]);
  // The catalog holds what the run reported, and the crawler's LastCrawl is the run's crawl.
  const [database, table] = lake.table.split('.') as [string, string];
  const { Table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: table }));
  expect(Table?.PartitionKeys?.map((key) => key.Name)).toEqual(['dt', 'hour']);
  const crawler = await getCrawler(glue, lake.crawler);
  expect(crawler.LastCrawl?.StartTime?.toISOString()).toBe(result.startTime);
  const progress = await handle.query(crawlProgressQuery);
  expect(progress).toMatchObject({ phase: 'succeeded', crawlerState: 'READY', lastCrawl: { status: 'SUCCEEDED' } });
  expect(progress.polls).toBeGreaterThanOrEqual(1);

  // A new hour whose records carry a new field: the table is updated, one partition and one column added.
  await writeTickObjects(s3, bucket, lake.prefix, [
    { dt: '2024-01-02', hour: '05', objects: [ticks(3, { venue: 'XHKG' })] },
  ]);
  const again = await (await startCrawl(lake.crawler)).result();
  expect(again).toMatchObject({
    outcome: 'started',
    tablesCreated: [],
    tablesUpdated: [lake.table],
    partitionsAdded: { [lake.table]: 1 },
    columnsAdded: { [lake.table]: [{ name: 'venue', type: 'string' }] },
  });
  expect(Date.parse(again.startTime)).toBeGreaterThan(Date.parse(result.startTime));
});

test('a run that finds the crawler running joins its crawl instead of starting another', async () => {
  const lake = await lakeCrawler();
  await writeTickObjects(s3, bucket, lake.prefix, [{ dt: '2024-02-03', hour: '10', objects: [ticks(5)] }]);
  // Two runs at once: one starts the crawler, the other meets CrawlerRunningException and waits for that crawl.
  const [first, second] = await Promise.all([startCrawl(lake.crawler), startCrawl(lake.crawler)]);
  const results = await Promise.all([first.result(), second.result()]);

  expect(results.map((result) => result.outcome).sort()).toEqual(['joined', 'started']);
  // One crawl, reported by both runs.
  expect(results[0].startTime).toBe(results[1].startTime);
  for (const result of results) {
    expect(result.tablesCreated).toEqual([lake.table]);
    expect(result.partitionsAdded).toEqual({ [lake.table]: 1 });
  }
});

test('a crawl that fails fails the run, non-retryably, with the crawler’s error message', async () => {
  const crawler: TestCrawler = {
    crawler: testCrawlerName('failing'),
    database: testDatabaseName('crawltest'),
    path: `s3://${uniqueName('ticksync-no-such-bucket').slice(0, 60).toLowerCase()}/raw/ticks/`,
  };
  await createTestCrawler(glue, config, crawler);
  cleanups.push(() => dropTestCrawler(glue, crawler));

  const error = await failureOf((await startCrawl(crawler.crawler)).result());
  const lastCrawl = (await waitForCrawlerReady(glue, crawler.crawler)).LastCrawl;
  expect(lastCrawl?.Status).toBe('FAILED');
  expect(lastCrawl?.ErrorMessage).toBeTruthy();
  expect(error.cause).toBeInstanceOf(ApplicationFailure);
  expect(error.cause).toMatchObject({ type: ErrorType.CrawlFailed, nonRetryable: true });
  expect(error.cause?.message).toBe(`crawler ${crawler.crawler} failed: ${lastCrawl?.ErrorMessage}`);
});

test('a crawler that does not exist fails the run at once with a non-retryable NotFound', async () => {
  const missing = testCrawlerName('missing');
  const started = Date.now();
  const error = await failureOf((await startCrawl(missing)).result());
  expect(error.cause).toBeInstanceOf(ApplicationFailure);
  expect(error.cause).toMatchObject({ type: ErrorType.NotFound, nonRetryable: true });
  expect(error.cause?.message).toMatch(/^GetCrawler failed: EntityNotFoundException: .*/);
  expect(error.cause?.message).toContain(missing);
  // Not retried: the activity's retry policy would take over a minute to give up.
  expect(Date.now() - started).toBeLessThan(15_000);
});

test('cancelling the run stops the crawler and reports the cancellation', async () => {
  const lake = await lakeCrawler();
  await writeTickObjects(s3, bucket, lake.prefix, [{ dt: '2024-03-04', hour: '00', objects: [ticks(2)] }]);
  // A long first wait: the run is cancelled while it sleeps after starting the crawler.
  const handle = await startCrawl(lake.crawler, { pollInitialSeconds: 60 });
  const deadline = Date.now() + 30_000;
  while ((await handle.query(crawlProgressQuery)).phase !== 'crawling') {
    if (Date.now() > deadline) throw new Error('the run never started the crawler');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await handle.cancel();
  const error = await failureOf(handle.result());
  expect(error.cause).toBeInstanceOf(CancelledFailure);
  expect(await handle.query(crawlProgressQuery)).toMatchObject({ phase: 'cancelled' });
  // StopCrawler was called, outside the cancelled scope, and completed.
  const activities: string[] = [];
  for (const event of (await handle.fetchHistory()).events ?? []) {
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) activities.push(type);
  }
  expect(activities).toEqual(['getCrawlerState', 'snapshotCatalog', 'startCrawler', 'stopCrawler']);
  expect((await waitForCrawlerReady(glue, lake.crawler)).State).toBe('READY');
});

test('npm run crawl reports the changes, attaches to a running crawl, and exits 1 with the crawler’s error', async () => {
  const lake = await lakeCrawler();
  await writeTickObjects(s3, bucket, lake.prefix, [{ dt: '2024-04-05', hour: '06', objects: [ticks(3)] }]);

  // A first poll 15 s after the start keeps the crawl running while the next script starts, on a loaded machine too.
  const detached = await runScript('crawl', ['--crawler', lake.crawler, '--no-wait', '--poll-seconds', '15'], env);
  expect(detached.code).toBe(0);
  expect(detached.stdout).toContain(`crawl of ${lake.crawler} started as crawl-${lake.crawler}`);
  expect(detached.stdout).toMatch(
    new RegExp(`Workflow: ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/crawl-`),
  );
  const attached = await runScript('crawl', ['--crawler', lake.crawler], env);
  expect(attached.code).toBe(0);
  expect(attached.stdout).toContain(
    `a crawl of ${lake.crawler} is already running as crawl-${lake.crawler}: attaching`,
  );
  expect(attached.stdout).toContain(`crawl of ${lake.crawler} succeeded (started)`);
  expect(attached.stdout).toContain(`tables created:   ${lake.table}`);
  expect(attached.stdout).toContain(`partitions added: ${lake.table} 1`);

  const json = await runScript('crawl', ['--crawler', lake.crawler, '--json'], env);
  expect(json.code).toBe(0);
  const report = JSON.parse(json.stdout) as { outcome: string; tablesCreated: string[] };
  expect(report).toMatchObject({ outcome: 'started', tablesCreated: [] });

  const name = testCrawlerName('missing');
  const missing = await runScript('crawl', ['--crawler', name], env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(new RegExp(`error: GetCrawler failed: EntityNotFoundException: .*${name}`));

  const bad = await runScript('crawl', ['--crawler', 'not a name'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--crawler expects a Glue crawler name (letters, digits, . _ -), got 'not a name'");
  const help = await runScript('crawl', ['--help'], env);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--no-wait/);
});
