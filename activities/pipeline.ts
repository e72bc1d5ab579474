import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { classifyKafkaError, ErrorType, nonRetryable } from '../lib/errors';
import type { KafkaClient } from '../lib/kafka';
import { type ConsumerProgress, consumerProgressQuery, type FlushTarget } from '../lib/contracts';

export interface PipelineActivityDeps {
  kafka: KafkaClient;
  /** Reads the consumer's progress through its workflow's query. */
  temporal: Client;
}

/** How often the wait asks the consumer for its progress. */
const POLL_MS = 1000;

/**
 * `flushed` once every target partition is fetched to its end offset with nothing
 * left unwritten; `stopped` when the consumer stopped or failed before that (it
 * never will); else `waiting` (a paused consumer resumes when told to).
 */
export function flushState(progress: ConsumerProgress, targets: FlushTarget[]): 'flushed' | 'waiting' | 'stopped' {
  const flushed = targets.every(({ partition, endOffset }) => {
    const status = progress.partitions.find((entry) => entry.partition === partition);
    return status !== undefined && status.highWatermark >= endOffset && status.lag === 0 && status.buffered === 0;
  });
  if (flushed) return 'flushed';
  return ['stopping', 'stopped', 'failed'].includes(progress.status) ? 'stopped' : 'waiting';
}

export function createPipelineActivities({ kafka, temporal }: PipelineActivityDeps) {
  /** The topic's end offsets now: everything produced so far lies below them. */
  async function topicEndOffsets(topic: string): Promise<FlushTarget[]> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map(({ partition, high }) => ({ partition, endOffset: Number(high) }));
    } catch (error) {
      throw classifyKafkaError('FetchTopicOffsets', error);
    } finally {
      await admin.disconnect();
    }
  }

  /** The consumer's progress, as its workflow reports it. */
  async function consumerProgress(workflowId: string): Promise<ConsumerProgress> {
    return temporal.workflow.getHandle(workflowId).query(consumerProgressQuery);
  }

  /**
   * Waits until the consumer has written to S3 every record below the target
   * offsets: each partition fetched to its end offset (control records
   * included), with nothing buffered. Heartbeats while it waits.
   */
  async function waitForConsumerFlushed(input: {
    workflowId: string;
    targets: FlushTarget[];
  }): Promise<ConsumerProgress> {
    const context = Context.current();
    for (;;) {
      const progress = await consumerProgress(input.workflowId);
      const state = flushState(progress, input.targets);
      if (state === 'flushed') return progress;
      if (state === 'stopped') {
        throw nonRetryable(
          ErrorType.ConsumerStopped,
          `the consumer ${input.workflowId} is ${progress.status} with ${progress.lag} records not yet in S3` +
            (progress.lastError ? ` (last error: ${progress.lastError})` : '') +
            ': start it again (npm run consume) and rerun the pipeline',
        );
      }
      context.heartbeat({ lag: progress.lag, buffered: progress.buffered });
      await context.sleep(POLL_MS);
    }
  }

  return { topicEndOffsets, consumerProgress, waitForConsumerFlushed };
}
