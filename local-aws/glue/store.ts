import type { Crawler, Database, Partition, Table } from '@aws-sdk/client-glue';
import { JsonFileStore } from '../store';

export interface TableRecord {
  table: Table;
  /** Keyed by `partitionKey(values)`. */
  partitions: Record<string, Partition>;
  /** The table's earlier versions, oldest first (GetTableVersions); absent in stores written before versions were kept. */
  versions?: Table[];
}

export interface DatabaseRecord {
  database: Database;
  tables: Record<string, TableRecord>;
}

export interface CrawlerRecord {
  crawler: Crawler;
  /** Durations of finished crawls, for GetCrawlerMetrics. */
  runtimesSeconds: number[];
  lastTables: { created: number; updated: number; deleted: number };
  /** Leaf folders earlier crawls read, for RecrawlPolicy CRAWL_NEW_FOLDERS_ONLY. */
  crawledFolders: string[];
}

/** The catalog's state: databases, their tables and partitions, and crawlers. */
export interface GlueState {
  databases: Record<string, DatabaseRecord>;
  crawlers: Record<string, CrawlerRecord>;
}

export const partitionKey = (values: readonly string[]) => JSON.stringify(values);

/** The Glue service's state file. */
export class GlueStore extends JsonFileStore<GlueState> {
  constructor(file: string) {
    super(file, () => ({ databases: {}, crawlers: {} }));
  }
}
