import type { Logger } from 'pino';
import type { Config } from '../config';
import { createKafkajsClient } from './kafkajs';
import type { KafkaClient, KafkaClientOptions } from './types';

export * from './types';
export { kafkaSasl } from './sasl';

/**
 * The Kafka client TICKSYNC_KAFKA_CLIENT names: kafkajs (the default) or
 * confluent (librdkafka through @confluentinc/kafka-javascript), whose native
 * module loads only when it is chosen.
 */
export function createKafka(config: Config, logger: Logger, options: KafkaClientOptions = {}): KafkaClient {
  if (config.kafka.client === 'kafkajs') return createKafkajsClient(config, logger, options);
  // Loaded on demand: a native module that failed to install must not break kafkajs users.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createConfluentClient } = require('./confluent') as typeof import('./confluent');
  return createConfluentClient(config, logger, options);
}
