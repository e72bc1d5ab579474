import { gzipSync } from 'node:zlib';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  DeleteCrawlerCommand,
  DeleteDatabaseCommand,
  GetCrawlerCommand,
  StopCrawlerCommand,
  type Crawler,
  type GlueClient,
} from '@aws-sdk/client-glue';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateWorkGroupCommand, DeleteWorkGroupCommand, type AthenaClient } from '@aws-sdk/client-athena';
import { loadConfig, type Config } from '../../lib/config';
import { crawlerDefinition } from '../../lib/provisioning';

/** A name Glue and Athena take as is for databases, tables and topics: lowercase letters, digits, underscores. */
export function uniqueGlueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Names of the tests' own databases, crawlers and work groups. The local AWS service
 * renders the role policies with the stack's names, which cover those names' siblings
 * (`ticksync_*`, `ticksync-raw-*`, `ticksync-*`): a test's resources are siblings, so
 * the roles may use them as they use the stack's own.
 */
const stack = loadConfig();
export const testDatabaseName = (label: string) => uniqueGlueName(`${stack.glue.database}_${label}`);
export const testCrawlerName = (label: string) => `${stack.glue.crawler}-${uniqueGlueName(label).replace(/_/g, '-')}`;
export const testWorkGroupName = (label: string) =>
  `${stack.athena.workgroup}-${uniqueGlueName(label).replace(/_/g, '-')}`;

/** A work group of the test's own, with results under athena-results/ unless a query names a place. */
export async function createTestWorkGroup(athena: AthenaClient, config: Config, name: string): Promise<void> {
  await athena.send(
    new CreateWorkGroupCommand({
      Name: name,
      Configuration: {
        ResultConfiguration: { OutputLocation: `s3://${config.s3.bucket}/athena-results/` },
        EnforceWorkGroupConfiguration: false,
      },
    }),
  );
}

export const dropTestWorkGroup = (athena: AthenaClient, name: string) =>
  athena.send(new DeleteWorkGroupCommand({ WorkGroup: name, RecursiveDeleteOption: true }));

export interface TickPartition {
  dt: string;
  hour: string;
  /** Objects in the partition, each a list of records. */
  objects: Record<string, unknown>[][];
}

/** Records as the consumer writes them: the tick fields plus the envelope. */
export function ticks(count: number, extra: Record<string, unknown> = {}): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => ({
    symbol: index % 2 === 0 ? 'HSI' : 'N225',
    price: 100.25 + index,
    size: 10 + index,
    side: index % 2 === 0 ? 'buy' : 'sell',
    ts: new Date(Date.UTC(2024, 0, 2, 3, 0, index)).toISOString(),
    run_id: 'test-run',
    seq: index + 1,
    ...extra,
  }));
}

/** Writes gzip JSON Lines objects under `<prefix>dt=<dt>/hour=<hour>/`, named as the consumer names them. */
export async function writeTickObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  partitions: TickPartition[],
): Promise<string[]> {
  const keys: string[] = [];
  for (const { dt, hour, objects } of partitions) {
    for (const [index, records] of objects.entries()) {
      const key = `${prefix}dt=${dt}/hour=${hour}/ticks+${index}+${index * 1000}.jsonl.gz`;
      const body = gzipSync(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      keys.push(key);
    }
  }
  return keys;
}

/** Deletes every object under a prefix. */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map(({ Key }) => ({ Key }));
    if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    token = page.NextContinuationToken;
  } while (token);
}

export interface TestCrawler {
  crawler: string;
  database: string;
  /** The S3 folder it crawls, s3://bucket/prefix/. */
  path: string;
}

/**
 * A database and a crawler of one S3 folder, defined as `npm run provision` defines
 * TickSync's (schema change and recrawl policies, grouping, partitions), with the
 * configured crawler role.
 */
export async function createTestCrawler(glue: GlueClient, config: Config, crawler: TestCrawler): Promise<void> {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: crawler.database } }));
  const definition = crawlerDefinition(config);
  await glue.send(
    new CreateCrawlerCommand({
      ...definition,
      Name: crawler.crawler,
      DatabaseName: crawler.database,
      Description: 'TickSync test crawler',
      Targets: { S3Targets: [{ Path: crawler.path }] },
    }),
  );
}

export async function getCrawler(glue: GlueClient, name: string): Promise<Crawler> {
  const { Crawler: crawler } = await glue.send(new GetCrawlerCommand({ Name: name }));
  if (!crawler) throw new Error(`GetCrawler ${name} returned no crawler`);
  return crawler;
}

/** Polls until the crawler is READY with a LastCrawl (or fails the test at the deadline). */
export async function waitForCrawlerReady(glue: GlueClient, name: string, timeoutMs = 120_000): Promise<Crawler> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crawler = await getCrawler(glue, name);
    if (crawler.State === 'READY' && crawler.LastCrawl) return crawler;
    if (Date.now() > deadline) throw new Error(`crawler ${name} still ${crawler.State} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Stops the crawler if it runs, then deletes it and its database (whose tables go with it). */
export async function dropTestCrawler(glue: GlueClient, { crawler, database }: TestCrawler): Promise<void> {
  const ignore =
    (...names: string[]) =>
    (error: unknown) => {
      if (!(error instanceof Error && names.includes(error.name))) throw error;
    };
  await glue
    .send(new StopCrawlerCommand({ Name: crawler }))
    .catch(ignore('CrawlerNotRunningException', 'CrawlerStoppingException', 'EntityNotFoundException'));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const state = await getCrawler(glue, crawler).then(
      (found) => found.State,
      () => 'GONE',
    );
    if (state === 'READY' || state === 'GONE') break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await glue.send(new DeleteCrawlerCommand({ Name: crawler })).catch(ignore('EntityNotFoundException'));
  await glue.send(new DeleteDatabaseCommand({ Name: database })).catch(ignore('EntityNotFoundException'));
}
