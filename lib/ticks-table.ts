import type { Column, TableInput } from '@aws-sdk/client-glue';
import type { Config } from './config';

/**
 * The ticks table, defined once for `npm run provision -- --projection` and the
 * CloudFormation template (deploy/build-template.ts): the raw topic's gzip JSON
 * Lines, partitioned by `dt` (YYYY-MM-DD) and `hour` (HH) in UTC, read with the
 * OpenX JSON SerDe as the crawler defines it. With partition projection, Athena
 * computes the partitions from the table's properties (`dt` a date from
 * `projectionStart` up to NOW, `hour` a two-digit integer 0–23, located by
 * `storage.location.template`), so an hour is queryable as soon as its first
 * object lands, with no crawl and no partition in Glue.
 */

/** The columns of the ticks `npm run generate` writes and the replay sends, with the envelope. */
export const TICKS_COLUMNS: Column[] = [
  { Name: 'timestamp', Type: 'string' },
  { Name: 'symbol', Type: 'string' },
  { Name: 'price', Type: 'double' },
  { Name: 'size', Type: 'bigint' },
  { Name: 'side', Type: 'string' },
  { Name: 'ts', Type: 'string' },
  { Name: 'run_id', Type: 'string' },
  { Name: 'seq', Type: 'bigint' },
];

/** The first day the projection covers when none is given. */
export const DEFAULT_PROJECTION_START = '2024-01-01';

/** The table properties that turn partition projection on for the raw topic's `dt=/hour=` layout. */
export function projectionParameters(location: string, start = DEFAULT_PROJECTION_START): Record<string, string> {
  const base = location.endsWith('/') ? location : `${location}/`;
  return {
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': `${start},NOW`,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'projection.hour.type': 'integer',
    'projection.hour.range': '0,23',
    'projection.hour.digits': '2',
    'storage.location.template': `${base}dt=\${dt}/hour=\${hour}/`,
  };
}

/** Whether a table's properties turn partition projection on, as Athena reads `projection.enabled`. */
export const hasProjection = (parameters: Record<string, string> | undefined) =>
  (parameters?.['projection.enabled'] ?? '').trim().toLowerCase() === 'true';

export interface TicksTableOptions {
  /** The table's name; by default the topic's, as the crawler names it. */
  name?: string;
  /** s3://bucket/raw/<topic>/ by default. */
  location?: string;
  columns?: Column[];
  projection?: boolean;
  projectionStart?: string;
}

/** The raw topic's folder, as the crawler targets it. */
export const ticksLocation = (config: Config) =>
  `s3://${config.s3.bucket}/${config.s3.rawPrefix}${config.kafka.topic}/`;

/** The Glue table of the raw topic, as the crawler would make it, with projection if asked. */
export function ticksTableInput(config: Config, options: TicksTableOptions = {}): TableInput {
  const location = options.location ?? ticksLocation(config);
  const columns = options.columns ?? TICKS_COLUMNS;
  return {
    Name: options.name ?? config.kafka.topic.toLowerCase().replace(/[^a-z0-9_]/g, '_'),
    Description: `TickSync: ${config.kafka.topic} records (gzip JSON Lines, dt/hour partitions)`,
    TableType: 'EXTERNAL_TABLE',
    PartitionKeys: [
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ],
    StorageDescriptor: {
      Columns: columns,
      Location: location,
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      Compressed: true,
      SerdeInfo: {
        SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        Parameters: {
          paths: columns
            .map((column) => column.Name!)
            .sort()
            .join(','),
        },
      },
    },
    Parameters: {
      classification: 'json',
      compressionType: 'gzip',
      typeOfData: 'file',
      ...(options.projection ? projectionParameters(location, options.projectionStart) : {}),
    },
  };
}

/**
 * Compaction's tables beside a raw topic table `<raw>`: `<raw>_curated`, the compacted hours as Parquet (a
 * Glue partition per published hour, never projected), and the view `<raw>_lake` that reads every tick once:
 * curated hours below a watermark hour, raw hours at or after it.
 */
export const curatedTableName = (raw: string) => `${raw}_curated`;
export const lakeViewName = (raw: string) => `${raw}_lake`;
/** The view's parameter holding its watermark, `YYYY-MM-DDTHH` (the first hour read raw). */
export const LAKE_WATERMARK = 'ticksync.lake.watermark';
/** The watermark of a lake with no compacted hour: every hour reads raw. */
export const NO_WATERMARK = '0000-01-01T00';

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The lake view's query: the curated table below the watermark, the raw table from it on, the same columns. */
export function lakeViewSql(raw: string, columns: Column[], watermark: string): string {
  const [dt, hour] = watermark.split('T') as [string, string];
  const list = [...columns.map((column) => quoted(column.Name!.toLowerCase())), 'dt', 'hour'].join(', ');
  return (
    `SELECT ${list} FROM ${quoted(curatedTableName(raw))} WHERE dt < '${dt}' OR (dt = '${dt}' AND hour < '${hour}')\n` +
    `UNION ALL\nSELECT ${list} FROM ${quoted(raw)} WHERE dt > '${dt}' OR (dt = '${dt}' AND hour >= '${hour}')`
  );
}
