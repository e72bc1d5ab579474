import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { IngestActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import {
  consumerProgressQuery,
  emptyTotals,
  flushNowSignal,
  memberReportUpdate,
  pauseConsumerSignal,
  resumeConsumerSignal,
  stopConsumerSignal,
  type ConsumerInput,
  type ConsumerProgress,
  type ConsumerResult,
  type ConsumerState,
  type ConsumerStatus,
  type ConsumerTotals,
  type MemberCommand,
} from '../lib/contracts';

/**
 * Consumes a topic into S3 as one consumer group: `members` long-running
 * consume-and-flush activities, each a group member on whichever ingest worker
 * picks it up. Exactly-once lives in S3 (create-only segment manifests) and in
 * the group's committed offsets, so a member that dies is simply started again.
 */
export async function consumerWorkflow(input: ConsumerInput): Promise<ConsumerResult> {
  const { consumeAndFlush } = proxyActivities<IngestActivities>({
    // Members end at continue-as-new; the timeout only bounds a member that would never end.
    startToCloseTimeout: '1 day',
    heartbeatTimeout: '15 seconds',
    // Stopping waits until each member has written what it held and committed.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
    },
  });

  const state: ConsumerState = input.state ?? {
    totals: emptyTotals(),
    partitions: {},
    paused: false,
    flushRequests: 0,
    runs: 1,
  };
  let stopping = false;
  let status: ConsumerStatus = 'running';

  setHandler(pauseConsumerSignal, () => void (state.paused = true));
  setHandler(resumeConsumerSignal, () => void (state.paused = false));
  setHandler(flushNowSignal, () => void (state.flushRequests += 1));
  setHandler(stopConsumerSignal, () => void (stopping = true));
  setHandler(memberReportUpdate, (report): MemberCommand => {
    for (const [field, value] of Object.entries(report.delta) as [keyof ConsumerTotals, number][]) {
      state.totals[field] += value;
    }
    for (const partition of report.partitions) {
      const known = state.partitions[partition.partition];
      // After a rebalance two members may report a partition; the newer report wins.
      if (!known || known.reportedAt <= partition.reportedAt) state.partitions[partition.partition] = partition;
      if (partition.lastFlushAt && (!state.lastFlushAt || partition.lastFlushAt > state.lastFlushAt)) {
        state.lastFlushAt = partition.lastFlushAt;
      }
    }
    state.lastError = report.lastError;
    return { paused: state.paused, flushRequests: state.flushRequests };
  });
  setHandler(consumerProgressQuery, (): ConsumerProgress => {
    const partitions = Object.values(state.partitions).sort((a, b) => a.partition - b.partition);
    return {
      topic: input.topic,
      groupId: input.groupId,
      status: status === 'running' && state.paused ? 'paused' : status,
      members: input.members,
      totals: state.totals,
      partitions,
      lag: partitions.reduce((sum, partition) => sum + partition.lag, 0),
      buffered: partitions.reduce((sum, partition) => sum + partition.buffered, 0),
      lastFlushAt: state.lastFlushAt,
      lastError: state.lastError,
      runs: state.runs,
    };
  });

  const consumer = { ...input, state: undefined };
  const members = new CancellationScope();
  const running = Array.from({ length: input.members }, (_, index) =>
    members.run(() => consumeAndFlush({ workflowId: workflowInfo().workflowId, member: index + 1, consumer })),
  );
  // A member that fails for good (bad credentials, say) fails the run. Once members are told to stop, how each
  // ends does not matter: one whose worker died ends by timing out rather than by its cancellation.
  let failure: unknown;
  let stoppingMembers = false;
  const settled = Promise.all(
    running.map((member) =>
      member.catch((error: unknown) => {
        if (!stoppingMembers && !isCancellation(error)) failure ??= error;
      }),
    ),
  );
  let membersDone = false;
  void settled.then(() => (membersDone = true));

  const historyFull = () =>
    workflowInfo().historyLength >= input.maxHistoryEvents || workflowInfo().continueAsNewSuggested;
  try {
    await condition(() => stopping || failure !== undefined || membersDone || historyFull());
    status = stopping ? 'stopping' : status;
    stoppingMembers = true;
    members.cancel();
    await settled;
  } catch (error) {
    // The run itself was cancelled: its members were cancelled with it; let them write what they hold.
    status = isCancellation(error) ? 'stopped' : 'failed';
    stoppingMembers = true;
    await CancellationScope.nonCancellable(() => settled);
    throw error;
  }
  if (failure !== undefined) {
    status = 'failed';
    throw failure;
  }
  if (!stopping) {
    await condition(allHandlersFinished);
    await continueAsNew<typeof consumerWorkflow>({ ...input, state: { ...state, runs: state.runs + 1 } });
  }
  status = 'stopped';
  return {
    topic: input.topic,
    groupId: input.groupId,
    totals: state.totals,
    partitions: Object.values(state.partitions).sort((a, b) => a.partition - b.partition),
  };
}
