import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { classifyKafkaError } from '../../lib/errors';
import {
  isRetriable,
  kafkaErrorType,
  type EachBatchPayload,
  type KafkaAdmin,
  type KafkaClient,
  type KafkaConsumer,
} from '../../lib/kafka';
import { PartitionBuffer } from './buffer';

/**
 * The most a fetch takes from one partition. Records larger than this still arrive whole (the broker returns at
 * least one batch).
 */
export const FETCH_BYTES_PER_PARTITION = 4 << 20;

interface Log {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/**
 * One member of the consumer group through the Kafka adapter (read committed, manual commits, 10 s session):
 * which partitions it has since the last join and where each one's chain stands (a PartitionBuffer each),
 * batches, pause/resume, commits in the background.
 */
export class GroupMember {
  /** The member's partitions since the last join; replaced at every join. */
  buffers = new Map<number, PartitionBuffer>();
  /** Where fetching stands per partition since the last join, past any transaction markers. */
  readonly positions = new Map<number, number>();
  private readonly admin: KafkaAdmin;
  private readonly consumer: KafkaConsumer;
  private assigned: number[] = [];
  private loading: Promise<void> | undefined;
  private readonly commits = new Set<Promise<void>>();

  constructor(
    kafka: KafkaClient,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly log: Log,
  ) {
    this.admin = kafka.admin();
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 30_000,
      heartbeatIntervalMs: 1_000,
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
    });
  }

  /** Connects the admin client and checks the topic (a missing one fails with the retryable TopicMissing). */
  async connectAdmin(): Promise<void> {
    try {
      await this.admin.connect();
      await this.admin.topicPartitions([this.topic]);
    } catch (error) {
      if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw ApplicationFailure.retryable(`topic ${this.topic} does not exist yet; waiting for it`, 'TopicMissing');
      }
      throw classifyKafkaError('Metadata', error);
    }
  }

  /** Joins the group and hands each batch to `eachBatch`; `crashed` is told when the client gives up. */
  async run(
    label: Record<string, unknown>,
    eachBatch: (payload: EachBatchPayload) => Promise<void>,
    crashed: (error: Error) => void,
  ) {
    this.consumer.on('assigned', ({ assignment }) => {
      // Fetching restarts from the committed offsets after every join: forget what is unwritten.
      this.assigned = assignment[this.topic] ?? [];
      this.buffers = new Map();
      this.positions.clear();
      this.loading = undefined;
      this.log.info('joined group', { groupId: this.groupId, ...label, partitions: this.assigned });
      // Now rather than at the first batch: idle partitions are reported too.
      this.ensureLoaded().catch((error: unknown) =>
        this.log.warn('could not read the group offsets; trying again at the next batch', {
          error: (error as Error).message,
        }),
      );
    });
    // Transaction markers never reach eachBatch, but still move the position.
    this.consumer.on('position', ({ partition, offset }) => {
      this.positions.set(partition, Math.max(this.positions.get(partition) ?? 0, Number(offset)));
    });
    this.consumer.on('crash', ({ error, restart }) => {
      if (!restart) crashed(error);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({ manualResolve: true, eachBatch });
  }

  /** The buffers of the partitions assigned, loaded once per join. */
  ensureLoaded(): Promise<void> {
    this.loading ??= this.loadPatiently(this.assigned).catch((error: unknown) => {
      this.loading = undefined;
      throw classifyKafkaError('FetchOffsets', error);
    });
    return this.loading;
  }

  /** Where each partition's chain stands: the group's committed offset, or the log start. */
  private async load(partitions: number[]) {
    const committed = await this.admin.fetchGroupOffsets(this.groupId, this.topic);
    const ends = await this.admin.fetchTopicOffsets(this.topic);
    const fresh = new Map<number, PartitionBuffer>();
    for (const partition of partitions) {
      const offsets = ends.find((entry) => entry.partition === partition);
      const group = committed.find((entry) => entry.partition === partition);
      const next = group && Number(group.offset) >= 0 ? Number(group.offset) : Number(offsets?.low ?? 0);
      fresh.set(partition, new PartitionBuffer(partition, next, Number(offsets?.high ?? next)));
    }
    this.buffers = fresh;
  }

  /** Loads, waiting out what a broker says while it starts (coordinator loading, say). */
  private async loadPatiently(partitions: number[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.load(partitions);
      } catch (error) {
        if (!isRetriable(error) || attempt >= 20) throw error;
        await sleep(500);
      }
    }
  }

  /** Moves each buffer's end to the broker's partition end: lag stays true while fetching is paused or idle. */
  async refreshEnds(): Promise<void> {
    for (const { partition, high } of await this.admin.fetchTopicOffsets(this.topic)) {
      const buffer = this.buffers.get(partition);
      if (buffer) buffer.highWatermark = Math.max(buffer.highWatermark, Number(high));
    }
  }

  pause(paused: boolean): void {
    if (paused) this.consumer.pause(this.topic);
    else this.consumer.resume(this.topic);
  }

  /**
   * Commits in the background: a commit only says where to start reading, so a slow one (during a rebalance,
   * say) must not hold up writing or the rejoin. A failed one is logged, not fatal: the segment is in S3 with
   * its manifest, and whoever reads it again adopts it.
   */
  commit(buffer: PartitionBuffer, offset: number): void {
    const { partition } = buffer;
    const pending = this.consumer
      .commitOffsets([{ topic: this.topic, partition, offset: String(offset) }])
      .then(() => void (buffer.committed = Math.max(buffer.committed, offset)))
      .catch((error: unknown) => {
        this.log.warn('offset commit failed', { partition, offset, error: (error as Error).message });
      })
      .finally(() => this.commits.delete(pending));
    this.commits.add(pending);
  }

  /** Waits for the commits under way, `ms` at most. */
  async settleCommits(ms: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.commits]), sleep(ms, undefined, { ref: false })]);
  }

  /** Leaves the group and closes the clients. */
  async disconnect(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}
