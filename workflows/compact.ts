import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { CompactActivities } from '../activities';
import { compactProgressQuery, type CompactInput, type CompactProgress, type CompactResult } from '../lib/contracts';
import { AWS_RETRY, surfaced } from './aws-calls';

const { closedHours } = proxyActivities<CompactActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: AWS_RETRY,
});
// One hour of raw objects read, written as Parquet and published; heartbeats every 5 s.
const { compactHour } = proxyActivities<CompactActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '20 seconds',
  // Until it succeeds or fails for good: a killed worker's hour is taken up again by the next attempt.
  retry: {
    initialInterval: AWS_RETRY.initialInterval,
    backoffCoefficient: AWS_RETRY.backoffCoefficient,
    maximumInterval: AWS_RETRY.maximumInterval,
    nonRetryableErrorTypes: AWS_RETRY.nonRetryableErrorTypes,
  },
});

/**
 * Compacts the closed hours of a raw topic table into Parquet, one hour after another: each hour is published
 * in one catalog step by `compactHour`, which is idempotent, so a run killed at any point is simply run again
 * (or retried by Temporal) and an hour already published is left as it is.
 */
export async function compactWorkflow(input: CompactInput): Promise<CompactResult> {
  const progress: CompactProgress = { hours: [], done: [] };
  setHandler(compactProgressQuery, () => progress);
  try {
    progress.hours = await closedHours({
      database: input.database,
      table: input.table,
      graceMinutes: input.graceMinutes,
      lookbackHours: input.lookbackHours,
      hours: input.hours,
    });
    for (const hour of progress.hours) {
      progress.done.push(
        await compactHour({ ...hour, database: input.database, table: input.table, targetMb: input.targetMb }),
      );
    }
    return { hours: progress.done };
  } catch (error) {
    throw surfaced(error);
  }
}
