import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import type { Logger } from 'pino';
import { createKafka } from '../lib/kafka';
import { PROJECT_ROOT, type Config } from '../lib/config';
import { convertRow, inferSchema, tickValueEncoder } from '../lib/rows';
import { connectClient } from '../lib/temporal';
import { kafkaJava } from '../stack/install';
import { replayWorkflow } from '../workflows';
import { REPLAY_DEFAULTS } from '../lib/contracts';
import { replayInputFor } from '../test/helpers/replay';
import { MAX_TRANSACTION_MS } from '../activities/replay';
import { benchTickFile } from './ticks';
import { startWorkerProcess, uniqueName } from '../test/helpers/workers';

export interface ReplayBenchOptions {
  rows: number;
  batchRows: number;
}

/**
 * TickSync's replay against Kafka's own ProducerPerformance on the same broker,
 * with the same record count, average record size and durability (acks=all,
 * idempotence, transactions of the same duration).
 */
export async function benchReplay(config: Config, logger: Logger, options: ReplayBenchOptions) {
  const dir = path.join(config.stack.dir, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = await benchTickFile(config, logger, options.rows);

  // The average message TickSync sends (key + JSON value), from the file's first rows.
  const head = parse(
    fs
      .readFileSync(file, 'utf8')
      .slice(0, 1 << 20)
      .replace(/\n[^\n]*$/, ''),
    { relax_column_count: true },
  ) as string[][];
  const schema = inferSchema(file, head[0] as string[], head.slice(1, 1001));
  let bytes = 0;
  const measured = head.slice(1, 10_001);
  const encode = tickValueEncoder('bench-run-00000000');
  for (const [index, record] of measured.entries()) {
    const row = convertRow(schema, record);
    if (!row.ok) continue;
    bytes += row.key.length + encode(row.fields, new Date().toISOString(), index + 1).length;
  }
  const recordSize = Math.round(bytes / measured.length);

  const queue = uniqueName('bench-ingest');
  const worker = await startWorkerProcess('ingest', {
    TICKSYNC_INGEST_TASK_QUEUE: queue,
    TICKSYNC_LOG_LEVEL: 'warn',
    TICKSYNC_KAFKA_CLIENT: config.kafka.client,
  });
  const client = await connectClient(config);
  const input = replayInputFor(file, {
    topic: uniqueName('bench-replay'),
    partitions: REPLAY_DEFAULTS.partitions,
    batchRows: options.batchRows,
  });
  let ticksyncSeconds: number;
  try {
    const started = process.hrtime.bigint();
    const result = await client.workflow.execute(replayWorkflow, {
      workflowId: `replay-${input.runId}`,
      taskQueue: queue,
      args: [input],
    });
    ticksyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.sent !== options.rows) throw new Error(`replay sent ${result.sent} rows, expected ${options.rows}`);
  } finally {
    await client.connection.close();
    await worker.stop();
  }
  const ticksyncRate = options.rows / ticksyncSeconds;
  // A transaction closes at batchRows rows or MAX_TRANSACTION_MS, whichever comes first.
  const transactionMs = Math.max(
    1,
    Math.round(Math.min((options.batchRows / ticksyncRate) * 1000, MAX_TRANSACTION_MS)),
  );

  const perfTopic = uniqueName('bench-perf');
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  await admin.createTopics([{ topic: perfTopic, numPartitions: 6 }]);
  const java = await kafkaJava(PROJECT_ROOT, config.stack.cacheDir, dir, logger);
  const { stdout } = await promisify(execFile)(
    java.command,
    [
      ...java.args,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      perfTopic,
      '--num-records',
      String(options.rows),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--transactional-id',
      perfTopic,
      '--transaction-duration-ms',
      String(transactionMs),
      '--producer-props',
      `bootstrap.servers=${config.kafka.brokers.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    { maxBuffer: 16 << 20 },
  );
  const summary = /(\d+) records sent, ([\d.]+) records\/sec/.exec(stdout.trim().split('\n').at(-1) ?? '');
  if (!summary) throw new Error(`unexpected ProducerPerformance output:\n${stdout}`);
  const kafkaRate = Number(summary[2]);
  await admin.deleteTopics([input.topic, perfTopic, `${input.topic}.rejects`, `${input.topic}.replay-progress`]);
  await admin.disconnect();

  return {
    bench: 'replay',
    client: config.kafka.client,
    rows: options.rows,
    ticksync_rows_per_s: Math.round(ticksyncRate),
    kafka_perf_rows_per_s: Math.round(kafkaRate),
    ratio: Number((ticksyncRate / kafkaRate).toFixed(3)),
    record_bytes: recordSize,
    batch_rows: options.batchRows,
    transaction_ms: transactionMs,
  };
}
