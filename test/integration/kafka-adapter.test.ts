import { loadConfig } from '../../lib/config';
import { createKafka, type GroupOffset, type KafkaAdmin, type KafkaClient, type KafkaConsumer } from '../../lib/kafka';
import { createLogger } from '../../lib/logger';
import { runScript, withOwnService } from '../helpers/scripts';
import { uniqueName } from '../helpers/workers';

// The adapter's contract (lib/kafka/types.ts), the same on both clients, on the real broker.

const clients = ['kafkajs', 'confluent'] as const;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The group's offsets on the topic, read until `ready` holds (30 s at most): a transaction's offsets become
 * readable once its markers are written, a moment after commit() returns, and a fetch without KIP-447's
 * require_stable answers the previous commit meanwhile (the replay's readMarker allows for the same).
 */
async function groupOffsetsOnceReady(
  admin: KafkaAdmin,
  group: string,
  topic: string,
  ready: (offsets: GroupOffset[]) => boolean,
) {
  let offsets: GroupOffset[] = [];
  await until('the committed offsets', async () =>
    ready((offsets = await admin.fetchGroupOffsets(group, topic))),
  ).catch(() => undefined);
  return offsets;
}

/**
 * A read-committed reader of a topic from its start: the values it has seen, by partition, and how many of them
 * it has committed. It commits after each batch: a member that rejoins (after a broker restart, kafkajs does)
 * restarts at the committed offsets, so what it had read and not committed it reads again, as the contract says.
 */
async function reader(kafka: KafkaClient, topic: string) {
  const seen: { partition: number; value: string }[] = [];
  const progress = { committed: 0 };
  const consumer = kafka.consumer({ groupId: uniqueName('adapter-reader'), maxWaitTimeMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) seen.push({ partition: batch.partition, value: String(message.value) });
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset) + 1) },
      ]);
      progress.committed = seen.length;
    },
  });
  return { seen, progress, stop: () => consumer.disconnect() };
}

describe.each(clients)('%s', (client) => {
  const config = loadConfig({ ...process.env, TICKSYNC_KAFKA_CLIENT: client });
  const kafka = createKafka(config, createLogger('adapter-test', 'silent'));
  const admin = kafka.admin();

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  test('a committed transaction is read, an aborted one never; offsets and their metadata commit with it', async () => {
    const topic = uniqueName(`adapter-tx-${client}`);
    expect(await admin.createTopics([{ topic, numPartitions: 2 }])).toBe(true);
    expect(await admin.topicPartitions([topic])).toEqual({ [topic]: 2 });
    const group = uniqueName('adapter-progress');
    const producer = kafka.transactionalProducer({ transactionalId: uniqueName('adapter-tx') });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'a', value: 'aborted' }] });
      await aborted.sendOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '5', metadata: 'no' }] });
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send({
        topic,
        messages: [
          { key: 'a', value: 'one' },
          { key: 'b', value: 'two' },
        ],
      });
      const marker = JSON.stringify({ rowsRead: 2, note: 'ü' });
      await committed.sendOffsets({
        groupId: group,
        topic,
        partitions: [{ partition: 0, offset: '2', metadata: marker }],
      });
      await committed.commit();
      // Never the aborted 5.
      const offsets = await groupOffsetsOnceReady(admin, group, topic, (read) =>
        read.some(({ partition, offset }) => partition === 0 && offset !== '-1'),
      );
      expect(offsets).toContainEqual({ partition: 0, offset: '2', metadata: marker });
    } finally {
      await producer.disconnect();
    }
    const read = await reader(kafka, topic);
    try {
      await until('the committed records', () => read.seen.length >= 2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(read.seen.map(({ value }) => value).sort()).toEqual(['one', 'two']);
    } finally {
      await read.stop();
    }
    // Both records and the transaction markers are in the log: the end offsets count them all.
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.reduce((sum, { high }) => sum + Number(high), 0)).toBeGreaterThan(2);
    await admin.deleteTopics([topic]);
  });

  test('transactions that open with their offsets, one right after the other, all commit', async () => {
    // The replay's order: each transaction sends its progress marker first, then its records, and the next one
    // begins as soon as the last commit returns, while the coordinator may still be writing its markers.
    const topic = uniqueName(`adapter-marker-first-${client}`);
    await admin.createTopics([{ topic, numPartitions: 3 }]);
    const group = uniqueName('adapter-marker-first');
    const producer = kafka.transactionalProducer({ transactionalId: uniqueName('adapter-marker-first') });
    await producer.connect();
    const transactions = 40;
    try {
      for (let n = 1; n <= transactions; n += 1) {
        const transaction = await producer.transaction();
        await transaction.sendOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: String(n) }] });
        await transaction.send({ topic, messages: [{ key: `k${n}`, value: `v${n}` }] });
        await transaction.commit();
      }
    } finally {
      await producer.disconnect();
    }
    const offsets = await groupOffsetsOnceReady(admin, group, topic, (read) =>
      read.some(({ partition, offset }) => partition === 0 && offset === String(transactions)),
    );
    expect(offsets).toContainEqual(expect.objectContaining({ partition: 0, offset: String(transactions) }));
    const read = await reader(kafka, topic);
    try {
      await until('every transaction', () => read.seen.length >= transactions);
      expect(new Set(read.seen.map(({ value }) => value)).size).toBe(transactions);
    } finally {
      await read.stop();
    }
    await admin.deleteTopics([topic]);
  });

  test('a zombie producer of the same transactional id is fenced', async () => {
    const topic = uniqueName(`adapter-fence-${client}`);
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const transactionalId = uniqueName('adapter-fence');
    const zombie = kafka.transactionalProducer({ transactionalId });
    await zombie.connect();
    const open = await zombie.transaction();
    await open.send({ topic, messages: [{ value: 'zombie' }] });
    const successor = kafka.transactionalProducer({ transactionalId });
    await successor.connect();
    try {
      const failure = await open.commit().then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failure).toBeInstanceOf(Error);
      const transaction = await successor.transaction();
      await transaction.send({ topic, messages: [{ value: 'successor' }] });
      await transaction.commit();
    } finally {
      await zombie.disconnect().catch(() => undefined);
      await successor.disconnect();
    }
    const read = await reader(kafka, topic);
    try {
      await until('the successor record', () => read.seen.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(read.seen.map(({ value }) => value)).toEqual(['successor']);
    } finally {
      await read.stop();
    }
    await admin.deleteTopics([topic]);
  });

  test('two members share the partitions, one leaves and the other takes them all; commits hold', async () => {
    const topic = uniqueName(`adapter-group-${client}`);
    const groupId = uniqueName('adapter-group');
    await admin.createTopics([{ topic, numPartitions: 4 }]);
    const producer = kafka.producer();
    await producer.connect();
    const sent = await producer.send({
      topic,
      messages: Array.from({ length: 40 }, (_, index) => ({ key: `k${index}`, value: String(index) })),
    });
    expect(sent.length).toBeGreaterThan(0);
    await producer.disconnect();

    const assignments = new Map<KafkaConsumer, number[]>();
    const member = async () => {
      const consumer = kafka.consumer({ groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 });
      consumer.on('assigned', ({ assignment }) => assignments.set(consumer, assignment[topic] ?? []));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        manualResolve: true,
        eachBatch: async ({ batch, resolveOffset }) => {
          const last = batch.messages.at(-1);
          if (!last) return;
          resolveOffset(last.offset);
          await consumer.commitOffsets([
            { topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
          ]);
        },
      });
      return consumer;
    };
    const first = await member();
    await until('the first member owning all 4', () => assignments.get(first)?.length === 4);
    const second = await member();
    await until(
      'the partitions split between two members',
      () =>
        (assignments.get(first)?.length ?? 0) + (assignments.get(second)?.length ?? 0) === 4 &&
        (assignments.get(second)?.length ?? 0) > 0 &&
        (assignments.get(first)?.length ?? 0) > 0,
      60_000,
    );
    await second.disconnect();
    await until('the first member owning all 4 again', () => assignments.get(first)?.length === 4, 60_000);
    const ends = await admin.fetchTopicOffsets(topic);
    await until('every partition committed to its end', async () => {
      const offsets = await admin.fetchGroupOffsets(groupId, topic);
      return ends.every(
        ({ partition, high }) => offsets.find((entry) => entry.partition === partition)?.offset === high,
      );
    });
    await first.disconnect();
    await admin.deleteTopics([topic]);
  });

  test('the broker restarts: the producer commits again and the reading member reads on, nothing twice', async () => {
    await withOwnService('kafka', async (stackEnv) => {
      const own = createKafka(
        loadConfig({ ...process.env, ...stackEnv, TICKSYNC_KAFKA_CLIENT: client }),
        createLogger('adapter-test', 'silent'),
      );
      const topic = uniqueName(`adapter-restart-${client}`);
      const ownAdmin = own.admin();
      await ownAdmin.connect();
      await ownAdmin.createTopics([{ topic, numPartitions: 1 }]);
      await ownAdmin.disconnect();
      const producer = own.transactionalProducer({ transactionalId: uniqueName('adapter-restart') });
      await producer.connect();
      // As the replay does: a transaction that fails is aborted, so the next one can begin.
      const send = async (value: string) => {
        const transaction = await producer.transaction();
        try {
          await transaction.send({ topic, messages: [{ value }] });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      };
      const read = await reader(own, topic);
      try {
        await send('before');
        // Read and committed before the restart: reading it again afterwards would be the adapter's fault.
        await until('the record sent before the restart', () => read.progress.committed === 1);
        expect((await runScript('stack', ['down', 'kafka'], stackEnv)).code).toBe(0);
        expect((await runScript('stack', ['up', 'kafka'], stackEnv)).code).toBe(0);
        // The producer reconnects by itself; a commit may fail while the coordinator loads, then succeeds.
        await until(
          'a transaction committed after the restart',
          () =>
            send('after').then(
              () => true,
              () => false,
            ),
          60_000,
        );
        await until(
          'the record sent after the restart',
          () => read.seen.some(({ value }) => value === 'after'),
          60_000,
        );
        expect(read.seen.filter(({ value }) => value === 'before')).toHaveLength(1);
      } finally {
        await read.stop().catch(() => undefined);
        await producer.disconnect().catch(() => undefined);
      }
    });
  });

  test('a commit made while the broker is down commits once or never: its records are read once or not at all, and the transactional id carries on', async () => {
    await withOwnService('kafka', async (stackEnv) => {
      const own = createKafka(
        loadConfig({ ...process.env, ...stackEnv, TICKSYNC_KAFKA_CLIENT: client }),
        createLogger('adapter-test', 'silent'),
      );
      const topic = uniqueName(`adapter-commit-down-${client}`);
      const ownAdmin = own.admin();
      await ownAdmin.connect();
      await ownAdmin.createTopics([{ topic, numPartitions: 1 }]);
      await ownAdmin.disconnect();
      const transactionalId = uniqueName('adapter-commit-down');
      let producer = own.transactionalProducer({ transactionalId });
      await producer.connect();
      let outcome: string;
      try {
        const transaction = await producer.transaction();
        await transaction.send({ topic, messages: [{ value: 'during' }] });
        expect((await runScript('stack', ['down', 'kafka'], stackEnv)).code).toBe(0);
        const settled = transaction.commit().then(
          () => 'committed',
          (error: Error) => `failed: ${error.message}`,
        );
        // Longer than librdkafka's own 5 s commit timeout.
        await new Promise((resolve) => setTimeout(resolve, 8_000));
        expect((await runScript('stack', ['up', 'kafka'], stackEnv)).code).toBe(0);
        outcome = await settled;
        // librdkafka goes on with a timed-out commit when it is called again, and the adapter does so until the
        // transaction's timeout; kafkajs's commit gives up after its retries, and its producer is then stuck in
        // the failed commit: as the replay's retried activity does, a new producer of the same id takes over.
        if (client === 'confluent') expect(outcome).toBe('committed');
        if (outcome !== 'committed') {
          await producer.disconnect().catch(() => undefined);
          producer = own.transactionalProducer({ transactionalId });
          await producer.connect();
        }
        const next = await producer.transaction();
        await next.send({ topic, messages: [{ value: 'next' }] });
        await next.commit();
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
      const read = await reader(own, topic);
      try {
        await until(
          'the record of the next transaction',
          () => read.seen.some(({ value }) => value === 'next'),
          60_000,
        );
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(read.seen.map(({ value }) => value)).toEqual(outcome === 'committed' ? ['during', 'next'] : ['next']);
      } finally {
        await read.stop().catch(() => undefined);
      }
    });
  });

  test('a transaction larger than the client queue commits whole; a record the broker refuses fails the commit, and nothing of its transaction is read', async () => {
    const topic = uniqueName(`adapter-big-${client}`);
    const strict = uniqueName(`adapter-strict-${client}`);
    const narrow = uniqueName(`adapter-narrow-${client}`);
    await admin.createTopics([
      { topic, numPartitions: 3 },
      { topic: strict, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2000' }] },
      { topic: narrow, numPartitions: 1 },
    ]);
    const producer = kafka.transactionalProducer({ transactionalId: uniqueName('adapter-big') });
    await producer.connect();
    // One send of 120,000 records: librdkafka queues 100,000 at most (queue.buffering.max.messages), the rest waits
    // for room; kafkajs's adapter cuts it into sends it can encode. And 10,000 records of ~170 bytes, 1.7 MB, to one
    // partition, over the broker's default 1 MiB batch limit (kafkajs sent them as one batch, refused).
    const count = 120_000;
    const wide = 10_000;
    try {
      const big = await producer.transaction();
      await big.send({
        topic,
        messages: Array.from({ length: count }, (_, i) => ({ key: `k${i % 97}`, value: `big-${i}` })),
      });
      await big.send({
        topic: narrow,
        messages: Array.from({ length: wide }, (_, i) => ({ key: `k${i % 500}`, value: `${i}:${'x'.repeat(160)}` })),
      });
      await big.commit();

      const refused = await producer.transaction();
      const failure = (async () => {
        await refused.send({ topic, messages: [{ key: 'a', value: 'refused-small' }] });
        await refused.send({ topic: strict, messages: [{ key: 'a', value: `refused-${'x'.repeat(5000)}` }] });
        await refused.commit();
      })();
      await expect(failure).rejects.toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
      await refused.abort();

      const after = await producer.transaction();
      await after.send({ topic, messages: [{ key: 'a', value: 'after' }] });
      await after.commit();
    } finally {
      await producer.disconnect();
    }
    const read = await reader(kafka, topic);
    try {
      await until('the committed records', () => read.seen.some(({ value }) => value === 'after'), 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const values = read.seen.map(({ value }) => value);
      expect(values.filter((value) => value.startsWith('refused'))).toEqual([]);
      expect(new Set(values).size).toBe(values.length);
      expect(values.length).toBe(count + 1);
    } finally {
      await read.stop();
    }
    const narrowRead = await reader(kafka, narrow);
    try {
      await until('the one-partition transaction', () => narrowRead.seen.length >= wide, 60_000);
      const indexes = narrowRead.seen.map(({ value }) => Number(value.split(':')[0]));
      expect(indexes).toEqual(Array.from({ length: wide }, (_, i) => i));
    } finally {
      await narrowRead.stop();
    }
    await admin.deleteTopics([topic, strict, narrow]);
  });

  test('a missing topic is named by its type; disconnecting what never connected is harmless', async () => {
    const missing = uniqueName('adapter-missing');
    const error = await admin.topicPartitions([missing]).then(
      () => undefined,
      (failure: unknown) => failure as { type?: string },
    );
    expect(error?.type).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    await kafka.consumer({ groupId: uniqueName('adapter-idle') }).disconnect();
    await kafka.producer().disconnect();
    await kafka.admin().disconnect();
  });
});
