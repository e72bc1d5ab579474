import { flushState } from '../../activities/pipeline';
import { emptyTotals, type ConsumerProgress, type ConsumerStatus, type PartitionStatus } from '../../lib/contracts';

const status = (partition: number, highWatermark: number, lag: number, buffered: number): PartitionStatus => ({
  partition,
  committed: highWatermark - lag,
  highWatermark,
  lag,
  buffered,
  member: 0,
  reportedAt: '2026-01-01T00:00:00.000Z',
});

const progress = (partitions: PartitionStatus[], status: ConsumerStatus = 'running'): ConsumerProgress => ({
  topic: 't',
  groupId: 'g',
  status,
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
  expect(flushState(progress([status(0, 100, 0, 0), status(1, 60, 0, 0)]), targets)).toBe('flushed');
  // A consumer stopped after writing everything has flushed all the same.
  expect(flushState(progress([status(0, 100, 0, 0), status(1, 60, 0, 0)], 'stopped'), targets)).toBe('flushed');
});

test('not flushed while a partition lags, holds unwritten records, reports an older end, or has not reported', () => {
  expect(flushState(progress([status(0, 100, 3, 0), status(1, 50, 0, 0)]), targets)).toBe('waiting');
  expect(flushState(progress([status(0, 100, 0, 12), status(1, 50, 0, 0)]), targets)).toBe('waiting');
  expect(flushState(progress([status(0, 90, 0, 0), status(1, 50, 0, 0)]), targets)).toBe('waiting');
  expect(flushState(progress([status(0, 100, 0, 0)]), targets)).toBe('waiting');
});

test('a consumer stopped or failed before flushing never will; a paused one may', () => {
  const behind = [status(0, 100, 3, 0), status(1, 50, 0, 0)];
  expect(flushState(progress(behind, 'stopped'), targets)).toBe('stopped');
  expect(flushState(progress(behind, 'failed'), targets)).toBe('stopped');
  expect(flushState(progress(behind, 'paused'), targets)).toBe('waiting');
});
