import { isUtf8 } from 'node:buffer';

/**
 * The data lake's layout and the rules a Kafka record must pass to enter it.
 * Pure functions: the consumer activity, tests and (later) the crawler share them.
 */

const hourNames = new Map<number, string>();

/** Hive-style partition of an event time, in UTC: `dt=YYYY-MM-DD/hour=HH`. */
export function hourPartition(epochMs: number): string {
  // Called per record: the few hours a stream spans are formatted once each.
  const hour = Math.floor(epochMs / 3_600_000);
  let name = hourNames.get(hour);
  if (name === undefined) {
    const iso = new Date(hour * 3_600_000).toISOString();
    name = `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
    if (hourNames.size >= 10_000) hourNames.clear();
    hourNames.set(hour, name);
  }
  return name;
}

/** `raw/<topic>/dt=…/hour=…/<topic>+<partition>+<startOffset>.jsonl.gz` (and the same shape under dlq/). */
export function objectKey(prefix: string, topic: string, hour: string, partition: number, startOffset: string): string {
  return `${prefix}${topic}/${hour}/${topic}+${partition}+${startOffset}.jsonl.gz`;
}

/**
 * The segment manifest at a chain position. Offsets are zero-padded so a
 * listing sorts in offset order.
 */
export function manifestKey(prefix: string, topic: string, partition: number, offset: string): string {
  return `${prefix}${topic}/${partition}/${offset.padStart(20, '0')}.json`;
}

/** An ISO-8601 date-time with a zone, as the envelope's `ts` is written. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export type RecordCheck =
  | {
      ok: true;
      /** One JSON Lines line, without the newline: the value itself unless it spans lines. */
      line: Buffer;
      eventTime: number;
    }
  | { ok: false; reason: string };

/**
 * A record enters `raw/` if its value is a JSON object of at most `maxBytes`
 * bytes carrying the envelope: `ts` (ISO-8601 with a zone), `run_id` (a
 * non-empty string) and `seq` (a positive integer).
 */
export function checkRecord(value: Buffer | null, maxBytes: number): RecordCheck {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty value' };
  if (value.length > maxBytes) return { ok: false, reason: `value of ${value.length} bytes exceeds ${maxBytes}` };
  if (!isUtf8(value)) return { ok: false, reason: 'value is not valid UTF-8' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const eventTime = envelopeTime(parsed);
  if (typeof eventTime === 'string') return { ok: false, reason: eventTime };
  // JSON may span lines; a JSON Lines line may not. (Both searches are memchr: cheaper than a regular expression.)
  const multiline = value.includes(LF) || value.includes(CR);
  return { ok: true, line: multiline ? Buffer.from(JSON.stringify(parsed)) : value, eventTime };
}

/** The event time (ms) of a parsed value that is an object carrying the envelope, or why it is refused. */
function envelopeTime(parsed: unknown): number | string {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    return `expected a JSON object, got ${got}`;
  }
  const { ts, run_id: runId, seq } = parsed as Record<string, unknown>;
  if (ts === undefined) return 'missing envelope field ts';
  const eventTime = typeof ts === 'string' && ISO_TIMESTAMP.test(ts) ? Date.parse(ts) : NaN;
  if (Number.isNaN(eventTime)) {
    return `envelope field ts: expected an ISO-8601 time with a zone, got ${JSON.stringify(ts)}`;
  }
  if (runId === undefined) return 'missing envelope field run_id';
  if (typeof runId !== 'string' || runId === '') {
    return `envelope field run_id: expected a non-empty string, got ${JSON.stringify(runId)}`;
  }
  if (seq === undefined) return 'missing envelope field seq';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return `envelope field seq: expected a positive integer, got ${JSON.stringify(seq)}`;
  }
  return eventTime;
}

/** A batch of records checked together: where each valid record's line is, and why the others were refused. */
export interface CheckedBatch {
  /** Record i's JSON Lines line (without the newline) is `chunk[starts[i], starts[i] + lengths[i])`. */
  chunk: Buffer;
  starts: Uint32Array;
  lengths: Uint32Array;
  /** Each record's event time (ms); NaN for a refused one. */
  eventTimes: Float64Array;
  /** Why each refused record, by index, was refused (as checkRecord says). */
  reasons: Map<number, string>;
}

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * checkRecord over a batch, with the same verdicts. The lines of the batch's valid records share one chunk: a
 * buffered record then holds only its batch's bytes, not the (larger) buffer the values were read from.
 */
export function checkRecords(values: readonly (Buffer | null)[], maxBytes: number): CheckedBatch {
  return checkAsOneArray(values, maxBytes) ?? checkOneByOne(values, maxBytes);
}

/**
 * The common case at a third less CPU than one by one (no per-record decoding, UTF-8 check or parser call): the
 * values are copied into one JSON array, `[v1,<TAB>v2,<TAB>…]`, checked and parsed at once. That array's elements
 * are exactly the values when every value starts with `{` and ends with `}`, none holds a line break or `[`,
 * and the array parses to as many elements as there are values. Why: a raw TAB may not stand inside a JSON
 * string, so no separator is inside a string; with no nested arrays, a separator nested deeper than the outer
 * array would stand after a member of an object, where `,` must be followed by a key, not the next value's `{`;
 * so every separator divides two elements, and with exactly n elements no value holds more than one. Anything
 * else (an invalid value, arrays, JSON over several lines) returns undefined: checked one by one instead.
 */
function checkAsOneArray(values: readonly (Buffer | null)[], maxBytes: number): CheckedBatch | undefined {
  const count = values.length;
  let size = 1;
  for (const value of values) {
    if (
      value === null ||
      value.length > maxBytes ||
      value[0] !== OPEN_OBJECT ||
      value[value.length - 1] !== CLOSE_OBJECT
    )
      return undefined;
    size += value.length + 2;
  }
  if (count === 0) return undefined;
  const chunk = Buffer.allocUnsafe(size);
  const starts = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  chunk[0] = OPEN_ARRAY;
  let at = 1;
  for (let index = 0; index < count; index++) {
    const value = values[index] as Buffer;
    starts[index] = at;
    lengths[index] = value.length;
    chunk.set(value, at);
    at += value.length;
    chunk[at++] = COMMA;
    chunk[at++] = TAB;
  }
  chunk[size - 2] = CLOSE_ARRAY;
  if (chunk.indexOf(LF) !== -1 || chunk.indexOf(CR) !== -1 || chunk.indexOf(OPEN_ARRAY, 1) !== -1) return undefined;
  if (!isUtf8(chunk)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(chunk.toString('utf8', 0, size - 1));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== count) return undefined;
  const eventTimes = new Float64Array(count);
  const reasons = new Map<number, string>();
  for (let index = 0; index < count; index++) {
    const eventTime = envelopeTime(parsed[index]);
    if (typeof eventTime === 'string') {
      reasons.set(index, eventTime);
      eventTimes[index] = NaN;
    } else eventTimes[index] = eventTime;
  }
  return { chunk, starts, lengths, eventTimes, reasons };
}

function checkOneByOne(values: readonly (Buffer | null)[], maxBytes: number): CheckedBatch {
  const count = values.length;
  const lines: Buffer[] = [];
  const starts = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  const eventTimes = new Float64Array(count);
  const reasons = new Map<number, string>();
  let at = 0;
  for (let index = 0; index < count; index++) {
    const check = checkRecord(values[index] ?? null, maxBytes);
    starts[index] = at;
    if (check.ok) {
      lines.push(check.line);
      lengths[index] = check.line.length;
      eventTimes[index] = check.eventTime;
      at += check.line.length;
    } else {
      reasons.set(index, check.reason);
      eventTimes[index] = NaN;
    }
  }
  return { chunk: Buffer.concat(lines, at), starts, lengths, eventTimes, reasons };
}

/** A dead letter: where the record was, what it held and why it was refused. */
export function deadLetterLine(
  topic: string,
  partition: number,
  offset: string,
  timestamp: string,
  key: Buffer | null,
  value: Buffer | null,
  reason: string,
): string {
  const text = value?.toString('utf8');
  const utf8 = value !== null && isUtf8(value);
  return JSON.stringify({
    topic,
    partition,
    offset: Number(offset),
    timestamp: new Date(Number(timestamp)).toISOString(),
    key: key?.toString('utf8') ?? null,
    reason,
    ...(value === null ? { value: null } : utf8 ? { value: text } : { value_base64: value.toString('base64') }),
  });
}

/**
 * How many of a partition's buffered records (from its chain position on) the next segment takes: all of
 * them up to the record and byte limits, at least one. With `onlyWhole` (an S3 server that may overwrite), only
 * a segment that reached a limit, so any writer starting at the same position ends it at the same record;
 * 0 while the buffer holds less.
 */
export function segmentLength(
  records: readonly { bytes: number }[],
  limits: { maxRecords: number; maxBytes: number },
  onlyWhole: boolean,
): number {
  let bytes = 0;
  let count = 0;
  for (const record of records) {
    if (count >= limits.maxRecords || (count > 0 && bytes + record.bytes > limits.maxBytes)) break;
    bytes += record.bytes;
    count += 1;
  }
  // A segment reached its byte limit when the next record did not fit (or it filled the limit exactly).
  const whole = count >= limits.maxRecords || count < records.length || bytes >= limits.maxBytes;
  return onlyWhole && !whole ? 0 : count;
}
