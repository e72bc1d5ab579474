import type { Config } from '../../lib/config';
import { createKafka, type KafkaClient } from '../../lib/kafka';
import { createLogger } from '../../lib/logger';
import { uniqueName } from './workers';

export interface ReadMessage {
  key: string | null;
  value: Record<string, unknown>;
  partition: number;
  offset: string;
  timestamp: number;
}

/** The Kafka client the configuration names (TICKSYNC_KAFKA_CLIENT), logging nothing. */
export function testKafka(config: Config): KafkaClient {
  return createKafka(config, createLogger('test-kafka', 'silent'));
}

/**
 * Reads a topic from the beginning with read_committed and returns the
 * messages that `keep` selects, once `expected` of them have arrived and
 * nothing more came for `settleMs` (so duplicates would show), or when nothing
 * arrives for `idleMs`.
 */
export async function readTopic(
  config: Config,
  topic: string,
  keep: (value: Record<string, unknown>) => boolean,
  expected: number,
  { settleMs = 2000, idleMs = 15_000 } = {},
): Promise<ReadMessage[]> {
  const consumer = testKafka(config).consumer({ groupId: uniqueName('test-reader'), maxWaitTimeMs: 200 });
  const messages: ReadMessage[] = [];
  let last = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        last = Date.now();
        for (const message of batch.messages) {
          const value = JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>;
          if (keep(value)) {
            messages.push({
              key: message.key?.toString() ?? null,
              value,
              partition: batch.partition,
              offset: message.offset,
              timestamp: Number(message.timestamp),
            });
          }
        }
      },
    });
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const quiet = Date.now() - last;
      if (messages.length >= expected && quiet >= settleMs) break;
      if (quiet >= idleMs) break;
    }
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
