import type { Partition, Table } from '@aws-sdk/client-glue';
import type { Logger } from 'pino';

/** One object as a listing returns it. */
export interface StoredObject {
  key: string;
  size: number;
  etag: string;
}

/** S3 access with the caller's credentials (the service supplies an S3 implementation; tests can use the real local S3 server or a folder-backed fake). */
export interface ObjectSource {
  /** Every object under the prefix, at any depth. */
  list(bucket: string, prefix: string, signal: AbortSignal): Promise<StoredObject[]>;
  /** Checks that the caller may read the object (S3's HEAD): throws as a download would when it may not. */
  head(bucket: string, key: string, signal: AbortSignal): Promise<void>;
  /** Downloads the object to `file` (the engine chooses the path in its cache). */
  download(bucket: string, key: string, file: string, signal: AbortSignal): Promise<void>;
}

export type TableLookup = { table: Table; partitions: Partition[] } | { missing: 'database' | 'table' };

export interface TableCatalog {
  /** The Glue table and its partitions, or which of database and table does not exist. */
  getTable(database: string, table: string): TableLookup;
  /** The databases, for SHOW DATABASES / SHOW SCHEMAS (without it those statements are refused). */
  listDatabases?(): string[];
  /** The tables of a database (undefined when it does not exist), for SHOW TABLES. */
  listTables?(database: string): string[] | undefined;
}

export interface QueryRequest {
  sql: string;
  /** QueryExecutionContext.Database, default 'default'. */
  database: string;
  catalog: TableCatalog;
  objects: ObjectSource;
  signal: AbortSignal;
  timeoutMs: number;
  /** Who runs the query, for its fair share of the engine's slots. */
  caller?: string;
  /** The caller's principal (an IAM ARN), what Athena's invoker_principal() returns. */
  invoker?: string;
  /**
   * Takes a query's rows as they are rendered, a chunk at a time (the outcome's `rows` then stay
   * empty); without it, the outcome holds them all. SHOW and DESCRIBE answer in `rows` either way.
   */
  onRows?: (columns: ResultColumn[], rows: (string | null)[][]) => Promise<void>;
  /** Called when the query leaves the queue and starts running. */
  onStart?: () => void;
}

export type StatementType = 'DML' | 'DDL' | 'UTILITY';

export interface ResultColumn {
  name: string;
  /** Athena type: varchar, bigint, integer, double, boolean, timestamp, date, decimal, array, row, map ... */
  type: string;
  precision: number;
  scale: number;
  nullable: 'NULLABLE' | 'UNKNOWN';
}

export interface QueryOutcome {
  statementType: StatementType;
  columns: ResultColumn[];
  /** Values rendered as Athena renders them in its CSV and GetQueryResults; null is SQL NULL. */
  rows: (string | null)[][];
  /** Rows of the result, whether in `rows` or given to the request's `onRows`. */
  rowCount: number;
  /** Bytes of the objects the query read (after partition pruning). */
  dataScannedBytes: number;
  /** Parsing, catalog lookups, partition pruning and listing. */
  planningMs: number;
  /** The whole execution, planning included (as Athena's EngineExecutionTimeInMillis). */
  engineMs: number;
}

export interface QueryEngineOptions {
  cacheDir: string;
  /** The object cache's size bound in bytes, 4 GiB by default (older and least recently used files go first). */
  cacheMaxBytes?: number;
  /** DuckDB's memory_limit, e.g. '1GB'. */
  memoryLimit: string;
  threads: number;
  logger?: Logger;
  /** Queries run at once (one caller at most all but one of them); the rest wait. Default 2. */
  maxConcurrentQueries?: number;
}
