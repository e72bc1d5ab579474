import {
  CreateTableCommand,
  GetTableCommand,
  UpdateTableCommand,
  type Column,
  type GlueClient,
  type Table,
  type TableInput,
} from '@aws-sdk/client-glue';
import type { Config } from './config';
import { isAwsError } from './errors';
import { prestoViewInput } from './glue-view';
import { curatedTableName, LAKE_WATERMARK, lakeViewName, lakeViewSql, NO_WATERMARK } from './ticks-table';

/**
 * Compaction's catalog beside a raw topic table, as one library function that `npm run provision` (up front,
 * so the named queries read `<table>_lake` from the start) and the compact activities (for a lake provisioned
 * before provision made it) share: the curated Parquet table and the lake view. Errors are the SDK's, as thrown.
 */

/** The storage of a Parquet table or partition as Glue and Athena describe it. */
export const PARQUET_STORAGE = {
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: {
    SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    Parameters: { 'serialization.format': '1' },
  },
};

/** `<raw>_curated`: the raw table's columns and partition keys, Parquet under curated/<raw>/, no partition yet. */
export function curatedTableInput(config: Pick<Config, 's3'>, raw: Table): TableInput {
  return {
    Name: curatedTableName(raw.Name!),
    Description: `TickSync: the compacted hours of ${raw.Name} (Parquet, one partition per published hour)`,
    TableType: 'EXTERNAL_TABLE',
    PartitionKeys: raw.PartitionKeys,
    StorageDescriptor: {
      ...PARQUET_STORAGE,
      Columns: raw.StorageDescriptor?.Columns ?? [],
      Location: `s3://${config.s3.bucket}/${config.s3.curatedPrefix}${raw.Name}/`,
      Compressed: true,
    },
    Parameters: { classification: 'parquet', compressionType: 'zstd', 'ticksync.curated.of': raw.Name! },
  };
}

/** `<raw>_lake`: curated hours below the watermark, raw hours from it on; the raw table's columns, then its keys. */
export function lakeViewInput(database: string, raw: Table, watermark: string): TableInput {
  const columns = raw.StorageDescriptor?.Columns ?? [];
  return prestoViewInput(
    lakeViewName(raw.Name!),
    database,
    lakeViewSql(raw.Name!, columns, watermark),
    [...columns, ...(raw.PartitionKeys ?? [])],
    { [LAKE_WATERMARK]: watermark },
  );
}

export const sameColumns = (a: Column[] | undefined, b: Column[] | undefined) =>
  JSON.stringify((a ?? []).map((c) => [c.Name, c.Type])) === JSON.stringify((b ?? []).map((c) => [c.Name, c.Type]));

export type LakeTableAction = 'created' | 'unchanged' | 'updated';

export interface LakeTables {
  curated: LakeTableAction;
  view: LakeTableAction;
  /** The view's watermark (`YYYY-MM-DDTHH`, the first hour read raw); NO_WATERMARK for a new view. */
  watermark: string;
}

async function findTable(glue: GlueClient, database: string, name: string): Promise<Table | undefined> {
  try {
    return (await glue.send(new GetTableCommand({ DatabaseName: database, Name: name }))).Table;
  } catch (error) {
    if (isAwsError(error, 'EntityNotFoundException')) return undefined;
    throw error;
  }
}

async function putTable(glue: GlueClient, database: string, input: TableInput, exists: boolean): Promise<void> {
  if (exists) {
    await glue.send(new UpdateTableCommand({ DatabaseName: database, TableInput: input }));
    return;
  }
  try {
    await glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: input }));
  } catch (error) {
    // Another caller (a compaction, a provision) made it meanwhile: it is made the same way.
    if (!isAwsError(error, 'AlreadyExistsException')) throw error;
  }
}

/**
 * The curated table and the lake view beside the raw table `raw`, made if missing and given the raw table's
 * columns when they changed (a crawl added one); the view keeps its watermark, so a rerun changes nothing.
 */
export async function ensureLakeTables(
  glue: GlueClient,
  config: Pick<Config, 's3'>,
  database: string,
  raw: Table,
): Promise<LakeTables> {
  const columns = raw.StorageDescriptor?.Columns ?? [];
  const curatedName = curatedTableName(raw.Name!);
  const curated = await findTable(glue, database, curatedName);
  let curatedAction: LakeTableAction = 'unchanged';
  if (!curated || !sameColumns(curated.StorageDescriptor?.Columns, columns)) {
    await putTable(glue, database, curatedTableInput(config, raw), curated !== undefined);
    curatedAction = curated ? 'updated' : 'created';
  }
  const view = await findTable(glue, database, lakeViewName(raw.Name!));
  const watermark = view?.Parameters?.[LAKE_WATERMARK] ?? NO_WATERMARK;
  let viewAction: LakeTableAction = 'unchanged';
  if (!view || !sameColumns(view.StorageDescriptor?.Columns, [...columns, ...(raw.PartitionKeys ?? [])])) {
    await putTable(glue, database, lakeViewInput(database, raw, watermark), view !== undefined);
    viewAction = view ? 'updated' : 'created';
  }
  return { curated: curatedAction, view: viewAction, watermark };
}
