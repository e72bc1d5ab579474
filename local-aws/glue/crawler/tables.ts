import crypto from 'node:crypto';
import type { Column, StorageDescriptor } from '@aws-sdk/client-glue';
import type { DataFormat } from './classify';
import { partitionLayout, type CrawledFile, type TableRoot } from './grouping';
import { mergeFields, toColumns, type Field } from './schema';
import type { CrawledPartition, CrawledTable } from './types';

/** Catalog entries for table roots: names, storage descriptors and the parameters Glue's crawler writes. */

const TEXT_INPUT = 'org.apache.hadoop.mapred.TextInputFormat';
const TEXT_OUTPUT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

function storageFormat(
  format: DataFormat,
  fields: readonly Field[],
  quoted: boolean,
): Pick<StorageDescriptor, 'InputFormat' | 'OutputFormat' | 'SerdeInfo'> {
  const { classification, csv } = format;
  if (classification === 'parquet') {
    return {
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
        Parameters: { 'serialization.format': '1' },
      },
    };
  }
  if (classification === 'json') {
    return {
      InputFormat: TEXT_INPUT,
      OutputFormat: TEXT_OUTPUT,
      SerdeInfo: {
        SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        // The JSON SerDe's `paths`: the top-level keys, sorted, as the crawler lists them.
        Parameters: {
          paths: fields
            .map((field) => field.name)
            .sort()
            .join(','),
        },
      },
    };
  }
  const delimiter = csv?.delimiter ?? ',';
  return {
    InputFormat: TEXT_INPUT,
    OutputFormat: TEXT_OUTPUT,
    SerdeInfo: quoted
      ? {
          SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
          Parameters: { separatorChar: delimiter, quoteChar: '"', escapeChar: '\\' },
        }
      : {
          SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          Parameters: { 'field.delim': delimiter },
        },
  };
}

/**
 * Glue's statistics. Records are counted in the sample only; the table's count
 * is its total size over the sample's average record size, which is exact
 * when every object was read whole. Sizes are stored bytes (compressed bytes
 * for gzip), so averageRecordSize × recordCount ≈ sizeKey.
 */
function statistics(files: readonly CrawledFile[]) {
  let records = 0;
  let recordBytes = 0;
  let size = 0;
  for (const file of files) {
    size += file.size;
    if (file.sampled) {
      records += file.schema.records;
      recordBytes += file.schema.storedBytes;
    }
  }
  const average = records > 0 ? recordBytes / records : 0;
  return {
    averageRecordSize: String(Math.round(average)),
    objectCount: String(files.length),
    recordCount: String(average > 0 ? Math.round(size / average) : 0),
    sizeKey: String(size),
  };
}

function parameters(format: DataFormat, files: readonly CrawledFile[], quoted: boolean): Record<string, string> {
  const { csv } = format;
  return {
    CrawlerSchemaDeserializerVersion: '1.0',
    CrawlerSchemaSerializerVersion: '1.0',
    classification: format.classification,
    compressionType: format.compressionType,
    typeOfData: 'file',
    ...statistics(files),
    ...(csv && {
      areColumnsQuoted: String(quoted),
      columnsOrdered: 'true',
      delimiter: csv.delimiter,
      ...(csv.header && { 'skip.header.line.count': '1' }),
    }),
  };
}

function storageDescriptor(
  location: string,
  columns: Column[],
  format: DataFormat,
  fields: readonly Field[],
  quoted: boolean,
  parameters: Record<string, string>,
): StorageDescriptor {
  return {
    Columns: columns,
    Location: location,
    ...storageFormat(format, fields, quoted),
    Compressed: format.compressionType !== 'none',
    NumberOfBuckets: -1,
    BucketColumns: [],
    SortColumns: [],
    Parameters: { ...parameters },
    StoredAsSubDirectories: false,
  };
}

const mergedFields = (files: readonly CrawledFile[]) =>
  files.reduce<Field[]>((fields, file) => (file.sampled ? mergeFields(fields, file.schema.fields) : fields), []);

/** Catalog names are lowercase letters, digits and underscores. */
export const tableName = (name: string) => name.toLowerCase().replace(/[^a-z0-9_]/g, '_');

export interface TableContext {
  bucket: string;
  tablePrefix: string;
  /** The include path, s3://bucket/prefix/, for the `exclusions` parameter. */
  includePath: string;
  exclusions: readonly string[];
  log: (message: string, fields: Record<string, unknown>) => void;
}

export function buildTable(root: TableRoot, context: TableContext): CrawledTable {
  const { bucket } = context;
  const files = root.kind === 'folder' ? root.files : [root.file];
  const format = files[0]!.schema.format;
  const quoted = files.some((file) => file.schema.format.csv?.quoted === true);
  const fields = mergedFields(files);
  const columns = toColumns(fields);
  const location = root.kind === 'folder' ? `s3://${bucket}/${root.node.prefix}` : `s3://${bucket}/${root.file.key}`;
  const name = root.kind === 'folder' ? root.node.name : (root.file.key.split('/').at(-1) ?? root.file.key);
  const layout =
    root.kind === 'folder' ? partitionLayout(root.node, root.files, root.depth) : { keys: [], partitions: [] };

  const partitionKeys = layout.keys.map((key) => ({ Name: key, Type: 'string' }));
  const clashes = layout.keys.filter((key) => fields.some((field) => field.name === key));
  if (clashes.length > 0) {
    // Glue writes such a table as it is; Athena then refuses it with a duplicate column error.
    context.log('partition keys have the names of data columns', { location, columns: clashes });
  }

  const tableParameters = {
    ...parameters(format, files, quoted),
    ...(context.exclusions.length > 0 && {
      exclusions: JSON.stringify(context.exclusions.map((pattern) => `${context.includePath}${pattern}`)),
    }),
  };
  const partitions: CrawledPartition[] = layout.partitions.map((partition) => {
    const partitionFields = mergedFields(partition.files);
    const partitionParameters = parameters(format, partition.files, quoted);
    return {
      values: partition.values,
      storageDescriptor: storageDescriptor(
        `s3://${bucket}/${partition.folder}`,
        toColumns(partitionFields),
        format,
        partitionFields,
        quoted,
        partitionParameters,
      ),
      parameters: partitionParameters,
    };
  });

  return {
    name: tableName(`${context.tablePrefix}${name}`),
    location,
    columns,
    partitionKeys,
    storageDescriptor: storageDescriptor(location, columns, format, fields, quoted, tableParameters),
    parameters: tableParameters,
    partitions,
  };
}

/**
 * Two tables may not share a name. Glue keeps the name for one and appends a
 * hash to the others; here the table nearest the bucket (then the first
 * location) keeps it, and the others get the MD5 of their location, so a
 * crawl of the same data always names them the same.
 */
export function withUniqueNames(tables: readonly CrawledTable[]): CrawledTable[] {
  const byName = new Map<string, CrawledTable[]>();
  for (const table of tables) byName.set(table.name, [...(byName.get(table.name) ?? []), table]);
  const renamed = new Map<CrawledTable, string>();
  for (const [name, group] of byName) {
    if (group.length < 2) continue;
    const depth = (table: CrawledTable) => table.location.split('/').length;
    const ordered = [...group].sort(
      (a, b) => depth(a) - depth(b) || (a.location < b.location ? -1 : a.location > b.location ? 1 : 0),
    );
    for (const table of ordered.slice(1)) {
      renamed.set(table, `${name}_${crypto.createHash('md5').update(table.location).digest('hex')}`);
    }
  }
  return tables.map((table) => {
    const name = renamed.get(table);
    return name ? { ...table, name } : table;
  });
}
