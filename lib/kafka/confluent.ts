import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { kafkaSasl } from './sasl';
import {
  committedMetadata,
  type ConsumerEvents,
  type ConsumerOptions,
  type IncomingMessage,
  type KafkaAdmin,
  type KafkaClient,
  type KafkaClientOptions,
  type KafkaConsumer,
  type KafkaProducer,
  type KafkaTransaction,
  type OutgoingMessage,
  type TransactionalProducer,
  type TransactionalProducerOptions,
} from './types';

/** librdkafka's error names that differ from Kafka's protocol names (the rest are ERR_ + the protocol name). */
const PROTOCOL_NAMES: Record<string, string> = {
  ERR_UNKNOWN_TOPIC_OR_PART: 'UNKNOWN_TOPIC_OR_PARTITION',
  ERR_MSG_SIZE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
};

/** Gives a librdkafka error its type in Kafka's protocol names, as kafkajs names them. */
function normalized(error: unknown): unknown {
  const type = (error as { type?: unknown } | undefined)?.type;
  if (typeof type === 'string' && type.startsWith('ERR_')) {
    Object.defineProperty(error, 'type', { value: PROTOCOL_NAMES[type] ?? type.slice(4), configurable: true });
  }
  return error;
}

async function call<T>(promise: () => Promise<T>): Promise<T> {
  try {
    return await promise();
  } catch (error) {
    throw normalized(error);
  }
}

const defined = (settings: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));

/**
 * librdkafka refuses a record above 1 MB itself (message.max.bytes); kafkajs leaves the limit to the broker
 * (the topic's max.message.bytes). The broker decides on both: librdkafka's ceiling.
 */
const PRODUCER_SETTINGS = { 'message.max.bytes': 1_000_000_000 };

/**
 * How long a connect waits for a broker to answer. librdkafka keeps retrying an unreachable broker for 30 s
 * (its metadata timeout) and longer, past an activity's heartbeat timeout; kafkajs fails such a connect within
 * seconds with a connection error, and so does this client.
 */
const CONNECT_TIMEOUT_MS = 5_000;

/** Kafka's group states by the number the client reports. */
const GROUP_STATES = ['Unknown', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty'];

/** Records per batch and per consume call of the binding, and how many ms of reading one call may hold. */
const CONSUME_BATCH_RECORDS = 5_000;
const CONSUME_CACHE_MS = 20;

/** librdkafka's rebalance event codes. */
const ASSIGN_PARTITIONS = -175;

/** The native clients under the KafkaJS-style API, for what that API leaves out. */
interface NativeProducer {
  produce(
    topic: string,
    partition: number,
    value: Buffer | null,
    key: string | Buffer | null | undefined,
    timestamp: number,
    opaque: DeliveryOpaque,
    headers: Record<string, string | Buffer>[] | undefined,
  ): void;
  sendOffsetsToTransaction(
    offsets: { topic: string; partition: number; offset: number; metadata?: string }[],
    consumer: unknown,
    timeoutMs: number,
    callback: (error: unknown) => void,
  ): void;
}
interface NativeCommitted {
  topic: string;
  partition: number;
  offset?: number;
  metadata?: string;
}
interface NativeConsumer {
  position(): { topic: string; partition: number; offset: number }[];
  committed(
    partitions: { topic: string; partition: number }[],
    timeoutMs: number,
    callback: (error: unknown, offsets?: NativeCommitted[]) => void,
  ): void;
}

/** How long a committed-offsets lookup may wait for the group's coordinator (a broker restarting loads it). */
const COMMITTED_TIMEOUT_MS = 10_000;
const internal = <T>(client: unknown): T => (client as { _getInternalClient(): T })._getInternalClient();

/** What librdkafka's delivery report of a record calls back (the KafkaJS-style layer's handler), and what failed. */
interface DeliveryOpaque {
  resolve(): void;
  reject(error: unknown): void;
  failed?: unknown;
}

/** librdkafka's local queue is full (`queue.buffering.max.messages`): the record waits for room. */
const QUEUE_FULL = -184;

/**
 * Queues one record in librdkafka; false while its local queue is full (a batch larger than the queue). The
 * KafkaJS-style send() makes a promise and a delivery report per record, which cost the replay more than half its
 * client time (measured: 90,000 records/s through it, 200,000 queued this way, in transactions of 10,000).
 */
function queued(native: NativeProducer, topic: string, message: OutgoingMessage, opaque: DeliveryOpaque): boolean {
  const value = typeof message.value === 'string' ? Buffer.from(message.value) : message.value;
  const headers = message.headers && Object.entries(message.headers).map(([name, header]) => ({ [name]: header }));
  try {
    native.produce(topic, -1, value, message.key, message.timestamp ? Number(message.timestamp) : 0, opaque, headers);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === QUEUE_FULL) return false;
    // After a failed delivery librdkafka refuses more records of the transaction ("Erroneous state"): the cause.
    throw normalized(opaque.failed ?? error);
  }
}

/** The confluent client (librdkafka through @confluentinc/kafka-javascript's KafkaJS-style API). */
export function createConfluentClient(config: Config, logger: Logger, options: KafkaClientOptions = {}): KafkaClient {
  const log = logger.child({ kafka: 'confluent' });
  const kafkaLogger = {
    info: (message: string, extra?: object) => log.debug(extra ?? {}, message),
    error: (message: string, extra?: object) => log.error(extra ?? {}, message),
    warn: (message: string, extra?: object) => log.warn(extra ?? {}, message),
    debug: (message: string, extra?: object) => log.debug(extra ?? {}, message),
    namespace: () => kafkaLogger,
    setLogLevel: () => undefined,
  };
  const kafka = new KafkaJS.Kafka({
    kafkaJS: {
      clientId: config.kafka.clientId,
      brokers: config.kafka.brokers,
      // The client tells settings given from settings absent: only what is set.
      ...(config.kafka.ssl ? { ssl: true } : {}),
      ...(config.kafka.sasl ? { sasl: kafkaSasl(config) as never } : {}),
      logLevel: options.silent ? KafkaJS.logLevel.NOTHING : KafkaJS.logLevel.WARN,
      logger: kafkaLogger as never,
      ...(options.failFast ? { retry: { retries: 0 }, connectionTimeout: 1000, requestTimeout: 2000 } : {}),
    },
  });

  /** Fails with a connection error naming the brokers when none answers a metadata request in time. */
  async function reachable(client: KafkaJS.Admin) {
    try {
      await client.listTopics({ timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      const cause = normalized(error) as Error & { type?: string };
      throw Object.assign(
        new Error(
          `Connection error: no Kafka broker of ${config.kafka.brokers.join(',')} answered within ` +
            `${CONNECT_TIMEOUT_MS / 1000} s (${cause.message})`,
          { cause },
        ),
        { type: cause.type },
      );
    }
  }

  /** The check of admin.connect() for the producers and the consumer, whose own connect waits far longer. */
  async function probe() {
    const client = kafka.admin();
    await call(() => client.connect());
    try {
      await reachable(client);
    } finally {
      await client.disconnect().catch(() => undefined);
    }
  }

  /**
   * Consumer handles of groups that never join, one per group, made when first needed: librdkafka reads a group's
   * committed offsets (committed()) and commits offsets in a transaction (sendOffsetsToTransaction) through a
   * consumer of the group. A handle whose connect failed is forgotten, so the next call makes a new one.
   */
  function groupHandles() {
    const handles = new Map<string, Promise<KafkaJS.Consumer>>();
    return {
      get(groupId: string): Promise<KafkaJS.Consumer> {
        let handle = handles.get(groupId);
        if (!handle) {
          const consumer = kafka.consumer({ kafkaJS: { groupId, autoCommit: false } });
          handle = call(() => consumer.connect()).then(() => consumer);
          handle.catch(() => handles.delete(groupId));
          handles.set(groupId, handle);
        }
        return handle;
      },
      async closeAll() {
        const open = [...handles.values()];
        handles.clear();
        await Promise.allSettled(open.map((handle) => handle.then((consumer) => consumer.disconnect())));
      },
    };
  }

  function admin(): KafkaAdmin {
    const client = kafka.admin();
    let connected = false;
    // For the groups' committed offsets (see fetchGroupOffsets).
    const groups = groupHandles();
    const topicPartitions = async (topics: string[]) => {
      const metadata = await call(() => client.fetchTopicMetadata({ topics }));
      return metadata;
    };
    return {
      async connect() {
        connected = true;
        await call(() => client.connect());
        await reachable(client);
      },
      async disconnect() {
        await groups.closeAll();
        if (connected) await client.disconnect();
        connected = false;
      },
      async createTopics(topics) {
        const created = await call(() => client.createTopics({ topics, timeout: 10_000 }));
        // The client cannot wait for leaders: poll the metadata until every partition has one.
        const deadline = Date.now() + 30_000;
        for (;;) {
          const metadata = await topicPartitions(topics.map(({ topic }) => topic)).catch(() => undefined);
          const ready = metadata?.every((topic) => topic.partitions.every((partition) => partition.leader >= 0));
          if (ready) return created;
          if (Date.now() > deadline) throw new Error(`topics ${topics.map(({ topic }) => topic)} have no leaders`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
      deleteTopics: (topics) => call(() => client.deleteTopics({ topics })),
      listTopics: () => call(() => client.listTopics()),
      async topicPartitions(topics) {
        const metadata = await topicPartitions(topics);
        return Object.fromEntries(metadata.map((topic) => [topic.name, topic.partitions.length]));
      },
      async fetchTopicOffsets(topic) {
        const offsets = await call(() => client.fetchTopicOffsets(topic));
        return offsets.map(({ partition, low, high }) => ({ partition, low, high }));
      },
      async fetchGroupOffsets(groupId, topic) {
        // Not the admin API's fetchOffsets (ListConsumerGroupOffsets): librdkafka 2.15 answers its NOT_COORDINATOR
        // (a broker that just restarted) by asking the client's consumer group to look up the coordinator, and an
        // admin client has none: a NULL dereference, SIGSEGV (rd_kafka_cgrp_op from rd_kafka_handle_OffsetFetch).
        // A consumer handle of the group (it never joins) has one, and its committed() finds the coordinator.
        const [partitions] = await topicPartitions([topic]).then((metadata) =>
          metadata.map(({ partitions: list }) => list.map(({ partitionId }) => partitionId)),
        );
        const handle = await groups.get(groupId);
        const committed = await call(
          () =>
            new Promise<NativeCommitted[]>((resolve, reject) =>
              internal<NativeConsumer>(handle).committed(
                (partitions ?? []).map((partition) => ({ topic, partition })),
                COMMITTED_TIMEOUT_MS,
                (error, offsets) => (error ? reject(error as Error) : resolve(offsets ?? [])),
              ),
            ),
        );
        return committed
          .filter((entry) => entry.topic === topic)
          .sort((a, b) => a.partition - b.partition)
          .map(({ partition, offset, metadata }) => ({
            partition,
            // librdkafka reports no committed offset as -1001 (OFFSET_INVALID); kafkajs as '-1'.
            offset: offset === undefined || offset < 0 ? '-1' : String(offset),
            metadata: committedMetadata(metadata),
          }));
      },
      async describeGroup(groupId) {
        const { groups } = await call(() => client.describeGroups([groupId]));
        const group = groups.find((entry) => entry.groupId === groupId);
        return {
          groupId,
          state: GROUP_STATES[Number(group?.state ?? 4)] ?? 'Unknown',
          members: group?.members.length ?? 0,
        };
      },
      async ping() {
        await call(() => client.listTopics());
      },
    };
  }

  function producer(): KafkaProducer {
    const client = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 }, ...PRODUCER_SETTINGS });
    let connected = false;
    return {
      async connect() {
        await probe();
        connected = true;
        await call(() => client.connect());
      },
      async disconnect() {
        if (connected) await client.disconnect();
        connected = false;
      },
      async send({ topic, messages }) {
        const sent = await call(() => client.send({ topic, messages: messages as never }));
        return sent.map(({ topicName, partition, baseOffset }) => ({ topic: topicName, partition, baseOffset }));
      },
    };
  }

  /**
   * Commits and aborts through librdkafka give up after the client's fixed 5 s while the records' deliveries or
   * the coordinator are pending (a broker restarting), and go on in the background: librdkafka resumes a timed-out
   * call when it is made again, and until then the client still counts the transaction as ongoing (an abort in
   * between fails as conflicting, and every later transaction() as "one at a time"). The call is made again on a
   * timeout or a retriable error, as kafkajs's own commit waits, up to the transaction's timeout.
   */
  async function resumed(what: string, operation: () => Promise<void>, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await call(operation);
      } catch (error) {
        const { code, retriable, abortable } = error as { code?: number; retriable?: boolean; abortable?: boolean };
        const again = code === KafkaJS.ErrorCodes.ERR__TIMED_OUT || (retriable === true && !abortable);
        if (!again || Date.now() > until) throw error;
        log.info({ err: error }, `the transaction's ${what} did not finish yet: resuming it`);
      }
    }
  }

  function transactionalProducer({
    transactionalId,
    transactionTimeoutMs = 60_000,
  }: TransactionalProducerOptions): TransactionalProducer {
    // The transactional settings live under kafkaJS; connect() runs InitProducerId (it fences older producers).
    const client = kafka.producer({
      kafkaJS: { transactionalId, idempotent: true, acks: -1, transactionTimeout: transactionTimeoutMs },
      ...PRODUCER_SETTINGS,
      // A transaction's records are queued natively (queued() above): only a failed one reports back; the
      // commit flushes them all and fails if one failed.
      'delivery.report.only.error': true,
      // The coordinator answers the AddOffsetsToTxn or AddPartitionsToTxn that comes right after a commit with
      // CONCURRENT_TRANSACTIONS until that commit's markers are written; librdkafka retries it after this backoff
      // (100 ms by default, growing to retry.backoff.max.ms). 20 ms, as Kafka's Java producer waits for this error:
      // 40 one-record transactions back to back took 9.3 s with the default, 1.6 s with 20 ms.
      'retry.backoff.ms': 20,
    });
    let connected = false;
    // librdkafka commits offsets in a transaction for a consumer handle of the group (its group metadata).
    const groups = groupHandles();
    return {
      async connect() {
        await probe();
        connected = true;
        await call(() => client.connect());
      },
      async disconnect() {
        await groups.closeAll();
        if (connected) await client.disconnect();
        connected = false;
      },
      async transaction(): Promise<KafkaTransaction> {
        await call(() => client.transaction());
        // librdkafka's commit flushes the transaction's records and fails if one failed: send() queues them and
        // returns, so their produce round trip overlaps the offsets' (AddOffsetsToTxn, TxnOffsetCommit) instead
        // of preceding it. A record that failed is named by commit(), before or instead of librdkafka's own error.
        const opaque: DeliveryOpaque = {
          resolve: () => undefined,
          reject: (error) => (opaque.failed ??= error),
        };
        const native = internal<NativeProducer>(client);
        let offsets: Promise<void> | undefined;
        return {
          async send({ topic, messages }) {
            for (let next = 0; next < messages.length;) {
              if (queued(native, topic, messages[next]!, opaque)) next += 1;
              else await new Promise((resolve) => setTimeout(resolve, 5)); // room comes as deliveries complete
            }
          },
          async sendOffsets({ groupId, topic, partitions }) {
            // The KafkaJS-style sendOffsets drops the metadata (the progress marker): the native call keeps it.
            // Its round trips (AddOffsetsToTxn, TxnOffsetCommit) run on the binding's thread while the caller
            // queues the transaction's records: commit() and abort() wait for them first.
            offsets = (async () => {
              const handle = await groups.get(groupId);
              await call(
                () =>
                  new Promise<void>((resolve, reject) =>
                    native.sendOffsetsToTransaction(
                      partitions.map(({ partition, offset, metadata }) => ({
                        topic,
                        partition,
                        offset: Number(offset),
                        ...(metadata === undefined ? {} : { metadata }),
                      })),
                      internal(handle),
                      10_000,
                      (error) => (error ? reject(error as Error) : resolve()),
                    ),
                  ),
              );
            })();
            offsets.catch(() => undefined); // surfaced by commit()
          },
          async commit() {
            await offsets; // a failed sendOffsets fails the commit
            if (opaque.failed) throw normalized(opaque.failed);
            try {
              return await resumed('commit', () => client.commit(), transactionTimeoutMs);
            } catch (error) {
              throw opaque.failed ? normalized(opaque.failed) : error;
            }
          },
          async abort() {
            await offsets?.catch(() => undefined); // librdkafka takes one transactional call at a time
            return resumed('abort', () => client.abort(), transactionTimeoutMs);
          },
        };
      },
    };
  }

  function consumer(options: ConsumerOptions): KafkaConsumer {
    const listeners: { [E in keyof ConsumerEvents]: ((payload: ConsumerEvents[E]) => void)[] } = {
      assigned: [],
      position: [],
      crash: [],
      disconnect: [],
    };
    const emit = <E extends keyof ConsumerEvents>(event: E, payload: ConsumerEvents[E]) => {
      for (const listener of listeners[event]) listener(payload);
    };
    // Where reading starts without a committed offset is configuration in librdkafka, known at subscribe():
    // the client is made there.
    let client: KafkaJS.Consumer | undefined;
    let connected = false;
    let positions: NodeJS.Timeout | undefined;
    const reportPositions = () => {
      if (!client || !connected) return;
      try {
        for (const { topic, partition, offset } of internal<NativeConsumer>(client).position()) {
          if (offset >= 0) emit('position', { topic, partition, offset: String(offset) });
        }
      } catch {
        // not assigned right now
      }
    };
    const ready = () => {
      if (!client) throw new Error('subscribe() first');
      return client;
    };
    return {
      async connect() {
        // Connects in subscribe(); see above.
      },
      async disconnect() {
        clearInterval(positions);
        const current = client;
        if (current && connected) {
          connected = false;
          await current.disconnect();
          emit('disconnect', {});
        }
      },
      async subscribe({ topic, fromBeginning = false }) {
        client = kafka.consumer({
          // Unset options left out: the client takes a key given as undefined for a value.
          kafkaJS: defined({
            groupId: options.groupId,
            sessionTimeout: options.sessionTimeoutMs,
            rebalanceTimeout: options.rebalanceTimeoutMs,
            heartbeatInterval: options.heartbeatIntervalMs,
            maxWaitTimeInMs: options.maxWaitTimeMs,
            maxBytesPerPartition: options.maxBytesPerPartition,
            readUncommitted: false,
            allowAutoTopicCreation: false,
            autoCommit: false,
            fromBeginning,
          }),
          // The binding turns each record into a JS object with copied key and value Buffers on the main thread,
          // all of one consume call at once: unbounded (-1), one call took every record librdkafka had fetched
          // (200,000 and more, seconds of the thread) and they outlived the young generation. Calls of ~5,000
          // records (20 ms of reading) cost ~15 % less CPU per record (docs/BENCHMARKS.md, 2026-12-06).
          'js.consumer.max.batch.size': CONSUME_BATCH_RECORDS,
          'js.consumer.max.cache.size.per.worker.ms': CONSUME_CACHE_MS,
          rebalance_cb: (error: { code: number }, assignment: { topic: string; partition: number }[]) => {
            if (error.code !== ASSIGN_PARTITIONS) return;
            const byTopic: Record<string, number[]> = {};
            for (const { topic: name, partition } of assignment) (byTopic[name] ??= []).push(partition);
            emit('assigned', { assignment: byTopic });
          },
        } as never);
        await probe();
        connected = true;
        await call(() => ready().connect());
        await call(() => ready().subscribe({ topic }));
      },
      async run({ eachBatch, manualResolve = false }) {
        positions = setInterval(reportPositions, 500);
        await ready().run({
          eachBatchAutoResolve: !manualResolve,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isStale, isRunning }) => {
            // The client's records already have the adapter's fields (key and value Buffers or null, offset and
            // timestamp strings): handed on as they are, not copied into one more object each.
            const messages = batch.messages as unknown as IncomingMessage[];
            await eachBatch({
              batch: {
                topic: batch.topic,
                partition: batch.partition,
                highWatermark: batch.highWatermark,
                messages,
                lastOffset: messages.at(-1)?.offset ?? String(Number(batch.highWatermark) - 1),
              },
              resolveOffset: (offset) => resolveOffset(offset),
              heartbeat,
              isStale,
              isRunning,
            });
          },
        });
      },
      pause: (topic) => ready().pause([{ topic }]),
      resume: (topic) => ready().resume([{ topic }]),
      seek: ({ topic, partition, offset }) => ready().seek({ topic, partition, offset }),
      commitOffsets: (offsets) => call(() => ready().commitOffsets(offsets)),
      on(event, listener) {
        listeners[event].push(listener);
      },
    };
  }

  return { name: 'confluent', admin, producer, transactionalProducer, consumer };
}
