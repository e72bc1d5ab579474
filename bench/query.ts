import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type AthenaClient,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  DeleteTableCommand,
  GetPartitionsCommand,
  GetTableCommand,
  StartCrawlerCommand,
  type GlueClient,
} from '@aws-sdk/client-glue';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection, type JS } from '@duckdb/node-api';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from 'pino';
import { createCompactActivities } from '../activities/compact';
import { createAthenaClient, createGlueClient, createS3Client } from '../lib/clients';
import { createKafka } from '../lib/kafka';
import type { Config } from '../lib/config';
import { isAwsError } from '../lib/errors';
import { HOUR_MS, hourFolder, hourInKey, hourPartition } from '../lib/hour-keys';
import { objectKey } from '../lib/lake';
import {
  NAMED_QUERY_DEFAULTS,
  NAMED_QUERY_NAMES,
  namedQuerySql,
  tableForTopic,
  type NamedQueryName,
} from '../lib/queries';
import { connectClient } from '../lib/temporal';
import { curatedTableName, lakeViewName } from '../lib/ticks-table';
import { ObjectCache } from '../local-aws/athena/engine/object-cache';
import { crawlerDefinition } from '../lib/provisioning';
import { provision } from '../lib/provision';
import { consumerWorkflow } from '../workflows';
import { stopConsumerSignal } from '../lib/contracts';
import {
  createTestCrawler,
  deletePrefix,
  dropTestCrawler,
  testCrawlerName,
  testDatabaseName,
  waitForCrawlerReady,
} from '../test/helpers/glue';
import { consumerInputFor } from '../test/helpers/lake';
import { startWorkerProcess, uniqueName } from '../test/helpers/workers';
import { benchTickFile } from './ticks';

export interface QueryBenchOptions {
  rows: number;
  repeat: number;
  /** The API side's GetQueryExecution interval. */
  pollMs: number;
  /** The hours over which the lake's ticks arrived (`ts`). */
  spanHours: number;
}

/** A fixed topic, so the generated lake is reused by the next run with the same row count. */
const TOPIC = 'bench-query';
const RUN_ID = 'bench-query';
/** Written after the lake, so a lake without it is incomplete; it says what the lake holds. */
const MARKER_KEY = `bench/query/${TOPIC}.json`;
/** As the consume benchmark's topic: records spread over partitions by symbol, segments of 50,000 records. */
const PARTITIONS = 6;
const SEGMENT_RECORDS = 50_000;
const MINUTE = 60_000;
const UPLOADS_IN_FLIGHT = 4;
const FRESHNESS_SAMPLES = 3;
const FRESHNESS_TIMEOUT_MS = 60_000;
const gzip = promisify(zlib.gzip);

/** The marker's record of the lake; a run reuses the lake when rows and layout match. */
interface Dataset {
  rows: number;
  partitions: number;
  segmentRecords: number;
  /** The hours the arrival times (`ts`) cover, up to `end`. */
  spanHours: number;
  /** The last arrival time: the queries' "now". */
  end: string;
  objects: number;
  bytes: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (ms: number) => Math.round(ms * 10) / 10;
const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The Kafka partition a symbol's records go to (the producer partitions by key). */
function partitionOf(symbol: string): number {
  let hash = 0;
  for (let index = 0; index < symbol.length; index++) hash = (Math.imul(hash, 31) + symbol.charCodeAt(index)) | 0;
  return Math.abs(hash) % PARTITIONS;
}

/** The lake of `rows` ticks: the one a previous run wrote when it matches, else a new one; `written` when new. */
async function ensureDataset(config: Config, logger: Logger, s3: S3Client, rows: number, spanHours: number) {
  const bucket = config.s3.bucket;
  let previous: Dataset | undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: MARKER_KEY }));
    previous = JSON.parse(await object.Body!.transformToString()) as Dataset;
  } catch (error) {
    if (!isAwsError(error, 'NoSuchKey') && !isAwsError(error, 'NotFound')) throw error;
  }
  if (
    previous?.rows === rows &&
    previous.spanHours === spanHours &&
    previous.partitions === PARTITIONS &&
    previous.segmentRecords === SEGMENT_RECORDS
  ) {
    logger.info(previous, 'reusing the lake');
    return { dataset: previous, written: false };
  }
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: MARKER_KEY }));
  const dataset = await writeDataset(config, logger, s3, rows, spanHours);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: MARKER_KEY, Body: JSON.stringify(dataset) }));
  return { dataset, written: true };
}

/**
 * Writes the bench topic's raw objects as the consumer writes them: the tick file's rows as replayed
 * records (`ts` spread evenly over the `spanHours` before `end`), per partition in segments of SEGMENT_RECORDS split by
 * hour, each object gzip JSON Lines named after its first offset, with the consumer's metadata.
 */
async function writeDataset(
  config: Config,
  logger: Logger,
  s3: S3Client,
  rows: number,
  spanHours: number,
): Promise<Dataset> {
  const { bucket, rawPrefix } = config.s3;
  const file = await benchTickFile(config, logger, rows);
  // Half past the last hour: the 10-minute window reads one hour partition on every run.
  const started = Date.now();
  const end = Math.floor((started - 30 * MINUTE) / HOUR_MS) * HOUR_MS + 30 * MINUTE;
  const spanMs = Math.round(spanHours * HOUR_MS);
  const start = end - spanMs;
  await deletePrefix(s3, bucket, `${rawPrefix}${TOPIC}/`);

  const buffers = Array.from({ length: PARTITIONS }, () => ({ lines: [] as string[], hours: [] as string[] }));
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const uploads = new Set<Promise<void>>();
  let objects = 0;
  let bytes = 0;

  async function upload(partition: number, firstOffset: number, hour: string, lines: string[]) {
    const body = await gzip(`${lines.join('\n')}\n`);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: objectKey(rawPrefix, TOPIC, hour, partition, String(firstOffset)),
        Body: body,
        Metadata: {
          'start-offset': String(firstOffset),
          'end-offset': String(firstOffset + lines.length - 1),
          records: String(lines.length),
        },
      }),
    );
    objects += 1;
    bytes += body.length;
  }

  /** One segment of a partition: an object per hour its records arrived in. */
  async function flushSegment(partition: number) {
    const { lines, hours } = buffers[partition]!;
    let from = 0;
    for (let index = 1; index <= lines.length; index++) {
      if (index < lines.length && hours[index] === hours[from]) continue;
      while (uploads.size >= UPLOADS_IN_FLIGHT) await Promise.race(uploads);
      const pending = upload(partition, offsets[partition]! + from, hours[from]!, lines.slice(from, index));
      const tracked = pending.finally(() => uploads.delete(tracked));
      uploads.add(tracked);
      from = index;
    }
    offsets[partition]! += lines.length;
    buffers[partition] = { lines: [], hours: [] };
  }

  const input = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let seq = 0;
  let header = true;
  let loggedAt = Date.now();
  for await (const line of input) {
    if (header) {
      header = false;
      continue;
    }
    const [timestamp, symbol, price, size, side] = line.split(',') as [string, string, string, string, string];
    seq += 1;
    const arrival = start + Math.floor((seq * spanMs) / rows);
    const partition = partitionOf(symbol);
    const buffer = buffers[partition]!;
    // The replayed record: the row's fields typed as the replay types them, then the envelope.
    buffer.lines.push(
      JSON.stringify({
        timestamp,
        symbol,
        price: Number(price),
        size: Number(size),
        side,
        ts: new Date(arrival).toISOString(),
        run_id: RUN_ID,
        seq,
      }),
    );
    buffer.hours.push(hourPartition(arrival));
    if (buffer.lines.length >= SEGMENT_RECORDS) await flushSegment(partition);
    if (Date.now() - loggedAt >= 5000) {
      loggedAt = Date.now();
      logger.info({ rows: seq, of: rows, objects }, 'writing the lake');
    }
  }
  for (let partition = 0; partition < PARTITIONS; partition++) await flushSegment(partition);
  await Promise.all(uploads);
  if (seq !== rows) throw new Error(`${file} holds ${seq} rows, expected ${rows}`);
  const dataset: Dataset = {
    rows,
    partitions: PARTITIONS,
    segmentRecords: SEGMENT_RECORDS,
    spanHours,
    end: new Date(end).toISOString(),
    objects,
    bytes,
  };
  logger.info({ ...dataset, seconds: (Date.now() - started) / 1000 }, 'lake written');
  return dataset;
}

/** The bench database, its crawler over the bench topic's folder, and a crawl when the table is missing or stale. */
async function catalogDataset(config: Config, logger: Logger, glue: GlueClient, database: string, fresh: boolean) {
  const ignore = (name: string) => (error: unknown) => {
    if (!isAwsError(error, name)) throw error;
  };
  const table = tableForTopic(TOPIC);
  const crawler = `${config.glue.crawler}-${TOPIC}`;
  await glue
    .send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }))
    .catch(ignore('AlreadyExistsException'));
  await glue
    .send(
      new CreateCrawlerCommand({
        ...crawlerDefinition(config),
        Name: crawler,
        DatabaseName: database,
        Description: 'TickSync query benchmark',
        Targets: { S3Targets: [{ Path: `s3://${config.s3.bucket}/${config.s3.rawPrefix}${TOPIC}/` }] },
      }),
    )
    .catch(ignore('AlreadyExistsException'));
  const exists = await glue.send(new GetTableCommand({ DatabaseName: database, Name: table })).then(
    () => true,
    (error: unknown) => {
      ignore('EntityNotFoundException')(error);
      return false;
    },
  );
  if (exists && !fresh) return;
  // A new lake replaces the old one's hours: a fresh table holds only the new partitions.
  if (exists) await glue.send(new DeleteTableCommand({ DatabaseName: database, Name: table }));
  logger.info({ crawler, database }, 'crawling the lake');
  const started = Date.now();
  await glue.send(new StartCrawlerCommand({ Name: crawler }));
  const crawled = await waitForCrawlerReady(glue, crawler, 600_000);
  if (crawled.LastCrawl?.Status !== 'SUCCEEDED') {
    throw new Error(`crawler ${crawler}: ${crawled.LastCrawl?.Status} ${crawled.LastCrawl?.ErrorMessage ?? ''}`);
  }
  logger.info({ crawler, seconds: (Date.now() - started) / 1000 }, 'lake crawled');
}

interface ApiRun {
  ms: number;
  columns: string[];
  rows: (string | null)[][];
  scannedBytes: number;
  engineMs: number;
  planningMs: number;
  /** Writing the result files to S3, after the engine answered. */
  resultWriteMs: number;
}

/** One query through the Athena API, timed from StartQueryExecution to the last page of GetQueryResults. */
async function runAthena(
  athena: AthenaClient,
  config: Config,
  database: string,
  sql: string,
  pollMs: number,
): Promise<ApiRun> {
  const started = performance.now();
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      QueryExecutionContext: { Database: database },
      WorkGroup: config.athena.workgroup,
      ResultConfiguration: { OutputLocation: config.athena.outputLocation },
    }),
  );
  let execution: QueryExecution | undefined;
  for (;;) {
    ({ QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId })));
    const state = execution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new Error(`query ${QueryExecutionId} ${state}: ${execution?.Status?.StateChangeReason}\n${sql}`);
    }
    await sleep(pollMs);
  }
  const rows: (string | null)[][] = [];
  let nextToken: string | undefined;
  do {
    const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId, NextToken: nextToken }));
    rows.push(
      ...(page.ResultSet?.Rows ?? []).map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue ?? null)),
    );
    nextToken = page.NextToken;
  } while (nextToken);
  const ms = performance.now() - started;
  const statistics = execution?.Statistics;
  return {
    ms,
    // A SELECT's first row is its header.
    columns: (rows.shift() ?? []).map(String),
    rows,
    scannedBytes: statistics?.DataScannedInBytes ?? 0,
    engineMs: statistics?.EngineExecutionTimeInMillis ?? 0,
    planningMs: statistics?.QueryPlanningTimeInMillis ?? 0,
    resultWriteMs: statistics?.ServiceProcessingTimeInMillis ?? 0,
  };
}

/**
 * The named query as DuckDB SQL written by hand: the same window and aggregation over the files
 * of the partitions the window reads (the partition predicates, applied by choosing the files).
 */
function directSql(name: NamedQueryName, files: string[], now: string): string {
  const { minutes, limit } = NAMED_QUERY_DEFAULTS;
  const lake = `read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited', compression = 'gzip',
  columns = {timestamp: 'VARCHAR', symbol: 'VARCHAR', price: 'DOUBLE', size: 'BIGINT', side: 'VARCHAR', ts: 'VARCHAR', run_id: 'VARCHAR', seq: 'BIGINT'})`;
  const window = `CAST(ts AS TIMESTAMPTZ) >= TIMESTAMPTZ ${sqlString(now)} - INTERVAL ${minutes} MINUTE`;
  switch (name) {
    case 'trades':
      return `SELECT symbol, CAST(ts AS TIMESTAMPTZ) AS time, price, size, count(*) OVER () AS window_trades
FROM ${lake} WHERE ${window} ORDER BY ts DESC, seq DESC LIMIT ${limit}`;
    case 'top-volume':
      return `SELECT symbol, sum(size) AS volume, count(*) AS trades FROM ${lake} WHERE ${window}
GROUP BY symbol ORDER BY volume DESC, symbol LIMIT ${limit}`;
    case 'vwap':
      return `SELECT symbol, sum(price * size) / sum(size) AS vwap, sum(size) AS volume, count(*) AS trades
FROM ${lake} WHERE ${window} AND size > 0 GROUP BY symbol ORDER BY symbol`;
    case 'ohlc':
      return `SELECT symbol, date_trunc('minute', CAST(ts AS TIMESTAMPTZ)) AS minute,
  arg_min(price, row(ts, seq)) AS open, max(price) AS high, min(price) AS low,
  arg_max(price, row(ts, seq)) AS close, sum(size) AS volume, count(*) AS trades
FROM ${lake} WHERE ${window} GROUP BY 1, 2 ORDER BY 1, 2`;
  }
}

interface DirectRun {
  ms: number;
  columns: string[];
  rows: JS[][];
}

async function runDirect(connection: DuckDBConnection, sql: string): Promise<DirectRun> {
  const started = performance.now();
  const result = await connection.run(sql);
  const rows = await result.getRowsJS();
  return { ms: performance.now() - started, columns: result.columnNames(), rows };
}

/** A value from either side as something comparable: timestamps and numbers as numbers, the rest as text. */
function comparable(value: JS | string | null): number | string | null {
  if (value === null || typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  const text = String(value);
  // Athena writes a timestamp with time zone as `2026-11-29 12:20:00.000 UTC`.
  const timestamp = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d{3}) UTC$/.exec(text);
  if (timestamp) return Date.parse(`${timestamp[1]}T${timestamp[2]}Z`);
  return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

/**
 * Fails when two sides answered differently (the API and DuckDB, or the raw and the compacted lake): a
 * benchmark of different answers measures nothing. Numbers agree to 1e-9 (a sum of doubles depends on the
 * order it is added in); everything else exactly.
 */
function checkSameAnswer(
  name: NamedQueryName,
  api: Pick<ApiRun, 'columns' | 'rows'>,
  direct: Pick<DirectRun, 'columns' | 'rows'>,
  sides = 'the Athena API and DuckDB',
): void {
  const fail = (what: string) => {
    throw new Error(`${name}: ${sides} answered differently: ${what}`);
  };
  if (api.columns.join() !== direct.columns.join()) fail(`columns ${api.columns.join()} / ${direct.columns.join()}`);
  if (api.rows.length !== direct.rows.length) fail(`${api.rows.length} rows / ${direct.rows.length} rows`);
  if (api.rows.length === 0) fail('no rows: the window selects nothing');
  api.rows.forEach((row, index) => {
    row.forEach((cell, column) => {
      const a = comparable(cell);
      const b = comparable(direct.rows[index]![column] ?? null);
      const same =
        typeof a === 'number' && typeof b === 'number'
          ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
          : a === b;
      if (!same)
        fail(`row ${index + 1}, ${api.columns[column]}: ${String(cell)} / ${String(direct.rows[index]![column])}`);
    });
  });
}

async function listKeys(s3: S3Client, bucket: string, prefix: string) {
  const objects: { key: string; size: number; etag: string }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? [])
      objects.push({ key: object.Key!, size: object.Size!, etag: object.ETag! });
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

/**
 * Freshness on the real pipeline: a consumer on a fresh topic, the table crawled once its hour has a
 * record; then the time from producing a record to the first query through the API that counts it.
 */
async function measureFreshness(
  config: Config,
  logger: Logger,
  clients: { athena: AthenaClient; glue: GlueClient; s3: S3Client },
  pollMs: number,
) {
  const { athena, glue, s3 } = clients;
  const topic = uniqueName('bench-freshness');
  const table = tableForTopic(topic);
  const prefix = `${config.s3.rawPrefix}${topic}/`;
  // Siblings of the stack's names, which the crawler and analyst policies cover.
  const crawler = {
    crawler: testCrawlerName('bench-freshness'),
    database: testDatabaseName('bench_freshness'),
    path: `s3://${config.s3.bucket}/${prefix}`,
  };
  const queue = uniqueName('bench-query-ingest');
  const worker = await startWorkerProcess('ingest', { TICKSYNC_INGEST_TASK_QUEUE: queue, TICKSYNC_LOG_LEVEL: 'warn' });
  const client = await connectClient(config);
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  const producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  await admin.createTopics([{ topic, numPartitions: 1 }]);
  const consumer = await client.workflow.start(consumerWorkflow, {
    workflowId: uniqueName('bench-freshness-consumer'),
    taskQueue: queue,
    args: [consumerInputFor(topic)],
  });
  const runId = uniqueName('freshness');
  const produce = (id: string) =>
    producer.send({
      topic,
      messages: [
        {
          key: 'FRESH',
          value: JSON.stringify({
            symbol: 'FRESH',
            price: 1,
            size: 1,
            side: 'buy',
            ts: new Date().toISOString(),
            run_id: id,
            seq: 1,
          }),
        },
      ],
    });
  const count = async (hour: string, id: string) => {
    const { dt, hour: hh } = hourInKey(hour)!;
    const sql = `SELECT count(*) FROM ${table} WHERE dt = '${dt}' AND hour = '${hh}' AND run_id = '${id}'`;
    return Number((await runAthena(athena, config, crawler.database, sql, pollMs)).rows[0]?.[0]);
  };
  const cataloged = new Set<string>();
  const samples: { ms: number; polls: number }[] = [];
  try {
    await createTestCrawler(glue, config, crawler);
    for (let sample = 1; sample <= FRESHNESS_SAMPLES; sample++) {
      // A record must land in an hour the catalog has: near the end of an hour, wait for the next one.
      const hourEnd = Math.ceil((Date.now() + 1) / HOUR_MS) * HOUR_MS;
      if (hourEnd - Date.now() < MINUTE) await sleep(hourEnd - Date.now() + 1000);
      const hour = hourPartition(Date.now());
      if (!cataloged.has(hour)) {
        const primer = `${runId}-primer-${sample}`;
        await produce(primer);
        const deadline = Date.now() + FRESHNESS_TIMEOUT_MS;
        while ((await listKeys(s3, config.s3.bucket, `${prefix}${hour}/`)).length === 0) {
          if (Date.now() > deadline) throw new Error(`the consumer wrote nothing to ${prefix}${hour}/`);
          await sleep(200);
        }
        await glue.send(new StartCrawlerCommand({ Name: crawler.crawler }));
        const crawled = await waitForCrawlerReady(glue, crawler.crawler);
        if (crawled.LastCrawl?.Status !== 'SUCCEEDED')
          throw new Error(`crawl of ${topic}: ${crawled.LastCrawl?.Status}`);
        cataloged.add(hour);
      }
      const id = `${runId}-${sample}`;
      const produced = performance.now();
      await produce(id);
      let polls = 0;
      for (;;) {
        polls += 1;
        if ((await count(hour, id)) === 1) break;
        if (performance.now() - produced > FRESHNESS_TIMEOUT_MS)
          throw new Error(`record ${id} never showed in ${table}`);
      }
      samples.push({ ms: performance.now() - produced, polls });
      logger.info({ sample, ms: round(samples.at(-1)!.ms), polls }, 'freshness');
    }
    return samples;
  } finally {
    await consumer.signal(stopConsumerSignal).catch(() => undefined);
    await consumer.result().catch((error: unknown) => logger.warn({ err: error }, 'freshness consumer failed'));
    await producer.disconnect();
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.disconnect();
    await dropTestCrawler(glue, crawler).catch((error: unknown) => logger.warn({ err: error }, 'crawler cleanup'));
    for (const folder of [prefix, `${config.s3.manifestPrefix}${topic}/`])
      await deletePrefix(s3, config.s3.bucket, folder);
    await client.connection.close();
    await worker.stop();
  }
}

/** Every hour of the bench table compacted to Parquet and published, with the compactor's keys; the hours done. */
async function compactLake(config: Config, logger: Logger, glue: GlueClient, database: string, table: string) {
  const { Partitions: partitions = [] } = await glue.send(
    new GetPartitionsCommand({ DatabaseName: database, TableName: table, ExcludeColumnSchema: true }),
  );
  const s3 = createS3Client(config, 'compactor');
  const compactorGlue = createGlueClient(config, 'compactor');
  const activities = createCompactActivities({ s3, glue: compactorGlue, config, logger });
  const environment = new MockActivityEnvironment();
  const started = performance.now();
  try {
    for (const partition of partitions) {
      const [dt = '', hour = ''] = partition.Values ?? [];
      const done = await environment.run(activities.compactHour, { database, table, dt, hour, targetMb: 128 });
      logger.info(done, 'hour compacted');
    }
  } finally {
    s3.destroy();
    compactorGlue.destroy();
  }
  logger.info({ hours: partitions.length, seconds: round((performance.now() - started) / 1000) }, 'lake compacted');
  return partitions.length;
}

/**
 * The lake as it was before compaction: the lake view and the curated table dropped and the curated Parquet
 * deleted (the raw table and its objects never change), so the next run measures the raw lake and compacts anew.
 */
async function restoreRawLake(config: Config, s3: S3Client, glue: GlueClient, database: string, table: string) {
  for (const name of [lakeViewName(table), curatedTableName(table)]) {
    await glue.send(new DeleteTableCommand({ DatabaseName: database, Name: name })).catch((error: unknown) => {
      if (!isAwsError(error, 'EntityNotFoundException')) throw error;
    });
  }
  await deletePrefix(s3, config.s3.bucket, `${config.s3.curatedPrefix}${table}/`);
}

/**
 * The named queries through the local Athena API against the same SQL run directly in DuckDB on
 * the same cached files, over a lake of `rows` ticks; then freshness through the real pipeline.
 */
export async function benchQuery(config: Config, logger: Logger, options: QueryBenchOptions) {
  const { bucket, rawPrefix } = config.s3;
  const database = `${config.glue.database}_bench`;
  const table = tableForTopic(TOPIC);
  const s3 = createS3Client(config, 'admin');
  const glue = createGlueClient(config, 'admin');
  const athena = createAthenaClient(config, 'analyst');
  // The engine's limits (local-aws/athena/index.ts), so both sides run DuckDB alike.
  const duckdb = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const connection = await duckdb.connect();
  try {
    // The bucket, its folders and the work group the analyst queries in, as `npm run provision` makes them.
    await provision(config, logger);
    const { dataset, written } = await ensureDataset(config, logger, s3, options.rows, options.spanHours);
    await catalogDataset(config, logger, glue, database, written);
    const { end } = dataset;
    await connection.run("SET TimeZone = 'UTC'");

    // The window's partitions: the hours from the one `minutes` before the end, as the partition predicates choose.
    const firstHour = hourPartition(Date.parse(end) - NAMED_QUERY_DEFAULTS.minutes * MINUTE);
    const windowObjects = (await listKeys(s3, bucket, `${rawPrefix}${TOPIC}/`)).filter((object) => {
      const hour = hourInKey(object.key);
      return hour !== undefined && hourFolder(hour) >= firstHour;
    });
    const cache = new ObjectCache(path.join(config.stack.dir, 'aws', 'athena-cache'));
    const cached = windowObjects.map((object) => cache.pathFor({ ...object, bucket }));
    const windowBytes = windowObjects.reduce((total, object) => total + object.size, 0);

    const results = [];
    const rawAnswers = new Map<NamedQueryName, ApiRun>();
    for (const name of NAMED_QUERY_NAMES) {
      // "now" pinned to the lake's end, so the answer does not move between runs and the two sides compare.
      const sql = namedQuerySql(name, { table, ...NAMED_QUERY_DEFAULTS }).replaceAll(
        'current_timestamp',
        `from_iso8601_timestamp('${end}')`,
      );
      // Cold: the engine's cached copies of the window's objects removed, so it lists, downloads and profiles them.
      for (const file of cached) fs.rmSync(path.dirname(file), { recursive: true, force: true });
      const cold = await runAthena(athena, config, database, sql, options.pollMs);
      const missing = cached.filter((file) => !fs.existsSync(file));
      if (missing.length > 0)
        throw new Error(`${name}: the engine did not cache ${missing.length} of the window's objects`);
      if (cold.scannedBytes !== windowBytes) {
        throw new Error(
          `${name}: the API scanned ${cold.scannedBytes} bytes, the window's objects hold ${windowBytes}`,
        );
      }
      const direct = directSql(name, cached, end);
      const api: ApiRun[] = [];
      const local: DirectRun[] = [];
      // Alternated, so drift on the machine weighs on both sides alike.
      for (let run = 0; run < options.repeat; run++) {
        api.push(await runAthena(athena, config, database, sql, options.pollMs));
        local.push(await runDirect(connection, direct));
      }
      checkSameAnswer(name, cold, local[0]!);
      checkSameAnswer(name, api.at(-1)!, local.at(-1)!);
      rawAnswers.set(name, cold);
      const apiMs = median(api.map((run) => run.ms));
      const directMs = median(local.map((run) => run.ms));
      const line = {
        bench: 'query',
        query: name,
        rows_in_lake: dataset.rows,
        span_hours: dataset.spanHours,
        window_minutes: NAMED_QUERY_DEFAULTS.minutes,
        result_rows: cold.rows.length,
        athena_api_ms: round(apiMs),
        athena_api_cold_ms: round(cold.ms),
        duckdb_direct_ms: round(directMs),
        ratio: Number((apiMs / directMs).toFixed(2)),
        athena_engine_ms: median(api.map((run) => run.engineMs)),
        athena_planning_ms: median(api.map((run) => run.planningMs)),
        athena_result_write_ms: median(api.map((run) => run.resultWriteMs)),
        data_scanned_bytes: cold.scannedBytes,
      };
      console.log(JSON.stringify(line));
      results.push(line);
    }

    // The same lake compacted: every hour to Parquet as compactWorkflow's activity makes it, then the same queries
    // through the lake view `<table>_lake`, as the named queries read it (every hour below its watermark now).
    await restoreRawLake(config, s3, glue, database, table);
    const hours = await compactLake(config, logger, glue, database, table);
    const compacted = [];
    try {
      for (const raw of results) {
        const sql = namedQuerySql(raw.query, { table: lakeViewName(table), ...NAMED_QUERY_DEFAULTS }).replaceAll(
          'current_timestamp',
          `from_iso8601_timestamp('${end}')`,
        );
        const rawSql = namedQuerySql(raw.query, { table, ...NAMED_QUERY_DEFAULTS }).replaceAll(
          'current_timestamp',
          `from_iso8601_timestamp('${end}')`,
        );
        const cold = await runAthena(athena, config, database, sql, options.pollMs);
        // The raw table stays as it was: its warm runs alternate with the compacted ones, so a change in the
        // shared machine's load weighs on both sides alike (the raw phase above ran minutes earlier).
        const warm: ApiRun[] = [];
        const rawWarm: ApiRun[] = [];
        for (let run = 0; run < options.repeat; run++) {
          rawWarm.push(await runAthena(athena, config, database, rawSql, options.pollMs));
          warm.push(await runAthena(athena, config, database, sql, options.pollMs));
        }
        // Row for row the raw lake's answer (ohlc: open and close by the same trade order on both sides).
        checkSameAnswer(raw.query, rawAnswers.get(raw.query)!, cold, 'the raw and the compacted lake');
        checkSameAnswer(raw.query, rawWarm.at(-1)!, warm.at(-1)!, 'the raw and the compacted lake');
        const ms = median(warm.map((run) => run.ms));
        const rawMs = median(rawWarm.map((run) => run.ms));
        const range = (runs: ApiRun[]) => [
          round(Math.min(...runs.map((r) => r.ms))),
          round(Math.max(...runs.map((r) => r.ms))),
        ];
        const line = {
          bench: 'query-compacted',
          query: raw.query,
          hours_compacted: hours,
          raw_api_ms: round(rawMs),
          raw_api_ms_range: range(rawWarm),
          raw_phase_api_ms: raw.athena_api_ms,
          compacted_api_ms: round(ms),
          compacted_api_ms_range: range(warm),
          compacted_api_cold_ms: round(cold.ms),
          raw_engine_ms: median(rawWarm.map((run) => run.engineMs)),
          compacted_engine_ms: median(warm.map((run) => run.engineMs)),
          speedup: Number((rawMs / ms).toFixed(2)),
          raw_scanned_bytes: raw.data_scanned_bytes,
          compacted_scanned_bytes: cold.scannedBytes,
          scanned_ratio: Number((raw.data_scanned_bytes / Math.max(1, cold.scannedBytes)).toFixed(1)),
        };
        console.log(JSON.stringify(line));
        compacted.push(line);
      }
    } finally {
      // The next run measures the raw lake again.
      await restoreRawLake(config, s3, glue, database, table);
    }

    const freshness = await measureFreshness(config, logger, { athena, glue, s3 }, options.pollMs);
    const freshnessMs = freshness.map((sample) => round(sample.ms));
    console.log(
      JSON.stringify({
        bench: 'query-freshness',
        samples_ms: freshnessMs,
        polls: freshness.map((sample) => sample.polls),
        median_ms: round(median(freshnessMs)),
      }),
    );
    const topVolume = results.find((line) => line.query === 'top-volume')!;
    return {
      bench: 'query',
      rows_in_lake: dataset.rows,
      span_hours: dataset.spanHours,
      objects_in_lake: dataset.objects,
      lake_end: end,
      repeat: options.repeat,
      poll_ms: options.pollMs,
      queries: Object.fromEntries(
        results.map((line) => [
          line.query,
          {
            athena_api_ms: line.athena_api_ms,
            athena_api_cold_ms: line.athena_api_cold_ms,
            duckdb_direct_ms: line.duckdb_direct_ms,
            ratio: line.ratio,
          },
        ]),
      ),
      compacted: Object.fromEntries(
        compacted.map((line) => [
          line.query,
          {
            raw_api_ms: line.raw_api_ms,
            compacted_api_ms: line.compacted_api_ms,
            speedup: line.speedup,
            scanned_ratio: line.scanned_ratio,
          },
        ]),
      ),
      goal_compacted_scans_10x_less: compacted.every((line) => line.scanned_ratio >= 10),
      goal_compacted_2x_faster: compacted.every((line) => line.speedup >= 2),
      freshness_median_ms: round(median(freshnessMs)),
      ratio_max: Math.max(...results.map((line) => line.ratio)),
      goal_ratio_at_most_1_5: results.every((line) => line.ratio <= 1.5),
      goal_top_volume_under_1_s: topVolume.athena_api_ms < 1000,
    };
  } finally {
    connection.closeSync();
    duckdb.closeSync();
    s3.destroy();
    glue.destroy();
    athena.destroy();
  }
}
