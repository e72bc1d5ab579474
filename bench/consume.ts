import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { createS3Client } from '../lib/clients';
import { createKafka, type KafkaClient } from '../lib/kafka';
import { PROJECT_ROOT, type Config } from '../lib/config';
import { connectClient } from '../lib/temporal';
import { kafkaJava } from '../stack/install';
import { consumerWorkflow, replayWorkflow } from '../workflows';
import { consumerProgressQuery, REPLAY_DEFAULTS, stopConsumerSignal } from '../lib/contracts';
import { consumerInput } from '../lib/workflow-inputs';
import { FETCH_BYTES_PER_PARTITION } from '../activities/consume';
import { replayInputFor } from '../test/helpers/replay';
import { benchTickFile } from './ticks';
import { startWorkerProcess, uniqueName } from '../test/helpers/workers';

export interface ConsumeBenchOptions {
  rows: number;
  perMessageSample: number;
  /** Consumer-group members, each on its own worker process. */
  members: number;
}

async function deletePrefix(s3: S3Client, bucket: string, prefix: string) {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map(({ Key }) => ({ Key }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/**
 * A consumer of the Kafka client TickSync uses that reads the topic and does nothing with its records (read
 * committed, the fetch size of TickSync's consumer): the ceiling of the client library TickSync's consumer is built
 * on. Seconds from connecting until it has seen every record.
 */
async function clientAlone(kafka: KafkaClient, topic: string, records: number): Promise<number> {
  const started = process.hrtime.bigint();
  const consumer = kafka.consumer({
    groupId: uniqueName(`bench-${kafka.name}`),
    maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            seen += batch.messages.length;
            if (seen >= records) resolve();
          },
        })
        .catch(reject);
    });
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * TickSync's consumer (records committed into S3 per second) against Kafka's
 * ConsumerPerformance on the same topic (reading only: the ceiling) and the
 * tutorial's one-PUT-per-message consumer on a sample, against the same S3 server.
 */
export async function benchConsume(config: Config, logger: Logger, options: ConsumeBenchOptions) {
  const dir = path.join(config.stack.dir, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = await benchTickFile(config, logger, options.rows);
  const queue = uniqueName('bench-consume');
  const workers = await Promise.all(
    Array.from({ length: options.members }, () =>
      startWorkerProcess('ingest', {
        TICKSYNC_INGEST_TASK_QUEUE: queue,
        TICKSYNC_LOG_LEVEL: 'warn',
        TICKSYNC_KAFKA_CLIENT: config.kafka.client,
      }),
    ),
  );
  const client = await connectClient(config);
  const s3 = createS3Client(config, 'admin');
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  const replay = replayInputFor(file, { topic: uniqueName('bench-consume'), partitions: REPLAY_DEFAULTS.partitions });
  const { topic } = replay;
  try {
    logger.info({ topic, rows: options.rows }, 'filling the topic');
    await client.workflow.execute(replayWorkflow, {
      workflowId: `replay-${replay.runId}`,
      taskQueue: queue,
      args: [replay],
    });
    const records = options.rows;

    logger.info('TickSync consumer');
    // The script's defaults, with segments of 50,000 records and a 1 s maximum age so the stream's tail is not
    // left waiting for the default age.
    const input = {
      ...consumerInput({ topic, members: options.members, maxRecords: 50_000, maxAgeSeconds: 1 }, config),
      reportSeconds: 1,
    };
    const started = process.hrtime.bigint();
    const handle = await client.workflow.start(consumerWorkflow, {
      workflowId: uniqueName('bench-consumer'),
      taskQueue: queue,
      args: [input],
    });
    for (;;) {
      const progress = await handle.query(consumerProgressQuery).catch(() => undefined);
      if (progress && progress.totals.records + progress.totals.deadLetters >= records) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const ticksyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await handle.signal(stopConsumerSignal);
    const result = await handle.result();
    if (result.totals.records !== records)
      throw new Error(`consumer wrote ${result.totals.records} records, expected ${records}`);

    logger.info('Kafka ConsumerPerformance');
    const java = await kafkaJava(PROJECT_ROOT, config.stack.cacheDir, dir, logger);
    const properties = path.join(dir, 'consumer-perf.properties');
    fs.writeFileSync(properties, 'isolation.level=read_committed\nauto.offset.reset=earliest\n');
    const { stdout } = await promisify(execFile)(
      java.command,
      [
        ...java.args,
        'org.apache.kafka.tools.ConsumerPerformance',
        '--bootstrap-server',
        config.kafka.brokers.join(','),
        '--topic',
        topic,
        '--group',
        uniqueName('bench-perf'),
        '--messages',
        String(records),
        '--timeout',
        '60000',
        '--consumer.config',
        properties,
      ],
      { maxBuffer: 16 << 20 },
    );
    // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
    const fields =
      stdout
        .trim()
        .split('\n')
        .at(-1)
        ?.split(',')
        .map((field) => field.trim()) ?? [];
    const kafkaRate = Number(fields[5]);
    if (!Number.isFinite(kafkaRate) || Number(fields[4]) < records)
      throw new Error(`unexpected ConsumerPerformance output:\n${stdout}`);

    logger.info(`${kafka.name} alone`);
    const clientRate = records / (await clientAlone(kafka, topic, records));

    logger.info({ sample: options.perMessageSample }, 'one PUT per message (the tutorial)');
    const sampleTopicReader = kafka.consumer({ groupId: uniqueName('bench-per-message') });
    const perMessagePrefix = `bench/per-message/${topic}/`;
    let count = 0;
    let perMessageSeconds = 0;
    await sampleTopicReader.connect();
    await sampleTopicReader.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const begun = process.hrtime.bigint();
      sampleTopicReader
        .run({
          eachBatch: async ({ batch, resolveOffset }) => {
            for (const message of batch.messages) {
              if (count >= options.perMessageSample) return;
              await s3.send(
                new PutObjectCommand({
                  Bucket: config.s3.bucket,
                  Key: `${perMessagePrefix}stock_market_${count}.json`,
                  Body: message.value ?? undefined,
                }),
              );
              resolveOffset(message.offset);
              count += 1;
              if (count === options.perMessageSample) {
                perMessageSeconds = Number(process.hrtime.bigint() - begun) / 1e9;
                resolve();
              }
            }
          },
          manualResolve: true,
        })
        .catch(reject);
    });
    await sampleTopicReader.disconnect();

    const ticksyncRate = records / ticksyncSeconds;
    const perMessageRate = options.perMessageSample / perMessageSeconds;
    for (const prefix of [
      perMessagePrefix,
      `${config.s3.rawPrefix}${topic}/`,
      `${config.s3.manifestPrefix}${topic}/`,
    ]) {
      await deletePrefix(s3, config.s3.bucket, prefix);
    }
    return {
      bench: 'consume',
      client: config.kafka.client,
      records,
      ticksync_rows_per_s: Math.round(ticksyncRate),
      kafka_perf_rows_per_s: Math.round(kafkaRate),
      per_message_put_rows_per_s: Math.round(perMessageRate),
      ratio_to_kafka: Number((ticksyncRate / kafkaRate).toFixed(3)),
      ratio_to_per_message: Number((ticksyncRate / perMessageRate).toFixed(1)),
      client_alone_rows_per_s: Math.round(clientRate),
      ratio_to_client_alone: Number((ticksyncRate / clientRate).toFixed(3)),
      objects: result.totals.objects,
      per_message_sample: options.perMessageSample,
    };
  } finally {
    await admin.deleteTopics([topic, `${topic}.rejects`, `${topic}.replay-progress`]).catch(() => undefined);
    await admin.disconnect();
    await client.connection.close();
    await Promise.all(workers.map((worker) => worker.stop()));
    s3.destroy();
  }
}
