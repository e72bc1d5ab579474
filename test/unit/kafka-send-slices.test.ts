import { SEND_SLICE_BYTES, SEND_SLICE_RECORDS, sendSlices } from '../../lib/kafka/kafkajs';
import type { OutgoingMessage } from '../../lib/kafka/types';

const bytesOf = (slice: OutgoingMessage[]) =>
  slice.reduce(
    (sum, { key, value }) => sum + (key ? Buffer.byteLength(key) : 0) + (value ? Buffer.byteLength(value) : 0),
    0,
  );

describe("kafkajs sends cut to the broker's batch limit", () => {
  it('keeps every message once, in order, in slices of at most the record and byte limits', () => {
    const messages = Array.from({ length: 12_345 }, (_, i) => ({
      key: `k${i % 500}`,
      value: `${i}:${'x'.repeat(160)}`,
    }));
    const slices = sendSlices(messages);
    expect(slices.flat()).toEqual(messages);
    for (const slice of slices) {
      expect(slice.length).toBeLessThanOrEqual(SEND_SLICE_RECORDS);
      expect(bytesOf(slice)).toBeLessThanOrEqual(SEND_SLICE_BYTES);
    }
    // 12,345 records of ~170 bytes, 2.1 MB: cut by bytes (about 3,000 a slice), not by count.
    expect(slices.length).toBe(Math.ceil(bytesOf(messages) / SEND_SLICE_BYTES));
  });

  it('cuts small records by count, and leaves a send within both limits whole', () => {
    const small = Array.from({ length: 2 * SEND_SLICE_RECORDS + 1 }, (_, i) => ({ value: String(i) }));
    expect(sendSlices(small).map((slice) => slice.length)).toEqual([SEND_SLICE_RECORDS, SEND_SLICE_RECORDS, 1]);
    const few = small.slice(0, 10);
    expect(sendSlices(few)).toEqual([few]);
    expect(sendSlices([])).toEqual([]);
  });

  it('counts bytes, not characters, and headers too; a record over the limit goes alone, for the broker to refuse', () => {
    const wide = 'é'.repeat(SEND_SLICE_BYTES / 4); // half the limit in UTF-8 bytes
    expect(sendSlices([{ value: wide }, { value: wide }, { value: 'a' }]).map((slice) => slice.length)).toEqual([2, 1]);
    const headed = { value: 'v', headers: { trace: Buffer.alloc(SEND_SLICE_BYTES / 2) } };
    expect(sendSlices([headed, headed, headed]).map((slice) => slice.length)).toEqual([1, 1, 1]);
    const huge = { value: Buffer.alloc(SEND_SLICE_BYTES * 3) };
    expect(sendSlices([{ value: 'a' }, huge, { value: 'b' }])).toEqual([[{ value: 'a' }], [huge], [{ value: 'b' }]]);
    expect(sendSlices([{ key: null, value: null }])).toEqual([[{ key: null, value: null }]]);
  });
});
