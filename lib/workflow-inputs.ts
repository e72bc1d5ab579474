import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import type { ConsumerInput, CrawlInput, Pacing, PipelineInput, ReplayInput } from './contracts';
import { UsageError } from './errors';
import { tableForTopic, type TimeBasis } from './queries';
import { workflowUrl } from './temporal';

/**
 * Each workflow's input built from a caller's options, and the workflow ids callers share. The scripts
 * (`npm run replay`, `consume`, `crawl`, `schedule`, `demo`) and the benchmarks build their inputs here, so a
 * script never imports another script.
 */

/** What `npm run replay` takes from its flags (the demo passes its own). */
export interface ReplayOptions {
  topic?: string;
  mode: 'ordered' | 'sample';
  rate?: number;
  timestampColumn?: string;
  speed: number;
  limit?: number;
  loop?: boolean;
  symbolColumn?: string;
  runId?: string;
  partitions: number;
  batchRows: number;
  chunkSeconds: number;
}

/** The workflow input from the command line, checked before anything starts. */
export function replayInput(source: string, options: ReplayOptions, config: Config): ReplayInput {
  let resolved = source;
  if (!source.startsWith('s3://')) {
    resolved = path.resolve(source);
    if (!fs.existsSync(resolved)) throw new UsageError(`${source}: no such file`);
  }
  if (options.rate !== undefined && options.timestampColumn !== undefined) {
    throw new UsageError('--rate and --timestamp-column are two ways to pace a replay: give one');
  }
  if (options.mode === 'sample' && options.loop) throw new UsageError('--loop applies to ordered mode only');
  if (options.mode === 'sample' && options.timestampColumn !== undefined) {
    throw new UsageError('--timestamp-column applies to ordered mode only');
  }
  // Sample mode defaults to the tutorial's one row per second.
  const rate = options.rate ?? (options.mode === 'sample' ? 1 : undefined);
  const pacing: Pacing =
    options.timestampColumn !== undefined
      ? { kind: 'timestamp', column: options.timestampColumn, speed: options.speed }
      : rate !== undefined
        ? { kind: 'rate', rowsPerSecond: rate }
        : { kind: 'max' };
  return {
    source: resolved,
    topic: options.topic ?? config.kafka.topic,
    runId:
      options.runId ??
      `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`,
    pacing,
    mode: options.mode,
    limit: options.limit,
    loop: options.loop ?? false,
    symbolColumn: options.symbolColumn,
    partitions: options.partitions,
    batchRows: options.batchRows,
    chunkSeconds: options.chunkSeconds,
    chunksPerRun: 500,
  };
}

export const replayWorkflowId = (runId: string) => `replay-${runId}`;

/** The topic and consumer group a consumer command names. */
export interface ConsumerTargetOptions {
  topic?: string;
  group?: string;
}

/** What `npm run consume` takes from its flags (the demo passes its own). */
export interface ConsumerOptions extends ConsumerTargetOptions {
  members: number;
  maxRecords: number;
  maxMb: number;
  maxAgeSeconds: number;
  maxRecordKb: number;
}

/** The one consumer workflow of a topic and group: starting it again attaches to it. */
export const consumerWorkflowId = (topic: string, groupId: string) => `consumer-${topic}-${groupId}`;

/** The topic, group and consumer workflow the options name (the configured topic and its `.lake` group by default). */
export const consumerTarget = (options: ConsumerTargetOptions, config: Config) => {
  const topic = options.topic ?? config.kafka.topic;
  const groupId = options.group ?? `${config.kafka.clientId}.lake.${topic}`;
  return { topic, groupId, workflowId: consumerWorkflowId(topic, groupId) };
};

export function consumerInput(options: ConsumerOptions, config: Config): ConsumerInput {
  const { topic, groupId } = consumerTarget(options, config);
  return {
    topic,
    groupId,
    members: options.members,
    flush: {
      maxRecords: options.maxRecords,
      maxBytes: Math.round(options.maxMb * 1024 * 1024),
      maxAgeMs: Math.round(options.maxAgeSeconds * 1000),
    },
    maxRecordBytes: Math.round(options.maxRecordKb * 1024),
    maxBufferedBytes: Math.round(options.maxMb * 1024 * 1024) * 4,
    reportSeconds: 2,
    maxHistoryEvents: 8_000,
  };
}

/** The id of the crawl run `npm run crawl` starts; a Schedule's runs add the scheduled time to it. */
export const crawlWorkflowId = (crawler: string) => `crawl-${crawler}`;

export function crawlInput(crawler: string, options: { pollSeconds?: number; pollMaxSeconds?: number }): CrawlInput {
  return { crawler, pollInitialSeconds: options.pollSeconds ?? 2, pollMaxSeconds: options.pollMaxSeconds ?? 30 };
}

/** What `npm run demo` takes from its flags. */
export interface PipelineOptions {
  topic?: string;
  minutes: number;
  time: TimeBasis;
  symbolColumn?: string;
  priceColumn?: string;
  sizeColumn?: string;
  timeColumn?: string;
}

/** The pipeline's input: each stage's input as its script builds it, on the configured queues. */
export function pipelineInput(file: string, options: PipelineOptions, config: Config): PipelineInput {
  const replay = replayInput(
    file,
    {
      topic: options.topic,
      mode: 'ordered',
      speed: 1,
      symbolColumn: options.symbolColumn,
      partitions: 3,
      batchRows: 2000,
      chunkSeconds: 10,
    },
    config,
  );
  const consumer = consumerInput(
    {
      topic: replay.topic,
      members: 1,
      maxRecords: 50_000,
      maxMb: 16,
      maxAgeSeconds: 2,
      maxRecordKb: 1024,
    },
    config,
  );
  return {
    replay,
    consumer,
    consumerWorkflowId: consumerWorkflowId(consumer.topic, consumer.groupId),
    crawl: crawlInput(config.glue.crawler, { pollSeconds: 1, pollMaxSeconds: 5 }),
    query: {
      database: config.glue.database,
      workGroup: config.athena.workgroup,
      outputLocation: config.athena.outputLocation,
      table: tableForTopic(replay.topic),
      minutes: options.minutes,
      limit: 5,
      time: options.time,
      symbolColumn: options.symbolColumn,
      priceColumn: options.priceColumn,
      sizeColumn: options.sizeColumn,
      timeColumn: options.timeColumn,
    },
    taskQueues: {
      ingest: config.temporal.ingestTaskQueue,
      catalog: config.temporal.catalogTaskQueue,
      query: config.temporal.queryTaskQueue,
    },
    workflowsUrl: workflowUrl(config, ''),
  };
}
