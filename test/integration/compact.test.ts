import fs from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import {
  GetPartitionCommand,
  GetTableCommand,
  StartCrawlerCommand,
  UpdateTableCommand,
  type Partition,
} from '@aws-sdk/client-glue';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { COMPACTED } from '../../activities/compact';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { ErrorType } from '../../lib/errors';
import { NAMED_QUERY_NAMES, namedQuerySql, resolveColumns } from '../../lib/queries';
import { curatedTableName, LAKE_WATERMARK, lakeViewName, projectionParameters } from '../../lib/ticks-table';
import { connectClient } from '../../lib/temporal';
import type { CompactInput, CompactResult, LakeHour } from '../../lib/contracts';
import { compactWorkflow } from '../../workflows';
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
import { runScript } from '../helpers/scripts';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

/**
 * compactWorkflow on the real stack, on the default setup: raw hours written as the consumer writes them,
 * crawled, and the raw table given partition projection as `npm run provision` does; then compacted by a
 * real compact worker process into `<topic>_curated`; every answer is read back through the local Athena
 * from the lake view `<topic>_lake` (curated hours below its watermark, raw hours from it on).
 */

const env = { TICKSYNC_COMPACT_TASK_QUEUE: uniqueName('test-compact') };
const config = loadConfig({ ...process.env, ...env });
const s3 = createS3Client(config, 'admin');
const glue = createGlueClient(config, 'admin');
const athena: AthenaClient = createAthenaClient(config, 'analyst');
const adminAthena = createAthenaClient(config, 'admin');
const { bucket, rawPrefix, curatedPrefix, dlqPrefix } = config.s3;
const topic = uniqueGlueName('compacttest');
const lake = lakeViewName(topic);
const workGroup = testWorkGroupName('compacttest');
const crawler = {
  crawler: testCrawlerName('compacttest'),
  database: testDatabaseName('compacttest'),
  path: `s3://${bucket}/${rawPrefix}${topic}/`,
};

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'META', 'GOOG', 'AMD'];
let seed = 7;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
let nextSeq = 1;

/** Ticks of one hour (event time and arrival in it), as the replay and consumer write them. */
function ticksIn({ dt, hour }: LakeHour, count: number, runId = 'compact-run'): Record<string, unknown>[] {
  const start = Date.parse(`${dt}T${hour}:00:00Z`);
  return Array.from({ length: count }, (_, index) => ({
    symbol: SYMBOLS[Math.floor(random() * SYMBOLS.length)]!,
    price: Math.round((50 + random() * 400) * 100) / 100,
    size: 1 + Math.floor(random() * 500),
    side: random() < 0.5 ? 'buy' : 'sell',
    timestamp: new Date(start + Math.floor((3_599_000 * index) / count)).toISOString(),
    ts: new Date(start + Math.floor((3_599_000 * index) / count) + 250).toISOString(),
    run_id: runId,
    seq: nextSeq++,
  }));
}

const hourPrefix = ({ dt, hour }: LakeHour) => `${rawPrefix}${topic}/dt=${dt}/hour=${hour}/`;

async function putRaw(hour: LakeHour, partition: number, offset: number, body: Buffer): Promise<string> {
  const key = `${hourPrefix(hour)}${topic}+${partition}+${offset}.jsonl.gz`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return key;
}

const jsonLines = (records: Record<string, unknown>[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

/** The hours of the tests, long closed. */
const BIG: LakeHour = { dt: '2024-01-02', hour: '03' };
const ONE: LakeHour = { dt: '2024-01-02', hour: '04' };
const CORRUPT: LakeHour = { dt: '2024-01-02', hour: '05' };
const EMPTY: LakeHour = { dt: '2024-01-02', hour: '06' };
/** Written after the crawl: read through projection. */
const NEW: LakeHour = { dt: '2024-01-02', hour: '07' };
/** The first hours of the lake: compacted in order, each moves the view's watermark past it. */
const KILLED: LakeHour[] = ['10', '11', '12'].map((hour) => ({ dt: '2024-01-01', hour }));
/** Enough for each hour's compaction to take a while, so that kills land before, during and after publishing. */
const KILLED_TICKS = 60_000;

const expected = new Map<string, Record<string, unknown>[]>();
const hourKey = ({ dt, hour }: LakeHour) => `${dt}/${hour}`;

let client: Client;
let worker: WorkerProcess;

beforeAll(async () => {
  client = await connectClient(config);
  const big = ticksIn(BIG, 3000);
  await putRaw(BIG, 0, 0, gzipSync(jsonLines(big.slice(0, 1000))));
  await putRaw(BIG, 1, 0, gzipSync(jsonLines(big.slice(1000, 2200))));
  await putRaw(BIG, 2, 0, gzipSync(jsonLines(big.slice(2200))));
  expected.set(hourKey(BIG), big);
  const one = ticksIn(ONE, 1);
  await putRaw(ONE, 0, 5, gzipSync(jsonLines(one)));
  expected.set(hourKey(ONE), one);
  const good = ticksIn(CORRUPT, 50);
  await putRaw(CORRUPT, 0, 0, gzipSync(jsonLines(good)));
  expected.set(hourKey(CORRUPT), good);
  for (const hour of KILLED) {
    const records = ticksIn(hour, KILLED_TICKS);
    await putRaw(hour, 0, 0, gzipSync(jsonLines(records.slice(0, KILLED_TICKS / 2))));
    await putRaw(hour, 1, 0, gzipSync(jsonLines(records.slice(KILLED_TICKS / 2))));
    expected.set(hourKey(hour), records);
  }
  await createTestCrawler(glue, config, crawler);
  await glue.send(new StartCrawlerCommand({ Name: crawler.crawler }));
  await waitForCrawlerReady(glue, crawler.crawler);
  // The default setup: provision gives the crawled table partition projection.
  const { Table: table } = await glue.send(new GetTableCommand({ DatabaseName: crawler.database, Name: topic }));
  await glue.send(
    new UpdateTableCommand({
      DatabaseName: crawler.database,
      TableInput: {
        Name: topic,
        StorageDescriptor: table!.StorageDescriptor,
        PartitionKeys: table!.PartitionKeys,
        TableType: table!.TableType,
        Parameters: { ...table!.Parameters, ...projectionParameters(table!.StorageDescriptor!.Location!) },
      },
    }),
  );
  await createTestWorkGroup(adminAthena, config, workGroup);
  worker = await startWorkerProcess('compact', env);
  // A run with no hour makes the curated table and the lake view (every hour read raw).
  await compact({ hours: [] });
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await dropTestCrawler(glue, crawler).catch(() => undefined);
  await dropTestWorkGroup(adminAthena, workGroup).catch(() => undefined);
  for (const prefix of [`${rawPrefix}${topic}/`, `${curatedPrefix}${topic}/`, `${dlqPrefix}${topic}/`]) {
    await deletePrefix(s3, bucket, prefix);
  }
}, 240_000);

/** Runs SQL through the local Athena as the analyst; every page of the answer, header row first. */
async function query(sql: string): Promise<{ rows: string[][]; scanned: number }> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: workGroup,
      QueryExecutionContext: { Database: crawler.database },
    }),
  );
  for (;;) {
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = execution!.Status!.State!;
    if (state === 'SUCCEEDED') {
      const rows: string[][] = [];
      let token: string | undefined;
      do {
        const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId, NextToken: token }));
        for (const row of page.ResultSet?.Rows ?? []) rows.push((row.Data ?? []).map((d) => d.VarCharValue ?? ''));
        token = page.NextToken;
      } while (token);
      return { rows, scanned: execution!.Statistics?.DataScannedInBytes ?? 0 };
    }
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new Error(`query ${state}: ${execution!.Status!.StateChangeReason}\n${sql}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const where = ({ dt, hour }: LakeHour) => `dt = '${dt}' AND hour = '${hour}'`;

/** count(*), sum(size) and distinct ticks per symbol of one hour. */
const perSymbol = (hour: LakeHour) =>
  query(
    `SELECT symbol, count(*), sum(size), count(DISTINCT concat(run_id, ':', CAST(seq AS varchar))), min(price), max(price) FROM ${lake} WHERE ${where(hour)} GROUP BY symbol ORDER BY symbol`,
  ).then((result) => result.rows);

/** The named queries over one hour's event time (the window covers the whole hour). */
async function namedAnswers(): Promise<Record<string, string[][]>> {
  const { Table: table } = await glue.send(new GetTableCommand({ DatabaseName: crawler.database, Name: topic }));
  const columns = (table!.StorageDescriptor!.Columns ?? []).map((c) => ({ name: c.Name!, type: c.Type! }));
  const options = { table: lake, minutes: 525_600, limit: 20, time: 'event' as const };
  const resolved = resolveColumns(topic, columns, options);
  const answers: Record<string, string[][]> = {};
  for (const name of NAMED_QUERY_NAMES) answers[name] = (await query(namedQuerySql(name, options, resolved))).rows;
  return answers;
}

async function compact(input: Partial<CompactInput>, id = uniqueName('compact')): Promise<CompactResult> {
  return client.workflow.execute(compactWorkflow, {
    workflowId: id,
    taskQueue: config.temporal.compactTaskQueue,
    args: [
      {
        database: crawler.database,
        table: topic,
        graceMinutes: 15,
        lookbackHours: 24 * 365 * 5,
        targetMb: 128,
        ...input,
      },
    ],
  });
}

async function partitionOf(hour: LakeHour): Promise<Partition> {
  const { Partition: partition } = await glue.send(
    new GetPartitionCommand({
      DatabaseName: crawler.database,
      TableName: curatedTableName(topic),
      PartitionValues: [hour.dt, hour.hour],
    }),
  );
  return partition!;
}

/** The lake view's watermark: the first hour it reads raw. */
async function watermark(): Promise<string | undefined> {
  const { Table: view } = await glue.send(new GetTableCommand({ DatabaseName: crawler.database, Name: lake }));
  return view?.Parameters?.[LAKE_WATERMARK];
}

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

/** A double as Athena prints it: 50.0, 449.92. */
const athenaDouble = (value: number) => (Number.isInteger(value) ? value.toFixed(1) : String(value));

/** The hour's answer computed here from the records written. */
function expectedPerSymbol(records: Record<string, unknown>[]): string[][] {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const record of records)
    groups.set(String(record.symbol), [...(groups.get(String(record.symbol)) ?? []), record]);
  return [...groups.keys()].sort().map((symbol) => {
    const rows = groups.get(symbol)!;
    const sizes = rows.reduce((total, row) => total + Number(row.size), 0);
    const prices = rows.map((row) => Number(row.price));
    return [
      symbol,
      String(rows.length),
      String(sizes),
      String(rows.length),
      athenaDouble(Math.min(...prices)),
      athenaDouble(Math.max(...prices)),
    ];
  });
}

const bodyOf = (rows: string[][]) => rows.slice(1);

/**
 * Answers with each fractional number cut to 12 significant digits: a sum of doubles depends on the order it
 * is added in, which differs between two scans of the same rows (Athena's too) in the last bits.
 */
const toTwelveDigits = (answers: Record<string, string[][]>) =>
  Object.fromEntries(
    Object.entries(answers).map(([name, rows]) => [
      name,
      rows.map((row) => row.map((cell) => (/^-?\d+\.\d+(E-?\d+)?$/.test(cell) ? Number(cell).toPrecision(12) : cell))),
    ]),
  );

/** Temporal's PendingActivityState.PENDING_ACTIVITY_STATE_STARTED. */
const PENDING_ACTIVITY_STATE_STARTED = 2;

/** Waits until the run has a started activity (or has ended). */
async function activityStarted(handle: WorkflowHandle): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') return;
    const pending = description.raw.pendingActivities ?? [];
    if (pending.some((activity) => activity.state === PENDING_ACTIVITY_STATE_STARTED)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no compactHour attempt started within 2 minutes');
}

describe('compaction under kill -9', () => {
  /** Each hour counted once, whatever state the catalog is in. */
  async function expectEachTickOnce(): Promise<void> {
    const rows = bodyOf(
      (
        await query(
          `SELECT dt, hour, count(*), count(DISTINCT seq) FROM ${lake} WHERE dt = '${KILLED[0]!.dt}' GROUP BY dt, hour ORDER BY hour`,
        )
      ).rows,
    );
    expect(rows).toEqual(KILLED.map((hour) => [hour.dt, hour.hour, String(KILLED_TICKS), String(KILLED_TICKS)]));
  }

  test('the compact worker killed at random points: no hour is ever counted twice or missing', async () => {
    const id = uniqueName('compact-killed');
    const handle = await client.workflow.start(compactWorkflow, {
      workflowId: id,
      taskQueue: config.temporal.compactTaskQueue,
      args: [
        { database: crawler.database, table: topic, hours: KILLED, graceMinutes: 15, lookbackHours: 24, targetMb: 128 },
      ],
    });
    const killedWhileRunning: boolean[] = [];
    const killedPids: number[] = [];
    for (let kill = 0; kill < 3; kill++) {
      // Once an attempt of compactHour runs on this worker (a retry comes after the killed attempt's heartbeat
      // timeout), kill at a random moment of it: reading, writing, uploading, publishing, or just after.
      await activityStarted(handle);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 400)));
      killedWhileRunning.push((await handle.describe()).status.name === 'RUNNING');
      killedPids.push(worker.child.pid!);
      await worker.stop('SIGKILL');
      await expectEachTickOnce();
      worker = await startWorkerProcess('compact', env);
    }
    const result = await handle.result();
    // The work folders the killed workers left on the host are gone: each new worker removed its dead peers'.
    const leftovers = fs
      .readdirSync(os.tmpdir())
      .filter((name) => killedPids.some((pid) => name.startsWith(`ticksync-compact-${pid}-`)));
    expect(leftovers).toEqual([]);
    // The kills proved something: at least one came in the middle of the run.
    expect(killedWhileRunning).toContain(true);
    expect(result.hours.map((hour) => hour.records)).toEqual([KILLED_TICKS, KILLED_TICKS, KILLED_TICKS]);
    await expectEachTickOnce();
    // The three hours are the lake's first: the view now reads all of them from curated/.
    expect(await watermark()).toBe(`${KILLED[2]!.dt}T13`);
    for (const hour of KILLED) {
      const partition = await partitionOf(hour);
      expect(partition.StorageDescriptor?.Location).toContain(`/${curatedPrefix}${topic}/`);
      expect(bodyOf(await perSymbol(hour))).toEqual(expectedPerSymbol(expected.get(hourKey(hour))!));
    }
  }, 600_000);
});

describe('compaction of closed hours', () => {
  let before: Record<string, string[][]>;
  let beforeHour: string[][];
  let published: Partition;

  test('a compacted hour answers every named query and count/sum per symbol as the raw hour did', async () => {
    before = await namedAnswers();
    beforeHour = await perSymbol(BIG);
    expect(bodyOf(beforeHour)).toEqual(expectedPerSymbol(expected.get(hourKey(BIG))!));
    const rawScan = (await query(`SELECT sum(size) FROM ${lake} WHERE ${where(BIG)}`)).scanned;

    const result = await compact({ hours: [BIG, ONE] });
    expect(result.hours.map((hour) => [hour.dt, hour.hour, hour.outcome, hour.records])).toEqual([
      [BIG.dt, BIG.hour, 'published', 3000],
      [ONE.dt, ONE.hour, 'published', 1],
    ]);
    published = await partitionOf(BIG);
    expect(published.StorageDescriptor?.Location).toMatch(
      new RegExp(`^s3://${bucket}/${curatedPrefix}${topic}/dt=${BIG.dt}/hour=${BIG.hour}/v=[0-9a-f]{16}/$`),
    );
    expect(published.StorageDescriptor?.SerdeInfo?.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    expect(published.Parameters?.[COMPACTED.records]).toBe('3000');
    // The raw objects stay where they are.
    expect(await keysUnder(hourPrefix(BIG))).toHaveLength(3);
    const parquet = await keysUnder(`${curatedPrefix}${topic}/dt=${BIG.dt}/hour=${BIG.hour}/`);
    expect(parquet).toHaveLength(1);
    const head = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: parquet[0]!, Range: 'bytes=0-3' }));
    expect(await head.Body!.transformToString()).toBe('PAR1');

    expect(await perSymbol(BIG)).toEqual(beforeHour);
    expect(toTwelveDigits(await namedAnswers())).toEqual(toTwelveDigits(before));
    // Parquet: only the columns read are scanned (one of eight here), as Athena counts it.
    const compactedScan = (await query(`SELECT sum(size) FROM ${lake} WHERE ${where(BIG)}`)).scanned;
    expect(compactedScan).toBeLessThan(rawScan);
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: parquet[0]! }));
    // Column pruning: through the view as on the curated table itself, only the column the query reads (the
    // view's select list names all of them, but Trino, and the local Athena, read only those used).
    const curatedScan = (await query(`SELECT sum(size) FROM ${curatedTableName(topic)} WHERE ${where(BIG)}`)).scanned;
    expect(curatedScan).toBeLessThan(listing.Contents![0]!.Size! / 2);
    expect(compactedScan).toBe(curatedScan);
    expect((await query(`SELECT * FROM ${lake} WHERE ${where(BIG)}`)).scanned).toBe(listing.Contents![0]!.Size);
    // Row groups skipped by their ts statistics, through the view, as Athena's reader skips them: a ts window
    // after the hour's last tick reads none of the hour's ts chunks; one that reaches the last tick reads them.
    const last = bodyOf((await query(`SELECT max(ts) FROM ${lake} WHERE ${where(BIG)}`)).rows)[0]![0]!;
    const after = await query(`SELECT count(*) FROM ${lake} WHERE ${where(BIG)} AND ts > '${last}'`);
    const upTo = await query(`SELECT count(*) FROM ${lake} WHERE ${where(BIG)} AND ts >= '${last}'`);
    expect(bodyOf(after.rows)).toEqual([['0']]);
    expect(Number(bodyOf(upTo.rows)[0]![0])).toBeGreaterThanOrEqual(1);
    expect(after.scanned).toBeLessThan(upTo.scanned);
    expect(after.scanned).toBeLessThan(listing.Contents![0]!.Size! / 10);
    expect(bodyOf(await perSymbol(ONE))).toEqual(expectedPerSymbol(expected.get(hourKey(ONE))!));
  }, 300_000);

  test('a rerun of a published hour changes nothing', async () => {
    const curated = await keysUnder(`${curatedPrefix}${topic}/dt=${BIG.dt}/hour=${BIG.hour}/`);
    const result = await compact({ hours: [BIG] });
    expect(result.hours.map((hour) => hour.outcome)).toEqual(['unchanged']);
    const again = await partitionOf(BIG);
    expect(again.StorageDescriptor?.Location).toBe(published.StorageDescriptor?.Location);
    expect(again.Parameters?.[COMPACTED.at]).toBe(published.Parameters?.[COMPACTED.at]);
    expect(await keysUnder(`${curatedPrefix}${topic}/dt=${BIG.dt}/hour=${BIG.hour}/`)).toEqual(curated);
  }, 300_000);

  test('a crawl after compaction leaves the compacted hours as they are', async () => {
    await glue.send(new StartCrawlerCommand({ Name: crawler.crawler }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await waitForCrawlerReady(glue, crawler.crawler);
    const after = await partitionOf(BIG);
    expect(after.StorageDescriptor?.Location).toBe(published.StorageDescriptor?.Location);
    expect(after.Parameters?.[COMPACTED.source]).toBe(published.Parameters?.[COMPACTED.source]);
    expect(await perSymbol(BIG)).toEqual(beforeHour);
  }, 300_000);

  test('a late record makes the hour compacted again, counted once', async () => {
    const late = ticksIn(BIG, 1, 'late-run');
    await putRaw(BIG, 0, 1000, gzipSync(jsonLines(late)));
    // Until compacted again, the hour reads the published Parquet: never the raw and the compacted hour both.
    expect(await perSymbol(BIG)).toEqual(beforeHour);
    const result = await compact({});
    const big = result.hours.find((hour) => hour.dt === BIG.dt && hour.hour === BIG.hour)!;
    expect([big.outcome, big.records, big.rawObjects]).toEqual(['published', 3001, 4]);
    // Every other compacted hour was left alone; the crawled hours not yet compacted were compacted.
    expect(result.hours.find((hour) => hour.hour === ONE.hour)?.outcome).toBe('unchanged');
    const all = [...expected.get(hourKey(BIG))!, ...late];
    expect(bodyOf(await perSymbol(BIG))).toEqual(expectedPerSymbol(all));
    const partition = await partitionOf(BIG);
    expect(partition.StorageDescriptor?.Location).not.toBe(published.StorageDescriptor?.Location);
    // The replaced version is kept for readers that listed it; nothing older.
    const versions = new Set(
      (await keysUnder(`${curatedPrefix}${topic}/dt=${BIG.dt}/hour=${BIG.hour}/`)).map((key) => key.split('/').at(-2)),
    );
    expect(versions.size).toBe(2);
  }, 300_000);

  test('a corrupt raw object goes to dlq/ with a reason and the hour still compacts', async () => {
    const good = expected.get(hourKey(CORRUPT))!;
    await putRaw(CORRUPT, 1, 0, Buffer.from('this is not gzip'));
    const mixed = ticksIn(CORRUPT, 3);
    const lines = [
      JSON.stringify(mixed[0]),
      '{"symbol": "AAPL", "price": ',
      JSON.stringify({ ...mixed[1], size: 'lots' }),
      JSON.stringify(mixed[2]),
    ];
    await putRaw(CORRUPT, 2, 0, gzipSync(`${lines.join('\n')}\n`));
    const result = await compact({ hours: [CORRUPT] });
    expect(result.hours.map((hour) => [hour.outcome, hour.records, hour.deadLetters])).toEqual([
      ['published', good.length + 2, 3],
    ]);
    expect(bodyOf(await perSymbol(CORRUPT))).toEqual(expectedPerSymbol([...good, mixed[0]!, mixed[2]!]));
    const letters = await keysUnder(`${dlqPrefix}${topic}/dt=${CORRUPT.dt}/hour=${CORRUPT.hour}/`);
    expect(letters).toHaveLength(2);
    const reasons: string[] = [];
    for (const key of letters) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      for (const line of (await object.Body!.transformToString()).trim().split('\n')) {
        reasons.push((JSON.parse(line) as { reason: string }).reason);
      }
    }
    expect(reasons.sort()).toEqual([
      expect.stringMatching(/line 2 of raw object s3:\/\/.*\+2\+0\.jsonl\.gz is not JSON/),
      expect.stringMatching(/line 3 of raw object s3:\/\/.*: size is not a (int|bigint)/),
      expect.stringMatching(/raw object s3:\/\/.*\+1\+0\.jsonl\.gz is not gzip/),
    ]);
  }, 300_000);

  test('an empty hour is left alone; a new hour (no crawl) answers raw then compacted; an open hour is refused', async () => {
    const result = await compact({ hours: [EMPTY] });
    expect(result.hours.map((hour) => [hour.outcome, hour.records])).toEqual([['empty', 0]]);
    await expect(partitionOf(EMPTY)).rejects.toThrow(/not found|EntityNotFound/i);
    expect(await keysUnder(`${curatedPrefix}${topic}/dt=${EMPTY.dt}/hour=${EMPTY.hour}/`)).toEqual([]);

    // The raw table is projected: an hour never crawled answers through the view, raw, then compacted.
    const { Table: table } = await glue.send(new GetTableCommand({ DatabaseName: crawler.database, Name: topic }));
    expect(table!.Parameters?.['projection.enabled']).toBe('true');
    const fresh = ticksIn(NEW, 20);
    await putRaw(NEW, 0, 0, gzipSync(jsonLines(fresh)));
    expect(bodyOf(await perSymbol(NEW))).toEqual(expectedPerSymbol(fresh));
    const compacted = await compact({ hours: [NEW] });
    expect(compacted.hours.map((hour) => [hour.outcome, hour.records])).toEqual([['published', 20]]);
    expect(bodyOf(await perSymbol(NEW))).toEqual(expectedPerSymbol(fresh));
    expect(await watermark()).toBe(`${NEW.dt}T08`);

    const now = new Date().toISOString();
    const open = { dt: now.slice(0, 10), hour: now.slice(11, 13) };
    const error = await compact({ hours: [open] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.InvalidInput);
    expect(cause.message).toMatch(/is not closed yet: it closes at/);
  }, 300_000);
});

describe('npm run compact', () => {
  test('compacts the hours asked for and prints one row per hour; bad flags exit 2', async () => {
    const args = ['--table', topic, '--database', crawler.database, '--hour', `${ONE.dt}T${ONE.hour}`, '--json'];
    const done = await runScript('compact', args, env);
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout) as CompactResult;
    // Published now, or already by an earlier test; the run after it finds nothing to do either way.
    expect(result.hours.map((hour) => [hour.dt, hour.hour, hour.records])).toEqual([[ONE.dt, ONE.hour, 1]]);
    expect(['published', 'unchanged']).toContain(result.hours[0]!.outcome);
    expect(done.stderr).toContain(`compaction of ${crawler.database}.${topic} started as compact-${topic}`);

    const table = await runScript('compact', args.slice(0, -1), env);
    expect(table.stdout).toMatch(/dt=2024-01-02\/hour=04 .*unchanged/);

    const badHour = await runScript('compact', ['--hour', '2024-13-01T03'], env);
    expect(badHour.code).toBe(2);
    expect(badHour.stderr).toContain(
      "--hour expects a UTC hour such as 2024-01-02T03 or dt=2024-01-02/hour=03, got '2024-13-01T03'",
    );
    const missing = await runScript('compact', ['--table', 'no_such_table', '--database', crawler.database], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `error: table ${crawler.database}.no_such_table does not exist: crawl the raw topic first (npm run crawl)`,
    );
    const help = await runScript('compact', ['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--target-mb <mb>');
  }, 300_000);
});
