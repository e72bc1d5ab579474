import { parse, type Info } from 'csv-parse';
import type { RowSchema } from '../../lib/rows';

/**
 * The replay's CSV dialect. relax_column_count: a short or long row is one bad row to reject, not the end
 * of the file. `info` gives each record's end offset (where a resumed replay starts), `raw` its text (for
 * its reject, if it is one).
 */
export const CSV_OPTIONS = {
  info: true,
  raw: true,
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: true,
} as const;

/**
 * A parser of the dialect, shared by the activity (header, sample mode) and the parser thread. The record
 * delimiter is the first line end csv-parse finds, unless given (the one found before, mid-stream).
 */
export function csvParser(withBom: boolean, recordDelimiter?: '\n' | '\r\n') {
  return parse({ bom: withBom, ...CSV_OPTIONS, ...(recordDelimiter ? { record_delimiter: recordDelimiter } : {}) });
}

export type CsvParser = ReturnType<typeof csvParser>;

export type CsvRow = { record: string[]; info: Info; raw: string };

/** csv-parse's own errors (malformed input) carry a CSV_* code; anything else is a failed read. */
export function isCsvError(error: unknown): error is Error {
  return error instanceof Error && String((error as { code?: unknown }).code).startsWith('CSV_');
}

/**
 * Records parsed and converted by the thread (`convertForSending`), in columns: a few arrays and strings
 * cross the thread boundary instead of an object per record, so the activity's thread pays little to
 * receive them.
 */
export interface ParsedBatch {
  /** The byte offset just after each record, counted from the first byte the parse was given. */
  ends: Float64Array;
  /** Each record's key ('' for a reject), one after another; `keyEnds` says where each ends. */
  keys: string;
  keyEnds: Uint32Array;
  /** Each record's value head (`fieldsHead`; '' for a reject), one after another; `headEnds` says where each ends. */
  heads: string;
  headEnds: Uint32Array;
  /** Each record's event time, NaN when it has none. */
  eventTimes: Float64Array;
  /** The rejected records: their index in the batch, reason and text as written (line end dropped). */
  rejects: { index: number; reason: string; raw: string }[];
}

/** Activity → thread: a parse starts, takes the source's bytes, ends. `id` tells one parse from the next. */
export type ToCsvThread =
  | { kind: 'start'; id: number; withBom: boolean; schema: RowSchema }
  | { kind: 'bytes'; id: number; bytes: Uint8Array }
  | { kind: 'end'; id: number };

/** Thread → activity. */
export type FromCsvThread =
  | { kind: 'batch'; id: number; batch: ParsedBatch }
  | { kind: 'taken'; id: number; bytes: number }
  | { kind: 'end'; id: number }
  | { kind: 'error'; id: number; message: string; code?: string };
