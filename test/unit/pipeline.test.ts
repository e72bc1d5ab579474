import { hasFlushed } from '../../activities/pipeline';
import { emptyTotals, type ConsumerProgress, type PartitionStatus } from '../../lib/types';

const status = (partition: number, highWatermark: number, lag: number, buffered: number): PartitionStatus => ({
  partition,
  committed: highWatermark - lag,
  highWatermark,
  lag,
  buffered,
  member: 0,
  reportedAt: '2026-01-01T00:00:00.000Z',
});

const progress = (partitions: PartitionStatus[]): ConsumerProgress => ({
  topic: 't',
  groupId: 'g',
  status: 'running',
  members: 1,
  totals: emptyTotals(),
  partitions,
  lag: 0,
  buffered: 0,
  runs: 1,
});

const targets = [
  { partition: 0, endOffset: 100 },
  { partition: 1, endOffset: 50 },
];

test('flushed once every target partition reached its end offset with nothing unwritten', () => {
  expect(hasFlushed(progress([status(0, 100, 0, 0), status(1, 60, 0, 0)]), targets)).toBe(true);
});

test('not flushed while a partition lags, holds unwritten records, reports an older end, or has not reported', () => {
  expect(hasFlushed(progress([status(0, 100, 3, 0), status(1, 50, 0, 0)]), targets)).toBe(false);
  expect(hasFlushed(progress([status(0, 100, 0, 12), status(1, 50, 0, 0)]), targets)).toBe(false);
  expect(hasFlushed(progress([status(0, 90, 0, 0), status(1, 50, 0, 0)]), targets)).toBe(false);
  expect(hasFlushed(progress([status(0, 100, 0, 0)]), targets)).toBe(false);
});
