/**
 * The Kafka operations TickSync needs, independent of the client library that
 * performs them (TICKSYNC_KAFKA_CLIENT: kafkajs or confluent). Offsets are
 * decimal strings, as on the wire; messages partition by key with Kafka's
 * Java (murmur2) partitioner on both clients, so a key lands on the same
 * partition whichever client produced it.
 */

export type KafkaClientName = 'kafkajs' | 'confluent';

export interface OutgoingMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  /** Milliseconds since the epoch, as a string; the broker's clock when absent. */
  timestamp?: string;
  headers?: Record<string, string | Buffer>;
}

export interface IncomingMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  /** Milliseconds since the epoch, as a string. */
  timestamp: string;
}

export interface ProducedRecord {
  topic: string;
  partition: number;
  /** The offset of the first message sent to this partition. */
  baseOffset?: string;
}

export interface SendRecord {
  topic: string;
  messages: OutgoingMessage[];
}

export interface TopicSpec {
  topic: string;
  numPartitions?: number;
  /** Topic settings (max.message.bytes ...). */
  configEntries?: { name: string; value: string }[];
}

export interface PartitionEnds {
  partition: number;
  /** The log start offset. */
  low: string;
  /** The end offset: the offset the next record will get. */
  high: string;
}

export interface GroupOffset {
  partition: number;
  /** The next offset to read; '-1' when the group has none. */
  offset: string;
  /** The metadata committed with the offset, exactly as it was sent. */
  metadata: string | null;
}

export interface GroupDescription {
  groupId: string;
  /** Kafka's group state: Stable, PreparingRebalance, Empty, Dead ... */
  state: string;
  members: number;
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  /** Safe to call whether or not connect() ran or succeeded. */
  disconnect(): Promise<void>;
  /** Creates the topics that do not exist yet and waits until they have leaders; true when it created all. */
  createTopics(topics: TopicSpec[]): Promise<boolean>;
  deleteTopics(topics: string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Partition counts by topic; fails with type UNKNOWN_TOPIC_OR_PARTITION when a topic does not exist. */
  topicPartitions(topics: string[]): Promise<Record<string, number>>;
  fetchTopicOffsets(topic: string): Promise<PartitionEnds[]>;
  /** A group's committed offsets (with their metadata) on one topic's partitions. */
  fetchGroupOffsets(groupId: string, topic: string): Promise<GroupOffset[]>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** Resolves when a broker answers a metadata request with at least one broker. */
  ping(): Promise<void>;
}

/** An idempotent producer (acks=all), for rejects, probes, tests and tools. */
export interface KafkaProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: SendRecord): Promise<ProducedRecord[]>;
}

export interface TransactionalProducerOptions {
  transactionalId: string;
  /** How long the broker lets a transaction stay open before it aborts it. */
  transactionTimeoutMs?: number;
}

/** Offsets committed for a consumer group as part of a transaction. */
export interface TransactionOffsets {
  groupId: string;
  topic: string;
  partitions: { partition: number; offset: string; metadata?: string }[];
}

export interface KafkaTransaction {
  /**
   * Adds the messages to the transaction. It may resolve before the broker has them (confluent queues them):
   * commit() resolves only once every message is delivered, and fails if one was not.
   */
  send(record: SendRecord): Promise<void>;
  /**
   * Commits the offsets (and their metadata) together with the transaction's messages. It may resolve before
   * the coordinator has them (confluent sends them while the caller sends messages): commit() fails if they failed.
   */
  sendOffsets(offsets: TransactionOffsets): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A transactional producer. connect() registers the transactional id with the
 * broker (InitProducerId): that fences every older producer of the same id and
 * settles a transaction it left open, before connect() resolves.
 */
export interface TransactionalProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Opens a transaction; one at a time. */
  transaction(): Promise<KafkaTransaction>;
}

export interface ConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  /** How long a rebalance waits for members to rejoin. */
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a fetch waits for data at most. */
  maxWaitTimeMs?: number;
  maxBytesPerPartition?: number;
  /** Whether the client rejoins by itself after a crash (default true); else the owner starts a new consumer. */
  restartOnCrash?: boolean;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  /** The partition's end offset as the fetch saw it. */
  highWatermark: string;
  messages: IncomingMessage[];
  /** The last offset the batch covers, transaction markers included. */
  lastOffset: string;
}

export interface EachBatchPayload {
  batch: ConsumerBatch;
  /** Marks the batch processed up to this offset: reading goes on after it. */
  resolveOffset(offset: string): void;
  /** Tells the group the member is alive while a batch takes long. */
  heartbeat(): Promise<void>;
  /** Whether a rebalance or a seek made this batch obsolete. */
  isStale(): boolean;
  isRunning(): boolean;
}

export interface ConsumerEvents {
  /** The member joined the group with these partitions (by topic); reading restarts at the committed offsets. */
  assigned: { assignment: Record<string, number[]> };
  /** Fetching of a partition moved on to `offset` (next to read), transaction markers included. */
  position: { topic: string; partition: number; offset: string };
  /** The client gave up; `restart` when it rejoins by itself. */
  crash: { error: Error; restart: boolean };
  disconnect: Record<string, never>;
}

export interface RunOptions {
  /** Batches of one partition in offset order; an error thrown leaves the batch to be read again. */
  eachBatch(payload: EachBatchPayload): Promise<void>;
  /** Resolve offsets by hand (resolveOffset) rather than after each batch. Default false. */
  manualResolve?: boolean;
}

/**
 * A read-committed group member. Offsets are committed only by commitOffsets;
 * no topic is created by subscribing.
 */
export interface KafkaConsumer {
  connect(): Promise<void>;
  /** Leaves the group; safe whether or not connect() ran or succeeded. */
  disconnect(): Promise<void>;
  subscribe(subscription: { topic: string; fromBeginning?: boolean }): Promise<void>;
  run(options: RunOptions): Promise<void>;
  pause(topic: string): void;
  resume(topic: string): void;
  seek(position: { topic: string; partition: number; offset: string }): void;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  on<E extends keyof ConsumerEvents>(event: E, listener: (payload: ConsumerEvents[E]) => void): void;
}

/** Settings for clients that must notice an outage at once (probes, health checks). */
export interface KafkaClientOptions {
  /** No retries, short connection and request timeouts. */
  failFast?: boolean;
  /** Logs nothing of the client library's own. */
  silent?: boolean;
}

export interface KafkaClient {
  readonly name: KafkaClientName;
  admin(): KafkaAdmin;
  producer(): KafkaProducer;
  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer;
  consumer(options: ConsumerOptions): KafkaConsumer;
}

/** A Kafka error's type in Kafka's protocol names (UNKNOWN_TOPIC_OR_PARTITION ...), whichever client raised it. */
export function kafkaErrorType(error: unknown): string | undefined {
  return (error as { type?: unknown } | undefined)?.type as string | undefined;
}

/** Whether retrying the operation may succeed (the broker starting, a leader moving ...). */
export function isRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown } | undefined)?.retriable === true;
}

/**
 * The metadata of a committed offset as it was sent. librdkafka stores a
 * string's terminating NUL with it, so a marker written by the confluent client
 * reads back with one; both clients drop it.
 */
export function committedMetadata(metadata: string | null | undefined): string | null {
  if (metadata === null || metadata === undefined || metadata === '') return null;
  return metadata.endsWith('\0') ? metadata.slice(0, -1) : metadata;
}
