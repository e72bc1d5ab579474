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
  const text = value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    return { ok: false, reason: `expected a JSON object, got ${got}` };
  }
  const record = parsed as Record<string, unknown>;
  const { ts, run_id: runId, seq } = record;
  if (ts === undefined) return { ok: false, reason: 'missing envelope field ts' };
  const eventTime = typeof ts === 'string' && ISO_TIMESTAMP.test(ts) ? Date.parse(ts) : NaN;
  if (Number.isNaN(eventTime)) {
    return { ok: false, reason: `envelope field ts: expected an ISO-8601 time with a zone, got ${JSON.stringify(ts)}` };
  }
  if (runId === undefined) return { ok: false, reason: 'missing envelope field run_id' };
  if (typeof runId !== 'string' || runId === '') {
    return { ok: false, reason: `envelope field run_id: expected a non-empty string, got ${JSON.stringify(runId)}` };
  }
  if (seq === undefined) return { ok: false, reason: 'missing envelope field seq' };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return { ok: false, reason: `envelope field seq: expected a positive integer, got ${JSON.stringify(seq)}` };
  }
  // JSON may span lines; a JSON Lines line may not. (Both searches are memchr: cheaper than a regular expression.)
  const multiline = value.includes(0x0a) || value.includes(0x0d);
  return { ok: true, line: multiline ? Buffer.from(JSON.stringify(record)) : value, eventTime };
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
