import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config, Role } from './config';

// The pinned SDK supports Node 20 (the project's runtime); its notice that later
// releases will need Node 22 would otherwise open every script's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The S3 client a component uses, with that component's credentials. */
export function createS3Client(config: Config, role: Role): S3Client {
  return new S3Client({
    region: config.aws.region,
    endpoint: config.aws.s3Endpoint,
    // S3-compatible servers address buckets by path; AWS by virtual host.
    forcePathStyle: config.aws.s3Endpoint !== undefined,
    credentials: config.aws.credentials[role],
  });
}

/** The Glue client a component uses: TickSync's local service, or AWS when no endpoint is set. */
export function createGlueClient(config: Config, role: Role): GlueClient {
  return new GlueClient({
    region: config.aws.region,
    endpoint: config.aws.endpoint,
    credentials: config.aws.credentials[role],
  });
}

/** The Athena client a component uses: TickSync's local service, or AWS when no endpoint is set. */
export function createAthenaClient(config: Config, role: Role): AthenaClient {
  return new AthenaClient({
    region: config.aws.region,
    endpoint: config.aws.endpoint,
    credentials: config.aws.credentials[role],
  });
}

const PINO_LEVEL: Record<logLevel, 'error' | 'warn' | 'info' | 'debug' | 'silent'> = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs's own log lines into the process's structured log. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      const pinoLevel = PINO_LEVEL[level];
      if (pinoLevel !== 'silent') logger[pinoLevel]({ kafkajs: namespace, ...fields }, message);
    };
}

/**
 * Kafka's SASL settings: a user and password as given, or for Amazon MSK's IAM
 * authentication an OAUTHBEARER token signed with the process's AWS credentials
 * (the default chain: on EC2 the instance profile), made anew at each
 * authentication by AWS's signer.
 */
export function kafkaSasl(config: Config): KafkaConfig['sasl'] {
  const { sasl } = config.kafka;
  if (sasl?.mechanism !== 'aws-msk-iam') return sasl as KafkaConfig['sasl'];
  const region = config.aws.region;
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
  };
}

export function createKafka(config: Config, logger: Logger, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl,
    sasl: kafkaSasl(config),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger),
    ...overrides,
  });
}
