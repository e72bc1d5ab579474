import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import { classifyKafkaError } from '../lib/errors';
import type { ConsumerProgress, FlushTarget } from '../lib/types';
import { consumerProgressQuery } from '../workflows/consumer';

export interface PipelineActivityDeps {
  kafka: Kafka;
  /** Reads the consumer's progress through its workflow's query. */
  temporal: Client;
}

/** How often the wait asks the consumer for its progress. */
const POLL_MS = 1000;

/** Whether every target partition is fetched to its end offset and has nothing left unwritten. */
export function hasFlushed(progress: ConsumerProgress, targets: FlushTarget[]): boolean {
  return targets.every(({ partition, endOffset }) => {
    const status = progress.partitions.find((entry) => entry.partition === partition);
    return status !== undefined && status.highWatermark >= endOffset && status.lag === 0 && status.buffered === 0;
  });
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
      if (hasFlushed(progress, input.targets)) return progress;
      context.heartbeat({ lag: progress.lag, buffered: progress.buffered });
      await context.sleep(POLL_MS);
    }
  }

  return { topicEndOffsets, consumerProgress, waitForConsumerFlushed };
}
