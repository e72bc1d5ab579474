import { appendBatch, PartitionBuffer, type BufferedRecord } from '../../activities/consumer/buffer';
import type { Manifest } from '../../activities/consumer/manifest';

const flush = { maxRecords: 3, maxBytes: 100, maxAgeMs: 1_000 };
const T0 = Date.parse('2026-03-01T10:00:00Z');

/** A batch of partition 0 with one record per value (null: a record that is not JSON). */
function batch(firstOffset: number, values: (number | null)[], highWatermark = firstOffset + values.length) {
  return {
    topic: 'ticks',
    partition: 0,
    highWatermark: String(highWatermark),
    lastOffset: String(firstOffset + values.length - 1),
    messages: values.map((seq, index) => ({
      key: null,
      value: Buffer.from(
        seq === null ? 'not json' : JSON.stringify({ ts: new Date(T0 + seq * 60_000).toISOString(), run_id: 'r', seq }),
      ),
      offset: String(firstOffset + index),
      timestamp: String(T0),
    })),
  };
}

function filled(values: (number | null)[], now = T0) {
  const buffer = new PartitionBuffer(0, 10, 10);
  appendBatch(buffer, batch(10, values), { topic: 'ticks', maxRecordBytes: 1 << 20, now }, () => undefined);
  return buffer;
}

describe('partition buffer triggers', () => {
  test('an empty buffer is never due, whatever the time', () => {
    const buffer = new PartitionBuffer(0, 10, 10);
    expect(buffer.isDue(flush, T0 + 1e9, 100)).toBe(false);
    expect(buffer).toMatchObject({ next: 10, last: 9, committed: 10, bytes: 0 });
  });

  test('the count trigger fires at maxRecords records, not before', () => {
    expect(filled([1, 2]).isDue({ ...flush, maxBytes: 1e9 }, T0)).toBe(false);
    expect(filled([1, 2, 3]).isDue({ ...flush, maxBytes: 1e9 }, T0)).toBe(true);
  });

  test('the size trigger counts the values bytes and fires at maxBytes', () => {
    const buffer = filled([1, 2]);
    const bytes = buffer.bytes;
    expect(bytes).toBe(buffer.records.reduce((sum, record) => sum + record.bytes, 0));
    expect(buffer.isDue({ ...flush, maxRecords: 100, maxBytes: bytes + 1 }, T0)).toBe(false);
    expect(buffer.isDue({ ...flush, maxRecords: 100, maxBytes: bytes }, T0)).toBe(true);
  });

  test('the age trigger fires when the oldest record is maxAgeMs old', () => {
    const buffer = filled([1], T0);
    appendBatch(buffer, batch(11, [2]), { topic: 'ticks', maxRecordBytes: 1 << 20, now: T0 + 900 }, () => undefined);
    const limits = { ...flush, maxRecords: 100, maxBytes: 1e9 };
    expect(buffer.isDue(limits, T0 + 999)).toBe(false);
    expect(buffer.isDue(limits, T0 + 1_000)).toBe(true); // the oldest (T0) decides, not the newest
  });

  test('upTo makes a buffer due only while it holds a record up to that offset', () => {
    const buffer = filled([1, 2]);
    const limits = { ...flush, maxRecords: 100, maxBytes: 1e9 };
    expect(buffer.isDue(limits, T0, 9)).toBe(false);
    expect(buffer.isDue(limits, T0, 10)).toBe(true);
  });

  test('a segment being read on to (adopted) keeps the buffer due', () => {
    const buffer = filled([1]);
    expect(buffer.isDue({ ...flush, maxRecords: 100, maxBytes: 1e9 }, T0)).toBe(false);
    buffer.adopted = { end: 20 } as Manifest;
    expect(buffer.isDue({ ...flush, maxRecords: 100, maxBytes: 1e9 }, T0)).toBe(true);
  });

  test('skipThrough drops exactly the records up to the end and moves the chain position', () => {
    const buffer = filled([1, 2, 3, 4]);
    const kept = buffer.records[2]?.bytes ?? 0;
    const kept2 = buffer.records[3]?.bytes ?? 0;
    buffer.adopted = { end: 11 } as Manifest;
    buffer.skipThrough(11);
    expect(buffer.records.map((record) => record.offset)).toEqual([12, 13]);
    expect(buffer).toMatchObject({ next: 12, last: 13, bytes: kept + kept2, adopted: undefined });
    // A segment past what was read (another writer's): the position jumps, nothing is left.
    buffer.skipThrough(20);
    expect(buffer).toMatchObject({ next: 21, last: 20, bytes: 0, records: [] });
  });
});

describe('taking a batch', () => {
  test('skips what is already buffered, dead-letters what is not a record, keeps the end offset', () => {
    const buffer = filled([1, 2]);
    const dead: [number, string][] = [];
    appendBatch(
      buffer,
      batch(11, [2, null, 4], 40),
      { topic: 'ticks', maxRecordBytes: 1 << 20, now: T0 },
      (offset, reason) => dead.push([offset, reason]),
    );
    expect(buffer.records.map((record) => [record.offset, record.valid])).toEqual([
      [10, true],
      [11, true],
      [12, false],
      [13, true],
    ]);
    expect(dead.map(([offset]) => offset)).toEqual([12]);
    expect(buffer).toMatchObject({ last: 13, highWatermark: 40 });
    const line = (index: number) => {
      const record = buffer.records[index];
      return record ? JSON.parse(record.chunk.subarray(record.start, record.start + record.length).toString()) : null;
    };
    expect(line(0)).toMatchObject({ seq: 1 });
    expect(line(2)).toMatchObject({ offset: 12, value: 'not json', partition: 0 });
    expect(buffer.records[0]?.hour).toBe('dt=2026-03-01/hour=10');
  });

  test('an offset at or below the last one buffered is refused', () => {
    const buffer = filled([1]);
    expect(() => buffer.append({ ...(buffer.records[0] as BufferedRecord), offset: 10 })).toThrow(
      /offset 10 appended after 10/,
    );
  });
});
