import { isDeepStrictEqual } from 'node:util';
import {
  CreateWorkGroupCommand,
  GetWorkGroupCommand,
  UpdateWorkGroupCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  GetCrawlerCommand,
  UpdateCrawlerCommand,
  type Crawler,
  type CreateCrawlerCommandInput,
  type GlueClient,
} from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { createAthenaClient, createGlueClient, createS3Client } from '../lib/clients';
import { loadConfig, type Config } from '../lib/config';
import { isAwsError, UsageError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { requireServices, runCli } from './cli';

export type ProvisionAction = 'created' | 'unchanged' | 'updated';

export interface ProvisionStep {
  resource: 'bucket' | 'folder' | 'database' | 'crawler' | 'workgroup';
  name: string;
  action: ProvisionAction;
  /** For an updated crawler: the settings that differed. */
  changed?: string[];
}

/** The crawler TickSync needs: the raw topic's folder, JSON Lines in dt=/hour= partitions, one table. */
export function crawlerDefinition(config: Config): CreateCrawlerCommandInput {
  const role = config.glue.crawlerRole;
  if (role === undefined) {
    throw new UsageError(
      'TICKSYNC_GLUE_CRAWLER_ROLE is not set: on AWS, set it to the IAM role the crawler assumes, such as arn:aws:iam::123456789012:role/ticksync-crawler',
    );
  }
  return {
    Name: config.glue.crawler,
    Role: role,
    DatabaseName: config.glue.database,
    Description: `TickSync: ${config.kafka.topic} records in s3://${config.s3.bucket}/${config.s3.rawPrefix} (gzip JSON Lines, dt/hour partitions)`,
    Targets: { S3Targets: [{ Path: `s3://${config.s3.bucket}/${config.s3.rawPrefix}${config.kafka.topic}/` }] },
    // New fields become new columns; a folder that disappears marks its table deprecated rather than deleting it.
    SchemaChangePolicy: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DEPRECATE_IN_DATABASE' },
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVERYTHING' },
    Configuration: JSON.stringify({
      Version: 1.0,
      // Hours whose records differ in a field still make one table, not one table per schema.
      Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
      // New partitions take the table's schema, so Athena reads every hour with the same columns.
      CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
    }),
  };
}

/** Glue answers with the role as it was given, ARN or name; both name the same role. */
const roleName = (role: string | undefined) => role?.replace(/^arn:aws[a-z-]*:iam::\d{12}:role\//, '');

const parseJson = (text: string | undefined): unknown => {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
};

/** The settings of an existing crawler that differ from the wanted definition. */
export function crawlerDifferences(actual: Crawler, wanted: CreateCrawlerCommandInput): string[] {
  const targets = (crawler: Pick<Crawler, 'Targets'>) => ({
    s3: (crawler.Targets?.S3Targets ?? []).map((target) => ({
      path: target.Path,
      exclusions: target.Exclusions ?? [],
    })),
    others: Object.entries(crawler.Targets ?? {}).filter(
      ([kind, list]) => kind !== 'S3Targets' && Array.isArray(list) && list.length > 0,
    ).length,
  });
  const checks: [string, unknown, unknown][] = [
    ['Role', roleName(actual.Role), roleName(wanted.Role)],
    ['DatabaseName', actual.DatabaseName, wanted.DatabaseName],
    ['Description', actual.Description ?? '', wanted.Description ?? ''],
    ['Targets', targets(actual), targets(wanted)],
    ['SchemaChangePolicy', actual.SchemaChangePolicy, wanted.SchemaChangePolicy],
    ['RecrawlPolicy', actual.RecrawlPolicy?.RecrawlBehavior, wanted.RecrawlPolicy?.RecrawlBehavior],
    ['Configuration', parseJson(actual.Configuration), parseJson(wanted.Configuration)],
  ];
  return checks.filter(([, a, b]) => !isDeepStrictEqual(a, b)).map(([name]) => name);
}

async function ensureBucket(s3: S3Client, config: Config): Promise<ProvisionAction> {
  const { bucket } = config.s3;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'unchanged';
  } catch (error) {
    if (isAwsError(error, 'Forbidden') || isAwsError(error, 'AccessDenied')) {
      throw new Error(`bucket ${bucket} exists but the admin credentials may not use it (another account's?)`, {
        cause: error,
      });
    }
    if (!isAwsError(error, 'NotFound') && !isAwsError(error, 'NoSuchBucket')) throw error;
  }
  try {
    // us-east-1 is the one region that takes no location constraint.
    const region = config.aws.region;
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration:
          region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint },
      }),
    );
    return 'created';
  } catch (error) {
    if (isAwsError(error, 'BucketAlreadyOwnedByYou')) return 'unchanged';
    throw error;
  }
}

/** A zero-byte object named like the prefix, as the S3 console's "Create folder" makes. */
async function ensureFolder(s3: S3Client, bucket: string, prefix: string): Promise<ProvisionAction> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix }));
    return 'unchanged';
  } catch (error) {
    if (!isAwsError(error, 'NotFound') && !isAwsError(error, 'NoSuchKey')) throw error;
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: prefix, Body: '', ContentLength: 0 }));
  return 'created';
}

async function ensureDatabase(glue: GlueClient, config: Config): Promise<ProvisionAction> {
  try {
    await glue.send(
      new CreateDatabaseCommand({
        DatabaseInput: { Name: config.glue.database, Description: 'TickSync: market data in the S3 data lake' },
      }),
    );
    return 'created';
  } catch (error) {
    if (isAwsError(error, 'AlreadyExistsException')) return 'unchanged';
    throw error;
  }
}

async function ensureCrawler(glue: GlueClient, wanted: CreateCrawlerCommandInput): Promise<ProvisionStep> {
  const name = wanted.Name!;
  let actual: Crawler | undefined;
  try {
    actual = (await glue.send(new GetCrawlerCommand({ Name: name }))).Crawler;
  } catch (error) {
    if (!isAwsError(error, 'EntityNotFoundException')) throw error;
  }
  if (!actual) {
    await glue.send(new CreateCrawlerCommand(wanted));
    return { resource: 'crawler', name, action: 'created' };
  }
  const changed = crawlerDifferences(actual, wanted);
  if (changed.length === 0) return { resource: 'crawler', name, action: 'unchanged' };
  try {
    await glue.send(new UpdateCrawlerCommand(wanted));
  } catch (error) {
    if (isAwsError(error, 'CrawlerRunningException')) {
      throw new Error(`crawler ${name} is running and cannot be updated now; run provision again once it is READY`, {
        cause: error,
      });
    }
    throw error;
  }
  return { resource: 'crawler', name, action: 'updated', changed };
}

/**
 * The Athena work group TickSync's queries run in: engine v3, results under
 * TICKSYNC_ATHENA_OUTPUT_LOCATION, enforced so no query writes elsewhere.
 */
async function ensureWorkGroup(athena: AthenaClient, config: Config): Promise<ProvisionStep> {
  const name = config.athena.workgroup;
  const outputLocation = config.athena.outputLocation;
  let actual;
  try {
    actual = (await athena.send(new GetWorkGroupCommand({ WorkGroup: name }))).WorkGroup;
  } catch (error) {
    // Athena says a work group is missing with a plain InvalidRequestException.
    if (!isAwsError(error, 'InvalidRequestException') || !/not found/i.test((error as Error).message)) throw error;
  }
  if (!actual) {
    await athena.send(
      new CreateWorkGroupCommand({
        Name: name,
        Description: 'TickSync: queries over the lake',
        Configuration: {
          ResultConfiguration: { OutputLocation: outputLocation },
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: false,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        },
      }),
    );
    return { resource: 'workgroup', name, action: 'created' };
  }
  const configuration = actual.Configuration;
  const changed = [
    configuration?.ResultConfiguration?.OutputLocation !== outputLocation && 'OutputLocation',
    configuration?.EnforceWorkGroupConfiguration !== true && 'EnforceWorkGroupConfiguration',
  ].filter((name): name is string => name !== false);
  if (changed.length === 0) return { resource: 'workgroup', name, action: 'unchanged' };
  await athena.send(
    new UpdateWorkGroupCommand({
      WorkGroup: name,
      ConfigurationUpdates: {
        ResultConfigurationUpdates: { OutputLocation: outputLocation },
        EnforceWorkGroupConfiguration: true,
      },
    }),
  );
  return { resource: 'workgroup', name, action: 'updated', changed };
}

/** The folders TickSync writes to or reads from in the lake bucket. */
export function folderPrefixes(config: Config): string[] {
  const { rawPrefix, dlqPrefix, inputPrefix, manifestPrefix, curatedPrefix } = config.s3;
  const prefixes = [rawPrefix, dlqPrefix, inputPrefix, manifestPrefix, curatedPrefix];
  const athena = /^s3:\/\/([^/]+)\/(.*)$/.exec(config.athena.outputLocation);
  // Athena's results may live in a bucket of their own: only folders of the lake bucket are made here.
  if (athena?.[1] === config.s3.bucket && athena[2]) prefixes.push(athena[2]);
  return [...new Set(prefixes)];
}

/**
 * Creates what TickSync needs and is missing, with the admin credentials: the
 * lake bucket and its folders, the Glue database, the crawler and the Athena
 * work group (updated when their settings drifted). Running it again changes nothing.
 */
export async function provision(config: Config, logger: Logger): Promise<ProvisionStep[]> {
  const wantedCrawler = crawlerDefinition(config);
  const s3 = createS3Client(config, 'admin');
  const glue = createGlueClient(config, 'admin');
  const athena = createAthenaClient(config, 'admin');
  const steps: ProvisionStep[] = [];
  const record = (step: ProvisionStep) => {
    steps.push(step);
    logger.info(step, `${step.resource} ${step.name} ${step.action}`);
  };
  try {
    const { bucket } = config.s3;
    record({ resource: 'bucket', name: bucket, action: await ensureBucket(s3, config) });
    for (const prefix of folderPrefixes(config)) {
      record({ resource: 'folder', name: `s3://${bucket}/${prefix}`, action: await ensureFolder(s3, bucket, prefix) });
    }
    record({ resource: 'database', name: config.glue.database, action: await ensureDatabase(glue, config) });
    record(await ensureCrawler(glue, wantedCrawler));
    record(await ensureWorkGroup(athena, config));
    return steps;
  } finally {
    s3.destroy();
    glue.destroy();
    athena.destroy();
  }
}

if (require.main === module) {
  const program = new Command('npm run provision --')
    .description(
      'Create, idempotently, what TickSync needs in S3, Glue and Athena: the lake bucket and its folders (raw/, dlq/, ' +
        'input/, manifests/, athena-results/), the Glue database, the crawler of raw/<topic>/ and the Athena work group. Against the local stack by ' +
        'default; against AWS with TICKSYNC_TARGET=aws (admin credentials, TICKSYNC_GLUE_CRAWLER_ROLE set).',
    )
    .option('--json', 'print the steps as one JSON array')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      await requireServices(config, ['s3', 'aws']);
      const steps = await provision(config, createLogger('provision', config.logLevel));
      if (options.json) {
        console.log(JSON.stringify(steps));
        return;
      }
      for (const step of steps) {
        const changed = step.changed ? ` (${step.changed.join(', ')})` : '';
        console.log(`${step.action.padEnd(10)} ${step.resource.padEnd(9)} ${step.name}${changed}`);
      }
      const target =
        config.target === 'local' ? `the local stack (Glue at ${config.aws.endpoint})` : `AWS ${config.aws.region}`;
      console.log(`provisioned on ${target}`);
    });
  runCli(program);
}
