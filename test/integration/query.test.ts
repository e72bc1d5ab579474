import {
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
  BatchGetQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { StartCrawlerCommand, GetPartitionsCommand } from '@aws-sdk/client-glue';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CancelledFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { ErrorType } from '../../lib/errors';
import { hourPartition } from '../../lib/hour-keys';
import { NAMED_QUERY_DEFAULTS, namedQuerySql, type NamedQueryName } from '../../lib/queries';
import { connectClient } from '../../lib/temporal';
import { type QueryInput, queryProgressQuery, type QueryResult, stopConsumerSignal } from '../../lib/contracts';
import { consumerWorkflow, queryWorkflow } from '../../workflows';
import {
  createTestCrawler,
  createTestWorkGroup,
  deletePrefix,
  dropTestCrawler,
  dropTestWorkGroup,
  testCrawlerName,
  testDatabaseName,
  testWorkGroupName,
  uniqueGlueName,
  waitForCrawlerReady,
} from '../helpers/glue';
import { testKafka } from '../helpers/kafka';
import { consumerInputFor, waitForProgress } from '../helpers/lake';
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

/**
 * queryWorkflow end to end on the real stack: ticks produced to Kafka, flushed
 * to S3 by the consumer, cataloged by a crawl, then queried through Athena by
 * a query worker. Expected answers are computed here from the produced rows.
 */

const env = {
  TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-query-ingest'),
  TICKSYNC_QUERY_TASK_QUEUE: uniqueName('test-query'),
};
const config = loadConfig({ ...process.env, ...env });
const s3 = createS3Client(config, 'admin');
const glue = createGlueClient(config, 'admin');
const athena = createAthenaClient(config, 'admin');
const { bucket, rawPrefix } = config.s3;
const topic = uniqueGlueName('querytest');
const prefix = `${rawPrefix}${topic}/`;
const workGroup = testWorkGroupName('querytest');
const crawler = {
  crawler: testCrawlerName('querytest'),
  database: testDatabaseName('querytest'),
  path: `s3://${bucket}/${prefix}`,
};

interface Tick {
  symbol: string;
  price: number;
  size: number;
  side: string;
  /** Event time: the exchange's clock, long before the rows arrive (ts). */
  timestamp: string;
  ts: string;
  run_id: string;
  seq: number;
}

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'META', 'GOOG', 'AMD', 'INTC', 'ORCL', 'IBM', 'SAP'];
const now = Date.now();
/** A small deterministic generator, so a failure can be reproduced. */
let seed = 42;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

function makeTicks(count: number, from: number, to: number, runId: string, eventFrom: number): Tick[] {
  return Array.from({ length: count }, (_, index) => ({
    symbol: SYMBOLS[Math.floor(random() * random() * SYMBOLS.length)]!,
    price: Math.round((50 + random() * 400) * 100) / 100,
    size: 1 + Math.floor(random() * 500),
    side: random() < 0.5 ? 'buy' : 'sell',
    timestamp: new Date(eventFrom + Math.floor(((to - from) * index) / count)).toISOString(),
    ts: new Date(from + Math.floor(((to - from) * index) / count)).toISOString(),
    run_id: runId,
    seq: index + 1,
  }));
}

/**
 * Inside the 10-minute window (the last five minutes) and three hours before it, in another partition;
 * on the event clock, a trading day in 2020, the recent run's five minutes an hour after the old run's.
 */
const EVENT_DAY = Date.UTC(2020, 0, 2, 14, 0);
const recent = makeTicks(1500, now - 5 * 60_000, now - 1000, 'recent-run', EVENT_DAY + 3_600_000);
const old = makeTicks(500, now - 3 * 3_600_000, now - 3 * 3_600_000 + 60_000, 'old-run', EVENT_DAY);

let client: Client;
let ingestWorker: WorkerProcess;
let queryWorker: WorkerProcess;

beforeAll(async () => {
  client = await connectClient(config);
  [ingestWorker, queryWorker] = await Promise.all([
    startWorkerProcess('ingest', env),
    startWorkerProcess('query', env),
  ]);
  const producer = testKafka(config).producer();
  await producer.connect();
  const admin = testKafka(config).admin();
  await admin.connect();
  await admin.createTopics([{ topic, numPartitions: 2 }]);
  await admin.disconnect();
  const consumer = await client.workflow.start(consumerWorkflow, {
    workflowId: uniqueName('query-consumer'),
    taskQueue: config.temporal.ingestTaskQueue,
    args: [consumerInputFor(topic)],
  });
  for (const ticks of [old, recent]) {
    for (let index = 0; index < ticks.length; index += 500) {
      await producer.send({
        topic,
        messages: ticks.slice(index, index + 500).map((tick) => ({ key: tick.symbol, value: JSON.stringify(tick) })),
      });
    }
  }
  await producer.disconnect();
  const total = old.length + recent.length;
  await waitForProgress(consumer, (progress) => progress.totals.records === total && progress.lag === 0);
  await consumer.signal(stopConsumerSignal);
  await consumer.result();

  await createTestWorkGroup(athena, config, workGroup);
  await createTestCrawler(glue, config, crawler);
  await glue.send(new StartCrawlerCommand({ Name: crawler.crawler }));
  const crawled = await waitForCrawlerReady(glue, crawler.crawler);
  expect(crawled.LastCrawl?.Status).toBe('SUCCEEDED');
}, 240_000);

afterAll(async () => {
  await dropTestCrawler(glue, crawler).catch((error: unknown) => console.error(error));
  await dropTestWorkGroup(athena, workGroup).catch((error: unknown) => console.error(error));
  await deletePrefix(s3, bucket, prefix).catch((error: unknown) => console.error(error));
  await Promise.all([ingestWorker?.stop(), queryWorker?.stop()]);
  await client?.connection.close();
  s3.destroy();
  glue.destroy();
  athena.destroy();
});

const input = (sql: string, overrides: Partial<QueryInput> = {}): QueryInput => ({
  sql,
  database: crawler.database,
  workGroup,
  outputLocation: `s3://${bucket}/athena-results/test/`,
  maxRows: 1000,
  pollInitialMs: 100,
  pollMaxMs: 1000,
  ...overrides,
});

const startQuery = (sql: string, overrides: Partial<QueryInput> = {}) =>
  client.workflow.start(queryWorkflow, {
    workflowId: uniqueName('query'),
    taskQueue: config.temporal.queryTaskQueue,
    args: [input(sql, overrides)],
  });

async function named(name: NamedQueryName, overrides: Partial<typeof NAMED_QUERY_DEFAULTS> = {}): Promise<QueryResult> {
  const sql = namedQuerySql(name, { table: topic, ...NAMED_QUERY_DEFAULTS, ...overrides });
  return (await startQuery(sql)).result();
}

/** Rows as objects keyed by column name. */
const records = (result: QueryResult) =>
  result.rows.map((row) => Object.fromEntries(row.map((value, index) => [result.columns[index]!.name, value])));

function groupBySymbol(ticks: Tick[]): Map<string, Tick[]> {
  const groups = new Map<string, Tick[]>();
  for (const tick of ticks) groups.set(tick.symbol, [...(groups.get(tick.symbol) ?? []), tick]);
  return groups;
}

const volume = (ticks: Tick[]) => ticks.reduce((sum, tick) => sum + tick.size, 0);

/** The lake's objects in the partitions a window of the last `minutes` touches, and their bytes. */
async function windowBytes(minutes: number): Promise<{ all: number; window: number }> {
  const first = hourPartition(Date.now() - minutes * 60_000);
  let all = 0;
  let window = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const partition = /dt=[^/]+\/hour=[^/]+/.exec(object.Key!)?.[0];
      all += object.Size!;
      if (partition && partition >= first) window += object.Size!;
    }
    token = page.NextContinuationToken;
  } while (token);
  return { all, window };
}

describe('named queries on data the consumer wrote and the crawler cataloged', () => {
  test('the crawl made one table with a partition per hour', async () => {
    const { Partitions } = await glue.send(
      new GetPartitionsCommand({ DatabaseName: crawler.database, TableName: topic }),
    );
    const hours = new Set([...old, ...recent].map((tick) => hourPartition(Date.parse(tick.ts))));
    expect(Partitions?.map((partition) => `dt=${partition.Values![0]}/hour=${partition.Values![1]}`).sort()).toEqual(
      [...hours].sort(),
    );
  });

  test('trades in the last 10 minutes: the latest first, with the count of the window; only its partitions are read', async () => {
    const before = await windowBytes(10);
    const result = await named('trades', { limit: 5 });
    const after = await windowBytes(10);
    expect(result.columns.map((column) => [column.name, column.type])).toEqual([
      ['symbol', 'varchar'],
      ['time', 'timestamp with time zone'],
      ['price', 'double'],
      ['size', 'integer'],
      ['window_trades', 'bigint'],
    ]);
    const latest = recent.slice(-5).reverse();
    expect(records(result).map((row) => ({ ...row, price: Number(row.price) }))).toEqual(
      latest.map((tick) => ({
        symbol: tick.symbol,
        time: `${tick.ts.replace('T', ' ').replace('Z', '')} UTC`,
        price: tick.price,
        size: String(tick.size),
        window_trades: String(recent.length),
      })),
    );
    // Partition pruning: the old hour is never read, the window's partitions are.
    expect(before.window).toBeLessThan(before.all);
    expect([before.window, after.window]).toContain(result.statistics.dataScannedBytes);
  });

  test('top symbols by volume over 10 minutes', async () => {
    const result = await named('top-volume', { limit: 5 });
    const expected = [...groupBySymbol(recent)]
      .map(([symbol, ticks]) => ({ symbol, volume: String(volume(ticks)), trades: String(ticks.length) }))
      .sort((a, b) => Number(b.volume) - Number(a.volume) || a.symbol.localeCompare(b.symbol))
      .slice(0, 5);
    expect(records(result)).toEqual(expected);
  });

  test('VWAP per symbol over 60 minutes', async () => {
    const result = await named('vwap', { minutes: 60 });
    const expected = [...groupBySymbol(recent)].sort(([a], [b]) => a.localeCompare(b));
    const rows = records(result);
    expect(rows.map((row) => row.symbol)).toEqual(expected.map(([symbol]) => symbol));
    for (const [index, [, ticks]] of expected.entries()) {
      const vwap = ticks.reduce((sum, tick) => sum + tick.price * tick.size, 0) / volume(ticks);
      expect(Number(rows[index]!.vwap)).toBeCloseTo(vwap, 8);
      expect(rows[index]!.volume).toBe(String(volume(ticks)));
    }
  });

  test('OHLC bars per symbol and minute over 10 minutes', async () => {
    const result = await named('ohlc');
    const bars = new Map<string, Tick[]>();
    for (const tick of recent) {
      const minute = `${tick.ts.slice(0, 16).replace('T', ' ')}:00.000 UTC`;
      const key = `${tick.symbol}|${minute}`;
      bars.set(key, [...(bars.get(key) ?? []), tick]);
    }
    const expected = [...bars]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, ticks]) => {
        const [symbol, minute] = key.split('|');
        const prices = ticks.map((tick) => tick.price);
        return {
          symbol,
          minute,
          open: ticks[0]!.price,
          high: Math.max(...prices),
          low: Math.min(...prices),
          close: ticks.at(-1)!.price,
          volume: String(volume(ticks)),
          trades: String(ticks.length),
        };
      });
    const rows = records(result).map((row) => ({
      ...row,
      open: Number(row.open),
      high: Number(row.high),
      low: Number(row.low),
      close: Number(row.close),
    }));
    expect(rows).toEqual(expected);
  });

  test('maxRows: the first rows come back and the result says the rest is in the CSV', async () => {
    const result = await (
      await startQuery(`SELECT seq FROM ${topic} ORDER BY run_id, seq`, { maxRows: 1200 })
    ).result();
    expect(result.rows).toHaveLength(1200);
    expect(result.truncated).toBe(true);
    expect(result.rows[0]).toEqual(['1']);
    expect(result.outputLocation).toMatch(
      new RegExp(`^s3://${bucket}/athena-results/test/${result.queryExecutionId}\\.csv$`),
    );
  });
});

describe('failures, cancellation and faults', () => {
  async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return (error as WorkflowFailedError).cause as ApplicationFailure;
  }

  test('a failing query fails the run at once, non-retryably, with Athena reason and error', async () => {
    const handle = await startQuery(`SELECT no_such_column FROM ${topic}`);
    const failure = await failureOf(handle.result());
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(ErrorType.QueryFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/COLUMN_NOT_FOUND: line 1:8: Column 'no_such_column' cannot be resolved/);
    expect(failure.details?.[0]).toMatchObject({ category: 2, retryable: false });
    const progress = await handle.query(queryProgressQuery);
    expect(progress).toMatchObject({ phase: 'FAILED', polls: expect.any(Number) });
  });

  test('a request Athena refuses fails the run as a client fault', async () => {
    const missing = testWorkGroupName('missing');
    const failure = await failureOf((await startQuery('SELECT 1', { workGroup: missing })).result());
    expect(failure.type).toBe(ErrorType.ClientFault);
    expect(failure.message).toMatch(
      new RegExp(`StartQueryExecution failed: InvalidRequestException: WorkGroup ${missing} is not found`),
    );
  });

  test('cancelling the run stops the query in Athena', async () => {
    const marker = uniqueName('cancel');
    const handle = await startQuery(
      `SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) ` +
        `CROSS JOIN UNNEST(sequence(1, 10000)) AS c(z) WHERE x + y + z = 7 AND '${marker}' <> ''`,
    );
    let id: string | undefined;
    for (let tries = 0; tries < 200 && !id; tries++) {
      const progress = await handle.query(queryProgressQuery);
      if (progress.phase === 'RUNNING') id = progress.queryExecutionId;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await handle.cancel();
    const error = await handle.result().catch((thrown: unknown) => thrown);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    expect(QueryExecution?.Status?.State).toBe('CANCELLED');
  });

  test('kill -9 of the query worker mid-query: a new worker finishes the run, and only one query ran', async () => {
    const marker = uniqueName('kill');
    const sql =
      `SELECT count(*) AS n FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) ` +
      `CROSS JOIN UNNEST(sequence(1, 5)) AS c(z) WHERE x + y + z > 0 AND '${marker}' <> ''`;
    const handle = await startQuery(sql);
    for (let tries = 0; tries < 200; tries++) {
      if ((await handle.query(queryProgressQuery)).phase === 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await queryWorker.stop('SIGKILL');
    queryWorker = await startWorkerProcess('query', env);
    const result = await handle.result();
    expect(result.rows).toEqual([['500000000']]);
    // The start went to Athena once: one execution carries the marker.
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: workGroup, NextToken: token }));
      ids.push(...(page.QueryExecutionIds ?? []));
      token = ids.length < 200 ? page.NextToken : undefined;
    } while (token);
    const executions = [];
    for (let index = 0; index < ids.length; index += 50) {
      const batch = await athena.send(
        new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids.slice(index, index + 50) }),
      );
      executions.push(...(batch.QueryExecutions ?? []));
    }
    expect(executions.filter((execution) => execution.Query?.includes(marker)).map((e) => e.QueryExecutionId)).toEqual([
      result.queryExecutionId,
    ]);
  }, 180_000);
});

describe('npm run query', () => {
  const scriptEnv = { ...env, TICKSYNC_GLUE_DATABASE: crawler.database, TICKSYNC_ATHENA_WORKGROUP: workGroup };

  test('a named query as JSON and as CSV, with the time and data scanned on stderr', async () => {
    const json = await runScript(
      'query',
      ['--named', 'top-volume', '--table', topic, '--limit', '3', '--format', 'json'],
      scriptEnv,
    );
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { rows: { symbol: string; volume: number; trades: number }[] };
    const top = [...groupBySymbol(recent)]
      .map(([symbol, ticks]) => ({ symbol, volume: volume(ticks), trades: ticks.length }))
      .sort((a, b) => b.volume - a.volume || a.symbol.localeCompare(b.symbol))
      .slice(0, 3);
    expect(parsed.rows).toEqual(top);
    expect(json.stderr).toMatch(
      /^3 rows in \d+\.\d\d s \(queued \d+\.\d\d s, engine \d+\.\d\d s\), data scanned [\d.]+ (B|KB|MB)$/m,
    );
    expect(json.stderr).toMatch(/^Workflow: http/m);

    const csv = await runScript(
      'query',
      [
        `SELECT symbol, count(*) AS n FROM ${topic} WHERE run_id = 'old-run' GROUP BY symbol ORDER BY symbol`,
        '--format',
        'csv',
      ],
      scriptEnv,
    );
    expect(csv.code).toBe(0);
    const expected = [...groupBySymbol(old)]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([symbol, ticks]) => `${symbol},${ticks.length}`);
    expect(csv.stdout.trim().split('\n')).toEqual(['symbol,n', ...expected]);
  });

  test('--time event windows on the timestamp column of the data, --time arrival on ts; the output says which', async () => {
    const event = await runScript(
      'query',
      ['--named', 'trades', '--table', topic, '--limit', '3', '--time', 'event', '--format', 'json'],
      scriptEnv,
    );
    expect(event.code).toBe(0);
    const parsed = JSON.parse(event.stdout) as {
      rows: { symbol: string; time: string; window_trades: number }[];
      named: { time: string; columns: string; timeBasis: string };
    };
    expect(parsed.named).toMatchObject({
      timeBasis: 'event',
      columns: 'symbol=symbol, price=price, size=size',
      time: 'the last 10 minutes of event time (column timestamp, up to its latest value)',
    });
    // The recent run's five minutes of event time are the window; the old run's hour before is not.
    expect(parsed.rows.map((row) => [row.symbol, row.time, row.window_trades])).toEqual(
      recent
        .slice(-3)
        .reverse()
        .map((tick) => [tick.symbol, `${tick.timestamp.replace('T', ' ').replace('Z', '')} UTC`, recent.length]),
    );
    expect(event.stderr).toMatch(/^trades: the last 10 minutes of event time \(column timestamp/m);

    // 200 minutes of arrival time reach back to the old run: both runs are in the window, stated as arrival.
    const arrival = await runScript(
      'query',
      ['--named', 'trades', '--table', topic, '--minutes', '200', '--time', 'arrival', '--limit', '2'],
      scriptEnv,
    );
    expect(arrival.code).toBe(0);
    expect(arrival.stdout).toMatch(/^trades: the last 200 minutes of arrival time \(column ts, up to now\)$/m);
    expect(arrival.stdout).toContain(
      `${recent.length + old.length} trades in the window (the latest 2 shown; --limit for more)`,
    );
    for (const line of arrival.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  test('a table is cut after 50 rows with a line that says how many more and how to get them', async () => {
    const result = await runScript(
      'query',
      [`SELECT seq FROM ${topic} WHERE run_id = 'recent-run' ORDER BY seq LIMIT 120`],
      scriptEnv,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/│ 50 +│\n└/);
    expect(result.stdout).toContain('… 70 more rows, use --format csv');
    expect(result.stdout).toMatch(/^120 rows in /m);
  });

  test('a table by default; bad flags exit 2 naming the flag; a failed query exits 1 with the reason', async () => {
    const table = await runScript('query', ['SELECT 1 AS one'], scriptEnv);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/│ one │/);
    expect(table.stdout).toMatch(/^1 row in /m);

    for (const [args, message] of [
      [['--named', 'nope'], /argument 'nope' is invalid.*trades, top-volume, vwap, ohlc/],
      [['--named', 'vwap', '--minutes', '0'], /--minutes must be a whole number above 0/],
      [['--named', 'vwap', '--table', 'Bad-Name'], /--table expects a lowercase Glue name/],
      [['SELECT 1', '--named', 'vwap'], /give either SQL or --named, not both/],
      [[], /give the SQL to run/],
      [['SELECT 1', '--format', 'xml'], /argument 'xml' is invalid/],
    ] as const) {
      const result = await runScript('query', [...args], scriptEnv);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }

    const failed = await runScript('query', ['SELECT * FROM no_such_table'], scriptEnv);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/TABLE_NOT_FOUND: line 1:15: Table '.*no_such_table' does not exist/);
    expect(failed.stderr).toMatch(/Workflow: http/);
  });
});
