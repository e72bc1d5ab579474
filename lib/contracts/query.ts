import { defineQuery } from '@temporalio/workflow';
import type { NamedQueryName, NamedQueryOptions, TimeBasis } from '../queries';

/** The query workflow's contract: one Athena query, its result and its progress query. */

/** A named query as the query workers built it for its table. */
export interface NamedQuerySql {
  name: NamedQueryName;
  sql: string;
  /** The columns each role read, e.g. `symbol=index, price=close, size=volume`. */
  columns: string;
  /** The window in words: its length, its clock and the column it read. */
  time: string;
  /** The clock the window followed (event falls back to arrival when the table has no event-time column). */
  timeBasis: TimeBasis;
}

export interface QueryInput {
  /** The SQL to run; or `named`, built by the workflow from the table's schema. */
  sql?: string;
  named?: { name: NamedQueryName; options: NamedQueryOptions };
  /** QueryExecutionContext.Database: the Glue database unqualified table names resolve in. */
  database: string;
  workGroup: string;
  /** Where Athena writes the result files; the work group's setting when absent (or when it is enforced). */
  outputLocation?: string;
  /** Rows returned in the result at most; a longer result is read from its CSV at `outputLocation`. */
  maxRows: number;
  /** First wait between polls of GetQueryExecution, growing to pollMaxMs (Athena throttles polling). */
  pollInitialMs: number;
  pollMaxMs: number;
}

/** `npm run query`'s defaults (its --help shows maxRows). */
export const QUERY_DEFAULTS: Readonly<Pick<QueryInput, 'maxRows' | 'pollInitialMs' | 'pollMaxMs'>> = Object.freeze({
  maxRows: 1000,
  pollInitialMs: 200,
  pollMaxMs: 5000,
});

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** Athena's AthenaError, for a FAILED query. */
export interface QueryError {
  category?: number;
  type?: number;
  retryable?: boolean;
  message?: string;
}

export interface QueryStatistics {
  engineMs?: number;
  queueMs?: number;
  planningMs?: number;
  totalMs?: number;
  dataScannedBytes?: number;
}

/** GetQueryExecution, as the workflow needs it. */
export interface QueryStatus {
  queryExecutionId: string;
  state: QueryState;
  stateChangeReason?: string;
  error?: QueryError;
  statementType?: string;
  /** The result CSV in S3. */
  outputLocation?: string;
  statistics: QueryStatistics;
}

export interface QueryColumn {
  name: string;
  /** Athena's type name: varchar, bigint, double, timestamp ... */
  type: string;
}

export interface QueryRows {
  columns: QueryColumn[];
  /** Data rows, without the header; null is SQL NULL. */
  rows: (string | null)[][];
  /** More rows than maxRows: the rest are in the CSV at the output location. */
  truncated: boolean;
}

export interface QueryResult extends QueryRows {
  queryExecutionId: string;
  /** The named query that ran, when it was one. */
  named?: NamedQuerySql;
  outputLocation: string;
  statementType?: string;
  statistics: QueryStatistics;
}

export type QueryPhase = 'starting' | QueryState | 'fetching';

export interface QueryProgress {
  phase: QueryPhase;
  queryExecutionId?: string;
  polls: number;
  statistics?: QueryStatistics;
  error?: string;
}

export const queryProgressQuery = defineQuery<QueryProgress>('queryProgress');
