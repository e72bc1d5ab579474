import { isUtf8 } from 'node:buffer';

/**
 * The data lake's layout and the rules a Kafka record must pass to enter it.
 * Pure functions: the consumer activity, tests and (later) the crawler share them.
 */

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

/**
 * The partition parameter compactWorkflow sets on an hour it published as Parquet: the fingerprint of the raw
 * objects it was made from. An hour with it reads curated/, one without reads raw/.
 */
export const COMPACTED_SOURCE = 'ticksync.compacted.source';

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

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
  /** A valid record i's JSON Lines line (without the newline) is `chunk[starts[i], starts[i] + lengths[i])`. */
  chunk: Buffer;
  starts: Uint32Array;
  lengths: Uint32Array;
  /** Each record's event time (ms); NaN for a refused one. */
  eventTimes: Float64Array;
  /** Why each refused record, by index, was refused (as checkRecord says). */
  reasons: Map<number, string>;
}

/**
 * The most values parsed as one array: a bad value among them (which sends them one by one) costs at most this
 * many values' second check.
 */
const LONGEST_RUN = 256;

/**
 * checkRecord over a batch, with the same verdicts and lines, at about a third less CPU: runs of values are parsed
 * as one JSON array, with no per-value decoding, UTF-8 check or parser call.
 *
 * The values are laid out as `v1,<TAB>v2,<TAB>…`, so a run of them bracketed is a JSON array. Its elements are
 * exactly the values' own parses when each value is `{…}` with no `[` in it and the array has as many elements as
 * values: a raw TAB may not stand inside a JSON string, so no separator is inside a string; with no array but the
 * outer one, a separator nested deeper would follow a member of an object, where `,` must be followed by a key,
 * not the next value's `{`; so each of the n−1 separators divides two elements, and with exactly n elements no
 * value holds a second one. JSON is context-free, so each element parses as its value alone; and the run is valid
 * UTF-8 exactly when each value is, the separators being ASCII. Values that are not `{…}` or hold a `[` or a line
 * break (whose line is rewritten) are checked alone, and so is every value of a run that is not such an array.
 */
export function checkRecords(values: readonly (Buffer | null)[], maxBytes: number): CheckedBatch {
  const count = values.length;
  const starts = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  const eventTimes = new Float64Array(count).fill(NaN);
  const reasons = new Map<number, string>();
  const joinable = new Uint8Array(count);
  // A first byte for a run's `[`; each value's separator then holds the `]` of a run ending there, or the `[` of
  // one starting after it.
  // A value too large for the lake is refused without being copied.
  const copied = (value: Buffer | null | undefined): value is Buffer => !!value && !(value.length > maxBytes);
  let size = 1;
  for (const value of values) if (copied(value)) size += value.length + 2;
  const chunk = Buffer.allocUnsafe(size);
  let at = 1;
  for (let index = 0; index < count; index++) {
    const value = values[index];
    starts[index] = at;
    if (!copied(value)) continue;
    chunk.set(value, at);
    at += value.length;
    lengths[index] = value.length;
    chunk[at++] = COMMA;
    chunk[at++] = TAB;
    joinable[index] = Number(value[0] === OPEN_OBJECT && value[value.length - 1] === CLOSE_OBJECT);
  }
  // One search of the whole chunk per byte: usually none is found.
  for (const byte of [LF, CR, OPEN_ARRAY]) {
    for (let hit = chunk.indexOf(byte, 1); hit !== -1;) {
      const index = valueAt(starts, hit);
      joinable[index] = 0;
      hit = chunk.indexOf(byte, (starts[index] as number) + (lengths[index] as number));
    }
  }

  const rewritten: { index: number; line: Buffer }[] = [];
  const checkAlone = (index: number) => {
    const value = values[index] ?? null;
    const check = checkRecord(value, maxBytes);
    if (!check.ok) reasons.set(index, check.reason);
    else {
      eventTimes[index] = check.eventTime;
      if (check.line !== value) rewritten.push({ index, line: check.line });
    }
  };
  /** Checks values [from, to) as one array, or one by one when they are not one. */
  const checkRun = (from: number, to: number) => {
    const open = (starts[from] as number) - 1;
    const close = (starts[to - 1] as number) + (lengths[to - 1] as number);
    chunk[open] = OPEN_ARRAY;
    chunk[close] = CLOSE_ARRAY;
    let parsed: unknown;
    if (isUtf8(chunk.subarray(open, close))) {
      try {
        parsed = JSON.parse(chunk.toString('utf8', open, close + 1));
      } catch {
        // One by one, below.
      }
    }
    if (!Array.isArray(parsed) || parsed.length !== to - from) {
      for (let index = from; index < to; index++) checkAlone(index);
      return;
    }
    for (let index = from; index < to; index++) {
      const eventTime = envelopeTime(parsed[index - from]);
      if (typeof eventTime === 'string') reasons.set(index, eventTime);
      else eventTimes[index] = eventTime;
    }
  };
  for (let index = 0; index < count;) {
    if (!joinable[index]) {
      checkAlone(index++);
      continue;
    }
    const from = index;
    while (index < count && joinable[index] && index - from < LONGEST_RUN) index++;
    checkRun(from, index);
  }

  if (rewritten.length === 0) return { chunk, starts, lengths, eventTimes, reasons };
  // Values spread over lines, re-serialised on one: their lines go after the values.
  const laidOut = at;
  for (const { index, line } of rewritten) {
    starts[index] = at;
    lengths[index] = line.length;
    at += line.length;
  }
  return {
    chunk: Buffer.concat([chunk.subarray(0, laidOut), ...rewritten.map(({ line }) => line)], at),
    starts,
    lengths,
    eventTimes,
    reasons,
  };
}

/** The index of the value whose bytes (or separator) hold a position of the chunk: the last start at or before it. */
function valueAt(starts: Uint32Array, position: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if ((starts[middle] as number) <= position) low = middle;
    else high = middle - 1;
  }
  return low;
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
