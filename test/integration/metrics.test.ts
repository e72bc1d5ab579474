import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { parsePrometheusText, sumSamples, type MetricSample } from '../../lib/metrics';
import { connectClient } from '../../lib/temporal';
import { consumerProgressQuery, type PipelineReport, stopConsumerSignal } from '../../lib/contracts';
import { pipelineInput } from '../../lib/workflow-inputs';
import { pipelineWorkflow } from '../../workflows';
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
} from '../helpers/glue';
import { testKafka } from '../helpers/kafka';
import { writeTempCsv } from '../helpers/replay';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

/**
 * Each worker's /metrics after a whole pipeline (replay, consume, crawl,
 * queries): it parses as Prometheus text, carries the SDK's metrics, and
 * TickSync's counters equal what the workflows themselves report.
 */

const topic = uniqueGlueName('metrics');
const env = {
  TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-metrics-ingest'),
  TICKSYNC_CATALOG_TASK_QUEUE: uniqueName('test-metrics-catalog'),
  TICKSYNC_QUERY_TASK_QUEUE: uniqueName('test-metrics-query'),
  TICKSYNC_TOPIC: topic,
  TICKSYNC_GLUE_DATABASE: testDatabaseName('metrics'),
  TICKSYNC_GLUE_CRAWLER: testCrawlerName('metrics'),
  TICKSYNC_ATHENA_WORKGROUP: testWorkGroupName('metrics'),
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
// The sample and two rows the replay rejects.
const CSV = writeTempCsv(
  'metrics.csv',
  `${fs.readFileSync(path.join(PROJECT_ROOT, 'data/indexProcessed-sample.csv'), 'utf8').trimEnd()}\n` +
    'NYA,2019-01-03,not-a-price,1,1,1,1,1,1\nNYA,2019-01-03,1\n',
);
const options = { minutes: 60, time: 'arrival' as const };
const input = pipelineInput(CSV, options, config);

let client: Client;
const workers: Partial<Record<'ingest' | 'catalog' | 'query', WorkerProcess>> = {};

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
  const consumer = client.workflow.getHandle(input.consumerWorkflowId);
  await consumer.signal(stopConsumerSignal).catch(() => undefined);
  await consumer.result().catch(() => undefined);
  await Promise.all(Object.values(workers).map((worker) => worker.stop()));
  await dropTestCrawler(glue, crawler).catch((error: unknown) => console.error(error));
  await dropTestWorkGroup(athena, config.athena.workgroup).catch((error: unknown) => console.error(error));
  await deletePrefix(s3, config.s3.bucket, `${config.s3.rawPrefix}${topic}/`);
  await deletePrefix(s3, config.s3.bucket, `${config.s3.dlqPrefix}${topic}/`);
  await client?.connection.close();
  glue.destroy();
  athena.destroy();
  s3.destroy();
});

async function scrape(worker: WorkerProcess | undefined): Promise<MetricSample[]> {
  const response = await fetch(worker!.metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheusText(await response.text());
}

test("each worker's /metrics parses, and its counters equal the replay's, consumer's, crawl's and queries' own", async () => {
  // One record the consumer dead-letters, in the topic before the pipeline's replay.
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics([{ topic, numPartitions: 3 }]);
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: '{"symbol": "NYA", "price": ' }] });
  await producer.disconnect();

  const report: PipelineReport = await client.workflow.execute(pipelineWorkflow, {
    workflowId: `pipeline-${input.replay.runId}`,
    taskQueue: config.temporal.catalogTaskQueue,
    args: [input],
  });
  expect(report.replay.rejected).toBe(2);
  const consumer = await client.workflow.getHandle(input.consumerWorkflowId).query(consumerProgressQuery);
  expect(consumer.totals.deadLetters).toBe(1);

  const ingest = await scrape(workers.ingest);
  const labels = { topic, task_queue: config.temporal.ingestTaskQueue };
  expect(sumSamples(ingest, 'ticksync_replay_rows_sent_total', labels)).toBe(report.replay.sent);
  expect(sumSamples(ingest, 'ticksync_replay_rows_rejected_total', labels)).toBe(2);
  expect(sumSamples(ingest, 'ticksync_consumer_records_written_total', labels)).toBe(consumer.totals.records);
  expect(sumSamples(ingest, 'ticksync_consumer_dead_letters_total', labels)).toBe(1);
  expect(sumSamples(ingest, 'ticksync_consumer_segments_committed_total', labels)).toBe(consumer.totals.segments);
  expect(sumSamples(ingest, 'ticksync_lake_objects_written_total', labels)).toBe(consumer.totals.objects);
  expect(sumSamples(ingest, 'ticksync_lake_bytes_written_total', labels)).toBe(consumer.totals.bytes);
  expect(sumSamples(ingest, 'ticksync_flush_duration_seconds_count', labels)).toBe(consumer.totals.segments);
  // Per partition: the lag the member last reported, which is nothing once flushed.
  const lag = ingest.filter(
    (sample) => sample.name === 'ticksync_consumer_lag_records' && sample.labels.topic === topic,
  );
  expect(lag.map((sample) => sample.labels.partition).sort()).toEqual(['0', '1', '2']);
  expect(lag.every((sample) => sample.value === 0)).toBe(true);
  // The SDK's own metrics on the same endpoint.
  expect(sumSamples(ingest, 'temporal_worker_start_total')).toBe(1);
  expect(sumSamples(ingest, 'temporal_activity_execution_latency_count')).toBeGreaterThan(0);

  const catalog = await scrape(workers.catalog);
  expect(sumSamples(catalog, 'ticksync_crawls_total', { crawler: config.glue.crawler, status: 'SUCCEEDED' })).toBe(1);
  expect(sumSamples(catalog, 'ticksync_crawl_duration_seconds_count', { crawler: config.glue.crawler })).toBe(1);
  expect(sumSamples(catalog, 'ticksync_crawl_duration_seconds_sum')).toBeCloseTo(report.crawl.durationSeconds, 3);

  const query = await scrape(workers.query);
  // The run's row count, SHOW PARTITIONS and the named queries.
  const queries = report.queries.length + 2;
  expect(sumSamples(query, 'ticksync_queries_total', { state: 'SUCCEEDED' })).toBe(queries);
  expect(sumSamples(query, 'ticksync_queries_total')).toBe(queries);
  expect(sumSamples(query, 'ticksync_query_duration_seconds_count', { state: 'SUCCEEDED' })).toBe(queries);
});

test('a scrape of anything but /metrics is answered 404 and the endpoint keeps serving', async () => {
  const base = workers.ingest!.metricsUrl.replace(/\/metrics$/, '');
  expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
  expect((await fetch(workers.ingest!.metricsUrl)).status).toBe(200);
});
