import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { pipelineProgressQuery, type PipelineReport, stopConsumerSignal } from '../../lib/contracts';
import { pipelineInput } from '../../lib/workflow-inputs';
import { describePipeline } from '../../scripts/demo';
import { pipelineWorkflow } from '../../workflows';
import {
  createTestCrawler,
  createTestWorkGroup,
  deletePrefix,
  dropTestWorkGroup,
  dropTestCrawler,
  testCrawlerName,
  testDatabaseName,
  testWorkGroupName,
  uniqueGlueName,
} from '../helpers/glue';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

/**
 * pipelineWorkflow end to end on the real stack, with workers, topic, crawler and
 * database of its own: the sample replayed, flushed, crawled and queried; the
 * report checked against the CSV itself.
 */

const topic = uniqueGlueName('pipeline');
const env = {
  TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-pipeline-ingest'),
  TICKSYNC_CATALOG_TASK_QUEUE: uniqueName('test-pipeline-catalog'),
  TICKSYNC_QUERY_TASK_QUEUE: uniqueName('test-pipeline-query'),
  TICKSYNC_TOPIC: topic,
  TICKSYNC_GLUE_DATABASE: testDatabaseName('pipeline'),
  TICKSYNC_GLUE_CRAWLER: testCrawlerName('pipeline'),
  TICKSYNC_ATHENA_WORKGROUP: testWorkGroupName('pipeline'),
};
const config = loadConfig({ ...process.env, ...env });
const glue = createGlueClient(config, 'admin');
const athena = createAthenaClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const crawler = {
  crawler: config.glue.crawler,
  database: config.glue.database,
  path: `s3://${config.s3.bucket}/${config.s3.rawPrefix}${topic}/`,
};
const SAMPLE = path.join(PROJECT_ROOT, 'data/indexProcessed-sample.csv');
const rows = parse(fs.readFileSync(SAMPLE), { columns: true }) as Record<string, string>[];
// No column flags: the named queries find index/close/volume in the crawled table themselves.
const options = { minutes: 60, time: 'arrival' as const };

let client: Client;
const workers: Record<'ingest' | 'catalog' | 'query', WorkerProcess | undefined> = {
  ingest: undefined,
  catalog: undefined,
  query: undefined,
};

beforeAll(async () => {
  client = await connectClient(config);
  await createTestCrawler(glue, config, crawler);
  await createTestWorkGroup(athena, config, config.athena.workgroup);
  [workers.ingest, workers.catalog, workers.query] = await Promise.all([
    startWorkerProcess('ingest', env),
    startWorkerProcess('catalog', env),
    startWorkerProcess('query', env),
  ]);
}, 120_000);

afterAll(async () => {
  // The consumer outlives a pipeline by design; the test's own is stopped here.
  const input = pipelineInput(SAMPLE, options, config);
  await client.workflow
    .getHandle(input.consumerWorkflowId)
    .signal(stopConsumerSignal)
    .catch(() => undefined);
  await client.workflow
    .getHandle(input.consumerWorkflowId)
    .result()
    .catch(() => undefined);
  await Promise.all(Object.values(workers).map((worker) => worker?.stop()));
  await dropTestCrawler(glue, crawler).catch((error: unknown) => console.error(error));
  await dropTestWorkGroup(athena, config.athena.workgroup).catch((error: unknown) => console.error(error));
  await deletePrefix(s3, config.s3.bucket, `${config.s3.rawPrefix}${topic}/`);
  await client?.connection.close();
  glue.destroy();
  athena.destroy();
  s3.destroy();
});

function runPipeline() {
  const input = pipelineInput(SAMPLE, options, config);
  return client.workflow.start(pipelineWorkflow, {
    workflowId: `pipeline-${input.replay.runId}`,
    taskQueue: config.temporal.catalogTaskQueue,
    args: [input],
  });
}

/** Top symbols by volume, computed from the CSV. */
function topVolume(limit: number) {
  const volumes = new Map<string, { volume: number; trades: number }>();
  for (const row of rows) {
    const entry = volumes.get(row.Index!) ?? { volume: 0, trades: 0 };
    entry.volume += Number(row.Volume);
    entry.trades += 1;
    volumes.set(row.Index!, entry);
  }
  return [...volumes]
    .map(([symbol, entry]) => ({ symbol, ...entry }))
    .sort((a, b) => b.volume - a.volume || a.symbol.localeCompare(b.symbol))
    .slice(0, limit);
}

const queryRows = (report: PipelineReport, name: string) => {
  const { result } = report.queries.find((query) => query.name === name)!;
  return result.rows.map((row) => Object.fromEntries(row.map((value, index) => [result.columns[index]!.name, value])));
};

test('the sample through the whole pipeline: counts equal the CSV, top volume equals the CSV', async () => {
  const handle = await runPipeline();
  const report = await handle.result();
  expect(report.replay).toMatchObject({ sent: rows.length, rejected: 0, rowsRead: rows.length });
  expect(report.consumer).toMatchObject({ joined: false, flushed: rows.length, deadLettered: 0 });
  expect(report.lakeRows).toBe(rows.length);
  expect(report.crawl.tablesCreated).toEqual([`${config.glue.database}.${topic}`]);
  expect(report.catalog).toEqual({
    table: `${config.glue.database}.${topic}`,
    partitions: expect.any(Number),
    compacted: [],
  });
  expect(report.catalog.partitions).toBeGreaterThanOrEqual(1);

  const expected = topVolume(5);
  expect(
    queryRows(report, 'top-volume').map((row) => ({
      symbol: row.symbol,
      volume: Number(row.volume),
      trades: Number(row.trades),
    })),
  ).toEqual(expected);
  expect(report.queries.find((query) => query.name === 'top-volume')?.result.named).toMatchObject({
    columns: 'symbol=index, price=close, size=volume',
    timeBasis: 'arrival',
  });
  // trades lists the latest trades (the report's limit, 5), each with a symbol, and counts the whole window.
  const trades = queryRows(report, 'trades');
  expect(trades).toHaveLength(5);
  for (const trade of trades) {
    expect(new Set(rows.map((row) => row.Index))).toContain(trade.symbol);
    expect(trade).toMatchObject({ window_trades: String(rows.length), price: expect.any(String) });
  }
  expect(report.queries.map((query) => query.name)).toEqual(['trades', 'top-volume', 'vwap', 'ohlc']);
  expect(report.stages.map((stage) => stage.stage)).toEqual(
    expect.arrayContaining(['consumer', 'replay', 'flush', 'crawl', 'query top-volume']),
  );
  for (const stage of report.stages) expect(stage.url).toMatch(new RegExp(`^${config.temporal.uiUrl}/namespaces/`));

  const text = describePipeline(report);
  expect(text).toMatch(/rows replayed\s+│ 3080/);
  expect(text).toContain(`top-volume:`);
  expect(text).toContain(expected[0]!.symbol);
}, 180_000);

test('a second run joins the consumer and appends; kill -9 of the ingest worker mid-run loses and doubles nothing', async () => {
  const handle = await runPipeline();
  for (let tries = 0; tries < 400; tries++) {
    const progress = await handle.query(pipelineProgressQuery).catch(() => undefined);
    if (progress?.phase === 'replaying' || progress?.phase === 'flushing') break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await workers.ingest!.stop('SIGKILL');
  workers.ingest = await startWorkerProcess('ingest', env);
  const report = await handle.result();
  expect(report.consumer.joined).toBe(true);
  expect(report.replay.sent).toBe(rows.length);
  expect(report.lakeRows).toBe(rows.length);
  const [trade] = queryRows(report, 'trades');
  // Both runs are in the window: the table holds the sample twice.
  expect(trade!.window_trades).toBe(String(2 * rows.length));
}, 240_000);
