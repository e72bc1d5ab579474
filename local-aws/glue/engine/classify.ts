import zlib from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { mergeTypes, primitive, structOf, typeOfCsvField, widenCsvType, type GlueType } from './schema';
import type { ObjectReader, StoredObject } from './types';

/**
 * The built-in classifiers, in Glue's order: Parquet (schema from the footer),
 * JSON (JSON Lines or one document), CSV. Like Glue, text classifiers read only
 * the start of an object (the first MB, decompressed), never the whole of a
 * large file.
 */

export const SAMPLE_BYTES = 1024 * 1024;
const CSV_DELIMITERS = [',', '|', '\t', ';', '\u0001'];
/** Glue: "every column in a potential header ... has content that is fewer than 150 characters". */
const MAX_HEADER_FIELD = 150;

export interface CsvFormat {
  delimiter: string;
  header: boolean;
  quoted: boolean;
}

export interface Classified {
  classification: 'json' | 'csv' | 'parquet';
  compression: 'gzip' | 'none';
  schema: GlueType & { kind: 'struct' };
  csv?: CsvFormat;
  /** Records in the object, counted when it was read whole, estimated from the sample otherwise. */
  records: number;
}

export class UnreadableObject extends Error {}

const isGzip = (bytes: Buffer) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

function gunzipPrefix(bytes: Buffer, whole: boolean): Buffer {
  try {
    // A prefix of a gzip stream inflates up to where it was cut; a whole one must be valid to its end.
    return zlib.gunzipSync(bytes, whole ? {} : { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (error) {
    throw new UnreadableObject(`not a valid gzip stream (${(error as Error).message})`);
  }
}

export async function classifyObject(
  reader: ObjectReader,
  bucket: string,
  object: StoredObject,
  signal: AbortSignal,
): Promise<Classified> {
  const head = await reader.read(bucket, object.key, signal, { start: 0, end: Math.min(object.size, 4) - 1 });
  if (head.toString('latin1') === 'PAR1' && object.size >= 12) return classifyParquet(reader, bucket, object, signal);
  const whole = object.size <= SAMPLE_BYTES;
  const raw = whole
    ? await reader.read(bucket, object.key, signal)
    : await reader.read(bucket, object.key, signal, { start: 0, end: SAMPLE_BYTES - 1 });
  const compression = isGzip(raw) ? 'gzip' : 'none';
  let text = (compression === 'gzip' ? gunzipPrefix(raw, whole) : raw).toString('utf8');
  let complete = whole;
  if (text.length > SAMPLE_BYTES) {
    text = text.slice(0, SAMPLE_BYTES);
    complete = false;
  }
  if (!complete) text = text.slice(0, Math.max(0, text.lastIndexOf('\n'))); // the last line may be cut
  // Records sampled, scaled by how much of the object the sample covers.
  const scale = complete ? 1 : object.size / raw.length;
  const json = classifyJson(text);
  if (json)
    return { classification: 'json', compression, schema: json.schema, records: Math.round(json.records * scale) };
  const csv = classifyCsv(text);
  if (csv) {
    return {
      classification: 'csv',
      compression,
      schema: csv.schema,
      csv: csv.format,
      records: Math.round(csv.records * scale),
    };
  }
  throw new UnreadableObject('no built-in classifier (Parquet, JSON, CSV) recognised it');
}

function classifyJson(text: string): { schema: GlueType & { kind: 'struct' }; records: number } | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  const lines = trimmed.split('\n').filter((line) => line.trim() !== '');
  let schema: GlueType = { kind: 'struct', fields: new Map() };
  const perLine = lines.every((line) => {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      schema = mergeTypes(schema, structOf(value as Record<string, unknown>));
      return true;
    } catch {
      return false;
    }
  });
  if (perLine) return { schema: schema as GlueType & { kind: 'struct' }, records: lines.length };
  // One JSON document: an object, or an array of objects (one record each).
  try {
    const value: unknown = JSON.parse(trimmed);
    const records = Array.isArray(value) ? value : [value];
    if (records.length === 0 || !records.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r)))
      return undefined;
    schema = records.reduce<GlueType>(
      (merged, record) => mergeTypes(merged, structOf(record as Record<string, unknown>)),
      {
        kind: 'struct',
        fields: new Map(),
      },
    );
    return { schema: schema as GlueType & { kind: 'struct' }, records: records.length };
  } catch {
    return undefined;
  }
}

/** Glue: header columns must be valid column names. */
const validColumnName = (name: string) =>
  name.trim() !== '' && name.length <= 255 && ![...name].some((char) => char.charCodeAt(0) < 0x20);

function classifyCsv(
  text: string,
): { schema: GlueType & { kind: 'struct' }; format: CsvFormat; records: number } | undefined {
  for (const delimiter of CSV_DELIMITERS) {
    let rows: string[][];
    try {
      rows = parseCsv(text, { delimiter, relax_quotes: true, skip_empty_lines: true, bom: true }) as string[][];
    } catch {
      continue;
    }
    // Glue: at least two columns and two rows, the same number of columns in each.
    const width = rows[0]?.length ?? 0;
    if (width < 2 || rows.length < 2 || !rows.every((row) => row.length === width)) continue;
    const types = (from: number) =>
      Array.from({ length: width }, (_, column) =>
        rows
          .slice(from)
          .reduce<GlueType>((type, row) => mergeTypes(type, typeOfCsvField(row[column]!)), primitive('null')),
      );
    const first = rows[0]!;
    const dataTypes = types(1);
    // Glue's header heuristics: every header field a string, under 150 characters (the last may be empty),
    // a valid name, and the header different from the data: some data column must not be a string.
    const header =
      first.every((field, index) => {
        const type = typeOfCsvField(field);
        const last = index === width - 1;
        return (
          (type.kind === 'string' || (last && field === '')) &&
          (last || field.length < MAX_HEADER_FIELD) &&
          (validColumnName(field) || (last && field === ''))
        );
      }) && dataTypes.some((type) => type.kind !== 'string' && type.kind !== 'null');
    const columnTypes = header ? dataTypes : types(0);
    const names = header
      ? first.map((field, index) => field.trim().toLowerCase() || `col${index}`)
      : first.map((_, index) => `col${index}`);
    const fields = new Map<string, GlueType>(names.map((name, index) => [name, widenCsvType(columnTypes[index]!)]));
    const quoted = new RegExp(`(^|[${delimiter === '\t' ? '\\t' : delimiter.replace(/[|\\]/g, '\\$&')}])"`, 'm').test(
      text,
    );
    return {
      schema: { kind: 'struct', fields },
      format: { delimiter, header, quoted },
      records: rows.length - (header ? 1 : 0),
    };
  }
  return undefined;
}

async function classifyParquet(
  reader: ObjectReader,
  bucket: string,
  object: StoredObject,
  signal: AbortSignal,
): Promise<Classified> {
  // hyparquet is an ES module; only its footer reader is used, through ranged reads.
  const { parquetMetadataAsync, parquetSchema } = await import('hyparquet');
  const buffer = {
    byteLength: object.size,
    slice: async (start: number, end?: number) => {
      const bytes = await reader.read(bucket, object.key, signal, { start, end: (end ?? object.size) - 1 });
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw new UnreadableObject(`not a valid Parquet file (${(error as Error).message})`);
  }
  const root = parquetSchema(metadata);
  const fields = new Map(root.children.map((child) => [child.element.name.toLowerCase(), parquetType(child)]));
  return {
    classification: 'parquet',
    compression: 'none',
    schema: { kind: 'struct', fields },
    records: Number(metadata.num_rows),
  };
}

interface ParquetNode {
  element: {
    type?: string;
    name: string;
    converted_type?: string;
    logical_type?: { type: string; precision?: number; scale?: number; bitWidth?: number };
    precision?: number;
    scale?: number;
    repetition_type?: string;
  };
  children: ParquetNode[];
}

/** Parquet physical and logical types as Glue maps them to Hive types. */
function parquetType(node: ParquetNode): GlueType {
  const { element, children } = node;
  const logical = element.logical_type?.type ?? element.converted_type;
  let type: GlueType;
  if (children.length > 0) {
    if (logical === 'LIST') {
      const repeated = children[0]!;
      const item = repeated.children.length === 1 ? repeated.children[0]! : repeated;
      type = { kind: 'array', element: parquetType(item) };
    } else if (logical === 'MAP' || logical === 'MAP_KEY_VALUE') {
      const entry = children[0]!;
      type = { kind: 'map', key: parquetType(entry.children[0]!), value: parquetType(entry.children[1]!) };
    } else {
      type = {
        kind: 'struct',
        fields: new Map(children.map((child) => [child.element.name.toLowerCase(), parquetType(child)])),
      };
    }
  } else if (logical === 'DECIMAL') {
    type = {
      kind: 'decimal',
      precision: element.logical_type?.precision ?? element.precision ?? 38,
      scale: element.logical_type?.scale ?? element.scale ?? 0,
    };
  } else if (logical === 'DATE') type = primitive('date');
  else if (
    logical === 'TIMESTAMP' ||
    logical === 'TIMESTAMP_MILLIS' ||
    logical === 'TIMESTAMP_MICROS' ||
    element.type === 'INT96'
  ) {
    type = primitive('timestamp');
  } else if (
    logical === 'STRING' ||
    logical === 'UTF8' ||
    logical === 'ENUM' ||
    logical === 'JSON' ||
    logical === 'UUID'
  ) {
    type = primitive('string');
  } else {
    const physical: Record<string, GlueType> = {
      BOOLEAN: primitive('boolean'),
      INT32: primitive('int'),
      INT64: primitive('bigint'),
      FLOAT: primitive('float'),
      DOUBLE: primitive('double'),
      BYTE_ARRAY: primitive('binary'),
      FIXED_LEN_BYTE_ARRAY: primitive('binary'),
    };
    type = physical[element.type ?? ''] ?? primitive('string');
  }
  // A repeated field without a LIST annotation is an array of its type.
  return element.repetition_type === 'REPEATED' && logical !== 'LIST' ? { kind: 'array', element: type } : type;
}
