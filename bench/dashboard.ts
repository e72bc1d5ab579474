import type { Logger } from 'pino';
import { createKafka } from '../lib/kafka';
import type { Config } from '../lib/config';
import { connectClient } from '../lib/temporal';
import { replayWorkflow } from '../workflows';
import { startDashboardProcess } from '../test/helpers/dashboard';
import { REPLAY_DEFAULTS } from '../lib/contracts';
import { replayInputFor } from '../test/helpers/replay';
import { freePort, startWorkerProcess, uniqueName } from '../test/helpers/workers';
import { benchTickFile } from './ticks';

export interface DashboardBenchOptions {
  rows: number;
  /** Replays without and with the dashboard, alternated, so a drift of the machine's load hits both alike. */
  pairs: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * Reads a dashboard's event stream (as the page does) and records, for every
 * tick it carries, the time from the tick's `ts` (set when the replay made the
 * record) to its arrival in the stream, and to the dashboard's reading it from Kafka.
 */
async function readStream(
  url: string,
  signal: AbortSignal,
  latencies: number[],
  readLatencies: number[],
): Promise<void> {
  const response = await fetch(`${url}events?window=1`, { signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const now = Date.now();
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!event.startsWith('event: ticks\n')) continue;
        const ticks = JSON.parse(event.slice(event.indexOf('data: ') + 6)) as { ts: number; receivedAt: number }[];
        for (const tick of ticks) {
          latencies.push(now - tick.ts);
          readLatencies.push(tick.receivedAt - tick.ts);
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * The dashboard while a replay runs as fast as it can: produce-to-stream latency of the ticks, and the replay's
 * rate without and with the dashboard reading the same topic.
 */
export async function benchDashboard(config: Config, logger: Logger, options: DashboardBenchOptions) {
  const file = await benchTickFile(config, logger, options.rows);
  const queue = uniqueName('bench-dashboard');
  const worker = await startWorkerProcess('ingest', { TICKSYNC_INGEST_TASK_QUEUE: queue, TICKSYNC_LOG_LEVEL: 'warn' });
  const client = await connectClient(config);
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  const topics: string[] = [];
  const replay = async (topic: string, limit = options.rows) => {
    const input = replayInputFor(file, { topic, partitions: REPLAY_DEFAULTS.partitions, limit });
    topics.push(topic, `${topic}.rejects`, `${topic}.replay-progress`);
    const started = process.hrtime.bigint();
    const result = await client.workflow.execute(replayWorkflow, {
      workflowId: `replay-${input.runId}`,
      taskQueue: queue,
      args: [input],
    });
    if (result.sent !== limit) throw new Error(`replay sent ${result.sent} rows, expected ${limit}`);
    return limit / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  const latencies: number[] = [];
  const readLatencies: number[] = [];
  /** One replay on a topic a dashboard process reads, with a client reading its stream as the page does. */
  const replayWatched = async () => {
    const topic = uniqueName('bench-dashboard-on');
    await admin.createTopics([{ topic, numPartitions: 6 }]);
    const dashboard = await startDashboardProcess({
      TICKSYNC_TOPIC: topic,
      TICKSYNC_DASHBOARD_PORT: String(await freePort()),
      TICKSYNC_LOG_LEVEL: 'warn',
    });
    const abort = new AbortController();
    try {
      for (let until = Date.now() + 60_000; ;) {
        const health = (await (await fetch(`${dashboard.url}healthz`)).json()) as { kafka: { consuming: boolean } };
        if (health.kafka.consuming) break;
        if (Date.now() > until) throw new Error(`the dashboard's consumer did not join:\n${dashboard.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const reading = readStream(dashboard.url, abort.signal, latencies, readLatencies);
      const rate = await replay(topic);
      // The last ticks reach the stream within a second or two.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      abort.abort();
      await reading;
      return rate;
    } finally {
      await dashboard.stop();
    }
  };
  const without: number[] = [];
  const withDashboard: number[] = [];
  try {
    // An untimed warm-up first (the worker's first replay compiles and connects), so every timed run starts warm.
    await replay(uniqueName('bench-dashboard-warm-up'), Math.min(options.rows, 20_000));
    for (let pair = 0; pair < options.pairs; pair++) {
      // Alternate which goes first (ABBA), so a trend in the machine's load does not favour one side.
      const order = pair % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const side of order) {
        if (side === 'off') without.push(await replay(uniqueName('bench-dashboard-off')));
        else withDashboard.push(await replayWatched());
        logger.info(
          { pair: pair + 1, side, rows_per_s: Math.round((side === 'off' ? without : withDashboard).at(-1)!) },
          'replay',
        );
      }
    }
    if (latencies.length < 1000) throw new Error(`only ${latencies.length} ticks reached the stream (under 1,000)`);
    latencies.sort((a, b) => a - b);
    readLatencies.sort((a, b) => a - b);
    return {
      bench: 'dashboard',
      rows: options.rows,
      ticks_sampled: latencies.length,
      latency_p50_ms: percentile(latencies, 50),
      latency_p95_ms: percentile(latencies, 95),
      latency_max_ms: latencies.at(-1),
      // Of which: from the record's making to the dashboard's consumer (the replay's transaction and Kafka).
      read_p50_ms: percentile(readLatencies, 50),
      read_p95_ms: percentile(readLatencies, 95),
      pairs: options.pairs,
      // Medians of the alternated runs, and every run's rate.
      replay_rows_per_s_without: Math.round(median(without)),
      replay_rows_per_s_with: Math.round(median(withDashboard)),
      runs_without: without.map(Math.round),
      runs_with: withDashboard.map(Math.round),
      ratio: Number((median(withDashboard) / median(without)).toFixed(3)),
    };
  } finally {
    await admin.deleteTopics(topics).catch(() => undefined);
    await admin.disconnect();
    await client.connection.close();
    await worker.stop();
  }
}
