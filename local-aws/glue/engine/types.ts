import type { Column, StorageDescriptor } from '@aws-sdk/client-glue';

export interface StoredObject {
  key: string;
  size: number;
}

/** How the engine reads S3: the service gives it one bound to the crawler role's keys. */
export interface ObjectReader {
  /** Every object under the prefix (all pages). */
  list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<StoredObject>;
  /** Bytes [start, end] inclusive, or the whole object without a range. */
  read(bucket: string, key: string, signal: AbortSignal, range?: { start: number; end: number }): Promise<Buffer>;
}

export interface CrawlTarget {
  /** s3://bucket/prefix/ */
  path: string;
  /** Globs relative to the include path (`**.csv`, `dlq/**`). */
  exclusions: string[];
  /** Files read per leaf folder; the others are counted, not read. */
  sampleSize?: number;
}

export interface CrawlRequest {
  targets: CrawlTarget[];
  tablePrefix: string;
  grouping: { combineCompatibleSchemas: boolean; tableLevel?: number };
  /** Leaf folders (s3://…/) earlier crawls read; CRAWL_NEW_FOLDERS_ONLY passes them so they are not read again. */
  skipFolders?: ReadonlySet<string>;
  signal: AbortSignal;
  log: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export interface CrawledPartition {
  values: string[];
  storageDescriptor: StorageDescriptor;
  parameters: Record<string, string>;
}

export interface CrawledTable {
  name: string;
  /** s3://bucket/path/ of the table root. */
  location: string;
  columns: Column[];
  partitionKeys: Column[];
  storageDescriptor: StorageDescriptor;
  parameters: Record<string, string>;
  partitions: CrawledPartition[];
}

export interface CrawlResult {
  tables: CrawledTable[];
  crawledFolders: string[];
  skipped: { key: string; reason: string }[];
}
