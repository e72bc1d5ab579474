import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as glue from '@aws-sdk/client-glue';
import type { Column, Crawler, StorageDescriptor, TableInput } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { ROLES, type Config, type Credentials } from '../../lib/config';
import { crawlerPrincipal, isRole, type Authorizer, type Principal } from '../authorize';
import { toDictionaries } from '../dictionary';
import type { Catalog } from './catalog';
import { crawlTargets, s3ObjectReader, type CrawlResult, type CrawledTable } from './crawler';
import {
  AlreadyExists,
  CrawlerNotRunning,
  CrawlerRunning,
  CrawlerStopping,
  EntityNotFound,
  InvalidInput,
} from './errors';
import { partitionKey, type CrawlerRecord, type GlueStore } from './store';

/**
 * Crawlers: definitions, and runs that really crawl. `StartCrawler` returns at
 * once; the crawl reads S3 through the S3 API with the credentials of the
 * crawler's role, in the background, and moves the crawler READY → RUNNING →
 * STOPPING → READY as Glue does. What it finds is written to the catalog under
 * the crawler's SchemaChangePolicy and RecrawlPolicy.
 */

/** The parts of a crawler's `Configuration` JSON that change what a crawl writes. */
interface CrawlerConfiguration {
  Version?: number;
  Grouping?: { TableGroupingPolicy?: string; TableLevelConfiguration?: number };
  CrawlerOutput?: {
    Partitions?: { AddOrUpdateBehavior?: string };
    Tables?: { AddOrUpdateBehavior?: string };
  };
}

/** How long a finished crawl shows STOPPING before READY (Glue takes a while to wind down; pollers must see it). */
const STOPPING_MS = 500;

function parseConfiguration(text: string | undefined): CrawlerConfiguration {
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw InvalidInput(`Crawler configuration not valid: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw InvalidInput('Crawler configuration not valid: expected a JSON object');
  }
  const configuration = parsed as CrawlerConfiguration;
  const grouping = configuration.Grouping;
  if (grouping?.TableGroupingPolicy !== undefined && grouping.TableGroupingPolicy !== 'CombineCompatibleSchemas') {
    throw InvalidInput(
      `Crawler configuration not valid: Grouping.TableGroupingPolicy must be CombineCompatibleSchemas, got ${JSON.stringify(grouping.TableGroupingPolicy)}`,
    );
  }
  const level = grouping?.TableLevelConfiguration;
  if (level !== undefined && (!Number.isInteger(level) || level < 1)) {
    throw InvalidInput(
      `Crawler configuration not valid: Grouping.TableLevelConfiguration must be a positive integer, got ${JSON.stringify(level)}`,
    );
  }
  const partitions = configuration.CrawlerOutput?.Partitions?.AddOrUpdateBehavior;
  if (partitions !== undefined && partitions !== 'InheritFromTable') {
    throw InvalidInput(
      `Crawler configuration not valid: CrawlerOutput.Partitions.AddOrUpdateBehavior must be InheritFromTable, got ${JSON.stringify(partitions)}`,
    );
  }
  const tables = configuration.CrawlerOutput?.Tables?.AddOrUpdateBehavior;
  if (tables !== undefined && tables !== 'MergeNewColumns') {
    throw InvalidInput(
      `Crawler configuration not valid: CrawlerOutput.Tables.AddOrUpdateBehavior must be MergeNewColumns, got ${JSON.stringify(tables)}`,
    );
  }
  return configuration;
}

const sameColumns = (a: Column[] = [], b: Column[] = []) =>
  a.length === b.length && a.every((column, index) => column.Name === b[index]?.Name && column.Type === b[index]?.Type);

/** What makes a crawled table "changed" for UPDATE_IN_DATABASE: its schema, layout or format. */
function schemaDiffers(existing: TableInput | glue.Table, crawled: TableInput): boolean {
  const a = existing.StorageDescriptor;
  const b = crawled.StorageDescriptor;
  return (
    !sameColumns(a?.Columns, b?.Columns) ||
    !sameColumns(existing.PartitionKeys, crawled.PartitionKeys) ||
    a?.Location !== b?.Location ||
    a?.SerdeInfo?.SerializationLibrary !== b?.SerdeInfo?.SerializationLibrary ||
    existing.Parameters?.classification !== crawled.Parameters?.classification
  );
}

/** The table properties a crawl writes (or drops, as `skip.header.line.count` when a header goes). */
const CRAWLER_PARAMETERS = new Set([
  'CrawlerSchemaDeserializerVersion',
  'CrawlerSchemaSerializerVersion',
  'classification',
  'compressionType',
  'typeOfData',
  'averageRecordSize',
  'objectCount',
  'recordCount',
  'sizeKey',
  'areColumnsQuoted',
  'columnsOrdered',
  'delimiter',
  'skip.header.line.count',
  'exclusions',
  'UPDATED_BY_CRAWLER',
]);

/**
 * The properties of a table the crawler updates that it does not own, kept as Glue keeps them:
 * partition projection's (`projection.*`, `storage.location.template`) and any a team set.
 */
const keptParameters = (parameters: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(parameters).filter(([key]) => !CRAWLER_PARAMETERS.has(key)));

export interface CrawlerDeps {
  store: GlueStore;
  catalog: Catalog;
  authorizer: Authorizer;
  config: Config;
  logger: Logger;
}

export class Crawlers {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: CrawlerDeps) {
    // A crawl does not survive the service: one the service was running when it stopped has failed.
    for (const record of Object.values(deps.store.state.crawlers)) {
      if (record.crawler.State !== 'READY') {
        record.crawler.State = 'READY';
        record.crawler.LastCrawl = {
          ...record.crawler.LastCrawl,
          Status: 'FAILED',
          ErrorMessage: 'The local Glue service stopped during the crawl.',
        };
      }
    }
    deps.store.save();
  }

  private record(name: string): CrawlerRecord {
    const record = this.deps.store.state.crawlers[name];
    if (!record) throw EntityNotFound(`Crawler entry with name ${name} does not exist`);
    return record;
  }

  /** Locally a role `.../ticksync-<role>` (ARN or name) is that TickSync role: its keys and its policy. */
  private crawlerRole(role: string): { principal: Principal; credentials: Credentials } {
    const name = /^ticksync-(\w+)$/.exec(role.split('/').pop() ?? '')?.[1] ?? '';
    const credentials = isRole(name) ? this.deps.config.aws.credentials[name] : undefined;
    if (!isRole(name) || !credentials) {
      throw InvalidInput(
        `Service is unable to assume provided role. Please verify role's TrustPolicy. (role ${role}; the local service knows roles ${ROLES.map((known) => `ticksync-${known}`).join(', ')})`,
      );
    }
    return { principal: crawlerPrincipal(name), credentials };
  }

  private definition(input: glue.CreateCrawlerRequest | glue.UpdateCrawlerRequest, previous?: Crawler): Crawler {
    const targets = input.Targets ?? previous?.Targets ?? {};
    const others = Object.entries(targets).filter(
      ([key, value]) => key !== 'S3Targets' && Array.isArray(value) && value.length > 0,
    );
    if (others.length > 0) {
      throw InvalidInput(`The local Glue service crawls S3 targets only; got ${others.map(([key]) => key).join(', ')}`);
    }
    const s3Targets = targets.S3Targets ?? [];
    if (s3Targets.length === 0) throw InvalidInput('Crawler must have at least one S3 target.');
    for (const target of s3Targets) {
      if (!target.Path || !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(target.Path)) {
        throw InvalidInput(`Invalid S3 target path ${JSON.stringify(target.Path)}: expected s3://bucket/prefix`);
      }
      if (target.SampleSize !== undefined && (target.SampleSize < 1 || target.SampleSize > 249)) {
        throw InvalidInput(`SampleSize must be between 1 and 249, got ${target.SampleSize}`);
      }
      if (target.EventQueueArn) throw InvalidInput('The local Glue service does not support event-mode (SQS) targets.');
    }
    if (input.Schedule ?? previous?.Schedule) {
      throw InvalidInput(
        'The local Glue service does not run crawler schedules; use a Temporal Schedule (npm run schedule -- crawl).',
      );
    }
    const role = input.Role ?? previous?.Role;
    if (!role) throw InvalidInput('Role is required.');
    this.crawlerRole(role);
    const schemaChangePolicy = {
      UpdateBehavior:
        input.SchemaChangePolicy?.UpdateBehavior ??
        previous?.SchemaChangePolicy?.UpdateBehavior ??
        'UPDATE_IN_DATABASE',
      DeleteBehavior:
        input.SchemaChangePolicy?.DeleteBehavior ??
        previous?.SchemaChangePolicy?.DeleteBehavior ??
        'DEPRECATE_IN_DATABASE',
    };
    const recrawlPolicy = {
      RecrawlBehavior:
        input.RecrawlPolicy?.RecrawlBehavior ?? previous?.RecrawlPolicy?.RecrawlBehavior ?? 'CRAWL_EVERYTHING',
    };
    if (recrawlPolicy.RecrawlBehavior === 'CRAWL_EVENT_MODE') {
      throw InvalidInput('The local Glue service does not support RecrawlBehavior CRAWL_EVENT_MODE.');
    }
    if (
      recrawlPolicy.RecrawlBehavior === 'CRAWL_NEW_FOLDERS_ONLY' &&
      (schemaChangePolicy.UpdateBehavior !== 'LOG' || schemaChangePolicy.DeleteBehavior !== 'LOG')
    ) {
      throw InvalidInput(
        'The SchemaChangePolicy for "Crawl new folders only" Amazon S3 target can have only LOG DeleteBehavior value and LOG UpdateBehavior value.',
      );
    }
    const configuration = input.Configuration ?? previous?.Configuration;
    parseConfiguration(configuration);
    const now = new Date();
    return {
      Name: input.Name,
      Role: role,
      Targets: {
        S3Targets: s3Targets,
        JdbcTargets: [],
        MongoDBTargets: [],
        DynamoDBTargets: [],
        CatalogTargets: [],
        DeltaTargets: [],
        IcebergTargets: [],
        HudiTargets: [],
      },
      DatabaseName: input.DatabaseName ?? previous?.DatabaseName,
      Description: input.Description ?? previous?.Description,
      Classifiers: input.Classifiers ?? previous?.Classifiers ?? [],
      RecrawlPolicy: recrawlPolicy,
      SchemaChangePolicy: schemaChangePolicy,
      LineageConfiguration: input.LineageConfiguration ??
        previous?.LineageConfiguration ?? { CrawlerLineageSettings: 'DISABLE' },
      State: previous?.State ?? 'READY',
      TablePrefix: input.TablePrefix ?? previous?.TablePrefix,
      CreationTime: previous?.CreationTime ?? now,
      LastUpdated: now,
      LastCrawl: previous?.LastCrawl,
      Version: previous ? (previous.Version ?? 1) + 1 : 1,
      Configuration: configuration,
      CrawlerSecurityConfiguration: input.CrawlerSecurityConfiguration ?? previous?.CrawlerSecurityConfiguration,
      LakeFormationConfiguration: input.LakeFormationConfiguration ??
        previous?.LakeFormationConfiguration ?? { UseLakeFormationCredentials: false, AccountId: '' },
    };
  }

  private view(record: CrawlerRecord): Crawler {
    const crawler = { ...record.crawler };
    if (crawler.State === 'RUNNING' && this.runStarted.has(crawler.Name!)) {
      crawler.CrawlElapsedTime = Date.now() - this.runStarted.get(crawler.Name!)!.getTime();
    }
    return crawler;
  }

  private readonly runStarted = new Map<string, Date>();

  createCrawler(input: glue.CreateCrawlerRequest): glue.CreateCrawlerResponse {
    if (this.deps.store.state.crawlers[input.Name!]) throw AlreadyExists(`${input.Name} already exists`);
    const crawler = this.definition(input);
    this.deps.store.state.crawlers[input.Name!] = {
      crawler,
      runtimesSeconds: [],
      lastTables: { created: 0, updated: 0, deleted: 0 },
      crawledFolders: [],
    };
    this.deps.store.save();
    return {};
  }

  updateCrawler(input: glue.UpdateCrawlerRequest): glue.UpdateCrawlerResponse {
    const record = this.record(input.Name!);
    if (record.crawler.State !== 'READY') throw CrawlerRunning(`Crawler with name ${input.Name} has already started`);
    record.crawler = this.definition(input, record.crawler);
    this.deps.store.save();
    return {};
  }

  getCrawler(input: glue.GetCrawlerRequest): glue.GetCrawlerResponse {
    return { Crawler: this.view(this.record(input.Name!)) };
  }

  getCrawlers(input: glue.GetCrawlersRequest): glue.GetCrawlersResponse {
    const names = Object.keys(this.deps.store.state.crawlers).sort();
    const size = Math.min(input.MaxResults ?? 100, 1000);
    const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw InvalidInput('Invalid NextToken');
    const slice = names.slice(start, start + size);
    return {
      Crawlers: slice.map((name) => this.view(this.record(name))),
      NextToken: start + size < names.length ? Buffer.from(String(start + size)).toString('base64url') : undefined,
    };
  }

  listCrawlers(input: glue.ListCrawlersRequest): glue.ListCrawlersResponse {
    const { Crawlers: crawlers, NextToken } = this.getCrawlers(input);
    return { CrawlerNames: crawlers?.map((crawler) => crawler.Name!), NextToken };
  }

  deleteCrawler(input: glue.DeleteCrawlerRequest): glue.DeleteCrawlerResponse {
    const record = this.record(input.Name!);
    if (record.crawler.State !== 'READY') throw CrawlerRunning(`Crawler with name ${input.Name} has already started`);
    delete this.deps.store.state.crawlers[input.Name!];
    this.deps.store.save();
    return {};
  }

  getCrawlerMetrics(input: glue.GetCrawlerMetricsRequest): glue.GetCrawlerMetricsResponse {
    const names = input.CrawlerNameList ?? Object.keys(this.deps.store.state.crawlers).sort();
    const metrics = names.flatMap((name) => {
      const record = this.deps.store.state.crawlers[name];
      if (!record) return [];
      const runtimes = [...record.runtimesSeconds].sort((a, b) => a - b);
      const median = runtimes.length === 0 ? 0 : runtimes[Math.floor(runtimes.length / 2)]!;
      return [
        {
          CrawlerName: name,
          TimeLeftSeconds:
            record.crawler.State === 'RUNNING'
              ? Math.max(0, median - (Date.now() - (this.runStarted.get(name)?.getTime() ?? Date.now())) / 1000)
              : 0,
          StillEstimating: record.crawler.State === 'RUNNING' && runtimes.length === 0,
          LastRuntimeSeconds: record.runtimesSeconds.at(-1) ?? 0,
          MedianRuntimeSeconds: median,
          TablesCreated: record.lastTables.created,
          TablesUpdated: record.lastTables.updated,
          TablesDeleted: record.lastTables.deleted,
        },
      ];
    });
    return { CrawlerMetricsList: metrics };
  }

  startCrawler(input: glue.StartCrawlerRequest): glue.StartCrawlerResponse {
    const record = this.record(input.Name!);
    if (record.crawler.State !== 'READY') throw CrawlerRunning(`Crawler with name ${input.Name} has already started`);
    const controller = new AbortController();
    const startTime = new Date();
    record.crawler.State = 'RUNNING';
    this.running.set(input.Name!, controller);
    this.runStarted.set(input.Name!, startTime);
    this.deps.store.save();
    this.run(record, controller.signal, startTime).catch((error: unknown) => {
      // Only a failed save gets here: the crawler is ready again, and the next save writes it all.
      this.deps.logger.error({ err: error, crawler: input.Name }, 'crawl could not record its end');
      record.crawler.State = 'READY';
      this.running.delete(input.Name!);
      this.runStarted.delete(input.Name!);
    });
    return {};
  }

  stopCrawler(input: glue.StopCrawlerRequest): glue.StopCrawlerResponse {
    const record = this.record(input.Name!);
    if (record.crawler.State === 'STOPPING') throw CrawlerStopping(`Crawler with name ${input.Name} is stopping`);
    if (record.crawler.State !== 'RUNNING') throw CrawlerNotRunning(`Crawler with name ${input.Name} is not running`);
    record.crawler.State = 'STOPPING';
    this.deps.store.save();
    this.running.get(input.Name!)?.abort();
    return {};
  }

  private async run(record: CrawlerRecord, signal: AbortSignal, startTime: Date): Promise<void> {
    const name = record.crawler.Name!;
    const logger = this.deps.logger.child({ crawler: name, messagePrefix: crypto.randomUUID() });
    let status: 'SUCCEEDED' | 'CANCELLED' | 'FAILED' = 'SUCCEEDED';
    let errorMessage: string | undefined;
    const { principal, credentials } = this.crawlerRole(record.crawler.Role!);
    const client = new S3Client({
      region: this.deps.config.aws.region,
      endpoint: this.deps.config.aws.s3Endpoint,
      forcePathStyle: this.deps.config.aws.s3Endpoint !== undefined,
      credentials,
      maxAttempts: 3,
    });
    try {
      logger.info({ targets: record.crawler.Targets?.S3Targets?.map((target) => target.Path) }, 'crawl started');
      const databaseName = record.crawler.DatabaseName;
      if (!databaseName) throw new Error('The crawler has no DatabaseName: it has nowhere to write tables.');
      const { authorizer } = this.deps;
      authorizer.check(principal, authorizer.arns.databasePath('glue:GetDatabase', databaseName));
      this.deps.catalog.database(databaseName);
      const configuration = parseConfiguration(record.crawler.Configuration);
      const newFoldersOnly = record.crawler.RecrawlPolicy?.RecrawlBehavior === 'CRAWL_NEW_FOLDERS_ONLY';
      const result = await crawlTargets(
        {
          targets: (record.crawler.Targets?.S3Targets ?? []).map((target) => ({
            path: target.Path!,
            exclusions: target.Exclusions ?? [],
            sampleSize: target.SampleSize,
          })),
          tablePrefix: record.crawler.TablePrefix ?? '',
          grouping: {
            combineCompatibleSchemas: configuration.Grouping?.TableGroupingPolicy === 'CombineCompatibleSchemas',
            tableLevel: configuration.Grouping?.TableLevelConfiguration,
          },
          skipFolders: newFoldersOnly ? new Set(record.crawledFolders) : undefined,
          signal,
          log: (level, message, fields) => logger[level](fields ?? {}, message),
        },
        s3ObjectReader(client),
      );
      if (signal.aborted) throw signal.reason;
      // All or nothing: a write the role may not make undoes the crawl's writes before it.
      const key = databaseName.toLowerCase();
      const before = toDictionaries(structuredClone(this.deps.store.state.databases[key]));
      try {
        const write = { principal, logger };
        record.lastTables = this.apply(record, databaseName, result, configuration, newFoldersOnly, write);
      } catch (error) {
        if (before) this.deps.store.state.databases[key] = before;
        this.deps.store.save();
        throw error;
      }
      record.crawledFolders = newFoldersOnly
        ? [...new Set([...record.crawledFolders, ...result.crawledFolders])]
        : result.crawledFolders;
      logger.info({ ...record.lastTables, skipped: result.skipped.length }, 'crawl succeeded');
    } catch (error) {
      if (signal.aborted) {
        status = 'CANCELLED';
        logger.info('crawl stopped');
      } else {
        status = 'FAILED';
        errorMessage = error instanceof Error ? error.message : String(error);
        logger.warn({ err: error }, 'crawl failed');
      }
    } finally {
      client.destroy();
    }
    record.crawler.State = 'STOPPING';
    this.deps.store.save();
    await sleep(STOPPING_MS);
    record.runtimesSeconds = [...record.runtimesSeconds, (Date.now() - startTime.getTime()) / 1000].slice(-20);
    record.crawler.State = 'READY';
    record.crawler.LastCrawl = {
      Status: status,
      ErrorMessage: errorMessage,
      LogGroup: '/aws-glue/crawlers',
      LogStream: name,
      MessagePrefix: crypto.randomUUID(),
      StartTime: startTime,
    };
    this.running.delete(name);
    this.runStarted.delete(name);
    this.deps.store.save();
  }

  /**
   * Writes a crawl's findings to the catalog under the crawler's schema change
   * policy, each write authorised for the crawler's role; returns the table counts.
   */
  private apply(
    record: CrawlerRecord,
    databaseName: string,
    result: CrawlResult,
    configuration: CrawlerConfiguration,
    newFoldersOnly: boolean,
    { principal, logger }: { principal: Principal; logger: Logger },
  ) {
    const { catalog, authorizer } = this.deps;
    const may = (action: string, table: string) =>
      authorizer.check(principal, authorizer.arns.tablePath(action, databaseName, table));
    const name = record.crawler.Name!;
    const policy = record.crawler.SchemaChangePolicy!;
    const inherit = configuration.CrawlerOutput?.Partitions?.AddOrUpdateBehavior === 'InheritFromTable';
    const mergeNewColumns = configuration.CrawlerOutput?.Tables?.AddOrUpdateBehavior === 'MergeNewColumns';
    const counts = { created: 0, updated: 0, deleted: 0, partitionsAdded: 0 };
    const database = catalog.database(databaseName);

    for (const crawled of result.tables) {
      const existing = database.tables[crawled.name];
      const input = this.tableInput(crawled, name);
      if (existing && mergeNewColumns) {
        const known = existing.table.StorageDescriptor?.Columns ?? [];
        const added = (input.StorageDescriptor?.Columns ?? []).filter(
          (column) => !known.some((k) => k.Name === column.Name),
        );
        input.StorageDescriptor = { ...input.StorageDescriptor, Columns: [...known, ...added] };
      }
      if (!existing) {
        may('glue:CreateTable', crawled.name);
        catalog.putTable(databaseName, input);
        counts.created += 1;
        logger.info({ table: crawled.name, columns: crawled.columns.length }, 'table created');
      } else if (schemaDiffers(existing.table, input)) {
        if (policy.UpdateBehavior === 'UPDATE_IN_DATABASE') {
          may('glue:UpdateTable', crawled.name);
          input.Parameters = { ...keptParameters(existing.table.Parameters), ...input.Parameters };
          catalog.putTable(databaseName, input);
          counts.updated += 1;
          logger.info({ table: crawled.name }, 'table updated');
        } else {
          logger.info({ table: crawled.name }, 'schema change found; not applied (UpdateBehavior LOG)');
        }
      }
      const table = catalog.table(databaseName, crawled.name);
      const tableDescriptor = table.table.StorageDescriptor;
      const seen = new Set<string>();
      for (const partition of crawled.partitions) {
        const key = partitionKey(partition.values);
        seen.add(key);
        const storageDescriptor: StorageDescriptor = inherit
          ? { ...tableDescriptor, Location: partition.storageDescriptor.Location }
          : partition.storageDescriptor;
        const previous = table.partitions[key];
        if (!previous) {
          may('glue:BatchCreatePartition', crawled.name);
          catalog.putPartition(table, {
            Values: partition.values,
            StorageDescriptor: storageDescriptor,
            Parameters: partition.parameters,
          });
          counts.partitionsAdded += 1;
        } else if (
          policy.UpdateBehavior === 'UPDATE_IN_DATABASE' &&
          !sameColumns(previous.StorageDescriptor?.Columns, storageDescriptor.Columns)
        ) {
          may('glue:BatchUpdatePartition', crawled.name);
          catalog.putPartition(table, {
            Values: partition.values,
            StorageDescriptor: storageDescriptor,
            Parameters: partition.parameters,
          });
        }
      }
      // Partitions whose folders are gone; a crawl of new folders only has not looked at the others.
      if (!newFoldersOnly && policy.DeleteBehavior === 'DELETE_FROM_DATABASE') {
        const gone = Object.keys(table.partitions).filter((key) => !seen.has(key));
        if (gone.length > 0) may('glue:BatchDeletePartition', crawled.name);
        for (const key of gone) delete table.partitions[key];
      }
    }

    if (!newFoldersOnly) {
      const found = new Set(result.tables.map((table) => table.name));
      const targets = (record.crawler.Targets?.S3Targets ?? []).map((target) => target.Path!.replace(/\/?$/, '/'));
      for (const [tableName, table] of Object.entries(database.tables)) {
        const location = table.table.StorageDescriptor?.Location ?? '';
        const ours =
          table.table.Parameters?.UPDATED_BY_CRAWLER === name &&
          targets.some((target) => `${location.replace(/\/?$/, '/')}`.startsWith(target));
        if (!ours || found.has(tableName)) continue;
        if (policy.DeleteBehavior === 'DELETE_FROM_DATABASE') {
          may('glue:DeleteTable', tableName);
          delete database.tables[tableName];
          counts.deleted += 1;
          logger.info({ table: tableName }, 'table deleted: its data is gone');
        } else if (policy.DeleteBehavior === 'DEPRECATE_IN_DATABASE') {
          may('glue:UpdateTable', tableName);
          const parameters = table.table.Parameters ?? {};
          parameters.DEPRECATED_BY_CRAWLER = String(Number(parameters.DEPRECATED_BY_CRAWLER ?? '0') + 1);
          table.table.Parameters = parameters;
          logger.info({ table: tableName }, 'table deprecated: its data is gone');
        } else {
          logger.info({ table: tableName }, 'table data is gone; not changed (DeleteBehavior LOG)');
        }
      }
    }
    this.deps.store.save();
    logger.info({ partitionsAdded: counts.partitionsAdded }, 'catalog written');
    return { created: counts.created, updated: counts.updated, deleted: counts.deleted };
  }

  private tableInput(crawled: CrawledTable, crawlerName: string): TableInput {
    return {
      Name: crawled.name,
      Owner: 'owner',
      Retention: 0,
      StorageDescriptor: crawled.storageDescriptor,
      PartitionKeys: crawled.partitionKeys,
      TableType: 'EXTERNAL_TABLE',
      Parameters: { ...crawled.parameters, UPDATED_BY_CRAWLER: crawlerName },
    };
  }
}
