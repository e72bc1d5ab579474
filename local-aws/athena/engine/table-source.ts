import type { StorageDescriptor, Table } from '@aws-sdk/client-glue';
import { dictionary } from '../../dictionary';
import { notSupported, unsupportedObject } from './errors';
import { duckDbType, GlueTypeError, quoteIdentifier, quoteString } from './glue-types';
import { type LakeObject, s3Uri } from './object-cache';
import { type PartitionKey, partitionValueSql } from './pruning';

/**
 * The SQL DuckDB reads a Glue table with, over the cached files of the
 * partitions a query needs: the SerDe decides the reader (read_json for the
 * JSON SerDes, read_csv for LazySimpleSerDe and OpenCSVSerde, read_parquet),
 * columns come typed from the catalog, partition columns from the partitions'
 * values (never from the files), as Athena reads Hive tables.
 */

export type TableFormat = 'json' | 'csv' | 'parquet';

export interface CsvOptions {
  delimiter: string;
  quote: string;
  escape: string;
  skipHeaderLines: number;
  nullString: string;
}

export interface Column {
  name: string;
  /** DuckDB type. */
  type: string;
}

export interface TableLayout {
  format: TableFormat;
  columns: Column[];
  partitionKeys: PartitionKey[];
  /** OpenX SerDe's ignore.malformed.json: a malformed line becomes a row of NULLs instead of failing the query. */
  ignoreMalformedJson: boolean;
  /** OpenX SerDe's mapping.<column> = <JSON key>. */
  jsonKeys: Record<string, string>;
  csv: CsvOptions;
}

/** What the engine learned about a cached file: its top-level JSON keys or Parquet columns. */
export interface FileProfile {
  keys: string[];
}

export interface ScanFile {
  file: string;
  object: LakeObject;
  /** How the file is read: its partition's format, which may differ from the table's (as Hive reads partitions). */
  format: TableFormat;
  profile?: FileProfile;
}

export interface PartitionScan {
  /** Partition values in key order (empty for an unpartitioned table). */
  values: string[];
  files: ScanFile[];
}

const JSON_SERDES = new Set([
  'org.openx.data.jsonserde.jsonserde',
  'org.apache.hive.hcatalog.data.jsonserde',
  'org.apache.hadoop.hive.serde2.jsonserde',
]);
const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.lazysimpleserde';
const OPEN_CSV_SERDE = 'org.apache.hadoop.hive.serde2.opencsvserde';
const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.parquethiveserde';

function formatOf(table: Table, storage: StorageDescriptor | undefined): { format: TableFormat; openCsv: boolean } {
  const library = storage?.SerdeInfo?.SerializationLibrary?.toLowerCase() ?? '';
  const classification = table.Parameters?.classification?.toLowerCase() ?? '';
  if (JSON_SERDES.has(library)) return { format: 'json', openCsv: false };
  if (library === OPEN_CSV_SERDE) return { format: 'csv', openCsv: true };
  if (library === LAZY_SIMPLE_SERDE) return { format: 'csv', openCsv: false };
  if (library === PARQUET_SERDE || storage?.InputFormat?.toLowerCase().includes('parquet')) {
    return { format: 'parquet', openCsv: false };
  }
  if (classification === 'json' || classification === 'csv' || classification === 'parquet') {
    return { format: classification, openCsv: false };
  }
  throw notSupported(
    `Table '${table.DatabaseName}.${table.Name}' uses SerDe '${library || 'none'}', which the local Athena engine cannot read (JSON, CSV and Parquet tables only)`,
  );
}

/** Hive writes control characters in SerDe parameters as octal escapes or as their code ("1" is \u0001). */
function delimiterOf(value: string | undefined, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  if (/^\d+$/.test(value) && value.length > 1) return String.fromCharCode(Number(value));
  if (/^\\\d{3}$/.test(value)) return String.fromCharCode(parseInt(value.slice(1), 8));
  if (value === '\\t') return '\t';
  return value;
}

function csvOptions(table: Table, storage: StorageDescriptor | undefined, openCsv: boolean): CsvOptions {
  const serde = storage?.SerdeInfo?.Parameters ?? {};
  const parameters = table.Parameters ?? {};
  const skipHeaderLines = Number(parameters['skip.header.line.count'] ?? serde['skip.header.line.count'] ?? 0);
  if (openCsv) {
    return {
      delimiter: delimiterOf(serde.separatorChar, ','),
      quote: serde.quoteChar ?? '"',
      escape: serde.escapeChar ?? '\\',
      skipHeaderLines,
      nullString: '',
    };
  }
  // LazySimpleSerDe: no quoting; fields split on field.delim (default \u0001); \N is NULL.
  return {
    delimiter: delimiterOf(serde['field.delim'] ?? serde['serialization.format'] ?? parameters.delimiter, '\u0001'),
    quote: '',
    escape: serde['escape.delim'] ?? '',
    skipHeaderLines: Number.isFinite(skipHeaderLines) ? skipHeaderLines : 0,
    nullString: serde['serialization.null.format'] ?? '\\N',
  };
}

function typedColumns(table: Table, columns: { Name?: string; Type?: string }[]): Column[] {
  return columns.map((column) => {
    try {
      return { name: (column.Name ?? '').toLowerCase(), type: duckDbType(column.Type ?? 'string') };
    } catch (error) {
      if (error instanceof GlueTypeError) {
        throw notSupported(`Column '${column.Name}' of table '${table.DatabaseName}.${table.Name}': ${error.message}`);
      }
      throw error;
    }
  });
}

/**
 * The format a partition's files are read in: its own storage descriptor's SerDe when it has one, as Hive and
 * Athena read each partition with the SerDe it names (a compacted hour's Parquet in a JSON table), else the table's.
 */
export function partitionFormat(table: Table, storage: StorageDescriptor | undefined): TableFormat {
  if (!storage?.SerdeInfo?.SerializationLibrary && !storage?.InputFormat)
    return formatOf(table, table.StorageDescriptor).format;
  return formatOf(table, storage).format;
}

export function tableLayout(table: Table): TableLayout {
  const storage = table.StorageDescriptor;
  const { format, openCsv } = formatOf(table, storage);
  const serde = storage?.SerdeInfo?.Parameters ?? {};
  const jsonKeys = dictionary<string>();
  for (const [name, value] of Object.entries(serde)) {
    if (name.startsWith('mapping.')) jsonKeys[name.slice('mapping.'.length).toLowerCase()] = value;
  }
  return {
    format,
    columns: typedColumns(table, storage?.Columns ?? []),
    partitionKeys: typedColumns(table, table.PartitionKeys ?? []),
    ignoreMalformedJson: serde['ignore.malformed.json']?.toLowerCase() === 'true',
    jsonKeys,
    csv: csvOptions(table, storage, openCsv),
  };
}

/** Hadoop picks the codec by file extension; so does this. */
export function compressionOf(object: LakeObject): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(object.key)?.[1]?.toLowerCase() ?? '';
  if (extension === 'gz' || extension === 'gzip') return 'gzip';
  if (extension === 'zst' || extension === 'zstd') return 'zstd';
  if (['bz2', 'snappy', 'lz4', 'deflate', 'lzo', 'br'].includes(extension)) {
    throw unsupportedObject(
      `Compression codec '.${extension}' is not supported by the local Athena engine`,
      s3Uri(object),
    );
  }
  return 'uncompressed';
}

/** The key a column is read from in this file: its mapping, else its name matched case-insensitively (as OpenX does). */
function jsonKeyFor(column: string, layout: TableLayout, profile: FileProfile | undefined): string {
  const mapped = layout.jsonKeys[column];
  if (mapped !== undefined) return mapped;
  const keys = profile?.keys ?? [];
  if (keys.includes(column)) return column;
  return keys.find((key) => key.toLowerCase() === column) ?? column;
}

/** The column readers add with each row's file, to join partition values on. */
const FILE_COLUMN = '__athena_file';

const fileList = (files: ScanFile[]) => `[${[...new Set(files.map((file) => file.file))].map(quoteString).join(', ')}]`;

const structLiteral = (entries: [string, string][]) =>
  `{${entries.map(([name, value]) => `${quoteString(name)}: ${quoteString(value)}`).join(', ')}}`;

interface FileGroup {
  format: TableFormat;
  files: ScanFile[];
  compression: string;
  /** For JSON: the key each column is read from in these files. */
  keys: string[];
  /** For JSON: some file spells one column's key in several ways, so rows must be matched one by one. */
  mixedCase: boolean;
}

/** The reader's own options, plus the file name column when partition values are joined on it. */
const readerOptions = (options: string[], withFile: boolean) =>
  withFile ? [...options, `filename = ${quoteString(FILE_COLUMN)}`] : options;

function projectionWithFile(projection: string[], withFile: boolean): string {
  return (withFile ? [...projection, quoteIdentifier(FILE_COLUMN)] : projection).join(', ');
}

function jsonScan(layout: TableLayout, group: FileGroup, withFile: boolean): string {
  const spec = new Map<string, string>();
  layout.columns.forEach((column, index) => spec.set(group.keys[index]!, column.type));
  const projection = layout.columns.map(
    (column, index) => `${quoteIdentifier(group.keys[index]!)} AS ${quoteIdentifier(column.name)}`,
  );
  const options = [
    `columns = ${structLiteral([...spec])}`,
    "format = 'newline_delimited'",
    'records = true',
    `compression = '${group.compression}'`,
    `ignore_errors = ${layout.ignoreMalformedJson}`,
  ];
  return `SELECT ${projectionWithFile(projection, withFile)} FROM read_json(${fileList(group.files)}, ${readerOptions(options, withFile).join(', ')})`;
}

/**
 * JSON whose files spell a key in several cases (`seq` on one line, `SEQ` on another): each row's
 * keys are matched to the columns case-insensitively, the last match winning, as the OpenX SerDe
 * lowercases keys. Slower than read_json with columns, so only for such files.
 */
function jsonObjectsScan(layout: TableLayout, group: FileGroup, withFile: boolean): string {
  const projection = layout.columns.map((column) => {
    const key = quoteString((layout.jsonKeys[column.name] ?? column.name).toLowerCase());
    const pointer = `athena_json_pointer(json, ${key})`;
    const value =
      column.type === 'VARCHAR'
        ? `json_extract_string(json, ${pointer})`
        : `CAST(json_extract(json, ${pointer}) AS ${column.type})`;
    return `${value} AS ${quoteIdentifier(column.name)}`;
  });
  const options = [`compression = '${group.compression}'`, `ignore_errors = ${layout.ignoreMalformedJson}`];
  return `SELECT ${projectionWithFile(projection, withFile)} FROM read_ndjson_objects(${fileList(group.files)}, ${readerOptions(options, withFile).join(', ')})`;
}

function csvScan(layout: TableLayout, group: FileGroup, withFile: boolean): string {
  const raw = layout.columns.map((_, index) => `column${index}`);
  const projection = layout.columns.map((column, index) =>
    column.type === 'VARCHAR'
      ? `${quoteIdentifier(raw[index]!)} AS ${quoteIdentifier(column.name)}`
      : // LazySimpleSerDe reads a value that does not parse as its type as NULL.
        `TRY_CAST(${quoteIdentifier(raw[index]!)} AS ${column.type}) AS ${quoteIdentifier(column.name)}`,
  );
  const { csv } = layout;
  const options = [
    `delim = ${quoteString(csv.delimiter)}`,
    `quote = ${quoteString(csv.quote)}`,
    `escape = ${quoteString(csv.escape)}`,
    'header = false',
    `skip = ${csv.skipHeaderLines}`,
    `columns = ${structLiteral(raw.map((name) => [name, 'VARCHAR']))}`,
    `nullstr = ${quoteString(csv.nullString)}`,
    'null_padding = true',
    'strict_mode = false',
    'auto_detect = false',
    `compression = '${group.compression}'`,
  ];
  return `SELECT ${projectionWithFile(projection, withFile)} FROM read_csv(${fileList(group.files)}, ${readerOptions(options, withFile).join(', ')})`;
}

function parquetScan(layout: TableLayout, group: FileGroup, withFile: boolean): string {
  const present = new Map<string, string>();
  for (const file of group.files) for (const key of file.profile?.keys ?? []) present.set(key.toLowerCase(), key);
  const projection = layout.columns.map((column) => {
    const source = present.get(column.name);
    const value = source === undefined ? 'NULL' : quoteIdentifier(source);
    return `CAST(${value} AS ${column.type}) AS ${quoteIdentifier(column.name)}`;
  });
  const options = readerOptions(['union_by_name = true'], withFile);
  return `SELECT ${projectionWithFile(projection, withFile)} FROM read_parquet(${fileList(group.files)}, ${options.join(', ')})`;
}

function hasMixedCaseKeys(layout: TableLayout, profile: FileProfile | undefined): boolean {
  const keys = (profile?.keys ?? []).map((key) => key.toLowerCase());
  return layout.columns.some((column) => keys.filter((key) => key === column.name).length > 1);
}

/** Files read by one reader call: same compression and, for JSON, the same key spellings. */
function groupFiles(layout: TableLayout, files: ScanFile[]): FileGroup[] {
  const groups = new Map<string, FileGroup>();
  for (const file of files) {
    const { format } = file;
    const compression = format === 'parquet' ? 'uncompressed' : compressionOf(file.object);
    const keys = format === 'json' ? layout.columns.map((c) => jsonKeyFor(c.name, layout, file.profile)) : [];
    const mixedCase = format === 'json' && hasMixedCaseKeys(layout, file.profile);
    const id = JSON.stringify([format, compression, keys, mixedCase]);
    const group = groups.get(id) ?? { format, files: [], compression, keys, mixedCase };
    group.files.push(file);
    groups.set(id, group);
  }
  return [...groups.values()];
}

function scan(layout: TableLayout, group: FileGroup, withFile: boolean): string {
  if (group.format === 'json') {
    return group.mixedCase ? jsonObjectsScan(layout, group, withFile) : jsonScan(layout, group, withFile);
  }
  if (group.format === 'csv') return csvScan(layout, group, withFile);
  return parquetScan(layout, group, withFile);
}

function emptySource(layout: TableLayout): string {
  const columns = [...layout.columns, ...layout.partitionKeys].map(
    (column) => `CAST(NULL AS ${column.type}) AS ${quoteIdentifier(column.name)}`,
  );
  return `SELECT ${columns.join(', ')} WHERE false`;
}

/**
 * One reader call over every file of the group, joined on the file name to
 * its partition's values: DuckDB then reads all files in parallel, as it
 * would one table (a UNION of one read per partition runs markedly slower).
 */
function partitionedScan(layout: TableLayout, group: FileGroup, partitionOf: Map<ScanFile, string[]>): string {
  const rows = group.files.map((file) => {
    const values = layout.partitionKeys.map((key, index) =>
      partitionValueSql(partitionOf.get(file)?.[index], key.type),
    );
    return `(${[quoteString(file.file), ...values].join(', ')})`;
  });
  const names = [FILE_COLUMN, ...layout.partitionKeys.map((key) => key.name)].map(quoteIdentifier).join(', ');
  const columns = [
    ...layout.columns.map((column) => `s.${quoteIdentifier(column.name)}`),
    ...layout.partitionKeys.map((key) => `p.${quoteIdentifier(key.name)}`),
  ];
  const file = quoteIdentifier(FILE_COLUMN);
  return `SELECT ${columns.join(', ')} FROM (${scan(layout, group, true)}) AS s JOIN (VALUES ${rows.join(', ')}) AS p(${names}) ON s.${file} = p.${file}`;
}

/** Files that all belong to one partition need no join: its values are constants (the common case of a window). */
function singlePartitionScan(layout: TableLayout, group: FileGroup, values: string[]): string {
  const columns = [
    ...layout.columns.map((column) => `s.${quoteIdentifier(column.name)}`),
    ...layout.partitionKeys.map(
      (key, index) => `${partitionValueSql(values[index], key.type)} AS ${quoteIdentifier(key.name)}`,
    ),
  ];
  return `SELECT ${columns.join(', ')} FROM (${scan(layout, group, false)}) AS s`;
}

const samePartition = (group: FileGroup, partitionOf: Map<ScanFile, string[]>) => {
  const first = JSON.stringify(partitionOf.get(group.files[0]!));
  return group.files.every((file) => JSON.stringify(partitionOf.get(file)) === first);
};

/** The SQL for a table over the partitions to read: table columns, then partition columns, as Athena orders them. */
export function tableSourceSql(layout: TableLayout, partitions: PartitionScan[]): string {
  const partitionOf = new Map<ScanFile, string[]>();
  for (const partition of partitions) for (const file of partition.files) partitionOf.set(file, partition.values);
  const files = [...partitionOf.keys()];
  if (files.length === 0) return emptySource(layout);
  const partitioned = layout.partitionKeys.length > 0;
  return groupFiles(layout, files)
    .map((group) => {
      if (!partitioned) return scan(layout, group, false);
      if (samePartition(group, partitionOf))
        return singlePartitionScan(layout, group, partitionOf.get(group.files[0]!)!);
      return partitionedScan(layout, group, partitionOf);
    })
    .join(' UNION ALL ');
}
