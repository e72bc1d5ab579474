import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { IngestActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import {
  pauseReplaySignal,
  replayFraction,
  replayProgressQuery,
  resumeReplaySignal,
  setReplayRateSignal,
  type ReplayInput,
  type ReplayProgress,
  type ReplayResult,
  type ReplayState,
  type ReplayStatus,
} from '../lib/contracts';

/** The patch under which a pause stops the running chunk: histories recorded before it replay without it. */
const PAUSE_STOPS_CHUNK = 'pause-stops-chunk';

/** Backoff between failed chunks: 1 s doubling to 30 s, retried until the run is cancelled. */
const backoffMs = (attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 30_000);

function isPermanent(error: unknown): boolean {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return (
    cause instanceof ApplicationFailure &&
    (cause.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(cause.type as (typeof NON_RETRYABLE_ERROR_TYPES)[number]))
  );
}

function describe(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Replays a CSV into a Kafka topic, one chunk activity after another. Progress
 * lives in Kafka (each transaction commits the rows with the run's marker), so
 * a chunk that dies is simply run again; the workflow's own retry loop, rather
 * than the activity's retry policy, makes each retry visible in the progress query.
 */
export async function replayWorkflow(input: ReplayInput): Promise<ReplayResult> {
  const { prepareReplay, replayChunk, replayMarker } = proxyActivities<IngestActivities>({
    startToCloseTimeout: `${input.chunkSeconds + 120} seconds`,
    heartbeatTimeout: '10 seconds',
    // Cancelling the run waits until the chunk has stopped at its last commit.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 1 },
  });

  const state: ReplayState = input.state ?? {
    marker: { rowsRead: 0, sent: 0, rejected: 0, byteOffset: 0, pass: 0, passRow: 0 },
    chunks: 0,
    paused: false,
    rowsPerSecond: input.pacing.kind === 'rate' ? input.pacing.rowsPerSecond : undefined,
    retries: 0,
    rowsPerSecondObserved: 0,
  };
  let status: ReplayStatus = input.state ? 'running' : 'starting';

  /**
   * The running chunk's scope: a pause cancels it, so the chunk stops at its next transaction.
   * Runs whose histories predate this (no PAUSE_STOPS_CHUNK marker) replay as they ran: the
   * pause waited for the chunk's end.
   */
  let chunkScope: CancellationScope | undefined;
  let stoppedForPause = false;
  const pauseStopsChunk = () => patched(PAUSE_STOPS_CHUNK);
  setHandler(pauseReplaySignal, () => {
    state.paused = true;
    state.pausedAt ??= new Date().toISOString();
    if (chunkScope && pauseStopsChunk()) {
      stoppedForPause = true;
      chunkScope.cancel();
    }
  });
  setHandler(resumeReplaySignal, () => {
    state.paused = false;
    state.pausedAt = undefined;
  });
  setHandler(setReplayRateSignal, (rowsPerSecond) => {
    // A signal cannot be refused, and throwing here would fail the whole run: a bad rate is logged and ignored.
    if (!Number.isFinite(rowsPerSecond) || rowsPerSecond <= 0) {
      log.warn('setRate ignored: expected rows per second above 0', { rowsPerSecond });
      return;
    }
    state.rowsPerSecond = rowsPerSecond;
    state.notBefore = undefined;
  });
  setHandler(replayProgressQuery, (): ReplayProgress => {
    const { marker, plan } = state;
    const fraction = status === 'completed' ? 1 : replayFraction(input, plan, marker);
    let etaSeconds: number | undefined;
    if (fraction !== undefined && fraction > 0 && state.rowsPerSecondObserved > 0 && status !== 'completed') {
      const remainingRows = (marker.rowsRead / fraction) * (1 - fraction);
      etaSeconds = Math.round(remainingRows / state.rowsPerSecondObserved);
    }
    return {
      runId: input.runId,
      status,
      rowsRead: marker.rowsRead,
      sent: marker.sent,
      rejected: marker.rejected,
      rowsPerSecond: state.rowsPerSecondObserved,
      targetRowsPerSecond: state.rowsPerSecond,
      etaSeconds,
      fraction,
      retries: state.retries,
      lastError: state.lastError,
      pausedAt: state.pausedAt,
      sourceBytes: plan?.sourceBytes,
      dataOffset: plan?.dataOffset,
    };
  });

  /** Runs an activity until it succeeds, backing off after each transient failure. */
  async function withRetries<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await run();
        state.lastError = undefined;
        if (status === 'retrying') status = 'running';
        return result;
      } catch (error) {
        if (isCancellation(error) || isPermanent(error)) throw error;
        state.retries += 1;
        state.lastError = describe(error);
        status = 'retrying';
        await sleep(backoffMs(attempt));
      }
    }
  }

  try {
    const plan = (state.plan ??= await withRetries(() => prepareReplay({ ...input, state: undefined })));
    for (;;) {
      if (state.paused) {
        status = 'paused';
        state.rowsPerSecondObserved = 0;
        await condition(() => !state.paused);
      }
      status = 'running';
      const before = state.marker.rowsRead;
      const chunk = { input: { ...input, state: undefined }, plan, committed: state.marker };
      let result;
      try {
        result = await withRetries(() => {
          // Paused while a failed attempt waited to be retried: no new attempt, read the marker instead.
          if (state.paused && pauseStopsChunk()) {
            stoppedForPause = true;
            throw new CancelledFailure('paused');
          }
          chunkScope = new CancellationScope();
          return chunkScope.run(() =>
            replayChunk.executeWithOptions({ summary: `send rows after row ${state.marker.rowsRead}` }, [
              { ...chunk, rowsPerSecond: state.rowsPerSecond, notBefore: state.notBefore },
            ]),
          );
        });
      } catch (error) {
        // A pause stopped the chunk at its last commit: carry on from the marker that commit left.
        if (!(stoppedForPause && isCancellation(error) && !CancellationScope.current().consideredCancelled))
          throw error;
        state.marker = await withRetries(() => replayMarker(chunk));
        continue;
      } finally {
        chunkScope = undefined;
        stoppedForPause = false;
      }
      state.marker = result.marker;
      state.notBefore = result.resumeAt;
      state.chunks += 1;
      state.rowsPerSecondObserved =
        result.elapsedMs > 0 ? Math.round(((result.marker.rowsRead - before) * 1000) / result.elapsedMs) : 0;
      if (result.done) break;
      if (state.chunks >= input.chunksPerRun || workflowInfo().continueAsNewSuggested) {
        // A fresh history: ~6 events a chunk would otherwise grow without bound on a long run.
        await condition(allHandlersFinished);
        await continueAsNew<typeof replayWorkflow>({ ...input, state: { ...state, chunks: 0 } });
      }
    }
  } catch (error) {
    status = isCancellation(error) ? 'cancelled' : 'failed';
    throw error;
  }
  status = 'completed';
  return {
    runId: input.runId,
    topic: input.topic,
    rowsRead: state.marker.rowsRead,
    sent: state.marker.sent,
    rejected: state.marker.rejected,
  };
}
