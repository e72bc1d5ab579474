import { ErrorType, nonRetryable } from './errors';

/**
 * CSV rows to Kafka messages: field names, types, validation and the envelope.
 * Pure functions, shared by the replay activity and its tests.
 */

/** Fields every message carries besides the row's own. */
export const ENVELOPE_FIELDS = ['ts', 'run_id', 'seq'] as const;

/** Column names tried, in order, when no symbol column is given. */
export const SYMBOL_COLUMN_CANDIDATES = ['symbol', 'ticker', 'index'];

/** `Adj Close` → `adj_close`, `CloseUSD` → `close_usd`, `openInterest` → `open_interest`. */
export function normaliseFieldName(name: string): string {
  return name
    .replace(/^\uFEFF/, '')
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

const NUMERIC_SHARE = 2 / 3;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const NONZERO_DIGIT = /[1-9]/;

/**
 * A CSV number as a double, or why it cannot be one. JSON has no Infinity, so a
 * value that overflows would land as null; one that underflows would land as 0;
 * an integer past 2^53 would land as another integer (a volume silently
 * changed). Decimals, and numbers written with an exponent, round to the
 * nearest double, as every JSON reader does.
 */
export function parseNumber(text: string): number | { reason: string } {
  if (!NUMBER.test(text)) return { reason: 'is not a number' };
  const value = Number(text);
  if (!Number.isFinite(value)) return { reason: 'is too large for a double' };
  if (value === 0 && NONZERO_DIGIT.test(text.replace(/[eE].*$/, ''))) {
    return { reason: 'is too small for a double (it would be 0)' };
  }
  if (INTEGER.test(text) && !Number.isSafeInteger(value) && BigInt(text) !== BigInt(value)) {
    return { reason: 'is an integer a double cannot hold exactly (beyond 2^53)' };
  }
  // -0 is written 0 in JSON anyway; normalise so that every consumer sees the same value.
  return value === 0 ? 0 : value;
}

export interface RowSchema {
  /** The header as written in the file. */
  columns: string[];
  /** Message field names, one per column: normalised, unique, clear of the envelope. */
  fields: string[];
  /** Whether each column holds numbers (inferred from a sample of rows). */
  numeric: boolean[];
  symbolIndex: number;
  /** The column that paces a real-time replay, if any. */
  timestampIndex?: number;
}

export interface SchemaOptions {
  symbolColumn?: string;
  timestampColumn?: string;
}

/** The index of a named column (by header or field name), or a non-retryable error naming what is there. */
function requireColumn(source: string, columns: string[], fields: string[], what: string, wanted: string): number {
  const byName = columns.findIndex((column) => column.trim() === wanted);
  const index = byName >= 0 ? byName : fields.indexOf(normaliseFieldName(wanted));
  if (index < 0) {
    throw nonRetryable(
      ErrorType.InvalidInput,
      `${source}: no ${what} column '${wanted}'; the header has ${columns.join(', ')}`,
    );
  }
  return index;
}

/**
 * The schema of a file from its header and a sample of its first rows. A
 * column is numeric when more than two thirds of its non-empty sampled values are numbers.
 */
export function inferSchema(
  source: string,
  header: string[],
  sample: string[][],
  options: SchemaOptions = {},
): RowSchema {
  const columns = header.map((column, index) => (index === 0 ? column.replace(/^\uFEFF/, '') : column));
  if (columns.length < 2 || columns.every((column) => column.trim() === '')) {
    throw nonRetryable(
      ErrorType.InvalidInput,
      `${source}: unreadable header ${JSON.stringify(columns)}: expected a first line naming at least two columns`,
    );
  }
  const fields: string[] = [];
  columns.forEach((column, index) => {
    let field = normaliseFieldName(column) || `column_${index + 1}`;
    if ((ENVELOPE_FIELDS as readonly string[]).includes(field)) field = `source_${field}`;
    while (fields.includes(field)) field = `${field}_${index + 1}`;
    fields.push(field);
  });

  let symbolIndex: number;
  if (options.symbolColumn !== undefined) {
    symbolIndex = requireColumn(source, columns, fields, 'symbol', options.symbolColumn);
  } else {
    symbolIndex = fields.findIndex((field) => SYMBOL_COLUMN_CANDIDATES.includes(field));
    if (symbolIndex < 0) {
      throw nonRetryable(
        ErrorType.InvalidInput,
        `${source}: no symbol column: the header (${columns.join(', ')}) has none of ${SYMBOL_COLUMN_CANDIDATES.join(', ')}; name one with the symbol column option`,
      );
    }
  }
  const timestampIndex =
    options.timestampColumn === undefined
      ? undefined
      : requireColumn(source, columns, fields, 'timestamp', options.timestampColumn);

  const numeric = columns.map((_, index) => {
    if (index === symbolIndex || index === timestampIndex) return false;
    const values = sample.filter((row) => row.length === columns.length).map((row) => (row[index] ?? '').trim());
    const present = values.filter((value) => value !== '');
    // Mostly numbers makes a numeric column: the odd bad value in the sample is a bad row, not a text column.
    const numbers = present.filter((value) => NUMBER.test(value)).length;
    return present.length > 0 && numbers / present.length > NUMERIC_SHARE;
  });
  return { columns, fields, numeric, symbolIndex, timestampIndex };
}

/** A row's own fields, by message field name. */
export type RowFields = Record<string, string | number | null>;

export type RowOutcome =
  { ok: true; key: string; fields: RowFields; eventTime?: number } | { ok: false; reason: string };

/** Types one record, or says why it cannot be sent. */
export function convertRow(schema: RowSchema, record: string[]): RowOutcome {
  if (record.length !== schema.columns.length) {
    return { ok: false, reason: `expected ${schema.columns.length} columns, found ${record.length}` };
  }
  const fields: RowFields = {};
  for (let index = 0; index < record.length; index++) {
    const raw = record[index] as string;
    const field = schema.fields[index] as string;
    if (schema.numeric[index]) {
      const value = raw.trim();
      if (value === '') {
        fields[field] = null;
        continue;
      }
      const number = parseNumber(value);
      if (typeof number !== 'number')
        return { ok: false, reason: `column ${schema.columns[index]}: '${raw}' ${number.reason}` };
      fields[field] = number;
    } else {
      fields[field] = raw;
    }
  }
  const key = (record[schema.symbolIndex] as string).trim();
  if (key === '') return { ok: false, reason: `empty symbol in column ${schema.columns[schema.symbolIndex]}` };
  if (schema.timestampIndex === undefined) return { ok: true, key, fields };
  const eventTime = parseEventTime(record[schema.timestampIndex] as string);
  if (eventTime === undefined) {
    return {
      ok: false,
      reason: `column ${schema.columns[schema.timestampIndex]}: '${record[schema.timestampIndex]}' is not a timestamp`,
    };
  }
  return { ok: true, key, fields, eventTime };
}

/** Milliseconds since the epoch from an ISO-8601 date or time, or epoch seconds or milliseconds. */
export function parseEventTime(value: string): number | undefined {
  const text = value.trim();
  if (NUMBER.test(text)) {
    const number = Number(text);
    const millis = number > 1e11 ? number : number * 1000;
    // Beyond ±8.64e15 ms a Date is invalid: such a "timestamp" is no time at all.
    return Math.abs(millis) <= 8.64e15 ? millis : undefined;
  }
  const parsed = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/**
 * The start of a row's message value: its fields' JSON without the closing brace, ready for the envelope
 * (`{"symbol":"A","price":1,`, or `{` for no fields). The replay's parser thread writes it, so the activity's
 * thread only appends what depends on the send (`tickValueCloser`).
 */
export function fieldsHead(fields: RowFields): string {
  const json = JSON.stringify(fields);
  return json === '{}' ? '{' : `${json.slice(0, -1)},`;
}

/**
 * Ends a value that `fieldsHead` started with the envelope stamped at send time:
 * `head + "ts":…,"run_id":…,"seq":N}`. The run id is encoded once, the time once per new time.
 */
export function tickValueCloser(runId: string): (head: string, ts: string, seq: number) => string {
  const tail = `,"run_id":${JSON.stringify(runId)},"seq":`;
  let lastTs: string | undefined;
  let quotedTs = '';
  return (head, ts, seq) => {
    if (ts !== lastTs) {
      lastTs = ts;
      quotedTs = JSON.stringify(ts);
    }
    return `${head}"ts":${quotedTs}${tail}${seq}}`;
  };
}

/**
 * A run's message values: `JSON.stringify({ ...fields, ts, run_id, seq })`, written without copying the
 * fields into a new object per row and with the run id encoded once (a fifth of the cost on the replay's
 * hot path). Field names are clear of the envelope, so the two spell the same JSON. The same bytes as
 * `tickValueCloser(runId)(fieldsHead(fields), ts, seq)`, which it is.
 */
export function tickValueEncoder(runId: string): (fields: RowFields, ts: string, seq: number) => string {
  const close = tickValueCloser(runId);
  return (fields, ts, seq) => close(fieldsHead(fields), ts, seq);
}

/**
 * A row converted for sending: its key, the start of its value (`fieldsHead`) and its event time (for
 * pacing), or why it is rejected with its text as written (line end dropped).
 */
export type ConvertedRow =
  { ok: true; key: string; head: string; eventTime?: number } | { ok: false; reason: string; raw: string };

/** `convertRow` with the value's head encoded: what the replay's parser thread hands the activity. */
export function convertForSending(schema: RowSchema, record: string[], raw: string): ConvertedRow {
  const outcome = convertRow(schema, record);
  if (!outcome.ok) return { ok: false, reason: outcome.reason, raw: raw.replace(/\r?\n?$/, '') };
  return { ok: true, key: outcome.key, head: fieldsHead(outcome.fields), eventTime: outcome.eventTime };
}

/** The time now as ISO-8601, formatted once per millisecond however many rows ask within it. */
export function isoClock(): () => string {
  let at = Number.NaN;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      text = new Date(now).toISOString();
    }
    return text;
  };
}
