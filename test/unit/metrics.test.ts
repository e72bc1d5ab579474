import { parsePrometheusText, sumSamples } from '../../lib/metrics';

const TEXT = `# HELP ticksync_replay_rows_sent_total Rows
# TYPE ticksync_replay_rows_sent_total counter
ticksync_replay_rows_sent_total{task_queue="q",topic="ticks"} 12
ticksync_replay_rows_sent_total{task_queue="q",topic="other"} 3
ticksync_consumer_lag_records{partition="0",topic="ticks"} 0
ticksync_flush_duration_seconds_bucket{topic="ticks",le="+Inf"} 4
up 1 1700000000000
label_escapes{path="a\\"b\\\\c",line="x\\ny"} NaN
`;

test('parses samples with labels, escapes, timestamps and special values', () => {
  const samples = parsePrometheusText(TEXT);
  expect(samples).toHaveLength(6);
  expect(samples[0]).toEqual({
    name: 'ticksync_replay_rows_sent_total',
    labels: { task_queue: 'q', topic: 'ticks' },
    value: 12,
  });
  expect(samples[3]).toMatchObject({ labels: { le: '+Inf' }, value: 4 });
  expect(samples[4]).toEqual({ name: 'up', labels: {}, value: 1 });
  expect(samples[5]?.labels).toEqual({ path: 'a"b\\c', line: 'x\ny' });
  expect(samples[5]?.value).toBeNaN();
});

test('sums the samples of a name whose labels include the ones asked for', () => {
  const samples = parsePrometheusText(TEXT);
  expect(sumSamples(samples, 'ticksync_replay_rows_sent_total')).toBe(15);
  expect(sumSamples(samples, 'ticksync_replay_rows_sent_total', { topic: 'ticks' })).toBe(12);
  expect(sumSamples(samples, 'ticksync_replay_rows_sent_total', { topic: 'none' })).toBe(0);
});

test.each([
  ['a value that is not a number', 'metric{a="b"} twelve', /line 1 is not a Prometheus sample/],
  ['an unterminated label value', 'metric{a="b} 1', /line 1 has malformed labels/],
  ['a name starting with a digit', '1metric 1', /line 1 is not a Prometheus sample/],
  ['labels without quotes', 'ok 1\nmetric{a=b} 1', /line 2 has malformed labels/],
])('refuses %s, naming the line', (_, text, message) => {
  expect(() => parsePrometheusText(text)).toThrow(message);
});
