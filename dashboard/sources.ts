import os from 'node:os';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import { GetTableCommand, type GlueClient } from '@aws-sdk/client-glue';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../lib/config';
import type { KafkaClient, KafkaConsumer } from '../lib/kafka';
import { parsePrometheusText, sumSamples } from '../lib/metrics';
import { columnsOfTable, namedQuerySql, resolveColumns, tableForTopic, type NamedQueryOptions } from '../lib/queries';
import { temporalConnectionOptions, workflowUrl } from '../lib/temporal';
import type { ConsumerProgress, CrawlProgress, ReplayProgress } from '../lib/contracts';
import { parseTick, type Market } from './market';

/** A dependency the page shows as up or down, and since when. */
export interface ServiceStatus {
  up: boolean;
  /** When it went down (ISO-8601), while it is down. */
  downSince?: string;
  error?: string;
  /** What is known besides (the topic missing, the consumer joining ...). */
  note?: string;
}

export interface KafkaStatus extends ServiceStatus {
  /** The dashboard's consumer has joined its group and reads the topic. */
  consuming: boolean;
  /** Records read that are not ticks, by reason (the last few reasons). */
  ignored: number;
  lastIgnoredReason?: string;
}

function markDown(status: ServiceStatus, error: unknown): void {
  status.error = error instanceof Error ? error.message : String(error);
  if (status.up || status.downSince === undefined) status.downSince = new Date().toISOString();
  status.up = false;
}

function markUp(status: ServiceStatus): void {
  status.up = true;
  status.downSince = undefined;
  status.error = undefined;
}

/**
 * Reads the ticks topic with a consumer group of its own (read committed,
 * starting at the topic's end) into the market, and watches the broker with a
 * probe every second, so an outage shows within seconds, and a consumer that
 * gave up is started again once the broker answers.
 */
export class TickFeed {
  readonly status: KafkaStatus = { up: false, consuming: false, ignored: 0, note: 'connecting' };
  private consumer: KafkaConsumer | undefined;
  private readonly admin;
  private probing: NodeJS.Timeout | undefined;
  private restartWanted = false;
  /** The topic was made after the dashboard started: all of it is new, so it is read from its start. */
  private topicCreatedSinceStart = false;
  private stopped = false;

  constructor(
    private readonly probeKafka: KafkaClient,
    private readonly kafka: KafkaClient,
    private readonly topic: string,
    private readonly market: Market,
    private readonly logger: Logger,
  ) {
    this.admin = probeKafka.admin();
  }

  start(): void {
    const tick = () => {
      void this.probe().finally(() => {
        if (!this.stopped) this.probing = setTimeout(tick, 1000);
      });
    };
    tick();
  }

  private async probe(): Promise<void> {
    try {
      await this.admin.connect();
      const exists = (await this.admin.listTopics()).includes(this.topic);
      const wasDown = !this.status.up;
      markUp(this.status);
      if (!exists) {
        this.topicCreatedSinceStart = true;
        this.status.note = `topic ${this.topic} does not exist yet: waiting for a replay to create it`;
        return;
      }
      this.status.note = this.status.consuming ? undefined : 'joining the consumer group';
      if (!this.consumer || this.restartWanted || (wasDown && !this.status.consuming)) await this.startConsumer();
      if (this.stopped) await this.consumer?.disconnect();
    } catch (error) {
      if (this.status.up) this.logger.warn({ err: error }, 'Kafka unreachable');
      markDown(this.status, error);
      this.status.note = undefined;
      await this.admin.disconnect().catch(() => undefined);
    }
  }

  private async startConsumer(): Promise<void> {
    this.restartWanted = false;
    const previous = this.consumer;
    this.consumer = undefined;
    this.status.consuming = false;
    await previous?.disconnect().catch(() => undefined);
    // A group of its own, new at each start: it begins at the topic's end (at its start when the topic is younger
    // than the dashboard) and never holds back the lake's consumer.
    const consumer = this.kafka.consumer({
      groupId: `ticksync.dashboard.${os.hostname()}.${process.pid}.${Date.now().toString(36)}`,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 100,
      // A crashed consumer is not restarted by the client (which could rejoin after a stop): the probe starts a new one.
      restartOnCrash: false,
    });
    this.consumer = consumer;
    consumer.on('assigned', () => {
      this.status.consuming = true;
      this.status.note = undefined;
      this.logger.info({ topic: this.topic }, 'dashboard consumer joined; reading from the end of the topic');
    });
    consumer.on('crash', ({ error }) => {
      this.status.consuming = false;
      this.restartWanted = true;
      this.logger.warn({ err: error }, 'dashboard consumer crashed; starting a new one once Kafka answers');
    });
    consumer.on('disconnect', () => {
      this.status.consuming = false;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: this.topicCreatedSinceStart });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const receivedAt = Date.now();
        for (const message of batch.messages) {
          const tick = parseTick(message.key?.toString('utf8') ?? null, message.value, {
            partition: batch.partition,
            offset: message.offset,
            timestamp: message.timestamp,
            receivedAt,
          });
          if (typeof tick === 'string') {
            this.status.ignored += 1;
            this.status.lastIgnoredReason = tick;
          } else this.market.add(tick);
        }
      },
    });
  }

  /** Leaves the group; bounded, so a broker that is down does not hold the process up. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.probing);
    const leaving = Promise.all([
      this.consumer?.disconnect().catch(() => undefined),
      this.admin.disconnect().catch(() => undefined),
    ]);
    await Promise.race([leaving, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }
}

export interface ReplayTile {
  workflowId: string;
  url: string;
  progress?: ReplayProgress;
}

export interface ConsumerTile {
  workflowId: string;
  url: string;
  progress?: ConsumerProgress;
  /** Seconds since the last flush of any partition. */
  secondsSinceFlush?: number;
}

export interface WorkflowTile {
  workflowId: string;
  type: string;
  status: string;
  startTime?: string;
  closeTime?: string;
  url: string;
}

export interface WorkerTile {
  name: string;
  url: string;
  up: boolean;
  error?: string;
  /** Activities and workflow tasks the worker has slots in use for, from its metrics. */
  slotsUsed?: number;
}

export interface TaskQueueTile {
  name: string;
  /** The newest poll of any worker that Temporal remembers (it forgets pollers after a few minutes). */
  lastPolledAt?: string;
  /** No worker has polled it for `noWorkerSeconds`: workflows on it would wait. */
  idle: boolean;
}

export interface Pipeline {
  updatedAt: string;
  temporal: ServiceStatus;
  taskQueues: TaskQueueTile[];
  noWorkerSeconds: number;
  replays: ReplayTile[];
  consumers: ConsumerTile[];
  crawl?: WorkflowTile & { progress?: CrawlProgress };
  recent: WorkflowTile[];
  workers: WorkerTile[];
  lake: {
    /** Where the figure comes from. */
    source: string;
    newestTs?: string;
    freshnessSeconds?: number;
    checkedAt?: string;
    error?: string;
  };
}

/** Queries answered within this time, or left out of this round. */
const QUERY_TIMEOUT_MS = 1500;
const LIST_LIMIT = 10;

/**
 * Polls the pipeline's state: running replays and consumers (their queries),
 * the last crawl, recent workflows (Temporal's visibility), each worker's
 * `/metrics`, and every 30 s the lake's newest `ts` through Athena (analyst role).
 */
export class PipelineWatcher {
  readonly state: Pipeline;
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lakeCheckedAt = 0;
  /** The lake check in flight: it runs beside the rounds, so a slow Athena never delays Temporal's banner. */
  private lakeCheck: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly config: Config,
    private readonly athena: AthenaClient,
    private readonly logger: Logger,
    private readonly intervalMs = 2000,
  ) {
    this.state = {
      updatedAt: new Date().toISOString(),
      temporal: { up: false, note: 'connecting' },
      taskQueues: [],
      noWorkerSeconds: config.dashboard.noWorkerSeconds,
      replays: [],
      consumers: [],
      recent: [],
      workers: [],
      lake: {
        source: `Athena: max(ts) of ${config.glue.database}.${tableForTopic(config.kafka.topic)} since yesterday`,
      },
    };
  }

  start(): void {
    const round = () => {
      void this.poll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(round, this.intervalMs);
      });
    };
    round();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.lakeCheck;
    await this.client?.connection.close().catch(() => undefined);
  }

  private async poll(): Promise<void> {
    if (!this.lakeCheck && Date.now() - this.lakeCheckedAt >= 30_000)
      this.lakeCheck = this.checkLake().finally(() => (this.lakeCheck = undefined));
    const [workers] = await Promise.all([this.scrapeWorkers(), this.pollTemporal()]);
    this.state.workers = workers;
    this.state.updatedAt = new Date().toISOString();
  }

  private tile(info: WorkflowExecutionInfo): WorkflowTile {
    return {
      workflowId: info.workflowId,
      type: info.type,
      status: info.status.name,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString(),
      url: workflowUrl(this.config, info.workflowId, info.runId),
    };
  }

  private async list(query: string, limit = LIST_LIMIT): Promise<WorkflowExecutionInfo[]> {
    const found: WorkflowExecutionInfo[] = [];
    for await (const info of this.client!.workflow.list({ query, pageSize: limit })) {
      found.push(info);
      if (found.length >= limit) break;
    }
    return found;
  }

  private async query<T>(workflowId: string, name: string): Promise<T | undefined> {
    try {
      return await this.client!.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
        this.client!.workflow.getHandle(workflowId).query<T>(name),
      );
    } catch (error) {
      this.logger.debug({ workflowId, err: error }, 'workflow query not answered');
      return undefined;
    }
  }

  private async pollTemporal(): Promise<void> {
    try {
      this.client ??= new Client({
        // No retry interceptor: a call fails as soon as the server is gone, so the round marks Temporal down at
        // once instead of retrying until its 5 s deadline (the banner came after 10 s in a loaded CI run).
        connection: await Connection.connect({
          ...temporalConnectionOptions(this.config),
          connectTimeout: 2000,
          interceptors: [],
        }),
        namespace: this.config.temporal.namespace,
      });
      await this.client.withDeadline(Date.now() + 5000, () => this.pollWorkflows());
      markUp(this.state.temporal);
      this.state.temporal.note = undefined;
    } catch (error) {
      if (this.state.temporal.up) this.logger.warn({ err: error }, 'Temporal unreachable');
      markDown(this.state.temporal, error);
      this.state.temporal.note = undefined;
      // The connection is kept: gRPC reconnects by itself once the server is back. Closing it here crashed the
      // process, as a call of the round still in the client's retry backoff then ran on a shut-down channel.
    }
  }

  private async pollWorkflows(): Promise<void> {
    const running = "ExecutionStatus = 'Running'";
    // Every call of the round settles before the round ends, failed or not: none outlives it.
    const settled = await Promise.allSettled([
      this.list(`WorkflowType = 'replayWorkflow' AND ${running}`),
      this.list(`WorkflowType = 'consumerWorkflow' AND ${running}`),
      this.list(`WorkflowType = 'crawlWorkflow'`, 1),
      this.list(''),
      this.taskQueueTiles(),
    ] as const);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [replays, consumers, crawls, recent, taskQueues] = settled.map(
      (result) => (result as PromiseFulfilledResult<unknown>).value,
    ) as [
      WorkflowExecutionInfo[],
      WorkflowExecutionInfo[],
      WorkflowExecutionInfo[],
      WorkflowExecutionInfo[],
      TaskQueueTile[],
    ];
    this.state.taskQueues = taskQueues;
    this.state.replays = await Promise.all(
      replays.map(async (info) => ({
        ...this.tile(info),
        progress: await this.query<ReplayProgress>(info.workflowId, 'progress'),
      })),
    );
    const now = Date.now();
    const consumerTiles: ConsumerTile[] = await Promise.all(
      consumers.map(async (info) => {
        const progress = await this.query<ConsumerProgress>(info.workflowId, 'consumerProgress');
        const lastFlush = progress?.lastFlushAt ? Date.parse(progress.lastFlushAt) : undefined;
        return {
          ...this.tile(info),
          progress,
          secondsSinceFlush: lastFlush === undefined ? undefined : Math.max(0, (now - lastFlush) / 1000),
        };
      }),
    );
    // The dashboard watches one topic: consumers of other topics are not its pipeline.
    this.state.consumers = consumerTiles.filter((tile) => tile.progress?.topic === this.config.kafka.topic);
    const crawl = crawls[0];
    this.state.crawl = crawl && {
      ...this.tile(crawl),
      progress: crawl.status.name === 'RUNNING' ? await this.query(crawl.workflowId, 'crawlProgress') : undefined,
    };
    this.state.recent = recent.map((info) => this.tile(info));
  }

  /** Each of the pipeline's task queues, with the newest poll of its workflow pollers. */
  private async taskQueueTiles(): Promise<TaskQueueTile[]> {
    const { temporal, dashboard } = this.config;
    const names = [...new Set([temporal.ingestTaskQueue, temporal.catalogTaskQueue, temporal.queryTaskQueue])];
    const now = Date.now();
    return Promise.all(
      names.map(async (name): Promise<TaskQueueTile> => {
        const { pollers } = await this.client!.workflowService.describeTaskQueue({
          namespace: temporal.namespace,
          taskQueue: { name },
          taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
        });
        // An idle worker's long poll lasts a minute, so its last access may be that old while it is healthy.
        const newest = Math.max(
          0,
          ...(pollers ?? []).map(({ lastAccessTime: at }) =>
            at ? Number(at.seconds ?? 0) * 1000 + Math.floor((at.nanos ?? 0) / 1e6) : 0,
          ),
        );
        return {
          name,
          lastPolledAt: newest > 0 ? new Date(newest).toISOString() : undefined,
          idle: newest === 0 || now - newest > dashboard.noWorkerSeconds * 1000,
        };
      }),
    );
  }

  private async scrapeWorkers(): Promise<WorkerTile[]> {
    return Promise.all(
      this.config.dashboard.workerMetrics.map(async ({ name, url }): Promise<WorkerTile> => {
        try {
          const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const samples = parsePrometheusText(await response.text());
          return { name, url, up: true, slotsUsed: sumSamples(samples, 'temporal_worker_task_slots_used') };
        } catch (error) {
          return { name, url, up: false, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
  }

  /** The lake's newest `ts` as Athena sees it (after a crawl), every 30 s: bounded at 20 s per check. */
  private async checkLake(): Promise<void> {
    this.lakeCheckedAt = Date.now();
    const { config, athena } = this;
    const table = tableForTopic(config.kafka.topic);
    const lake = this.state.lake;
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(20_000)]);
      // Only the partitions of today and yesterday (UTC): a scan of the whole lake every 30 s would take the
      // analyst's query slots and, on AWS, bill every byte. Nothing newer than that is "no data" below.
      const since = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const rows = await runAthenaQuery(config, athena, `SELECT max(ts) FROM ${table} WHERE dt >= '${since}'`, signal);
      const newest = rows[0]?.[0];
      const newestMs = newest ? Date.parse(newest.includes('T') ? newest : `${newest.replace(' ', 'T')}Z`) : NaN;
      lake.newestTs = Number.isFinite(newestMs) ? new Date(newestMs).toISOString() : undefined;
      lake.freshnessSeconds = Number.isFinite(newestMs) ? Math.max(0, (Date.now() - newestMs) / 1000) : undefined;
      lake.error = undefined;
    } catch (error) {
      lake.error = error instanceof Error ? error.message : String(error);
    }
    lake.checkedAt = new Date().toISOString();
  }
}

/** Runs one Athena query in the configured work group; its rows (header left out) as text. */
async function runAthenaQuery(
  config: Config,
  athena: AthenaClient,
  sql: string,
  signal: AbortSignal,
): Promise<(string | undefined)[][]> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      QueryExecutionContext: { Database: config.glue.database },
      WorkGroup: config.athena.workgroup,
      ResultConfiguration: { OutputLocation: config.athena.outputLocation },
    }),
    { abortSignal: signal },
  );
  for (;;) {
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }), {
      abortSignal: signal,
    });
    const state = QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new Error(QueryExecution?.Status?.StateChangeReason ?? `query ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const { ResultSet } = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }), { abortSignal: signal });
  return (ResultSet?.Rows ?? []).slice(1).map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue));
}

export interface LakeRanking {
  windowMinutes: number;
  /** Where the numbers come from, said on the page. */
  source: string;
  /** When the query that gave them ended. */
  at?: string;
  rows: { symbol: string; volume: number; trades: number }[];
  error?: string;
}

/** Queries of the lake per window at most this often: each scans the window's partitions and, on AWS, is billed. */
const LAKE_QUERY_INTERVAL_MS = 60_000;
const LAKE_QUERY_TIMEOUT_MS = 50_000;

/**
 * "Top symbols by volume in the lake" per window, answered by the named query
 * top-volume (arrival time, so the last N minutes up to now) with the analyst
 * role's credentials: on demand for the windows tabs watch, one query in
 * flight at most, and one per minute per window at most.
 */
export class LakeTopVolume {
  private readonly answers = new Map<number, LakeRanking>();
  private readonly startedAt = new Map<number, number>();
  private inFlight = false;
  private readonly abort = new AbortController();
  /** Queries started since the dashboard started (for /healthz and the tests). */
  queriesStarted = 0;

  constructor(
    private readonly config: Config,
    private readonly athena: AthenaClient,
    private readonly glue: GlueClient,
    private readonly logger: Logger,
  ) {}

  private source(windowMinutes: number): string {
    const table = `${this.config.glue.database}.${tableForTopic(this.config.kafka.topic)}`;
    return `Athena: named query top-volume over ${table}, last ${windowMinutes} min of arrival time (analyst role)`;
  }

  /** The window's latest answer; asks the lake again when it may (nothing in flight, a minute since its last). */
  get(windowMinutes: number): LakeRanking {
    const now = Date.now();
    if (!this.inFlight && now - (this.startedAt.get(windowMinutes) ?? 0) >= LAKE_QUERY_INTERVAL_MS) {
      this.inFlight = true;
      this.startedAt.set(windowMinutes, now);
      this.queriesStarted += 1;
      void this.ask(windowMinutes).finally(() => (this.inFlight = false));
    }
    return this.answers.get(windowMinutes) ?? { windowMinutes, source: this.source(windowMinutes), rows: [] };
  }

  private async ask(windowMinutes: number): Promise<void> {
    const { config } = this;
    const table = tableForTopic(config.kafka.topic);
    const answer: LakeRanking = { windowMinutes, source: this.source(windowMinutes), rows: [] };
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(LAKE_QUERY_TIMEOUT_MS)]);
      const { Table } = await this.glue.send(new GetTableCommand({ DatabaseName: config.glue.database, Name: table }), {
        abortSignal: signal,
      });
      const options: NamedQueryOptions = { table, minutes: windowMinutes, limit: 10, time: 'arrival' };
      const columns = resolveColumns(table, columnsOfTable(Table ?? {}), options);
      const rows = await runAthenaQuery(config, this.athena, namedQuerySql('top-volume', options, columns), signal);
      answer.rows = rows.map(([symbol, volume, trades]) => ({
        symbol: symbol ?? '',
        volume: Number(volume),
        trades: Number(trades),
      }));
    } catch (error) {
      if (this.abort.signal.aborted) return;
      answer.error =
        (error as { name?: string }).name === 'EntityNotFoundException'
          ? `table ${config.glue.database}.${table} does not exist yet: replay, consume and crawl (npm run demo does all three)`
          : error instanceof Error
            ? error.message
            : String(error);
      this.logger.debug({ err: error, windowMinutes }, 'lake top-volume query failed');
    }
    answer.at = new Date().toISOString();
    this.answers.set(windowMinutes, answer);
  }

  stop(): void {
    this.abort.abort();
  }
}
