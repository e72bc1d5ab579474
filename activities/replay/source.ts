/**
 * The replay's source: a CSV file on the worker's host or an S3 object under the input prefix, read as rows in file
 * order from a marker (looping if asked) or drawn at random (`sample` mode).
 */

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { callAws, ErrorType, nonRetryable } from '../../lib/errors';
import { parseS3Uri } from '../../lib/s3-uri';
import type { ReplayInput, ReplayMarker, ReplayPlan } from '../../lib/contracts';
import { convertForSending, type ConvertedRow } from '../../lib/rows';
import { csvParser, isCsvError, type CsvRow } from './csv';
import type { CsvReader } from './csv-reader';

/** Rows sampled from the top of a file to tell numeric columns from text. */
const SCHEMA_SAMPLE_ROWS = 1000;
/** `sample` mode keeps the file in memory to draw rows at random. */
const SAMPLE_MODE_MAX_ROWS = 2_000_000;

/** A replay's input: a file on the worker's host or an S3 object under the input prefix, read from a byte offset. */
export interface Source {
  name: string;
  size(): Promise<number>;
  open(start: number): Promise<Readable>;
}

/**
 * A row to send, converted (its key, the start of its value and its event time, or a reject's reason and
 * text), with where the marker stands after it.
 */
export type SourceRow = ConvertedRow & {
  /** Data row number within the file, 1-based. */
  row: number;
  /** Marker fields after this row. */
  byteOffset: number;
  pass: number;
};

/** `s3://bucket/key` (under `inputPrefix` only) or an absolute path; anything else is InvalidInput. */
export function resolveSource(source: string, inputS3: S3Client, inputPrefix: string): Source {
  const s3 = parseS3Uri(source);
  if (s3?.key) {
    const { bucket, key } = s3;
    if (!key.startsWith(inputPrefix)) {
      throw nonRetryable(ErrorType.InvalidInput, `${source}: replays read S3 objects under ${inputPrefix} only`);
    }
    const head = () =>
      callAws('HeadObject', () => inputS3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).catch((error) => {
        if ((error as { cause?: { name?: string } }).cause?.name === 'NotFound') {
          throw nonRetryable(ErrorType.InvalidInput, `${source}: no such object`);
        }
        throw error;
      });
    return {
      name: source,
      size: async () => (await head()).ContentLength ?? 0,
      open: async (start) => {
        // S3 answers a range that starts at the end with 416: a resume at the end reads nothing.
        if (start > 0 && start >= ((await head()).ContentLength ?? 0)) return Readable.from([]);
        const object = await callAws('GetObject', () =>
          inputS3.send(
            new GetObjectCommand({ Bucket: bucket, Key: key, Range: start > 0 ? `bytes=${start}-` : undefined }),
          ),
        );
        return object.Body as Readable;
      },
    };
  }
  if (!path.isAbsolute(source)) {
    throw nonRetryable(
      ErrorType.InvalidInput,
      `${source}: expected an absolute path on the worker's host or an s3:// URL`,
    );
  }
  return {
    name: source,
    size: async () => {
      try {
        const stat = await fs.promises.stat(source);
        if (!stat.isFile()) throw nonRetryable(ErrorType.InvalidInput, `${source}: not a file`);
        await fs.promises.access(source, fs.constants.R_OK);
        return stat.size;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw nonRetryable(ErrorType.InvalidInput, `${source}: no such file on worker host`);
        if (code === 'EACCES') throw nonRetryable(ErrorType.InvalidInput, `${source}: not readable by the worker`);
        throw error;
      }
    },
    open: async (start) => fs.createReadStream(source, { start, highWaterMark: 1 << 20 }),
  };
}

/** Pipes a source into a new parser; a read error (disk, S3) fails the parser instead of the process. */
function parseStream(stream: Readable, withBom: boolean) {
  const parser = csvParser(withBom);
  stream.once('error', (error) => parser.destroy(error));
  stream.pipe(parser);
  return parser;
}

/** The header, where the data rows start, and the first rows (to infer the schema from). */
export async function readHead(source: Source): Promise<{ header: string[]; dataOffset: number; sample: string[][] }> {
  const stream = await source.open(0);
  const parser = parseStream(stream, true);
  let header: string[] | undefined;
  let dataOffset = 0;
  const sample: string[][] = [];
  try {
    for await (const row of parser as AsyncIterable<CsvRow>) {
      if (!header) {
        header = row.record;
        dataOffset = row.info.bytes;
      } else sample.push(row.record);
      if (sample.length >= SCHEMA_SAMPLE_ROWS) break;
    }
  } catch (error) {
    if (!isCsvError(error)) throw error; // a read that failed (S3, disk) is retried
    throw nonRetryable(ErrorType.InvalidInput, `${source.name}: unreadable CSV: ${error.message}`);
  } finally {
    stream.destroy();
  }
  if (!header) throw nonRetryable(ErrorType.InvalidInput, `${source.name}: empty file, expected a header line`);
  return { header, dataOffset, sample };
}

/**
 * The rows in file order from the marker on, a batch at a time; with `loop`, pass after pass. The reader
 * parses, converts and encodes them on its own thread (csv-parse and conversion are most of a replay's CPU).
 */
export async function* orderedRows(
  source: Source,
  reader: CsvReader,
  input: ReplayInput,
  plan: ReplayPlan,
  from: ReplayMarker,
): AsyncGenerator<SourceRow[]> {
  let { byteOffset, pass, passRow } = from;
  for (;;) {
    const stream = await source.open(byteOffset);
    const start = byteOffset;
    try {
      for await (const batch of reader.batches(stream, plan)) {
        const { ends, keys, keyEnds, heads, headEnds, eventTimes, rejects } = batch;
        const rows = new Array<SourceRow>(ends.length);
        let reject = 0;
        for (let index = 0; index < ends.length; index++) {
          passRow += 1;
          byteOffset = start + (ends[index] as number);
          const rejected = rejects[reject];
          if (rejected?.index === index) {
            reject += 1;
            rows[index] = { ok: false, reason: rejected.reason, raw: rejected.raw, row: passRow, byteOffset, pass };
          } else {
            const eventTime = eventTimes[index] as number;
            rows[index] = {
              ok: true,
              key: keys.slice(index === 0 ? 0 : keyEnds[index - 1], keyEnds[index]),
              head: heads.slice(index === 0 ? 0 : headEnds[index - 1], headEnds[index]),
              eventTime: Number.isNaN(eventTime) ? undefined : eventTime,
              row: passRow,
              byteOffset,
              pass,
            };
          }
        }
        yield rows;
      }
    } catch (error) {
      if (!isCsvError(error)) throw error;
      throw nonRetryable(
        ErrorType.InvalidInput,
        `${source.name}: unreadable CSV after data row ${passRow}: ${error.message}`,
      );
    } finally {
      stream.destroy();
    }
    // A file with no data rows would loop forever without sending anything.
    if (!input.loop || passRow === 0) return;
    pass += 1;
    passRow = 0;
    byteOffset = plan.dataOffset;
  }
}

/** A 32-bit hash of (run, seq): `sample` mode draws the same row for the same seq on every attempt. */
export function sampleIndex(runId: string, seq: number, rows: number): number {
  let hash = 2166136261;
  for (const char of `${runId}:${seq}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 2246822507);
  hash ^= hash >>> 13;
  return (hash >>> 0) % rows;
}

/** A file held in memory for `sample` mode, its rows converted: the last one read, kept across chunks. */
export type SampleCache = Map<string, ConvertedRow[]>;

/** Rows drawn at random (by run and seq), without end; the file is read into `cache` once. */
export async function* sampleRows(
  source: Source,
  input: ReplayInput,
  plan: ReplayPlan,
  from: ReplayMarker,
  cache: SampleCache,
  heartbeat: () => void,
): AsyncGenerator<SourceRow[]> {
  // Converted by the plan's schema: a run with another symbol or timestamp column converts the file anew.
  const { columns, fields, numeric, symbolIndex, timestampIndex } = plan;
  const cacheKey = JSON.stringify([
    input.source,
    plan.sourceBytes,
    columns,
    fields,
    numeric,
    symbolIndex,
    timestampIndex,
  ]);
  let cached = cache.get(cacheKey);
  if (!cached) {
    const converted: ConvertedRow[] = [];
    const stream = await source.open(plan.dataOffset);
    const parser = parseStream(stream, false);
    try {
      for await (const { record, raw } of parser as AsyncIterable<CsvRow>) {
        converted.push(convertForSending(plan, record, raw));
        if (converted.length % 10_000 === 0) heartbeat();
        if (converted.length > SAMPLE_MODE_MAX_ROWS) {
          throw nonRetryable(
            ErrorType.InvalidInput,
            `${source.name}: sample mode holds the file in memory and takes ${SAMPLE_MODE_MAX_ROWS} rows at most`,
          );
        }
      }
    } catch (error) {
      if (!isCsvError(error)) throw error;
      throw nonRetryable(ErrorType.InvalidInput, `${source.name}: unreadable CSV: ${error.message}`);
    } finally {
      stream.destroy();
    }
    if (converted.length === 0) throw nonRetryable(ErrorType.InvalidInput, `${source.name}: no data rows to sample`);
    cached = converted;
    cache.clear();
    cache.set(cacheKey, cached);
  }
  const rows = cached;
  // Drawing by (run, seq) makes a retried chunk send the rows the failed attempt drew.
  for (let seq = from.rowsRead + 1; ; seq += 1000) {
    yield Array.from({ length: 1000 }, (_, offset): SourceRow => {
      const index = sampleIndex(input.runId, seq + offset, rows.length);
      return { ...(rows[index] as ConvertedRow), row: index + 1, byteOffset: 0, pass: 0 };
    });
  }
}
