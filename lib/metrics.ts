import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter } from '@temporalio/common';

/**
 * TickSync's Prometheus metrics. They are registered on the Temporal runtime's
 * metric meter, so each worker's one `/metrics` endpoint (the SDK's Prometheus
 * exporter, see workers/run-worker.ts) serves them beside the SDK's own
 * `temporal_*` metrics. docs/OPERATIONS.md lists them.
 */

/** Histogram buckets, in seconds, by what they time (the exporter's defaults suit request latencies). */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  ticksync_flush_duration_seconds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ticksync_crawl_duration_seconds: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
  ticksync_query_duration_seconds: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
};

export interface TickSyncMetrics {
  /** Replay: rows committed to the topic, and rows sent to the rejects topic. Labels: topic. */
  replayRowsSent: MetricCounter;
  replayRowsRejected: MetricCounter;
  /** Consumer: records written under raw/ and dlq/ (labels topic, partition), objects and bytes (topic). */
  recordsWritten: MetricCounter;
  deadLetters: MetricCounter;
  segmentsCommitted: MetricCounter;
  objectsWritten: MetricCounter;
  bytesWritten: MetricCounter;
  /** A segment from its claim to its offset commit. Label: topic. */
  flushDuration: MetricHistogram;
  /** Per partition, as the member that owns it last reported. Labels: topic, partition. */
  consumerLag: MetricGauge;
  bufferedRecords: MetricGauge;
  lastFlushTimestamp: MetricGauge;
  /** Crawls seen to finish (label crawler, status SUCCEEDED/FAILED/CANCELLED) and their run time. */
  crawls: MetricCounter;
  crawlDuration: MetricHistogram;
  /** Athena queries seen to finish (label state SUCCEEDED/FAILED/CANCELLED) and their total execution time. */
  queries: MetricCounter;
  queryDuration: MetricHistogram;
}

/** Registers every TickSync metric on `meter`; each carries the worker's task queue as `task_queue`. */
export function createMetrics(meter: MetricMeter, taskQueue: string): TickSyncMetrics {
  const m = meter.withTags({ task_queue: taskQueue });
  // The exporter adds `_total` to counters (countersTotalSuffix): counters are named without it here.
  const counter = (name: string, description: string) => m.createCounter(name, undefined, description);
  const gauge = (name: string, description: string) => m.createGauge(name, 'float', undefined, description);
  const histogram = (name: keyof typeof HISTOGRAM_BUCKETS & string, description: string) =>
    m.createHistogram(name, 'float', undefined, description);
  return {
    replayRowsSent: counter('ticksync_replay_rows_sent', 'Rows a replay committed to the ticks topic'),
    replayRowsRejected: counter('ticksync_replay_rows_rejected', 'Rows a replay sent to the rejects topic'),
    recordsWritten: counter('ticksync_consumer_records_written', 'Valid records the consumer wrote under raw/'),
    deadLetters: counter('ticksync_consumer_dead_letters', 'Records the consumer wrote under dlq/'),
    segmentsCommitted: counter('ticksync_consumer_segments_committed', 'Segments written and committed'),
    objectsWritten: counter('ticksync_lake_objects_written', 'Objects the consumer created in the lake'),
    bytesWritten: counter('ticksync_lake_bytes_written', 'Uncompressed bytes of the lines written to the lake'),
    flushDuration: histogram('ticksync_flush_duration_seconds', 'Time from a segment claim to its offset commit'),
    consumerLag: gauge('ticksync_consumer_lag_records', 'Records of a partition not yet in S3'),
    bufferedRecords: gauge('ticksync_consumer_buffered_records', 'Records of a partition read and not yet written'),
    lastFlushTimestamp: gauge(
      'ticksync_consumer_last_flush_timestamp_seconds',
      'When a segment of the partition was last written (Unix seconds)',
    ),
    crawls: counter('ticksync_crawls', 'Crawls seen to finish, by status'),
    crawlDuration: histogram('ticksync_crawl_duration_seconds', 'Run time of successful crawls'),
    queries: counter('ticksync_queries', 'Athena queries seen to finish, by state'),
    queryDuration: histogram('ticksync_query_duration_seconds', 'Total execution time of finished Athena queries'),
  };
}

/** One sample of Prometheus text: a name, its labels and a value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * Parses the Prometheus text exposition format (version 0.0.4). Throws, naming
 * the line, on anything else: a scrape that does not parse is a broken endpoint.
 */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = SAMPLE_LINE.exec(line);
    const value = match ? parseValue(match[3] as string) : undefined;
    if (!match || value === undefined) throw new Error(`line ${index + 1} is not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (!label) throw new Error(`line ${index + 1} has malformed labels: ${line}`);
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1] as string, labels, value });
  });
  return samples;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function sumSamples(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}
