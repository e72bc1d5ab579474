import type { Logger } from 'pino';
import type { Config } from '../config';
import { createKafkajsClient } from './kafkajs';
import type { KafkaClient, KafkaClientOptions } from './types';

export * from './types';
export { kafkaSasl } from './sasl';

/**
 * The Kafka client TICKSYNC_KAFKA_CLIENT names: kafkajs (the default) or
 * confluent (librdkafka through @confluentinc/kafka-javascript).
 */
export function createKafka(config: Config, logger: Logger, options: KafkaClientOptions = {}): KafkaClient {
  if (config.kafka.client === 'kafkajs') return createKafkajsClient(config, logger, options);
  throw new Error('TICKSYNC_KAFKA_CLIENT=confluent: the confluent client is not built into this version yet');
}
