import { inferCsv, type CsvFormat } from './csv';
import { UnreadableObjectError } from './errors';
import { inferJson, looksLikeJson } from './json';
import { PARQUET_MAGIC, readParquetSchema } from './parquet';
import { GZIP_MAGIC, gunzipPrefix, plainPrefix, type RangeReader, type TextSample } from './sample';
import type { Field } from './schema';

/**
 * Classifying one object: the built-in classifiers in Glue's order (Parquet,
 * JSON, CSV), each on as little of the object as it needs.
 */

export type Classification = 'parquet' | 'json' | 'csv';
export type CompressionType = 'gzip' | 'none';

export interface DataFormat {
  classification: Classification;
  compressionType: CompressionType;
  csv?: CsvFormat;
}

export interface ObjectSchema {
  format: DataFormat;
  fields: Field[];
  /** Records the classifier read. */
  records: number;
  /** Stored bytes those records take (compressed bytes for gzip), for Glue's record-count estimate. */
  storedBytes: number;
}

/** First read of every object: enough for the magic numbers, and all of a small object. */
const HEAD_BYTES = 64 * 1024;
/** Glue infers a text file's schema from its first megabyte... */
const SAMPLE_BYTES = 1024 * 1024;
/** ...and reads on, up to 10 MB, when no whole JSON record fits in it. */
const MAX_SAMPLE_BYTES = 10 * 1024 * 1024;

/** Formats recognised by their magic number that the local crawler does not read. */
const UNSUPPORTED: { magic: Buffer; what: string }[] = [
  { magic: Buffer.from('Obj\x01', 'latin1'), what: 'Avro' },
  { magic: Buffer.from('ORC'), what: 'ORC' },
  { magic: Buffer.from('BZh'), what: 'bzip2-compressed' },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), what: 'zstd-compressed' },
  { magic: Buffer.from([0x04, 0x22, 0x4d, 0x18]), what: 'LZ4-compressed' },
  { magic: Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]), what: 'Snappy-compressed' },
  { magic: Buffer.from([0x50, 0x4b, 0x03, 0x04]), what: 'ZIP' },
];

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const startsWith = (data: Buffer, magic: Buffer) => data.subarray(0, magic.length).equals(magic);

async function parquet(size: number, read: RangeReader): Promise<ObjectSchema> {
  // An S3 error while reading the footer fails the crawl; anything else means the footer is not Parquet.
  let readFailure: { error: unknown } | undefined;
  const tracked: RangeReader = async (start, end) => {
    try {
      return await read(start, end);
    } catch (error) {
      readFailure = { error };
      throw error;
    }
  };
  try {
    const { fields, rows } = await readParquetSchema(size, tracked);
    return { format: { classification: 'parquet', compressionType: 'none' }, fields, records: rows, storedBytes: size };
  } catch (error) {
    if (readFailure) throw readFailure.error;
    throw new UnreadableObjectError(`not valid Parquet: ${(error as Error).message}`);
  }
}

/** The sample as text, and how many stored bytes a prefix of it stands for. */
function decode(sample: TextSample) {
  const bom = startsWith(sample.data, UTF8_BOM) ? UTF8_BOM.length : 0;
  const content = sample.data.subarray(bom).toString('utf8');
  if (content.includes('\u0000')) {
    throw new UnreadableObjectError('binary content that no built-in classifier recognises');
  }
  const stored = (bytes: number) =>
    sample.data.length === 0
      ? 0
      : Math.round((sample.storedBytes * Math.min(bytes, sample.data.length)) / sample.data.length);
  return { content, bom, stored };
}

export async function classifyObject(size: number, read: RangeReader): Promise<ObjectSchema> {
  const head = await read(0, Math.min(size, HEAD_BYTES));
  if (startsWith(head, PARQUET_MAGIC)) return parquet(size, read);
  const unsupported = UNSUPPORTED.find(({ magic }) => startsWith(head, magic));
  if (unsupported) throw new UnreadableObjectError(`${unsupported.what} objects are not read by the local crawler`);

  const compressionType: CompressionType = startsWith(head, GZIP_MAGIC) ? 'gzip' : 'none';
  const sampleOf = (limit: number) =>
    compressionType === 'gzip' ? gunzipPrefix(head, size, read, limit) : plainPrefix(head, size, read, limit);
  let sample = await sampleOf(SAMPLE_BYTES);
  let decoded = decode(sample);
  if (decoded.content.trim() === '') throw new UnreadableObjectError('no content');

  let jsonFailure: string | undefined;
  if (looksLikeJson(decoded.content)) {
    let outcome = inferJson(decoded.content, sample.complete);
    if (outcome.kind === 'incomplete') {
      sample = await sampleOf(MAX_SAMPLE_BYTES);
      decoded = decode(sample);
      outcome = inferJson(decoded.content, sample.complete);
    }
    if (outcome.kind === 'json') {
      const bytes =
        outcome.consumed === decoded.content.length
          ? sample.data.length
          : decoded.bom + Buffer.byteLength(decoded.content.slice(0, outcome.consumed));
      return {
        format: { classification: 'json', compressionType },
        fields: outcome.fields,
        records: outcome.records,
        storedBytes: decoded.stored(bytes),
      };
    }
    jsonFailure =
      outcome.kind === 'incomplete'
        ? `no whole JSON record in the first ${MAX_SAMPLE_BYTES / 1024 / 1024} MB`
        : outcome.reason;
  }

  const csv = inferCsv(sample.data, sample.complete);
  if (csv.kind === 'csv') {
    return {
      format: { classification: 'csv', compressionType, csv: csv.format },
      fields: csv.fields,
      records: csv.records,
      storedBytes: decoded.stored(csv.consumedBytes),
    };
  }
  throw new UnreadableObjectError(`no built-in classifier recognises it (UNKNOWN): ${jsonFailure ?? csv.reason}`);
}
