import fs from 'node:fs';
import path from 'node:path';
import type { Crawler, Database, Partition, Table } from '@aws-sdk/client-glue';

/**
 * The catalog's state: databases, their tables and partitions, and crawlers,
 * kept in memory and written to one JSON file after every change (write to a
 * temporary file, then rename, so a crash leaves the previous state whole).
 */

export interface TableRecord {
  table: Table;
  /** Keyed by `partitionKey(values)`. */
  partitions: Record<string, Partition>;
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

export interface GlueState {
  databases: Record<string, DatabaseRecord>;
  crawlers: Record<string, CrawlerRecord>;
}

export const partitionKey = (values: readonly string[]) => JSON.stringify(values);

const DATE_TAG = '$date';

export class GlueStore {
  readonly state: GlueState;

  constructor(private readonly file: string) {
    this.state = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8'), (_key, value: unknown) =>
          value !== null && typeof value === 'object' && DATE_TAG in value
            ? new Date((value as Record<string, number>)[DATE_TAG]!)
            : value,
        ) as GlueState)
      : { databases: {}, crawlers: {} };
  }

  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(
      temporary,
      JSON.stringify(this.state, function (this: Record<string, unknown>, key, value: unknown) {
        const raw = this[key];
        return raw instanceof Date ? { [DATE_TAG]: raw.getTime() } : value;
      }),
    );
    fs.renameSync(temporary, this.file);
  }
}
