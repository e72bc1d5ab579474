import { defineQuery, defineSignal } from '@temporalio/workflow';

/** The replay workflow's contract: its input (also the continue-as-new payload), result, signals and query. */

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

/**
 * A replay's defaults: `npm run replay` shows them in its --help; the demo, the benchmarks and the test helpers
 * start from them and name only what they change.
 */
export const REPLAY_DEFAULTS: Readonly<
  Pick<ReplayInput, 'pacing' | 'mode' | 'loop' | 'partitions' | 'batchRows' | 'chunkSeconds' | 'chunksPerRun'>
> = Object.freeze({
  pacing: Object.freeze({ kind: 'max' }),
  mode: 'ordered',
  loop: false,
  partitions: 6,
  batchRows: 10_000,
  chunkSeconds: 5,
  chunksPerRun: 500,
});

/** Pacing when a flag leaves part of it out. */
export const REPLAY_PACING_DEFAULTS = Object.freeze({
  /** Sample mode without a rate: the tutorial's one row per second. */
  sampleRowsPerSecond: 1,
  /** With a timestamp column: the file's own clock. */
  speed: 1,
});

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

// The names are in recorded histories (test/fixtures/histories/): renaming one breaks replay of running workflows.
export const pauseReplaySignal = defineSignal('pause');
export const resumeReplaySignal = defineSignal('resume');
/** Rows per second from now on (also turns an as-fast-as-possible run into a paced one). */
export const setReplayRateSignal = defineSignal<[number]>('setRate');
export const replayProgressQuery = defineQuery<ReplayProgress>('progress');
