import { Context } from '@temporalio/activity';
import { ErrorType, nonRetryable } from '../lib/errors';
import type { KafkaClient } from '../lib/kafka';
import type { KafkaProbeResult } from '../lib/contracts';

export interface KafkaActivityDeps {
  kafka: KafkaClient;
  /** The ticks topic; probes go to `<topic>.healthcheck`. */
  topic: string;
  groupPrefix: string;
}

export function createKafkaActivities({ kafka, topic, groupPrefix }: KafkaActivityDeps) {
  const probeTopic = `${topic}.healthcheck`;

  /** Produces one message and consumes it back through a consumer group. */
  async function probeKafka(probeId: string): Promise<KafkaProbeResult> {
    const context = Context.current();
    const started = Date.now();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics([{ topic: probeTopic, numPartitions: 1 }]);
    } finally {
      await admin.disconnect();
    }

    const producer = kafka.producer();
    await producer.connect();
    let partition: number;
    let offset: string;
    try {
      const [metadata] = await producer.send({
        topic: probeTopic,
        messages: [{ key: probeId, value: JSON.stringify({ probeId, sentAt: new Date().toISOString() }) }],
      });
      if (metadata?.baseOffset === undefined) throw new Error(`no offset returned for the probe sent to ${probeTopic}`);
      partition = metadata.partition;
      offset = metadata.baseOffset;
    } finally {
      await producer.disconnect();
    }
    context.heartbeat({ stage: 'produced', offset });

    const consumer = kafka.consumer({ groupId: `${groupPrefix}.healthcheck`, maxWaitTimeMs: 500 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: probeTopic });
      const received = new Promise<string>((resolve) => {
        void consumer.run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              if (message.key?.toString() === probeId) resolve(message.value?.toString() ?? '');
            }
          },
        });
      });
      consumer.seek({ topic: probeTopic, partition, offset });
      const heartbeat = setInterval(() => context.heartbeat({ stage: 'consuming', offset }), 2000);
      let timeout: NodeJS.Timeout | undefined;
      try {
        const value = await Promise.race([
          received,
          context.cancelled,
          new Promise<never>((_, reject) => {
            timeout = setTimeout(
              () => reject(new Error(`probe ${probeId} not read back from ${probeTopic} within 30 s`)),
              30_000,
            );
          }),
        ]);
        const body = JSON.parse(value) as { probeId?: string };
        if (body.probeId !== probeId) {
          throw nonRetryable(
            ErrorType.DataMismatch,
            `read back ${value} from ${probeTopic}, expected probe ${probeId}`,
          );
        }
      } finally {
        clearInterval(heartbeat);
        clearTimeout(timeout);
      }
    } finally {
      await consumer.disconnect();
    }
    return { topic: probeTopic, partition, offset, roundTripMs: Date.now() - started };
  }

  return { probeKafka };
}
