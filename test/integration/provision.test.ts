import { DeleteWorkGroupCommand, GetWorkGroupCommand, UpdateWorkGroupCommand } from '@aws-sdk/client-athena';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CreateTableCommand, GetTableCommand, UpdateCrawlerCommand, UpdateTableCommand } from '@aws-sdk/client-glue';
import { DeleteBucketCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import type { ProvisionStep } from '../../lib/provision';
import {
  curatedTableName,
  LAKE_WATERMARK,
  lakeViewName,
  NO_WATERMARK,
  projectionParameters,
  TICKS_COLUMNS,
  ticksTableInput,
} from '../../lib/ticks-table';
import { deletePrefix, dropTestCrawler, getCrawler, ticks, uniqueGlueName, writeTickObjects } from '../helpers/glue';
import { runScript } from '../helpers/scripts';
import { uniqueName } from '../helpers/workers';

// A bucket, database, crawler, topic and work group of this test's own: the first run creates everything.
const env = {
  TICKSYNC_S3_BUCKET: uniqueName('ticksync-provision').toLowerCase().slice(0, 63),
  TICKSYNC_GLUE_DATABASE: uniqueGlueName('provision_db'),
  TICKSYNC_GLUE_CRAWLER: uniqueName('provision-crawler'),
  TICKSYNC_TOPIC: uniqueGlueName('provision_ticks'),
  TICKSYNC_ATHENA_WORKGROUP: uniqueName('provision-wg'),
};
const config = loadConfig({ ...process.env, ...env });
const glue = createGlueClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const athena = createAthenaClient(config, 'admin');
const folders = ['raw/', 'dlq/', 'input/', 'manifests/', 'curated/', 'athena-results/'];

afterAll(async () => {
  await dropTestCrawler(glue, { crawler: env.TICKSYNC_GLUE_CRAWLER, database: env.TICKSYNC_GLUE_DATABASE, path: '' });
  await deletePrefix(s3, env.TICKSYNC_S3_BUCKET, '').catch(() => undefined);
  await s3.send(new DeleteBucketCommand({ Bucket: env.TICKSYNC_S3_BUCKET })).catch(() => undefined);
  await athena.send(new DeleteWorkGroupCommand({ WorkGroup: env.TICKSYNC_ATHENA_WORKGROUP })).catch(() => undefined);
  athena.destroy();
  glue.destroy();
  s3.destroy();
});

async function provision(args: string[] = [], environment: Record<string, string> = env): Promise<ProvisionStep[]> {
  const result = await runScript('provision', ['--json', ...args], environment);
  expect(result.stderr).not.toMatch(/"level":50/);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ProvisionStep[];
}

const expected = (action: string) => [
  { resource: 'bucket', name: env.TICKSYNC_S3_BUCKET, action },
  ...folders.map((folder) => ({ resource: 'folder', name: `s3://${env.TICKSYNC_S3_BUCKET}/${folder}`, action })),
  { resource: 'database', name: env.TICKSYNC_GLUE_DATABASE, action },
  { resource: 'crawler', name: env.TICKSYNC_GLUE_CRAWLER, action },
  { resource: 'workgroup', name: env.TICKSYNC_ATHENA_WORKGROUP, action },
];

const workGroup = async () =>
  (await athena.send(new GetWorkGroupCommand({ WorkGroup: env.TICKSYNC_ATHENA_WORKGROUP }))).WorkGroup;

test('provision creates the bucket, its folders, the database, the crawler and the work group; a second run changes nothing', async () => {
  expect(await provision()).toEqual(expected('created'));

  await s3.send(new HeadBucketCommand({ Bucket: env.TICKSYNC_S3_BUCKET }));
  for (const folder of folders) {
    const marker = await s3.send(new HeadObjectCommand({ Bucket: env.TICKSYNC_S3_BUCKET, Key: folder }));
    expect(marker.ContentLength).toBe(0);
  }
  const crawler = await getCrawler(glue, env.TICKSYNC_GLUE_CRAWLER);
  expect(crawler).toMatchObject({
    Role: config.glue.crawlerRole,
    DatabaseName: env.TICKSYNC_GLUE_DATABASE,
    SchemaChangePolicy: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DEPRECATE_IN_DATABASE' },
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVERYTHING' },
  });
  expect(crawler.Targets?.S3Targets?.map((target) => target.Path)).toEqual([
    `s3://${env.TICKSYNC_S3_BUCKET}/raw/${env.TICKSYNC_TOPIC}/`,
  ]);
  expect(JSON.parse(crawler.Configuration ?? '{}')).toEqual({
    Version: 1,
    Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
    CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
  });

  expect((await workGroup())?.Configuration).toMatchObject({
    ResultConfiguration: { OutputLocation: `s3://${env.TICKSYNC_S3_BUCKET}/athena-results/` },
    EnforceWorkGroupConfiguration: true,
  });

  expect(await provision()).toEqual(expected('unchanged'));

  const text = await runScript('provision', [], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(new RegExp(`^unchanged  crawler   ${env.TICKSYNC_GLUE_CRAWLER}$`, 'm'));
  expect(text.stdout).toContain('provisioned on the local stack');
});

test('a crawler and a work group whose settings drifted are updated back, naming what differed', async () => {
  await provision();
  await glue.send(
    new UpdateCrawlerCommand({
      Name: env.TICKSYNC_GLUE_CRAWLER,
      SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
      Targets: { S3Targets: [{ Path: `s3://${env.TICKSYNC_S3_BUCKET}/elsewhere/` }] },
    }),
  );
  await athena.send(
    new UpdateWorkGroupCommand({
      WorkGroup: env.TICKSYNC_ATHENA_WORKGROUP,
      ConfigurationUpdates: {
        ResultConfigurationUpdates: { OutputLocation: `s3://${env.TICKSYNC_S3_BUCKET}/elsewhere/` },
        EnforceWorkGroupConfiguration: false,
      },
    }),
  );
  const steps = await provision();
  expect(steps.slice(-2)).toEqual([
    {
      resource: 'crawler',
      name: env.TICKSYNC_GLUE_CRAWLER,
      action: 'updated',
      changed: ['Targets', 'SchemaChangePolicy'],
    },
    {
      resource: 'workgroup',
      name: env.TICKSYNC_ATHENA_WORKGROUP,
      action: 'updated',
      changed: ['OutputLocation', 'EnforceWorkGroupConfiguration'],
    },
  ]);
  expect(steps.slice(0, -2).every((step) => step.action === 'unchanged')).toBe(true);
  expect((await workGroup())?.Configuration).toMatchObject({
    ResultConfiguration: { OutputLocation: `s3://${env.TICKSYNC_S3_BUCKET}/athena-results/` },
    EnforceWorkGroupConfiguration: true,
  });
  const crawler = await getCrawler(glue, env.TICKSYNC_GLUE_CRAWLER);
  expect(crawler.SchemaChangePolicy).toEqual({
    UpdateBehavior: 'UPDATE_IN_DATABASE',
    DeleteBehavior: 'DEPRECATE_IN_DATABASE',
  });
  expect(crawler.Targets?.S3Targets?.map((target) => target.Path)).toEqual([
    `s3://${env.TICKSYNC_S3_BUCKET}/raw/${env.TICKSYNC_TOPIC}/`,
  ]);
  expect((await provision()).every((step) => step.action === 'unchanged')).toBe(true);
});

test('provision --help; on AWS without a crawler role it stops before touching anything (exit 2)', async () => {
  const help = await runScript('provision', ['--help'], env);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: npm run provision --');
  expect(help.stdout).toContain('TICKSYNC_TARGET=aws');

  const noRole = await runScript('provision', [], { ...env, TICKSYNC_TARGET: 'aws', TICKSYNC_GLUE_CRAWLER_ROLE: '' });
  expect(noRole.code).toBe(2);
  expect(noRole.stderr).toContain('TICKSYNC_GLUE_CRAWLER_ROLE is not set');
  expect(noRole.stdout).toBe('');

  const unknown = await runScript('provision', ['--dry'], env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("unknown option '--dry'");
});

test('provision --projection creates the ticks table with projection: a new hour answers without a crawl', async () => {
  const location = `s3://${env.TICKSYNC_S3_BUCKET}/raw/${env.TICKSYNC_TOPIC}/`;
  const table = async (name: string) =>
    (await glue.send(new GetTableCommand({ DatabaseName: env.TICKSYNC_GLUE_DATABASE, Name: name }))).Table!;
  const tableStep = (steps: ProvisionStep[]) => steps.find((step) => step.resource === 'table');

  const first = await provision(['--projection']);
  expect(tableStep(first)).toEqual({
    resource: 'table',
    name: env.TICKSYNC_TOPIC,
    action: 'created',
  });
  // Compaction's catalog up front: the curated table and the lake view the named queries read.
  const lakeSteps = (steps: ProvisionStep[]) => steps.slice(steps.findIndex((step) => step === tableStep(steps)) + 1);
  expect(lakeSteps(first)).toEqual([
    { resource: 'table', name: curatedTableName(env.TICKSYNC_TOPIC), action: 'created' },
    { resource: 'view', name: lakeViewName(env.TICKSYNC_TOPIC), action: 'created' },
  ]);
  const created = await table(env.TICKSYNC_TOPIC);
  expect(created.Parameters).toMatchObject(projectionParameters(location));
  expect(created.StorageDescriptor?.Columns).toEqual(TICKS_COLUMNS);
  const curated = await table(curatedTableName(env.TICKSYNC_TOPIC));
  expect(curated.StorageDescriptor?.Columns).toEqual(TICKS_COLUMNS);
  expect(curated.StorageDescriptor?.Location).toBe(`s3://${env.TICKSYNC_S3_BUCKET}/curated/${env.TICKSYNC_TOPIC}/`);
  const view = await table(lakeViewName(env.TICKSYNC_TOPIC));
  expect(view.TableType).toBe('VIRTUAL_VIEW');
  expect(view.Parameters?.[LAKE_WATERMARK]).toBe(NO_WATERMARK);
  const second = await provision(['--projection']);
  expect(tableStep(second)?.action).toBe('unchanged');
  expect(lakeSteps(second).map((step) => step.action)).toEqual(['unchanged', 'unchanged']);

  // The current hour, never crawled: the provisioned work group's query answers from the projection.
  const iso = new Date().toISOString();
  const hour = { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
  await writeTickObjects(s3, env.TICKSYNC_S3_BUCKET, `raw/${env.TICKSYNC_TOPIC}/`, [{ ...hour, objects: [ticks(7)] }]);
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: `SELECT count(*), sum(size) FROM ${env.TICKSYNC_GLUE_DATABASE}.${env.TICKSYNC_TOPIC} WHERE dt = '${hour.dt}' AND hour = '${hour.hour}'`,
      WorkGroup: env.TICKSYNC_ATHENA_WORKGROUP,
    }),
  );
  let state: string | undefined;
  do {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    state = QueryExecution?.Status?.State;
    if (state === 'FAILED') throw new Error(QueryExecution?.Status?.StateChangeReason);
  } while (state !== 'SUCCEEDED');
  const results = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }));
  expect(results.ResultSet?.Rows?.[1]?.Data?.map((datum) => datum.VarCharValue)).toEqual(['7', String(7 * 10 + 21)]);
  // The same through the lake view: nothing compacted yet, every hour reads raw.
  const { QueryExecutionId: throughView } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: `SELECT count(*), sum(size) FROM ${env.TICKSYNC_GLUE_DATABASE}.${lakeViewName(env.TICKSYNC_TOPIC)} WHERE dt = '${hour.dt}' AND hour = '${hour.hour}'`,
      WorkGroup: env.TICKSYNC_ATHENA_WORKGROUP,
    }),
  );
  do {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: throughView }));
    state = QueryExecution?.Status?.State;
    if (state === 'FAILED') throw new Error(QueryExecution?.Status?.StateChangeReason);
  } while (state !== 'SUCCEEDED');
  const viewResults = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: throughView }));
  expect(viewResults.ResultSet?.Rows?.[1]?.Data?.map((datum) => datum.VarCharValue)).toEqual([
    '7',
    String(7 * 10 + 21),
  ]);
});

test('provision sets projection on the table the crawler made, keeping its columns; --schema-from infers a new one', async () => {
  const other = { ...env, TICKSYNC_TOPIC: uniqueGlueName('crawled') };
  const crawled = { ...ticksTableInput(loadConfig({ ...process.env, ...other })), Name: other.TICKSYNC_TOPIC };
  crawled.StorageDescriptor = { ...crawled.StorageDescriptor, Columns: [{ Name: 'only', Type: 'string' }] };
  crawled.Parameters = { ...crawled.Parameters, recordCount: '12', team: 'kept' };
  await glue.send(new CreateTableCommand({ DatabaseName: env.TICKSYNC_GLUE_DATABASE, TableInput: crawled }));

  const steps = await provision([], other);
  const location = `s3://${env.TICKSYNC_S3_BUCKET}/raw/${other.TICKSYNC_TOPIC}/`;
  const ticksStep = (all: ProvisionStep[]) => all.find((step) => step.name === other.TICKSYNC_TOPIC);
  expect(ticksStep(steps)).toEqual({
    resource: 'table',
    name: other.TICKSYNC_TOPIC,
    action: 'updated',
    changed: Object.keys(projectionParameters(location)),
  });
  const updated = (
    await glue.send(new GetTableCommand({ DatabaseName: env.TICKSYNC_GLUE_DATABASE, Name: other.TICKSYNC_TOPIC }))
  ).Table!;
  expect(updated.StorageDescriptor?.Columns).toEqual([{ Name: 'only', Type: 'string' }]);
  expect(updated.Parameters).toMatchObject({ ...projectionParameters(location), recordCount: '12', team: 'kept' });
  // The lake over the crawled table has its columns; a column a later crawl adds reaches the view on a rerun.
  const lakeView = async () =>
    (
      await glue.send(
        new GetTableCommand({ DatabaseName: env.TICKSYNC_GLUE_DATABASE, Name: lakeViewName(other.TICKSYNC_TOPIC) }),
      )
    ).Table!;
  expect((await lakeView()).StorageDescriptor?.Columns?.map((column) => column.Name)).toEqual(['only', 'dt', 'hour']);
  await glue.send(
    new UpdateTableCommand({
      DatabaseName: env.TICKSYNC_GLUE_DATABASE,
      TableInput: {
        ...crawled,
        StorageDescriptor: {
          ...updated.StorageDescriptor,
          Columns: [
            { Name: 'only', Type: 'string' },
            { Name: 'added', Type: 'bigint' },
          ],
        },
        Parameters: updated.Parameters,
      },
    }),
  );
  expect((await provision(['--no-projection'], other)).filter((step) => step.name !== other.TICKSYNC_TOPIC)).toEqual(
    expect.arrayContaining([
      { resource: 'table', name: curatedTableName(other.TICKSYNC_TOPIC), action: 'updated' },
      { resource: 'view', name: lakeViewName(other.TICKSYNC_TOPIC), action: 'updated' },
    ]),
  );
  expect((await lakeView()).StorageDescriptor?.Columns?.map((column) => column.Name)).toEqual([
    'only',
    'added',
    'dt',
    'hour',
  ]);
  // --no-projection leaves the ticks table alone; a start date moves the range.
  expect((await provision(['--no-projection'], other)).some((step) => step.name === other.TICKSYNC_TOPIC)).toBe(false);
  expect(ticksStep(await provision(['--projection-start', '2025-06-01'], other))).toMatchObject({
    action: 'updated',
    changed: ['projection.dt.range'],
  });

  const sampled = { ...env, TICKSYNC_TOPIC: uniqueGlueName('sampled') };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-'));
  try {
    const sample = path.join(dir, 'sample.jsonl.gz');
    fs.writeFileSync(
      sample,
      gzipSync('{"symbol":"HSI","price":1.5,"qty":3,"dt":"x"}\n{"symbol":"N225","venue":"T"}\n'),
    );
    await provision(['--projection', '--schema-from', sample], sampled);
    const table = (
      await glue.send(new GetTableCommand({ DatabaseName: env.TICKSYNC_GLUE_DATABASE, Name: sampled.TICKSYNC_TOPIC }))
    ).Table!;
    expect(table.StorageDescriptor?.Columns).toEqual([
      { Name: 'symbol', Type: 'string' },
      { Name: 'price', Type: 'double' },
      { Name: 'qty', Type: 'int' },
      { Name: 'venue', Type: 'string' },
    ]);

    // Bad input: named, exit 2, nothing created.
    fs.writeFileSync(path.join(dir, 'bad.txt'), 'not json at all\n');
    for (const [args, message] of [
      [['--projection', '--schema-from', path.join(dir, 'missing.jsonl')], 'no such file'],
      [['--projection', '--schema-from', path.join(dir, 'bad.txt')], 'not JSON Lines records'],
      [['--schema-from', path.join(dir, 'bad.txt')], 'use it with --projection'],
      [['--projection-start', '2024-13-45'], 'expected a date as YYYY-MM-DD'],
    ] as [string[], string][]) {
      const result = await runScript('provision', args, { ...env, TICKSYNC_TOPIC: uniqueGlueName('bad') });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain(message);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
