import { gzipSync } from 'node:zlib';
import { GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { GetTableCommand, StartCrawlerCommand } from '@aws-sdk/client-glue';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCompactActivities } from '../../activities/compact';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import type { HourCompaction } from '../../lib/contracts';
import { HOUR_MS, hourFolder, lakeHourOf } from '../../lib/hour-keys';
import { createLogger } from '../../lib/logger';
import { type NamedQueryName, type NamedQueryOptions, namedQuerySql, resolveColumns } from '../../lib/queries';
import { lakeViewName } from '../../lib/ticks-table';
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

/**
 * The named queries' trade order on the real stack, raw and compacted: ticks that share their arrival time `ts`
 * (and their event time) are ordered by `seq`, so ohlc's open and close and trades' latest rows are the ones
 * computed here. The raw objects hold each burst of equal times out of seq order; the compacted Parquet sorts
 * them by symbol, time, run_id, seq, and the run ids are chosen so that this order is not seq order either: only
 * the query's own order can give the answers. seq crosses 9/10 and 99/100 inside bursts (numbers, not text).
 */

const config = loadConfig();
const s3 = createS3Client(config, 'admin');
const glue = createGlueClient(config, 'admin');
const admin = createAthenaClient(config, 'admin');
const athena = createAthenaClient(config, 'analyst');
const { bucket, rawPrefix, curatedPrefix } = config.s3;
const topic = uniqueGlueName('ordertest');
const workGroup = testWorkGroupName('ordertest');
const crawler = {
  crawler: testCrawlerName('ordertest'),
  database: testDatabaseName('ordertest'),
  path: `s3://${bucket}/${rawPrefix}${topic}/`,
};

/** Two hours ago, closed: the arrival-time window of the last 240 minutes covers it whole. */
const hourStart = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS;
const hour = lakeHourOf(hourStart);
const SYMBOLS = ['AAA', 'BBB'];

interface Tick {
  symbol: string;
  price: number;
  size: number;
  timestamp: string;
  ts: string;
  run_id: string;
  seq: number;
}

/**
 * Per symbol, 4 minutes; in each minute bursts of 2 to 5 ticks sharing `ts` and `timestamp`. seq rises with
 * time; within a burst the run ids run backwards (run-z, run-y, ...), so sorting by run_id reverses seq.
 */
function makeTicks(): Tick[] {
  const ticks: Tick[] = [];
  let seq = 1;
  let price = 100;
  for (let minute = 0; minute < 4; minute++) {
    for (let burst = 0; burst < 5; burst++) {
      const at = hourStart + minute * 60_000 + burst * 7_000 + 500;
      for (const symbol of SYMBOLS) {
        const size = 2 + ((minute + burst) % 4);
        for (let index = 0; index < size; index++) {
          price = Math.round((price + ((seq * 37) % 11) - 5) * 100) / 100;
          ticks.push({
            symbol,
            price,
            size: 1 + ((seq * 13) % 50),
            timestamp: new Date(at - 250).toISOString(),
            ts: new Date(at).toISOString(),
            run_id: `run-${String.fromCharCode(122 - index)}`,
            seq: seq++,
          });
        }
      }
    }
  }
  return ticks;
}

const ticks = makeTicks();

/** Trade order: (event time,) ts, seq; ties beyond these do not occur here. */
const byOrder = (event: boolean) => (a: Tick, b: Tick) =>
  (event ? a.timestamp.localeCompare(b.timestamp) : 0) || a.ts.localeCompare(b.ts) || a.seq - b.seq;

/** An Athena timestamp with time zone as the result shows it. */
const athenaTime = (iso: string) => `${iso.replace('T', ' ').replace('Z', '')} UTC`;

/** ohlc as the named query defines it: per symbol and minute of the window's time. */
function expectedOhlc(event: boolean): string[][] {
  const bars = new Map<string, Tick[]>();
  for (const tick of ticks) {
    const time = event ? tick.timestamp : tick.ts;
    const key = `${tick.symbol}|${time.slice(0, 16)}:00.000Z`;
    bars.set(key, [...(bars.get(key) ?? []), tick]);
  }
  return [...bars.keys()].sort().map((key) => {
    const [symbol, minute] = key.split('|') as [string, string];
    const bar = [...bars.get(key)!].sort(byOrder(event));
    const prices = bar.map((tick) => tick.price);
    return [
      symbol,
      athenaTime(minute),
      String(bar[0]!.price),
      String(Math.max(...prices)),
      String(Math.min(...prices)),
      String(bar.at(-1)!.price),
      String(bar.reduce((sum, tick) => sum + tick.size, 0)),
      String(bar.length),
    ];
  });
}

/** trades: the latest `limit` ticks, latest first, with the window's count. */
function expectedTrades(event: boolean, limit: number): string[][] {
  return [...ticks]
    .sort(byOrder(event))
    .reverse()
    .slice(0, limit)
    .map((tick) => [
      tick.symbol,
      athenaTime(event ? tick.timestamp : tick.ts),
      String(tick.price),
      String(tick.size),
      String(ticks.length),
    ]);
}

/** Doubles as numbers (Athena prints 101.0 where JavaScript prints 101). */
const normalized = (rows: string[][]) =>
  rows.map((row) => row.map((cell) => (/^-?\d+\.\d+$/.test(cell) ? String(Number(cell)) : cell)));

async function query(sql: string): Promise<string[][]> {
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
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new Error(`query ${state}: ${execution!.Status!.StateChangeReason}\n${sql}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const rows: string[][] = [];
  let token: string | undefined;
  do {
    const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId, NextToken: token }));
    for (const row of page.ResultSet?.Rows ?? []) rows.push((row.Data ?? []).map((d) => d.VarCharValue ?? ''));
    token = page.NextToken;
  } while (token);
  return normalized(rows.slice(1));
}

/** ohlc and trades over `table` (the raw table or the lake view), on event time and on arrival time. */
async function answers(table: string) {
  const { Table: raw } = await glue.send(new GetTableCommand({ DatabaseName: crawler.database, Name: topic }));
  const columns = (raw!.StorageDescriptor!.Columns ?? []).map((column) => ({
    name: column.Name!,
    type: column.Type!,
  }));
  const result: Record<string, string[][]> = {};
  for (const time of ['event', 'arrival'] as const) {
    const options: NamedQueryOptions = { table, minutes: 240, limit: 7, time };
    const resolved = resolveColumns(topic, columns, options);
    for (const name of ['ohlc', 'trades'] as NamedQueryName[])
      result[`${name} ${time}`] = await query(namedQuerySql(name, options, resolved));
  }
  return result;
}

const expected = () => ({
  'ohlc event': normalized(expectedOhlc(true)),
  'trades event': normalized(expectedTrades(true, 7)),
  'ohlc arrival': normalized(expectedOhlc(false)),
  'trades arrival': normalized(expectedTrades(false, 7)),
});

beforeAll(async () => {
  // Two objects, each burst split between them and reversed: no object order is seq order.
  const reversed = [...ticks].reverse();
  const objects = [reversed.filter((_, index) => index % 2 === 0), reversed.filter((_, index) => index % 2 === 1)];
  for (const [partition, records] of objects.entries()) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${rawPrefix}${topic}/${hourFolder(hour)}/${topic}+${partition}+0.jsonl.gz`,
        Body: gzipSync(records.map((record) => `${JSON.stringify(record)}\n`).join('')),
      }),
    );
  }
  await createTestCrawler(glue, config, crawler);
  await glue.send(new StartCrawlerCommand({ Name: crawler.crawler }));
  await waitForCrawlerReady(glue, crawler.crawler);
  await createTestWorkGroup(admin, config, workGroup);
}, 180_000);

afterAll(async () => {
  await dropTestCrawler(glue, crawler).catch(() => undefined);
  await dropTestWorkGroup(admin, workGroup).catch(() => undefined);
  for (const prefix of [`${rawPrefix}${topic}/`, `${curatedPrefix}${topic}/`]) await deletePrefix(s3, bucket, prefix);
  for (const client of [s3, glue, admin, athena]) client.destroy();
});

test('ties in time are broken by seq: open, close and the latest trades, raw and compacted alike', async () => {
  // The data makes the order matter: bursts of equal times whose open and close differ from the first and last
  // tick of the raw objects' and of the Parquet's own order.
  expect(ticks.length).toBeGreaterThan(100);
  const want = expected();
  const raw = await answers(topic);
  expect(raw).toEqual(want);

  const activities = createCompactActivities({
    s3: createS3Client(config, 'compactor'),
    glue: createGlueClient(config, 'compactor'),
    config,
    logger: createLogger('test', 'warn'),
  });
  const done: HourCompaction = await new MockActivityEnvironment().run(activities.compactHour, {
    database: crawler.database,
    table: topic,
    ...hour,
    targetMb: 128,
  });
  expect([done.outcome, done.records]).toEqual(['published', ticks.length]);
  const compacted = await answers(lakeViewName(topic));
  expect(compacted).toEqual(want);
}, 240_000);
