import crypto from 'node:crypto';
import type { SerDeInfo, StorageDescriptor } from '@aws-sdk/client-glue';
import picomatch from 'picomatch';
import { classifyObject, UnreadableObject, type Classified } from './classify';
import { mergeTypes, renderType, type GlueType } from './schema';
import type { CrawledPartition, CrawledTable, CrawlRequest, CrawlResult, ObjectReader } from './types';

export { s3ObjectReader } from './s3-reader';
export type * from './types';

/**
 * The crawl engine: lists each include path, classifies a sample of its
 * objects, and groups them into tables and partitions as Glue's crawler does.
 */

interface FileInfo {
  bucket: string;
  key: string;
  size: number;
  /** Folders between the include path and the file. */
  folders: string[];
  classified?: Classified;
}

/** Glue's similarity rule: one table when each schema shares at least this share of the union's columns. */
const SIMILARITY = 0.7;

// Names Glue never reads: Hadoop/Spark markers, hidden files, folder placeholders, checksums.
const IGNORED = (name: string) =>
  name === '' || name.startsWith('_') || name.startsWith('.') || name.endsWith('_$folder$') || name.endsWith('.crc');

function parseS3Path(target: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(target);
  if (!match) throw new Error(`Invalid S3 target path ${target}`);
  const prefix = match[2] ?? '';
  return { bucket: match[1]!, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

const folderUrl = (bucket: string, prefix: string, folders: string[]) =>
  `s3://${bucket}/${prefix}${folders.map((folder) => `${folder}/`).join('')}`;

/** Identifies files that can share a table: same classifier, compression and CSV layout. */
const formatOf = (file: FileInfo) => {
  const c = file.classified!;
  return `${c.classification}/${c.compression}/${c.csv ? `${c.csv.delimiter}/${c.csv.header}` : ''}`;
};

const columnNames = (file: FileInfo) => [...file.classified!.schema.fields.keys()];

function similar(files: FileInfo[], combine: boolean): boolean {
  if (new Set(files.map(formatOf)).size > 1) return false;
  if (new Set(files.map((file) => file.folders.length)).size > 1) return false;
  if (combine) return true;
  const union = new Set(files.flatMap(columnNames));
  return files.every((file) => columnNames(file).length >= SIMILARITY * union.size);
}

function sanitize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export async function crawlTargets(request: CrawlRequest, reader: ObjectReader): Promise<CrawlResult> {
  const skipped: { key: string; reason: string }[] = [];
  const groups: { bucket: string; prefix: string; root: string[]; files: FileInfo[] }[] = [];
  const crawledFolders = new Set<string>();

  for (const target of request.targets) {
    const { bucket, prefix } = parseS3Path(target.path);
    const excluded = target.exclusions.length > 0 ? picomatch(target.exclusions, { dot: true }) : () => false;
    const files: FileInfo[] = [];
    try {
      for await (const object of reader.list(bucket, prefix, request.signal)) {
        const relative = object.key.slice(prefix.length);
        const parts = relative.split('/');
        const name = parts.pop()!;
        if (
          object.size === 0 ||
          IGNORED(name) ||
          parts.some((part) => part === '' || part.startsWith('_') || part.startsWith('.'))
        )
          continue;
        if (excluded(relative)) continue;
        if (request.skipFolders?.has(folderUrl(bucket, prefix, parts))) continue;
        files.push({ bucket, key: object.key, size: object.size, folders: parts });
      }
    } catch (error) {
      if (request.signal.aborted) throw error;
      const { name, message } = error as Error;
      throw new Error(`Cannot list ${target.path}: ${name}: ${message}`, { cause: error });
    }
    files.sort((a, b) => (a.key < b.key ? -1 : 1));
    await classifySample(files, target.sampleSize, reader, request, skipped);
    const readable = files.filter((file) => file.classified);
    for (const file of readable) crawledFolders.add(folderUrl(bucket, prefix, file.folders));
    groups.push(...groupFiles(readable, bucket, prefix, request));
  }

  const tables = buildTables(groups, request);
  return { tables, crawledFolders: [...crawledFolders].sort(), skipped };
}

/** Reads up to `sampleSize` files per leaf folder; the others borrow their folder's first schema. */
async function classifySample(
  files: FileInfo[],
  sampleSize: number | undefined,
  reader: ObjectReader,
  request: CrawlRequest,
  skipped: { key: string; reason: string }[],
): Promise<void> {
  const readPerFolder = new Map<string, FileInfo[]>();
  for (const file of files) {
    if (request.signal.aborted) throw request.signal.reason;
    const folder = file.folders.join('/');
    const read = readPerFolder.get(folder) ?? [];
    if (sampleSize !== undefined && read.length >= sampleSize) {
      const model = read[0]!.classified!;
      const scale = file.size / Math.max(1, read[0]!.size);
      file.classified = { ...model, records: Math.round(model.records * scale) };
      continue;
    }
    try {
      file.classified = await classifyObject(reader, file.bucket, file, request.signal);
      readPerFolder.set(folder, [...read, file]);
    } catch (error) {
      if (request.signal.aborted) throw error;
      if (!(error instanceof UnreadableObject)) {
        const { name, message } = error as Error;
        throw new Error(`Cannot read s3://${file.bucket}/${file.key}: ${name}: ${message}`, { cause: error });
      }
      skipped.push({ key: file.key, reason: error.message });
      request.log('warn', `skipped s3://${file.bucket}/${file.key}: ${error.message}`, { key: file.key });
    }
  }
}

/** Glue's grouping: from the include path down, the highest folder whose files are similar is a table root. */
function groupFiles(files: FileInfo[], bucket: string, prefix: string, request: CrawlRequest) {
  const groups: { bucket: string; prefix: string; root: string[]; files: FileInfo[] }[] = [];
  const includeLevel = 1 + prefix.split('/').filter(Boolean).length;
  const visit = (root: string[], members: FileInfo[]) => {
    if (members.length === 0) return;
    const level = includeLevel + root.length;
    const forced = request.grouping.tableLevel;
    const atLevel = forced !== undefined && level >= forced;
    if (atLevel || (forced === undefined && similar(members, request.grouping.combineCompatibleSchemas))) {
      // Files at different depths cannot be partitions of one table: the shallower ones make their own.
      const depth = Math.max(...members.map((file) => file.folders.length));
      const deepest = members.filter((file) => file.folders.length === depth);
      groups.push({ bucket, prefix, root, files: deepest });
      const rest = members.filter((file) => file.folders.length !== depth);
      if (rest.length > 0) visitChildren(root, rest);
      return;
    }
    visitChildren(root, members);
  };
  const visitChildren = (root: string[], members: FileInfo[]) => {
    const here = members.filter((file) => file.folders.length === root.length);
    if (here.length > 0) groups.push({ bucket, prefix, root, files: here });
    const children = new Map<string, FileInfo[]>();
    for (const file of members) {
      if (file.folders.length === root.length) continue;
      const child = file.folders[root.length]!;
      children.set(child, [...(children.get(child) ?? []), file]);
    }
    for (const [child, childFiles] of children) visit([...root, child], childFiles);
  };
  visit([], files);
  return groups;
}

function mergedSchema(files: FileInfo[]): GlueType & { kind: 'struct' } {
  return files.reduce<GlueType>((schema, file) => mergeTypes(schema, file.classified!.schema), {
    kind: 'struct',
    fields: new Map(),
  }) as GlueType & { kind: 'struct' };
}

function statistics(files: FileInfo[]) {
  const size = files.reduce((sum, file) => sum + file.size, 0);
  const records = files.reduce((sum, file) => sum + file.classified!.records, 0);
  return {
    recordCount: String(records),
    objectCount: String(files.length),
    averageRecordSize: String(records > 0 ? Math.round(size / records) : 0),
    sizeKey: String(size),
  };
}

function storageFormat(sample: Classified): Pick<StorageDescriptor, 'InputFormat' | 'OutputFormat' | 'SerdeInfo'> & {
  parameters: Record<string, string>;
} {
  if (sample.classification === 'parquet') {
    return {
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
        Parameters: { 'serialization.format': '1' },
      },
      parameters: {},
    };
  }
  const text = {
    InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  };
  if (sample.classification === 'json') {
    const paths = [...sample.schema.fields.keys()].sort().join(',');
    return {
      ...text,
      SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', Parameters: { paths } },
      parameters: {},
    };
  }
  const csv = sample.csv!;
  const parameters: Record<string, string> = {
    delimiter: csv.delimiter,
    areColumnsQuoted: String(csv.quoted),
    columnsOrdered: 'true',
    ...(csv.header ? { 'skip.header.line.count': '1' } : {}),
  };
  const SerdeInfo: SerDeInfo = csv.quoted
    ? {
        SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
        Parameters: { separatorChar: csv.delimiter, quoteChar: '"' },
      }
    : {
        SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
        Parameters: { 'field.delim': csv.delimiter },
      };
  return { ...text, SerdeInfo, parameters };
}

function buildTables(
  groups: { bucket: string; prefix: string; root: string[]; files: FileInfo[] }[],
  request: CrawlRequest,
): CrawledTable[] {
  const tables: CrawledTable[] = [];
  const names = new Set<string>();
  const ordered = [...groups].sort((a, b) =>
    folderUrl(a.bucket, a.prefix, a.root) < folderUrl(b.bucket, b.prefix, b.root) ? -1 : 1,
  );
  for (const group of ordered) {
    const location = folderUrl(group.bucket, group.prefix, group.root);
    const folderName = location.replace(/\/$/, '').split('/').pop()!;
    let name = `${request.tablePrefix}${sanitize(folderName)}`.toLowerCase();
    // Glue makes clashing names unique with a hash of the location.
    if (names.has(name)) name = `${name}_${crypto.createHash('md5').update(location).digest('hex').slice(0, 8)}`;
    names.add(name);

    const sample = group.files[0]!.classified!;
    const format = storageFormat(sample);
    const columns = [...mergedSchema(group.files).fields].map(([column, type]) => ({
      Name: column,
      Type: renderType(type),
    }));
    const depth = group.files[0]!.folders.length - group.root.length;
    const partitionKeys = Array.from({ length: depth }, (_, level) => {
      const keys = new Set(group.files.map((file) => /^([^=]+)=/.exec(file.folders[group.root.length + level]!)?.[1]));
      const [key] = keys;
      return { Name: keys.size === 1 && key !== undefined ? sanitize(key) : `partition_${level}`, Type: 'string' };
    });
    const common = {
      classification: sample.classification,
      compressionType: sample.compression,
      typeOfData: 'file',
      CrawlerSchemaDeserializerVersion: '1.0',
      CrawlerSchemaSerializerVersion: '1.0',
      ...format.parameters,
    };
    const descriptor = (
      where: string,
      cols: typeof columns,
      parameters: Record<string, string>,
    ): StorageDescriptor => ({
      Columns: cols,
      Location: where,
      InputFormat: format.InputFormat,
      OutputFormat: format.OutputFormat,
      Compressed: sample.compression !== 'none',
      NumberOfBuckets: -1,
      SerdeInfo: format.SerdeInfo,
      BucketColumns: [],
      SortColumns: [],
      Parameters: parameters,
      StoredAsSubDirectories: false,
    });

    const byPartition = new Map<string, FileInfo[]>();
    if (depth > 0) {
      for (const file of group.files) {
        const folders = file.folders.slice(group.root.length).join('/');
        byPartition.set(folders, [...(byPartition.get(folders) ?? []), file]);
      }
    }
    const partitions: CrawledPartition[] = [...byPartition].map(([folders, files]) => {
      const values = folders
        .split('/')
        .map((folder, level) =>
          partitionKeys[level]!.Name.startsWith('partition_') ? folder : folder.slice(folder.indexOf('=') + 1),
        );
      const parameters = { ...common, ...statistics(files) };
      const partitionColumns = [...mergedSchema(files).fields].map(([column, type]) => ({
        Name: column,
        Type: renderType(type),
      }));
      return {
        values,
        storageDescriptor: descriptor(`${location}${folders}/`, partitionColumns, parameters),
        parameters,
      };
    });
    const parameters = { ...common, ...statistics(group.files) };
    tables.push({
      name,
      location,
      columns,
      partitionKeys,
      storageDescriptor: descriptor(location, columns, parameters),
      parameters,
      partitions,
    });
    request.log('info', `table ${name}: ${group.files.length} objects, ${partitions.length} partitions`, { location });
  }
  return tables;
}
