import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import {
  CONSUMER_DEFAULTS,
  CRAWL_DEFAULTS,
  MIB,
  PIPELINE_DEFAULTS,
  REPLAY_DEFAULTS,
  REPLAY_PACING_DEFAULTS,
  BUFFERED_FLUSHES,
  type CompactInput,
  type ConsumerInput,
  type CrawlInput,
  type LakeHour,
  type Pacing,
  type PipelineInput,
  type ReplayInput,
} from './contracts';
import { UsageError } from './errors';
import { HOUR_MS } from './hour-keys';
import { tableForTopic, type TimeBasis } from './queries';
import { workflowUrl } from './temporal';

/**
 * Each workflow's input built from a caller's options, and the workflow ids callers share. The scripts
 * (`npm run replay`, `consume`, `crawl`, `schedule`, `demo`) and the benchmarks build their inputs here, so a
 * script never imports another script. Options left out take the stage's defaults from its contract
 * (`REPLAY_DEFAULTS`, `CONSUMER_DEFAULTS`, `CRAWL_DEFAULTS` in lib/contracts/), which the scripts' --help shows.
 */

/** What `npm run replay` takes from its flags (the demo passes its own). */
export interface ReplayOptions {
  topic?: string;
  mode?: 'ordered' | 'sample';
  rate?: number;
  timestampColumn?: string;
  speed?: number;
  limit?: number;
  loop?: boolean;
  symbolColumn?: string;
  runId?: string;
  partitions?: number;
  batchRows?: number;
  chunkSeconds?: number;
}

/** The workflow input from the command line, checked before anything starts. */
export function replayInput(source: string, options: ReplayOptions, config: Config): ReplayInput {
  let resolved = source;
  if (!source.startsWith('s3://')) {
    resolved = path.resolve(source);
    if (!fs.existsSync(resolved)) throw new UsageError(`${source}: no such file`);
  }
  const mode = options.mode ?? REPLAY_DEFAULTS.mode;
  if (options.rate !== undefined && options.timestampColumn !== undefined) {
    throw new UsageError('--rate and --timestamp-column are two ways to pace a replay: give one');
  }
  if (mode === 'sample' && options.loop) throw new UsageError('--loop applies to ordered mode only');
  if (mode === 'sample' && options.timestampColumn !== undefined) {
    throw new UsageError('--timestamp-column applies to ordered mode only');
  }
  const rate = options.rate ?? (mode === 'sample' ? REPLAY_PACING_DEFAULTS.sampleRowsPerSecond : undefined);
  const pacing: Pacing =
    options.timestampColumn !== undefined
      ? { kind: 'timestamp', column: options.timestampColumn, speed: options.speed ?? REPLAY_PACING_DEFAULTS.speed }
      : rate !== undefined
        ? { kind: 'rate', rowsPerSecond: rate }
        : { ...REPLAY_DEFAULTS.pacing };
  return {
    source: resolved,
    topic: options.topic ?? config.kafka.topic,
    runId:
      options.runId ??
      `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`,
    pacing,
    mode,
    limit: options.limit,
    loop: options.loop ?? REPLAY_DEFAULTS.loop,
    symbolColumn: options.symbolColumn,
    partitions: options.partitions ?? REPLAY_DEFAULTS.partitions,
    batchRows: options.batchRows ?? REPLAY_DEFAULTS.batchRows,
    chunkSeconds: options.chunkSeconds ?? REPLAY_DEFAULTS.chunkSeconds,
    chunksPerRun: REPLAY_DEFAULTS.chunksPerRun,
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
  members?: number;
  maxRecords?: number;
  maxMb?: number;
  maxAgeSeconds?: number;
  maxRecordKb?: number;
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
  const defaults = CONSUMER_DEFAULTS;
  const maxBytes = options.maxMb === undefined ? defaults.flush.maxBytes : Math.round(options.maxMb * MIB);
  return {
    topic,
    groupId,
    members: options.members ?? defaults.members,
    flush: {
      maxRecords: options.maxRecords ?? defaults.flush.maxRecords,
      maxBytes,
      maxAgeMs:
        options.maxAgeSeconds === undefined ? defaults.flush.maxAgeMs : Math.round(options.maxAgeSeconds * 1000),
    },
    maxRecordBytes:
      options.maxRecordKb === undefined ? defaults.maxRecordBytes : Math.round(options.maxRecordKb * 1024),
    maxBufferedBytes: maxBytes * BUFFERED_FLUSHES,
    reportSeconds: defaults.reportSeconds,
    maxHistoryEvents: defaults.maxHistoryEvents,
  };
}

/** The id of the crawl run `npm run crawl` starts; a Schedule's runs add the scheduled time to it. */
export const crawlWorkflowId = (crawler: string) => `crawl-${crawler}`;

export function crawlInput(crawler: string, options: { pollSeconds?: number; pollMaxSeconds?: number }): CrawlInput {
  return {
    crawler,
    pollInitialSeconds: options.pollSeconds ?? CRAWL_DEFAULTS.pollInitialSeconds,
    pollMaxSeconds: options.pollMaxSeconds ?? CRAWL_DEFAULTS.pollMaxSeconds,
  };
}

/** The id of the compaction run `npm run compact` starts; a Schedule's runs add the scheduled time to it. */
export const compactWorkflowId = (table: string) => `compact-${table}`;

/** What `npm run compact` and `npm run schedule -- compact` take from their flags (durations in ms). */
export interface CompactOptions {
  hour?: LakeHour[];
  grace: number;
  targetMb: number;
  lookback: number;
  table?: string;
  database?: string;
}

export function compactInput(options: CompactOptions, defaults: { table: string; database: string }): CompactInput {
  return {
    database: options.database ?? defaults.database,
    table: options.table ?? defaults.table,
    hours: options.hour,
    graceMinutes: options.grace / 60_000,
    lookbackHours: options.lookback / HOUR_MS,
    targetMb: options.targetMb,
  };
}

/** What `npm run demo` takes from its flags. */
export interface PipelineOptions {
  topic?: string;
  minutes?: number;
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
    { topic: options.topic, symbolColumn: options.symbolColumn, ...PIPELINE_DEFAULTS.replay },
    config,
  );
  const consumer: ConsumerInput = { ...consumerInput({ topic: replay.topic }, config), ...PIPELINE_DEFAULTS.consumer };
  return {
    replay,
    consumer,
    consumerWorkflowId: consumerWorkflowId(consumer.topic, consumer.groupId),
    crawl: { crawler: config.glue.crawler, ...PIPELINE_DEFAULTS.crawl },
    query: {
      database: config.glue.database,
      workGroup: config.athena.workgroup,
      outputLocation: config.athena.outputLocation,
      table: tableForTopic(replay.topic),
      minutes: options.minutes ?? PIPELINE_DEFAULTS.namedQueries.minutes,
      limit: PIPELINE_DEFAULTS.namedQueries.limit,
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
