import { defineQuery } from '@temporalio/workflow';

/** The crawl workflow's contract: one run of a Glue crawler, its result and its progress query. */

export interface CrawlInput {
  /** The Glue crawler to run. */
  crawler: string;
  /** First wait between polls of the crawler's state (CRAWL_DEFAULTS when absent); each wait doubles, up to pollMaxSeconds. */
  pollInitialSeconds?: number;
  /** Longest wait between polls. */
  pollMaxSeconds?: number;
}

/** The crawl's polling when its input leaves it out (`npm run crawl`, schedules); the demo polls faster. */
export const CRAWL_DEFAULTS: Readonly<Required<Pick<CrawlInput, 'pollInitialSeconds' | 'pollMaxSeconds'>>> =
  Object.freeze({ pollInitialSeconds: 2, pollMaxSeconds: 30 });

export type CrawlerStateName = 'READY' | 'RUNNING' | 'STOPPING';
export type CrawlStatus = 'SUCCEEDED' | 'CANCELLED' | 'FAILED';

/** A crawler's LastCrawl: the last crawl that finished. */
export interface LastCrawl {
  status: CrawlStatus;
  /** ISO-8601, the service's clock. */
  startTime: string;
  errorMessage?: string;
  /** Where AWS wrote the crawl's log (CloudWatch Logs). */
  logGroup?: string;
  logStream?: string;
}

export interface CrawlerState {
  crawler: string;
  state: CrawlerStateName;
  /** The databases the crawler writes to. */
  databases: string[];
  lastCrawl?: LastCrawl;
  /** Seconds the running crawl has taken so far. */
  elapsedSeconds?: number;
}

export interface StartCrawlerResult {
  crawler: string;
  /** `joined`: a crawl was already running, and this one waits for it instead. */
  outcome: 'started' | 'joined';
  /** When the crawl started (ISO-8601), when known. */
  startTime?: string;
  /** LastCrawl's StartTime before the start: the crawl is over once the crawler is READY with a later LastCrawl. */
  previousCrawlStartTime?: string;
}

/** A crawler's tables before a crawl: qualified name (`database.table`) → lowercase column names. */
export interface CatalogSnapshot {
  tables: Record<string, string[]>;
}

export interface CrawlColumn {
  name: string;
  type: string;
}

export interface CrawlChangesInput {
  crawler: string;
  databases: string[];
  /** The crawl's StartTime (ISO-8601): what was created or updated since then is the crawl's doing. */
  since: string;
  snapshot: CatalogSnapshot;
}

/** What a crawl changed. Tables are qualified: `database.table`. */
export interface CrawlChanges {
  tablesCreated: string[];
  tablesUpdated: string[];
  /** Partitions registered by the crawl, per table (tables without new partitions are left out). */
  partitionsAdded: Record<string, number>;
  /** Columns (partition keys included) not in the snapshot, per table; every column of a created table. */
  columnsAdded: Record<string, CrawlColumn[]>;
}

export interface CrawlSummary extends CrawlChanges {
  /** The last crawl's run time as GetCrawlerMetrics reports it. */
  runtimeSeconds?: number;
}

export interface CrawlResult extends CrawlChanges {
  crawler: string;
  outcome: 'started' | 'joined';
  status: 'SUCCEEDED';
  /** The crawl's StartTime (ISO-8601, the service's clock). */
  startTime: string;
  durationSeconds: number;
}

export type CrawlPhase = 'starting' | 'crawling' | 'summarizing' | 'succeeded' | 'failed' | 'cancelled';

export interface CrawlProgress {
  crawler: string;
  phase: CrawlPhase;
  /** The crawler's state at the last poll. */
  crawlerState?: CrawlerStateName;
  outcome?: 'started' | 'joined';
  /** When the crawl started (ISO-8601), once known. */
  startTime?: string;
  polls: number;
  /** The wait before the next poll. */
  nextPollSeconds?: number;
  lastCrawl?: LastCrawl;
  error?: string;
}

export const crawlProgressQuery = defineQuery<CrawlProgress>('crawlProgress');
