import {
  GetCrawlerCommand,
  GetCrawlerMetricsCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GetTablesCommand,
  StartCrawlerCommand,
  StopCrawlerCommand,
  type Crawler,
  type GlueClient,
  type Table,
} from '@aws-sdk/client-glue';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Config } from '../lib/config';
import { callAws, classifyAwsError, ErrorType, isAwsError, nonRetryable } from '../lib/errors';
import {
  describeColumns,
  describeTime,
  columnsOfTable,
  namedQuerySql,
  resolveColumns,
  type NamedQueryName,
  type NamedQueryOptions,
} from '../lib/queries';
import { COMPACTED_SOURCE } from '../lib/lake';
import { hourFolder } from '../lib/hour-keys';
import { curatedTableName, LAKE_WATERMARK, lakeViewName, NO_WATERMARK } from '../lib/ticks-table';
import type { TickSyncMetrics } from '../lib/metrics';
import type {
  CatalogSnapshot,
  CrawlChangesInput,
  CrawlColumn,
  CrawlerState,
  CrawlSummary,
  LastCrawl,
  NamedQuerySql,
  StartCrawlerResult,
} from '../lib/contracts';

export interface GlueActivityDeps {
  /** A client with the crawler role's credentials. */
  glue: GlueClient;
  config: Pick<Config, 'glue'>;
  logger: Logger;
  metrics: TickSyncMetrics;
}

/** Crawlers whose finished crawls this process remembers (for counting each crawl once); any more are forgotten. */
const CRAWLERS_REMEMBERED = 1000;

/** Remembers one value per key, the oldest key forgotten past the limit: has the key already got this value? */
function seenBefore(seen: Map<string, string>, key: string, value: string): boolean {
  if (seen.get(key) === value) return true;
  seen.delete(key);
  seen.set(key, value);
  if (seen.size > CRAWLERS_REMEMBERED) seen.delete(seen.keys().next().value as string);
  return false;
}

const qualified = (database: string, table: string) => `${database}.${table}`;

const columnsOf = (table: Table): CrawlColumn[] => columnsOfTable(table);

export function createGlueActivities({ glue, config, logger, metrics }: GlueActivityDeps) {
  const abortSignal = () => Context.current().cancellationSignal;
  const startedAt = Date.now();
  /** Per crawler, the start time of the last crawl counted and of the last crawl timed. */
  const counted = new Map<string, string>();
  const timed = new Map<string, string>();

  async function getCrawler(crawler: string): Promise<Crawler> {
    const { Crawler: found } = await callAws('GetCrawler', () =>
      glue.send(new GetCrawlerCommand({ Name: crawler }), { abortSignal: abortSignal() }),
    );
    if (!found) throw new Error(`GetCrawler ${crawler} answered without a crawler`);
    return found;
  }

  function stateOf(crawler: string, found: Crawler): CrawlerState {
    const last = found.LastCrawl;
    const lastCrawl: LastCrawl | undefined =
      last?.Status && last.StartTime
        ? {
            status: last.Status,
            startTime: last.StartTime.toISOString(),
            errorMessage: last.ErrorMessage,
            logGroup: last.LogGroup,
            logStream: last.LogStream,
          }
        : undefined;
    // A crawler writes its tables to DatabaseName; a catalog-target crawler reads and updates other databases too.
    const databases = new Set([found.DatabaseName ?? config.glue.database]);
    for (const target of found.Targets?.CatalogTargets ?? [])
      if (target.DatabaseName) databases.add(target.DatabaseName);
    return {
      crawler,
      state: found.State ?? 'READY',
      databases: [...databases],
      lastCrawl,
      elapsedSeconds: found.CrawlElapsedTime === undefined ? undefined : found.CrawlElapsedTime / 1000,
    };
  }

  /** GetCrawler: the crawler's state, its last finished crawl and the databases it writes to. */
  async function getCrawlerState(crawler: string): Promise<CrawlerState> {
    const state = stateOf(crawler, await getCrawler(crawler));
    // A finished crawl is counted once, when first seen; crawls from before this process started are not.
    const last = state.lastCrawl;
    if (last && Date.parse(last.startTime) >= startedAt && !seenBefore(counted, crawler, last.startTime))
      metrics.crawls.add(1, { crawler, status: last.status });
    return state;
  }

  /** Every table of the databases, page by page; a database that does not exist yet has none. */
  async function* tablesOf(databases: string[]): AsyncGenerator<{ database: string; table: Table }> {
    for (const database of databases) {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await glue.send(new GetTablesCommand({ DatabaseName: database, NextToken: token }), {
            abortSignal: abortSignal(),
          });
        } catch (error) {
          if (isAwsError(error, 'EntityNotFoundException') && token === undefined) break;
          throw classifyAwsError('GetTables', error);
        }
        for (const table of page.TableList ?? []) yield { database, table };
        token = page.NextToken;
      } while (token);
    }
  }

  /** The column names of every table in the databases, to tell afterwards which columns a crawl added. */
  async function snapshotCatalog(databases: string[]): Promise<CatalogSnapshot> {
    const tables: CatalogSnapshot['tables'] = {};
    for await (const { database, table } of tablesOf(databases)) {
      tables[qualified(database, table.Name ?? '')] = columnsOf(table).map((column) => column.name);
    }
    return { tables };
  }

  /**
   * StartCrawler. A crawler runs one crawl at a time: CrawlerRunningException means
   * a crawl is under way (RUNNING, or STOPPING as every crawl does at its end), and
   * waiting for it serves the caller as well as a new one would.
   */
  async function startCrawler(crawler: string): Promise<StartCrawlerResult> {
    const before = await getCrawlerState(crawler);
    const requestedAt = new Date();
    let outcome: StartCrawlerResult['outcome'] = 'started';
    try {
      await glue.send(new StartCrawlerCommand({ Name: crawler }), { abortSignal: abortSignal() });
    } catch (error) {
      if (!isAwsError(error, 'CrawlerRunningException')) throw classifyAwsError('StartCrawler', error);
      outcome = 'joined';
    }
    const after = await getCrawlerState(crawler);
    // Glue reports no start time for a running crawl, only how long it has been running.
    const startTime =
      after.state === 'RUNNING' && after.elapsedSeconds !== undefined
        ? new Date(Date.now() - after.elapsedSeconds * 1000).toISOString()
        : outcome === 'started'
          ? requestedAt.toISOString()
          : undefined;
    logger.info({ crawler, outcome, state: after.state, startTime }, `crawler ${outcome}`);
    return { crawler, outcome, startTime, previousCrawlStartTime: before.lastCrawl?.startTime };
  }

  /** StopCrawler; a crawler that is not running (or already stopping) is left as it is. */
  async function stopCrawler(crawler: string): Promise<{ stopped: boolean }> {
    try {
      await glue.send(new StopCrawlerCommand({ Name: crawler }), { abortSignal: abortSignal() });
    } catch (error) {
      if (isAwsError(error, 'CrawlerNotRunningException') || isAwsError(error, 'CrawlerStoppingException')) {
        return { stopped: false };
      }
      throw classifyAwsError('StopCrawler', error);
    }
    logger.info({ crawler }, 'crawler stopped');
    return { stopped: true };
  }

  /**
   * What a finished crawl changed, read back from the catalog: tables created or
   * updated since its StartTime (CreateTime, UpdateTime), partitions whose
   * CreationTime is at or after it, and columns missing from the snapshot taken
   * before the crawl. Large tables take many GetPartitions pages: each one heartbeats.
   */
  async function describeCrawlChanges({
    crawler,
    databases,
    since,
    snapshot,
  }: CrawlChangesInput): Promise<CrawlSummary> {
    const context = Context.current();
    const start = Date.parse(since);
    const summary: CrawlSummary = { tablesCreated: [], tablesUpdated: [], partitionsAdded: {}, columnsAdded: {} };
    for await (const { database, table } of tablesOf(databases)) {
      const name = qualified(database, table.Name ?? '');
      const columns = columnsOf(table);
      const created = (table.CreateTime?.getTime() ?? 0) >= start;
      if (created) summary.tablesCreated.push(name);
      else if ((table.UpdateTime?.getTime() ?? 0) >= start) summary.tablesUpdated.push(name);
      const before = snapshot.tables[name];
      const added = created ? columns : before ? columns.filter((column) => !before.includes(column.name)) : [];
      if (added.length > 0) summary.columnsAdded[name] = added;

      if (!table.PartitionKeys?.length) continue;
      let count = 0;
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await callAws('GetPartitions', () =>
          glue.send(
            new GetPartitionsCommand({
              DatabaseName: database,
              TableName: table.Name,
              NextToken: token,
              ExcludeColumnSchema: true,
            }),
            { abortSignal: context.cancellationSignal },
          ),
        );
        for (const partition of page.Partitions ?? []) {
          if ((partition.CreationTime?.getTime() ?? 0) >= start) count += 1;
        }
        token = page.NextToken;
        context.heartbeat({ table: name, pages: ++pages });
      } while (token);
      if (count > 0) summary.partitionsAdded[name] = count;
    }

    const { CrawlerMetricsList } = await callAws('GetCrawlerMetrics', () =>
      glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [crawler] }), {
        abortSignal: context.cancellationSignal,
      }),
    );
    summary.runtimeSeconds = CrawlerMetricsList?.[0]?.LastRuntimeSeconds;
    if (summary.runtimeSeconds !== undefined && !seenBefore(timed, crawler, since))
      metrics.crawlDuration.record(summary.runtimeSeconds, { crawler });
    logger.info({ crawler, since, ...summary }, 'crawl changes');
    return summary;
  }

  return { getCrawlerState, snapshotCatalog, startCrawler, stopCrawler, describeCrawlChanges };
}

export interface CatalogReadActivityDeps {
  /** A client with the analyst role's credentials (Glue get on the database). */
  glue: GlueClient;
}

/** Reads the catalog for the query workers: the columns a named query finds in its table. */
export function createCatalogReadActivities({ glue }: CatalogReadActivityDeps) {
  /**
   * A topic table's lake view (`<table>_lake`) as the catalog has it now, or undefined when there is none
   * (nothing provisioned or compacted yet, or a table of that name that is not a view).
   */
  async function lakeView(database: string, table: string): Promise<Table | undefined> {
    try {
      const { Table: view } = await glue.send(
        new GetTableCommand({ DatabaseName: database, Name: lakeViewName(table) }),
        { abortSignal: Context.current().cancellationSignal },
      );
      return view?.TableType === 'VIRTUAL_VIEW' ? view : undefined;
    } catch (error) {
      if (isAwsError(error, 'EntityNotFoundException')) return undefined;
      throw classifyAwsError('GetTable', error);
    }
  }

  /**
   * A named query's SQL for a table as the catalog has it now: each role's columns
   * found in the table's schema (or the ones the caller named), and the window's clock.
   */
  async function namedQueryFor(input: {
    database: string;
    name: NamedQueryName;
    options: NamedQueryOptions;
  }): Promise<NamedQuerySql> {
    const { database, name, options } = input;
    let table: Table | undefined;
    try {
      ({ Table: table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: options.table }), {
        abortSignal: Context.current().cancellationSignal,
      }));
    } catch (error) {
      if (isAwsError(error, 'EntityNotFoundException'))
        throw nonRetryable(
          ErrorType.NotFound,
          `table ${qualified(database, options.table)} does not exist yet: replay into its topic and crawl ` +
            `(npm run demo does both), or name another with --table`,
        );
      throw classifyAwsError('GetTable', error);
    }
    // A topic table is read through its lake view (`<table>_lake`, made by provision or the first compaction):
    // each tick once, closed hours from curated/ Parquet and the rest raw. Without a view, or with one that
    // lacks a column a crawl has since added (the next compaction or provision brings it up to date), the raw
    // table is read.
    const view = await lakeView(database, options.table);
    const viewColumns = new Set((view?.StorageDescriptor?.Columns ?? []).map((column) => column.Name?.toLowerCase()));
    const current =
      view !== undefined &&
      [...(table?.StorageDescriptor?.Columns ?? []), ...(table?.PartitionKeys ?? [])].every((column) =>
        viewColumns.has(column.Name?.toLowerCase()),
      );
    const from = current ? lakeViewName(options.table) : options.table;
    try {
      const columns = resolveColumns(options.table, columnsOf(table ?? { Name: options.table }), options);
      return {
        name,
        sql: namedQuerySql(name, { ...options, table: from }, columns),
        columns: describeColumns(columns),
        time: describeTime(columns, options),
        timeBasis: columns.eventTime ? 'event' : 'arrival',
      };
    } catch (error) {
      throw nonRetryable(ErrorType.InvalidInput, error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * The hours of a topic table that its lake view (`<table>_lake`) reads from compacted Parquet: the curated
   * table's published hours below the view's watermark, as `dt=…/hour=…`, oldest first. None without a view.
   */
  async function compactedHours(input: { database: string; table: string }): Promise<string[]> {
    const signal = Context.current().cancellationSignal;
    const view = await lakeView(input.database, input.table);
    if (!view) return [];
    const watermark = view.Parameters?.[LAKE_WATERMARK] ?? NO_WATERMARK;
    const hours: string[] = [];
    let token: string | undefined;
    do {
      const page = await callAws('GetPartitions', () =>
        glue.send(
          new GetPartitionsCommand({
            DatabaseName: input.database,
            TableName: curatedTableName(input.table),
            ExcludeColumnSchema: true,
            NextToken: token,
          }),
          { abortSignal: signal },
        ),
      );
      for (const partition of page.Partitions ?? []) {
        const [dt, hour] = partition.Values ?? [];
        if (partition.Parameters?.[COMPACTED_SOURCE] === undefined || `${dt}T${hour}` >= watermark) continue;
        hours.push(hourFolder({ dt: dt!, hour: hour! }));
      }
      token = page.NextToken;
    } while (token);
    return hours.sort();
  }

  return { namedQueryFor, compactedHours };
}
