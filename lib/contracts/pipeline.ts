import { defineQuery } from '@temporalio/workflow';
import type { NamedQueryOptions } from '../queries';
import { BUFFERED_FLUSHES, MIB, type ConsumerInput } from './consumer';
import type { CrawlInput, CrawlResult } from './crawl';
import { QUERY_DEFAULTS, type QueryInput, type QueryResult } from './query';
import type { ReplayInput, ReplayResult } from './replay';

/** The pipeline workflow's contract: replay, consume, crawl and query as one run, and its report. */

/** A partition and the offset the consumer must have written everything below. */
export interface FlushTarget {
  partition: number;
  endOffset: number;
}

export interface PipelineInput {
  replay: ReplayInput;
  /** The consumer to start, or to join when it already runs (same workflow id, as `npm run consume` names it). */
  consumer: ConsumerInput;
  consumerWorkflowId: string;
  crawl: CrawlInput;
  /** The named queries' options (the table is the crawled topic's), and where they run. */
  query: NamedQueryOptions & {
    database: string;
    workGroup: string;
    /** Where results go unless the work group enforces its own. */
    outputLocation: string;
  };
  taskQueues: { ingest: string; catalog: string; query: string };
  /** `<Web UI>/namespaces/<namespace>/workflows/`, to link each stage's workflow in the report. */
  workflowsUrl: string;
}

/**
 * What the pipeline (`npm run demo`) changes in each stage's defaults: a small file end to end in seconds, so fewer
 * partitions, quicker flushes and polls, and a one-hour window of five rows for the named queries.
 */
export const PIPELINE_DEFAULTS = Object.freeze({
  replay: Object.freeze({ partitions: 3, chunkSeconds: 10 }),
  consumer: Object.freeze({
    flush: Object.freeze({ maxRecords: 50_000, maxBytes: 16 * MIB, maxAgeMs: 2_000 }),
    maxBufferedBytes: BUFFERED_FLUSHES * 16 * MIB,
  }) satisfies Partial<ConsumerInput>,
  crawl: Object.freeze({ pollInitialSeconds: 1, pollMaxSeconds: 5 }) satisfies Partial<CrawlInput>,
  /** Each named query's run (the workflow adds database, work group and output location). */
  query: Object.freeze({
    maxRows: QUERY_DEFAULTS.maxRows,
    pollInitialMs: QUERY_DEFAULTS.pollInitialMs,
    pollMaxMs: 2_000,
  }) satisfies Partial<QueryInput>,
  namedQueries: Object.freeze({ minutes: 60, limit: 5 }),
});

export interface PipelineStage {
  stage: string;
  workflowId: string;
  url: string;
  durationMs: number;
}

export interface PipelineQuery {
  name: string;
  sql: string;
  result: QueryResult;
}

export interface PipelineReport {
  runId: string;
  topic: string;
  replay: ReplayResult;
  consumer: {
    workflowId: string;
    /** The consumer was already running and the pipeline joined it. */
    joined: boolean;
    /** Written by the consumer while the pipeline waited (this run's rows and any others arriving meanwhile). */
    flushed: number;
    deadLettered: number;
    objects: number;
  };
  crawl: CrawlResult;
  /** The topic's table after the crawl, and its partitions (one per hour of data). */
  catalog: {
    table: string;
    partitions: number;
    /** Hours read as compacted Parquet (`dt=…/hour=…`); the others are read raw. */
    compacted: string[];
  };
  /** Rows of this run in the lake, counted by Athena: equal to `replay.sent` when nothing was lost or doubled. */
  lakeRows: number;
  queries: PipelineQuery[];
  stages: PipelineStage[];
  totalMs: number;
}

export type PipelinePhase = 'starting' | 'consumer' | 'replaying' | 'flushing' | 'crawling' | 'querying' | 'done';

export interface PipelineProgress {
  phase: PipelinePhase;
  stages: PipelineStage[];
}

export const pipelineProgressQuery = defineQuery<PipelineProgress>('pipelineProgress');
