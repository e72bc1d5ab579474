import { Kafka, logLevel, Partitioners, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { kafkaSasl } from './sasl';
import {
  committedMetadata,
  type ConsumerEvents,
  type ConsumerOptions,
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

const PINO_LEVEL: Record<logLevel, 'error' | 'warn' | 'info' | 'debug' | 'silent'> = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs puts the records of one send for each partition into one record batch, which the broker refuses above
 * its `message.max.bytes` (1 MiB by default): 6,000 records of 170 bytes to one partition failed with
 * MESSAGE_TOO_LARGE, as would a 2,000-row transaction of 600-byte CSV rows of one symbol. Its encoding time also
 * grows with the square of a send's records (63 s for 120,000 records in one send, 2 s in twelve). So one send of
 * the adapter is several kafkajs sends, of at most SEND_SLICE_RECORDS records and about SEND_SLICE_BYTES of keys,
 * values and headers each: within a transaction they commit or abort together, as one send does. A single record
 * over the broker's limit still fails, as it must.
 */
export const SEND_SLICE_RECORDS = 5_000;
export const SEND_SLICE_BYTES = 512 * 1024;

const byteLength = (data: string | Buffer | null | undefined) =>
  data === null || data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.length;

function messageBytes({ key, value, headers }: OutgoingMessage): number {
  let bytes = byteLength(key) + byteLength(value);
  if (headers) for (const name in headers) bytes += Buffer.byteLength(name) + byteLength(headers[name]);
  return bytes;
}

/** The messages in order, cut into the sends described above. */
export function sendSlices(messages: OutgoingMessage[]): OutgoingMessage[][] {
  const slices: OutgoingMessage[][] = [];
  let start = 0;
  let bytes = 0;
  for (const [i, message] of messages.entries()) {
    const size = messageBytes(message);
    if (i > start && (i - start >= SEND_SLICE_RECORDS || bytes + size > SEND_SLICE_BYTES)) {
      slices.push(messages.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < messages.length) slices.push(start === 0 ? messages : messages.slice(start));
  return slices;
}

/** Routes kafkajs's own log lines into the process's structured log. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      const pinoLevel = PINO_LEVEL[level];
      if (pinoLevel !== 'silent') logger[pinoLevel]({ kafkajs: namespace, ...fields }, message);
    };
}

/** Kafka's Java partitioner (murmur2 of the key), which the confluent client uses too. */
const createPartitioner = Partitioners.DefaultPartitioner;

/** The kafkajs client (pure JavaScript): TickSync's default. */
export function createKafkajsClient(config: Config, logger: Logger, options: KafkaClientOptions = {}): KafkaClient {
  const settings: KafkaConfig = {
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl,
    sasl: kafkaSasl(config) as KafkaConfig['sasl'],
    logLevel: options.silent ? logLevel.NOTHING : logLevel.WARN,
    logCreator: pinoLogCreator(logger),
  };
  if (options.failFast)
    Object.assign(settings, { retry: { retries: 0 }, connectionTimeout: 1000, requestTimeout: 2000 });
  const kafka = new Kafka(settings);

  function admin(): KafkaAdmin {
    const client = kafka.admin();
    return {
      connect: () => client.connect(),
      disconnect: () => client.disconnect(),
      createTopics: (topics) => client.createTopics({ topics, waitForLeaders: true }),
      deleteTopics: (topics) => client.deleteTopics({ topics }),
      listTopics: () => client.listTopics(),
      async topicPartitions(topics) {
        const metadata = await client.fetchTopicMetadata({ topics });
        return Object.fromEntries(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
      },
      async fetchTopicOffsets(topic) {
        const offsets = await client.fetchTopicOffsets(topic);
        return offsets.map(({ partition, low, high }) => ({ partition, low, high }));
      },
      async fetchGroupOffsets(groupId, topic) {
        const [offsets] = await client.fetchOffsets({ groupId, topics: [topic] });
        return (offsets?.partitions ?? []).map(({ partition, offset, metadata }) => ({
          partition,
          offset,
          metadata: committedMetadata(metadata),
        }));
      },
      async describeGroup(groupId) {
        const { groups } = await client.describeGroups([groupId]);
        const group = groups.find((entry) => entry.groupId === groupId);
        return { groupId, state: group?.state ?? 'Dead', members: group?.members.length ?? 0 };
      },
      async ping() {
        const cluster = await client.describeCluster();
        if (cluster.brokers.length === 0) throw new Error('Kafka answered with no brokers');
      },
    };
  }

  function producer(): KafkaProducer {
    const client = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner });
    return {
      connect: () => client.connect(),
      disconnect: () => client.disconnect(),
      async send({ topic, messages }) {
        const sent = [];
        for (const slice of sendSlices(messages))
          sent.push(...(await client.send({ topic, acks: -1, messages: slice })));
        return sent.map(({ topicName, partition, baseOffset }) => ({ topic: topicName, partition, baseOffset }));
      },
    };
  }

  /**
   * The transaction coordinator answers CONCURRENT_TRANSACTIONS while it still completes the producer's previous
   * transaction: EndTxn returns before the commit markers are written. Kafka's own clients retry it; kafkajs does
   * for AddPartitionsToTxn (send) but not for AddOffsetsToTxn (sendOffsets), which then failed the transaction
   * begun right after a commit whenever it opened with its offsets (the replay's marker does). Retried here, with
   * a short backoff, until the transaction would time out; nothing was added to the transaction when it fails.
   */
  async function whileConcurrent<T>(call: () => Promise<T>, deadline: number): Promise<T> {
    for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
      try {
        return await call();
      } catch (error) {
        if ((error as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS' || Date.now() + delay > deadline)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  function transactionalProducer({
    transactionalId,
    transactionTimeoutMs = 60_000,
  }: TransactionalProducerOptions): TransactionalProducer {
    const client = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: transactionTimeoutMs,
      createPartitioner,
    });
    return {
      async connect() {
        await client.connect();
        // kafkajs's connect() only registers an idempotent producer; the transactional InitProducerId — which
        // fences older producers of this id and settles their open transaction — comes with the first
        // transaction. Open and abort an empty one now, so that it is done when connect() resolves.
        const fence = await client.transaction();
        await fence.abort();
      },
      disconnect: () => client.disconnect(),
      async transaction(): Promise<KafkaTransaction> {
        const transaction = await client.transaction();
        return {
          async send({ topic, messages }) {
            for (const slice of sendSlices(messages)) await transaction.send({ topic, acks: -1, messages: slice });
          },
          sendOffsets: ({ groupId, topic, partitions }) =>
            whileConcurrent(
              () =>
                // kafkajs passes the metadata string through; its typings omit it.
                transaction.sendOffsets({
                  consumerGroupId: groupId,
                  topics: [{ topic, partitions: partitions as never }],
                }),
              Date.now() + transactionTimeoutMs,
            ),
          commit: () => transaction.commit(),
          abort: () => transaction.abort(),
        };
      },
    };
  }

  function consumer(options: ConsumerOptions): KafkaConsumer {
    const client = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxWaitTimeMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      retry: { restartOnFailure: () => Promise.resolve(options.restartOnCrash ?? true) },
    });
    const listeners: { [E in keyof ConsumerEvents]: ((payload: ConsumerEvents[E]) => void)[] } = {
      assigned: [],
      position: [],
      crash: [],
      disconnect: [],
    };
    const emit = <E extends keyof ConsumerEvents>(event: E, payload: ConsumerEvents[E]) => {
      for (const listener of listeners[event]) listener(payload);
    };
    client.on(client.events.GROUP_JOIN, ({ payload }) => emit('assigned', { assignment: payload.memberAssignment }));
    client.on(client.events.END_BATCH_PROCESS, ({ payload }) =>
      emit('position', {
        topic: payload.topic,
        partition: payload.partition,
        offset: String(Number(payload.lastOffset) + 1),
      }),
    );
    client.on(client.events.CRASH, ({ payload }) => emit('crash', { error: payload.error, restart: payload.restart }));
    client.on(client.events.DISCONNECT, () => emit('disconnect', {}));
    return {
      connect: () => client.connect(),
      disconnect: () => client.disconnect(),
      subscribe: ({ topic, fromBeginning }) => client.subscribe({ topic, fromBeginning }),
      run: ({ eachBatch, manualResolve = false }) =>
        client.run({
          autoCommit: false,
          eachBatchAutoResolve: !manualResolve,
          eachBatch: ({ batch, resolveOffset, heartbeat, isStale, isRunning }) =>
            eachBatch({
              batch: {
                topic: batch.topic,
                partition: batch.partition,
                highWatermark: batch.highWatermark,
                messages: batch.messages,
                lastOffset: batch.lastOffset(),
              },
              resolveOffset,
              heartbeat,
              isStale,
              isRunning,
            }),
        }),
      pause: (topic) => client.pause([{ topic }]),
      resume: (topic) => client.resume([{ topic }]),
      seek: (position) => client.seek(position),
      commitOffsets: (offsets) => client.commitOffsets(offsets),
      on(event, listener) {
        listeners[event].push(listener);
      },
    };
  }

  return { name: 'kafkajs', admin, producer, transactionalProducer, consumer };
}
