import type { NamedQueryName, NamedQueryOptions, TimeBasis } from './queries';

/**
 * Types shared by workflows, activities, workers and scripts. Workflow code
 * imports this file, so it holds types and constants only: no Node built-ins.
 */

export interface HealthcheckInput {
  /** Marks the probe message and object; stable across retries of the workflow's activities. */
  probeId: string;
  /** The queue whose workers hold the Kafka and S3 clients. */
  ingestTaskQueue: string;
}

export interface KafkaProbeResult {
  topic: string;
  partition: number;
  offset: string;
  roundTripMs: number;
}

export interface S3ProbeResult {
  bucket: string;
  key: string;
  bytes: number;
  roundTripMs: number;
}

export interface HealthcheckResult {
  probeId: string;
  kafka: KafkaProbeResult;
  s3: S3ProbeResult;
}

/** How fast a replay sends: as fast as it can, a fixed rate, or the file's own clock sped up. */
export type Pacing =
  { kind: 'max' } | { kind: 'rate'; rowsPerSecond: number } | { kind: 'timestamp'; column: string; speed: number };

export interface ReplayInput {
  /** An absolute path on the worker's host, or s3://<bucket>/<input prefix>... */
  source: string;
  topic: string;
  /** Run id: names the transactional id, the progress marker and the messages' run_id. */
  runId: string;
  pacing: Pacing;
  /** `ordered` sends every row once in file order; `sample` sends random rows with replacement. */
  mode: 'ordered' | 'sample';
  /** Stop after this many rows read (sent or rejected). Required by `sample` unless it should run until cancelled. */
  limit?: number;
  /** Start over at the end of the file (ordered mode) until the limit or a cancellation. */
  loop: boolean;
  symbolColumn?: string;
  /** Partitions of the topic when the replay creates it. */
  partitions: number;
  /** Rows per Kafka transaction at most. */
  batchRows: number;
  /** Each activity call runs this long at most; signals take effect between calls. */
  chunkSeconds: number;
  /** The run continues as new after this many chunks (or sooner when the server suggests it). */
  chunksPerRun: number;
  /** Carried across continue-as-new. */
  state?: ReplayState;
}

/** The committed progress of a run, as stored with its last Kafka transaction. */
export interface ReplayMarker {
  /** Source rows consumed (sent + rejected); the seq of the next row is rowsRead + 1. */
  rowsRead: number;
  sent: number;
  rejected: number;
  /** Ordered mode: where the next row starts in the file, and how many times the file was finished. */
  byteOffset: number;
  pass: number;
  /** The data row number (1-based) of the last row read, within its pass. */
  passRow: number;
}

export interface ReplayPlan {
  columns: string[];
  fields: string[];
  numeric: boolean[];
  symbolIndex: number;
  timestampIndex?: number;
  /** Where the first data row starts. */
  dataOffset: number;
  sourceBytes: number;
  rejectsTopic: string;
  progressTopic: string;
}

export interface ReplayChunkInput {
  input: ReplayInput;
  plan: ReplayPlan;
  /** The marker the last call committed; a stale read of the marker below it is waited out. */
  committed: ReplayMarker;
  rowsPerSecond?: number;
  /** When the first row of this chunk is due (epoch ms): pacing carried over from the last chunk. */
  notBefore?: number;
}

export interface ReplayChunkResult {
  marker: ReplayMarker;
  done: boolean;
  elapsedMs: number;
  /** When the next row is due (epoch ms), if the chunk ended waiting for it. */
  resumeAt?: number;
}

export type ReplayStatus = 'starting' | 'running' | 'paused' | 'retrying' | 'completed' | 'cancelled' | 'failed';

export interface ReplayProgress {
  runId: string;
  status: ReplayStatus;
  rowsRead: number;
  sent: number;
  rejected: number;
  /** Rows read per second over the last chunk. */
  rowsPerSecond: number;
  /** The rate now asked for (undefined: as fast as possible or by timestamps). */
  targetRowsPerSecond?: number;
  etaSeconds?: number;
  /** Share of the work done, 0..1, when the end is known. */
  fraction?: number;
  retries: number;
  lastError?: string;
  /** When the run was paused (ISO-8601), while it is. */
  pausedAt?: string;
  /** The source's size and where its data starts, for a fraction computed from a newer marker. */
  sourceBytes?: number;
  dataOffset?: number;
}

/** Share of a replay done (0..1) at a marker, when the end is known: the limit, or the file's end. */
export function replayFraction(
  input: Pick<ReplayInput, 'limit' | 'mode' | 'loop'>,
  plan: { sourceBytes?: number; dataOffset?: number } | undefined,
  marker: ReplayMarker,
): number | undefined {
  if (input.limit !== undefined) return Math.min(1, marker.rowsRead / input.limit);
  const { sourceBytes, dataOffset } = plan ?? {};
  if (input.mode !== 'ordered' || input.loop || sourceBytes === undefined || dataOffset === undefined) return undefined;
  if (marker.rowsRead === 0 || sourceBytes <= dataOffset) return 0;
  return Math.min(1, (marker.byteOffset - dataOffset) / (sourceBytes - dataOffset));
}

export interface ReplayState {
  plan?: ReplayPlan;
  /** Chunks run by this workflow execution (reset by continue-as-new). */
  chunks: number;
  marker: ReplayMarker;
  paused: boolean;
  /** When the pause signal came (ISO-8601, the workflow's clock). */
  pausedAt?: string;
  rowsPerSecond?: number;
  retries: number;
  lastError?: string;
  rowsPerSecondObserved: number;
  /** Pacing carried from one chunk to the next. */
  notBefore?: number;
}

export interface ReplayResult {
  runId: string;
  topic: string;
  rowsRead: number;
  sent: number;
  rejected: number;
}

/** When a partition's buffered records are written: whichever limit is reached first. */
export interface FlushPolicy {
  maxRecords: number;
  /** Bytes of record values. */
  maxBytes: number;
  /** A buffered record waits this long at most, so data shows up even when traffic stops. */
  maxAgeMs: number;
}

export interface ConsumerInput {
  topic: string;
  groupId: string;
  /** Consumer-group members to run; a worker runs one member of a group at most. */
  members: number;
  flush: FlushPolicy;
  /** A record value above this size is a dead letter. */
  maxRecordBytes: number;
  /** A member stops fetching while it holds this many bytes unwritten. */
  maxBufferedBytes: number;
  /** How often members report progress to the workflow (and pick up pause and flush requests). */
  reportSeconds: number;
  /** The run continues as new after this many history events (or sooner when the server suggests it). */
  maxHistoryEvents: number;
  /** Carried across continue-as-new. */
  state?: ConsumerState;
}

export interface ConsumerTotals {
  /** Valid records written under raw/. */
  records: number;
  /** Records written under dlq/. */
  deadLetters: number;
  objects: number;
  /** Uncompressed bytes of the lines written. */
  bytes: number;
  /** Segments committed (one offset commit each). */
  segments: number;
}

export function emptyTotals(): ConsumerTotals {
  return { records: 0, deadLetters: 0, objects: 0, bytes: 0, segments: 0 };
}

export interface PartitionStatus {
  partition: number;
  /** The group's committed offset: everything below it is in S3. */
  committed: number;
  /** The partition's end offset as last fetched. */
  highWatermark: number;
  lag: number;
  buffered: number;
  lastFlushAt?: string;
  member: number;
  reportedAt: string;
}

export interface MemberReport {
  member: number;
  partitions: PartitionStatus[];
  /** Counts since the member's previous report. */
  delta: ConsumerTotals;
  lastError?: string;
}

/** What the workflow asks of a member in answer to its report. */
export interface MemberCommand {
  paused: boolean;
  /** Incremented by each flush request; a member flushes when it sees a higher number than before. */
  flushRequests: number;
}

export interface MemberInput {
  workflowId: string;
  member: number;
  consumer: Omit<ConsumerInput, 'state'>;
}

export interface ConsumerState {
  totals: ConsumerTotals;
  partitions: Record<string, PartitionStatus>;
  paused: boolean;
  flushRequests: number;
  lastFlushAt?: string;
  lastError?: string;
  /** Runs so far (continue-as-new count + 1). */
  runs: number;
}

export type ConsumerStatus = 'running' | 'paused' | 'stopping' | 'stopped' | 'failed';

export interface ConsumerProgress {
  topic: string;
  groupId: string;
  status: ConsumerStatus;
  members: number;
  totals: ConsumerTotals;
  partitions: PartitionStatus[];
  lag: number;
  buffered: number;
  lastFlushAt?: string;
  lastError?: string;
  runs: number;
}

export interface ConsumerResult {
  topic: string;
  groupId: string;
  totals: ConsumerTotals;
  partitions: PartitionStatus[];
}

export interface CrawlInput {
  /** The Glue crawler to run. */
  crawler: string;
  /** First wait between polls of the crawler's state (default 2); each wait doubles, up to pollMaxSeconds. */
  pollInitialSeconds?: number;
  /** Longest wait between polls (default 30). */
  pollMaxSeconds?: number;
}

export type CrawlerStateName = 'READY' | 'RUNNING' | 'STOPPING';
export type CrawlStatus = 'SUCCEEDED' | 'CANCELLED' | 'FAILED';

/** A crawler's LastCrawl: the last crawl that finished. */
export interface LastCrawl {
  status: CrawlStatus;
  /** ISO-8601, the service's clock. */
  startTime: string;
  errorMessage?: string;
  /** Where AWS wrote the crawl's log (CloudWatch Logs). */
  logGroup?: string;
  logStream?: string;
}

export interface CrawlerState {
  crawler: string;
  state: CrawlerStateName;
  /** The databases the crawler writes to. */
  databases: string[];
  lastCrawl?: LastCrawl;
  /** Seconds the running crawl has taken so far. */
  elapsedSeconds?: number;
}

export interface StartCrawlerResult {
  crawler: string;
  /** `joined`: a crawl was already running, and this one waits for it instead. */
  outcome: 'started' | 'joined';
  /** When the crawl started (ISO-8601), when known. */
  startTime?: string;
  /** LastCrawl's StartTime before the start: the crawl is over once the crawler is READY with a later LastCrawl. */
  previousCrawlStartTime?: string;
}

/** A crawler's tables before a crawl: qualified name (`database.table`) → lowercase column names. */
export interface CatalogSnapshot {
  tables: Record<string, string[]>;
}

export interface CrawlColumn {
  name: string;
  type: string;
}

export interface CrawlChangesInput {
  crawler: string;
  databases: string[];
  /** The crawl's StartTime (ISO-8601): what was created or updated since then is the crawl's doing. */
  since: string;
  snapshot: CatalogSnapshot;
}

/** What a crawl changed. Tables are qualified: `database.table`. */
export interface CrawlChanges {
  tablesCreated: string[];
  tablesUpdated: string[];
  /** Partitions registered by the crawl, per table (tables without new partitions are left out). */
  partitionsAdded: Record<string, number>;
  /** Columns (partition keys included) not in the snapshot, per table; every column of a created table. */
  columnsAdded: Record<string, CrawlColumn[]>;
}

export interface CrawlSummary extends CrawlChanges {
  /** The last crawl's run time as GetCrawlerMetrics reports it. */
  runtimeSeconds?: number;
}

export interface CrawlResult extends CrawlChanges {
  crawler: string;
  outcome: 'started' | 'joined';
  status: 'SUCCEEDED';
  /** The crawl's StartTime (ISO-8601, the service's clock). */
  startTime: string;
  durationSeconds: number;
}

export type CrawlPhase = 'starting' | 'crawling' | 'summarizing' | 'succeeded' | 'failed' | 'cancelled';

export interface CrawlProgress {
  crawler: string;
  phase: CrawlPhase;
  /** The crawler's state at the last poll. */
  crawlerState?: CrawlerStateName;
  outcome?: 'started' | 'joined';
  /** When the crawl started (ISO-8601), once known. */
  startTime?: string;
  polls: number;
  /** The wait before the next poll. */
  nextPollSeconds?: number;
  lastCrawl?: LastCrawl;
  error?: string;
}

/** A named query as the query workers built it for its table. */
export interface NamedQuerySql {
  name: NamedQueryName;
  sql: string;
  /** The columns each role read, e.g. `symbol=index, price=close, size=volume`. */
  columns: string;
  /** The window in words: its length, its clock and the column it read. */
  time: string;
  /** The clock the window followed (event falls back to arrival when the table has no event-time column). */
  timeBasis: TimeBasis;
}

export interface QueryInput {
  /** The SQL to run; or `named`, built by the workflow from the table's schema. */
  sql?: string;
  named?: { name: NamedQueryName; options: NamedQueryOptions };
  /** QueryExecutionContext.Database: the Glue database unqualified table names resolve in. */
  database: string;
  workGroup: string;
  /** Where Athena writes the result files; the work group's setting when absent (or when it is enforced). */
  outputLocation?: string;
  /** Rows returned in the result at most; a longer result is read from its CSV at `outputLocation`. */
  maxRows: number;
  /** First wait between polls of GetQueryExecution, growing to pollMaxMs (Athena throttles polling). */
  pollInitialMs: number;
  pollMaxMs: number;
}

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** Athena's AthenaError, for a FAILED query. */
export interface QueryError {
  category?: number;
  type?: number;
  retryable?: boolean;
  message?: string;
}

export interface QueryStatistics {
  engineMs?: number;
  queueMs?: number;
  planningMs?: number;
  totalMs?: number;
  dataScannedBytes?: number;
}

/** GetQueryExecution, as the workflow needs it. */
export interface QueryStatus {
  queryExecutionId: string;
  state: QueryState;
  stateChangeReason?: string;
  error?: QueryError;
  statementType?: string;
  /** The result CSV in S3. */
  outputLocation?: string;
  statistics: QueryStatistics;
}

export interface QueryColumn {
  name: string;
  /** Athena's type name: varchar, bigint, double, timestamp ... */
  type: string;
}

export interface QueryRows {
  columns: QueryColumn[];
  /** Data rows, without the header; null is SQL NULL. */
  rows: (string | null)[][];
  /** More rows than maxRows: the rest are in the CSV at the output location. */
  truncated: boolean;
}

export interface QueryResult extends QueryRows {
  queryExecutionId: string;
  /** The named query that ran, when it was one. */
  named?: NamedQuerySql;
  outputLocation: string;
  statementType?: string;
  statistics: QueryStatistics;
}

export type QueryPhase = 'starting' | QueryState | 'fetching';

export interface QueryProgress {
  phase: QueryPhase;
  queryExecutionId?: string;
  polls: number;
  statistics?: QueryStatistics;
  error?: string;
}

/** A partition and the offset the consumer must have written everything below. */
export interface FlushTarget {
  partition: number;
  endOffset: number;
}

export interface PipelineInput {
  replay: ReplayInput;
  /** The consumer to start, or to join when it already runs (same workflow id, as `npm run consume` names it). */
  consumer: ConsumerInput;
  consumerWorkflowId: string;
  crawl: CrawlInput;
  /** The named queries' options (the table is the crawled topic's), and where they run. */
  query: NamedQueryOptions & {
    database: string;
    workGroup: string;
    /** Where results go unless the work group enforces its own. */
    outputLocation: string;
  };
  taskQueues: { ingest: string; catalog: string; query: string };
  /** `<Web UI>/namespaces/<namespace>/workflows/`, to link each stage's workflow in the report. */
  workflowsUrl: string;
}

export interface PipelineStage {
  stage: string;
  workflowId: string;
  url: string;
  durationMs: number;
}

export interface PipelineQuery {
  name: string;
  sql: string;
  result: QueryResult;
}

export interface PipelineReport {
  runId: string;
  topic: string;
  replay: ReplayResult;
  consumer: {
    workflowId: string;
    /** The consumer was already running and the pipeline joined it. */
    joined: boolean;
    /** Written by the consumer while the pipeline waited (this run's rows and any others arriving meanwhile). */
    flushed: number;
    deadLettered: number;
    objects: number;
  };
  crawl: CrawlResult;
  /** The topic's table after the crawl, and its partitions (one per hour of data). */
  catalog: {
    table: string;
    partitions: number;
    /** Hours read as compacted Parquet (`dt=…/hour=…`); the others are read raw. */
    compacted: string[];
  };
  /** Rows of this run in the lake, counted by Athena: equal to `replay.sent` when nothing was lost or doubled. */
  lakeRows: number;
  queries: PipelineQuery[];
  stages: PipelineStage[];
  totalMs: number;
}

export type PipelinePhase = 'starting' | 'consumer' | 'replaying' | 'flushing' | 'crawling' | 'querying' | 'done';

export interface PipelineProgress {
  phase: PipelinePhase;
  stages: PipelineStage[];
}

/** One hour of the lake: its partition values. */
export interface LakeHour {
  /** YYYY-MM-DD (UTC). */
  dt: string;
  /** 00–23. */
  hour: string;
}

export interface CompactInput {
  /** Glue database and table of the raw topic (the crawled table). */
  database: string;
  table: string;
  /** Hours to compact (each must be closed); none: every closed hour of the catalog within `lookbackHours`. */
  hours?: LakeHour[];
  /** An hour is closed once it ended this long ago (late records). */
  graceMinutes: number;
  /** How far back a run without `hours` looks for new or changed hours. */
  lookbackHours: number;
  /** Parquet file size aimed at. */
  targetMb: number;
}

export type HourOutcome = 'published' | 'unchanged' | 'empty';

export interface HourCompaction extends LakeHour {
  outcome: HourOutcome;
  /** Raw objects read (corrupt ones included). */
  rawObjects: number;
  records: number;
  files: number;
  bytes: number;
  /** Raw objects (or lines of them) that could not be read, sent to dlq/. */
  deadLetters: number;
  /** Where the hour is read from after this run. */
  location?: string;
}

export interface CompactHourInput extends LakeHour {
  database: string;
  table: string;
  targetMb: number;
}

export interface ClosedHoursInput {
  database: string;
  table: string;
  graceMinutes: number;
  lookbackHours: number;
}

export interface CompactResult {
  hours: HourCompaction[];
}
