import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** The consumer workflow's contract: its input (also the continue-as-new payload), result, signals, query and update. */

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

/** Bytes in a MiB, the unit of the consumer's size flags. */
export const MIB = 1024 * 1024;

/** A member stops fetching while it holds this many flushes' worth of unwritten bytes (`maxBufferedBytes`). */
export const BUFFERED_FLUSHES = 4;

/**
 * A consumer's defaults: `npm run consume` shows them in its --help (in MiB, KiB and seconds); the demo, the
 * benchmarks and the test helpers start from them and name only what they change.
 */
export const CONSUMER_DEFAULTS: Readonly<Omit<ConsumerInput, 'topic' | 'groupId' | 'state'>> = Object.freeze({
  members: 1,
  flush: Object.freeze({ maxRecords: 100_000, maxBytes: 64 * MIB, maxAgeMs: 5_000 }),
  maxRecordBytes: 1 * MIB,
  maxBufferedBytes: BUFFERED_FLUSHES * 64 * MIB,
  reportSeconds: 2,
  maxHistoryEvents: 8_000,
});

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

// The names are in recorded histories (test/fixtures/histories/): renaming one breaks replay of running workflows.
export const pauseConsumerSignal = defineSignal('pause');
export const resumeConsumerSignal = defineSignal('resume');
/** Members write everything they hold at their next report. */
export const flushNowSignal = defineSignal('flushNow');
/** Members write what they hold, commit, leave the group; the workflow then completes. */
export const stopConsumerSignal = defineSignal('stop');
export const consumerProgressQuery = defineQuery<ConsumerProgress>('consumerProgress');
/** A member's periodic report; the answer carries the workflow's requests back. */
export const memberReportUpdate = defineUpdate<MemberCommand, [MemberReport]>('memberReport');
