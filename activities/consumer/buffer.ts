import type { EachBatchPayload } from '../../lib/kafka';
import { hourPartition } from '../../lib/hour-keys';
import { checkRecords, deadLetterLine } from '../../lib/lake';
import type { FlushPolicy } from '../../lib/contracts';
import type { Manifest } from './manifest';

/** A record read and not yet written: a valid one (raw/) or a dead letter (dlq/). */
export interface BufferedRecord {
  offset: number;
  valid: boolean;
  /**
   * Its JSON Lines line, `chunk[start, start + length)`: the valid records of one batch share a chunk (lib/lake.ts
   * checkRecords), a dead letter has its own.
   */
  chunk: Buffer;
  start: number;
  length: number;
  hour: string;
  /** Bytes of the record's value: what the flush policy and the buffered-bytes limit count. */
  bytes: number;
  /** When it was fetched (ms). */
  arrived: number;
}

/**
 * One partition's records read and not yet in S3, and where its segment chain stands. Pure: no I/O, no clock
 * (callers pass the time).
 */
export class PartitionBuffer {
  /** The chain position: where the next segment starts. Everything before it is in S3. */
  next: number;
  /** The last offset buffered (next - 1 when nothing is). */
  last: number;
  records: BufferedRecord[] = [];
  bytes = 0;
  /** A segment another writer claimed that reaches past what we have read: we read on to its end. */
  adopted?: Manifest;
  /** The group's committed offset as far as this member knows. */
  committed: number;
  /** Where the partition ends. */
  highWatermark: number;
  lastFlushAt?: number;

  constructor(
    readonly partition: number,
    next: number,
    highWatermark: number,
  ) {
    this.next = next;
    this.last = next - 1;
    this.committed = next;
    this.highWatermark = highWatermark;
  }

  /** Appends a record; records arrive in offset order, past `last`. */
  append(record: BufferedRecord): void {
    if (record.offset <= this.last) {
      throw new Error(`partition ${this.partition}: offset ${record.offset} appended after ${this.last}`);
    }
    this.records.push(record);
    this.bytes += record.bytes;
    this.last = record.offset;
  }

  /**
   * Whether a segment is due now: the count or byte limit is reached, the oldest record is `maxAgeMs` old, a
   * claimed segment is being read on to, or (with `upTo`) a record up to that offset is held.
   */
  isDue(flush: FlushPolicy, now: number, upTo?: number): boolean {
    const oldest = this.records[0];
    if (oldest === undefined) return false;
    return (
      (upTo !== undefined && oldest.offset <= upTo) ||
      this.adopted !== undefined ||
      this.records.length >= flush.maxRecords ||
      this.bytes >= flush.maxBytes ||
      now - oldest.arrived >= flush.maxAgeMs
    );
  }

  /** The records up to offset `end`. */
  through(end: number): BufferedRecord[] {
    let length = this.records.findIndex((record) => record.offset > end);
    if (length === -1) length = this.records.length;
    return this.records.slice(0, length);
  }

  /** Moves the chain position past a segment that is in S3 (ending at `end`), dropping its records. */
  skipThrough(end: number): void {
    let length = 0;
    for (const record of this.records) {
      if (record.offset > end) break;
      this.bytes -= record.bytes;
      length += 1;
    }
    this.records = this.records.slice(length);
    this.last = Math.max(this.last, end);
    this.next = end + 1;
    this.adopted = undefined;
  }
}

/**
 * Checks a fetched batch's records past what the buffer holds (a batch is in offset order) and appends them:
 * valid ones sharing one chunk, the others as dead letters (reported through `onDeadLetter`).
 */
export function appendBatch(
  buffer: PartitionBuffer,
  batch: EachBatchPayload['batch'],
  options: { topic: string; maxRecordBytes: number; now: number },
  onDeadLetter: (offset: number, reason: string) => void,
): void {
  const first = batch.messages.findIndex((message) => Number(message.offset) > buffer.last);
  const messages = first === -1 ? [] : batch.messages.slice(first);
  const checked = checkRecords(
    messages.map((message) => message.value),
    options.maxRecordBytes,
  );
  const arrived = options.now;
  messages.forEach((message, index) => {
    const offset = Number(message.offset);
    const bytes = message.value?.length ?? 0;
    const reason = checked.reasons.get(index);
    if (reason === undefined) {
      const start = checked.starts[index] as number;
      const length = checked.lengths[index] as number;
      const hour = hourPartition(checked.eventTimes[index] as number);
      buffer.append({ offset, valid: true, chunk: checked.chunk, start, length, hour, bytes, arrived });
      return;
    }
    onDeadLetter(offset, reason);
    const line = Buffer.from(
      deadLetterLine(
        options.topic,
        batch.partition,
        message.offset,
        message.timestamp,
        message.key,
        message.value,
        reason,
      ),
    );
    const hour = hourPartition(Number(message.timestamp));
    buffer.append({ offset, valid: false, chunk: line, start: 0, length: line.length, hour, bytes, arrived });
  });
  buffer.highWatermark = Number(batch.highWatermark);
}
