import type { Column, StorageDescriptor } from '@aws-sdk/client-glue';

/** One object of a listing. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** How the engine reaches S3: `s3ObjectReader` in the service, an in-memory store in tests. */
export interface ObjectReader {
  /** Every object under the prefix (all pages). */
  list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<StoredObject>;
  /** Bytes [start, end] inclusive, or the whole object without a range. */
  read(bucket: string, key: string, signal: AbortSignal, range?: { start: number; end: number }): Promise<Buffer>;
}

/** One `S3Target` of a crawler. */
export interface CrawlTarget {
  /** s3://bucket/prefix/ or s3://bucket/prefix */
  path: string;
  /** Glob patterns relative to the include path (`S3Target.Exclusions`). */
  exclusions: string[];
  /** `S3Target.SampleSize`: files read per leaf folder; the others are counted but not read. */
  sampleSize?: number;
}

export type CrawlLog = (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;

export interface CrawlRequest {
  targets: CrawlTarget[];
  /** Crawler.TablePrefix, '' if none. */
  tablePrefix: string;
  /** From the crawler's Configuration JSON, `Grouping`. */
  grouping: { combineCompatibleSchemas: boolean; tableLevel?: number };
  /** s3:// folder URLs a previous crawl already read; CRAWL_NEW_FOLDERS_ONLY passes them so they are not read again. */
  skipFolders?: ReadonlySet<string>;
  /** StopCrawler aborts the crawl. */
  signal: AbortSignal;
  log: CrawlLog;
}

export interface CrawledPartition {
  values: string[];
  storageDescriptor: StorageDescriptor;
  parameters: Record<string, string>;
}

export interface CrawledTable {
  /** TablePrefix + sanitized lowercase folder name. */
  name: string;
  /** s3://bucket/path/ of the table root (or the object itself for a single-file table). */
  location: string;
  /** Data columns, Glue types. */
  columns: Column[];
  /** e.g. dt, hour (type string) or partition_0... */
  partitionKeys: Column[];
  storageDescriptor: StorageDescriptor;
  parameters: Record<string, string>;
  partitions: CrawledPartition[];
}

export interface CrawlResult {
  tables: CrawledTable[];
  /** Every leaf folder whose objects this crawl read, as s3:// URLs ending in '/'. */
  crawledFolders: string[];
  /** Objects that could not be classified, with the reason; `key` is the object's s3:// URL. */
  skipped: { key: string; reason: string }[];
}
