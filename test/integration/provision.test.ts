import { DeleteWorkGroupCommand, GetWorkGroupCommand, UpdateWorkGroupCommand } from '@aws-sdk/client-athena';
import { UpdateCrawlerCommand } from '@aws-sdk/client-glue';
import { DeleteBucketCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import type { ProvisionStep } from '../../scripts/provision';
import { deletePrefix, dropTestCrawler, getCrawler, uniqueGlueName } from '../helpers/glue';
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

async function provision(): Promise<ProvisionStep[]> {
  const result = await runScript('provision', ['--json'], env);
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
