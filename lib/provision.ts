import {
  CreateWorkGroupCommand,
  GetWorkGroupCommand,
  UpdateWorkGroupCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreateTableCommand,
  GetCrawlerCommand,
  GetTableCommand,
  UpdateCrawlerCommand,
  UpdateTableCommand,
  type Column,
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
import type { Logger } from 'pino';
import { createAthenaClient, createGlueClient, createS3Client } from './clients';
import type { Config } from './config';
import { isAwsError } from './errors';
import { crawlerDefinition, crawlerDifferences, folderPrefixes } from './provisioning';
import { ensureLakeTables } from './provision-lake';
import { curatedTableName, hasProjection, lakeViewName, projectionParameters, ticksTableInput } from './ticks-table';

/**
 * `provision`, the operation: creates what lib/provisioning.ts defines, on the local stack or AWS. `npm run provision`
 * and `npm run demo` run it; the CloudFormation template declares the same resources from lib/provisioning.ts.
 */
export type ProvisionAction = 'created' | 'unchanged' | 'updated';

export interface ProvisionStep {
  resource: 'bucket' | 'folder' | 'database' | 'crawler' | 'workgroup' | 'table' | 'view';
  name: string;
  action: ProvisionAction;
  /** For an updated crawler, work group or table: the settings that differed. */
  changed?: string[];
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

/** What provision does with the ticks table's partition projection. */
export interface ProjectionOptions {
  /**
   * undefined: set projection on the table once the crawler has made it; true: also create the table
   * with projection when it is missing; false: leave the table alone (partitions from crawls only).
   */
  projection?: boolean;
  /** The first day the projection covers (YYYY-MM-DD). */
  projectionStart?: string;
  /** The table's columns when provision creates it (else the known ticks schema). */
  columns?: Column[];
}

/**
 * Partition projection on the ticks table: properties added to the table the crawler made (its
 * columns untouched), or the table created with them when asked. Undefined when there is nothing to do.
 */
async function ensureTicksTable(
  glue: GlueClient,
  config: Config,
  options: ProjectionOptions,
  logger: Logger,
): Promise<ProvisionStep | undefined> {
  if (options.projection === false) return undefined;
  const wanted = ticksTableInput(config, {
    projection: true,
    projectionStart: options.projectionStart,
    columns: options.columns,
  });
  const name = wanted.Name!;
  let actual;
  try {
    actual = (await glue.send(new GetTableCommand({ DatabaseName: config.glue.database, Name: name }))).Table;
  } catch (error) {
    if (!isAwsError(error, 'EntityNotFoundException')) throw error;
  }
  if (!actual) {
    if (options.projection !== true) {
      logger.info(
        { table: name },
        'no ticks table yet: run provision again after the first crawl to set partition projection on it, or provision --projection to create it now',
      );
      return undefined;
    }
    await glue.send(new CreateTableCommand({ DatabaseName: config.glue.database, TableInput: wanted }));
    return { resource: 'table', name, action: 'created' };
  }
  const location = actual.StorageDescriptor?.Location ?? wanted.StorageDescriptor!.Location!;
  const properties = projectionParameters(location, options.projectionStart);
  const current = actual.Parameters ?? {};
  // A table that has projection keeps its own range start unless one is asked for.
  if (hasProjection(current) && options.projectionStart === undefined && current['projection.dt.range']) {
    properties['projection.dt.range'] = current['projection.dt.range'];
  }
  const changed = Object.keys(properties).filter((key) => current[key] !== properties[key]);
  if (changed.length === 0) return { resource: 'table', name, action: 'unchanged' };
  await glue.send(
    new UpdateTableCommand({
      DatabaseName: config.glue.database,
      TableInput: {
        Name: actual.Name,
        Description: actual.Description,
        Owner: actual.Owner,
        Retention: actual.Retention,
        TableType: actual.TableType,
        StorageDescriptor: actual.StorageDescriptor,
        PartitionKeys: actual.PartitionKeys,
        Parameters: { ...current, ...properties },
      },
    }),
  );
  return { resource: 'table', name, action: 'updated', changed };
}

/**
 * Compaction's catalog beside the ticks table, once the table exists: `<table>_curated` and the lake view
 * `<table>_lake` (lib/provision-lake.ts), so the named queries read the view from the first query on. Before
 * the first crawl there is no table to read them from: a later provision (or the first compaction) makes them.
 */
async function ensureLake(glue: GlueClient, config: Config): Promise<ProvisionStep[]> {
  const name = ticksTableInput(config).Name!;
  let raw;
  try {
    raw = (await glue.send(new GetTableCommand({ DatabaseName: config.glue.database, Name: name }))).Table;
  } catch (error) {
    if (!isAwsError(error, 'EntityNotFoundException')) throw error;
  }
  if (!raw) return [];
  const lake = await ensureLakeTables(glue, config, config.glue.database, raw);
  return [
    { resource: 'table', name: curatedTableName(name), action: lake.curated },
    { resource: 'view', name: lakeViewName(name), action: lake.view },
  ];
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

/**
 * Creates what TickSync needs and is missing, with the admin credentials: the
 * lake bucket and its folders, the Glue database, the crawler, the Athena
 * work group (updated when their settings drifted), partition projection on the
 * ticks table (see ensureTicksTable), and once that table exists the curated table and the lake view
 * compaction publishes through (see ensureLake). Running it again changes nothing.
 */
export async function provision(
  config: Config,
  logger: Logger,
  options: ProjectionOptions = {},
): Promise<ProvisionStep[]> {
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
    const table = await ensureTicksTable(glue, config, options, logger);
    if (table) record(table);
    for (const step of await ensureLake(glue, config)) record(step);
    return steps;
  } finally {
    s3.destroy();
    glue.destroy();
    athena.destroy();
  }
}
