import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every TickSync setting, read from the environment once and validated here.
 * Defaults point at the local stack (`npm run stack -- up`); docs/OPERATIONS.md
 * (and the README's table) list the variables.
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The account id the local stack reports, as LocalStack and moto do. */
export const LOCAL_ACCOUNT_ID = '000000000000';
const LOCAL_ADMIN_ACCESS_KEY_ID = 'ticksync-admin';
const LOCAL_ADMIN_SECRET_ACCESS_KEY = 'ticksync-admin-secret-key';

const port = z.coerce
  .number({ error: 'expected a TCP port number (1-65535)' })
  .int('expected a TCP port number (1-65535)')
  .min(1, 'expected a TCP port number (1-65535)')
  .max(65535, 'expected a TCP port number (1-65535)');

const hostPort = (example: string) =>
  z.string().refine(
    (value) => {
      const match = /^[A-Za-z0-9.-]+:(\d{1,5})$/.exec(value);
      return match !== null && Number(match[1]) >= 1 && Number(match[1]) <= 65535;
    },
    { error: `expected host:port with a port from 1 to 65535, such as ${example}` },
  );

const httpUrl = (example: string) =>
  z.string().refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { error: `expected an http(s) URL, such as ${example}` },
  );

const flag = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((value) => value === 'true');

const readableFile = (what: string) =>
  z.string().refine((value) => fs.existsSync(value) && fs.statSync(value).isFile(), {
    error: `expected the path of a readable ${what} file`,
  });

const name = (what: string, pattern: RegExp, example: string) =>
  z.string().regex(pattern, `expected ${what}, such as ${example}`);

const prefix = (example: string) =>
  z.string().regex(/^([A-Za-z0-9._-]+\/)+$/, `expected an S3 key prefix ending in '/', such as ${example}`);

// AWS regions look like us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4.
const region = name('an AWS region', /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'us-east-1');

export const ROLES = ['admin', 'producer', 'ingest', 'crawler', 'analyst', 'compactor'] as const;
export type Role = (typeof ROLES)[number];

type CredentialVariable = `TICKSYNC_${Uppercase<Role>}_${'ACCESS_KEY_ID' | 'SECRET_ACCESS_KEY'}`;
const credentialShape = Object.fromEntries(
  ROLES.flatMap((role) => [
    [`TICKSYNC_${role.toUpperCase()}_ACCESS_KEY_ID`, z.string().min(3, 'expected an access key id').optional()],
    [`TICKSYNC_${role.toUpperCase()}_SECRET_ACCESS_KEY`, z.string().min(8, 'expected a secret access key').optional()],
  ]),
) as Record<CredentialVariable, z.ZodOptional<z.ZodString>>;

const envSchema = z.object({
  TICKSYNC_TARGET: z.enum(['local', 'aws'], { error: "expected 'local' or 'aws'" }).default('local'),
  TICKSYNC_LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      error: 'expected one of trace, debug, info, warn, error, fatal, silent',
    })
    .default('info'),

  TICKSYNC_KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((value) => value.split(',').map((broker) => broker.trim()))
    .pipe(z.array(hostPort('127.0.0.1:9092')).min(1)),
  TICKSYNC_KAFKA_CLIENT: z
    .enum(['kafkajs', 'confluent'], { error: "expected 'kafkajs' or 'confluent'" })
    .default('kafkajs'),
  TICKSYNC_KAFKA_CLIENT_ID: name('a Kafka client id', /^[A-Za-z0-9._-]+$/, 'ticksync').default('ticksync'),
  TICKSYNC_TOPIC: name('a Kafka topic name', /^[A-Za-z0-9._-]{1,200}$/, 'ticks').default('ticks'),
  TICKSYNC_KAFKA_SSL: flag.default(false),
  TICKSYNC_KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512', 'aws-msk-iam'], {
      error: 'expected one of plain, scram-sha-256, scram-sha-512, aws-msk-iam',
    })
    .optional(),
  TICKSYNC_KAFKA_SASL_USERNAME: z.string().optional(),
  TICKSYNC_KAFKA_SASL_PASSWORD: z.string().optional(),

  TICKSYNC_AWS_REGION: region.default('us-east-1'),
  TICKSYNC_S3_ENDPOINT: httpUrl('http://127.0.0.1:7070').optional(),
  TICKSYNC_S3_BUCKET: name(
    'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'ticksync-lake',
  ).default('ticksync-lake'),
  TICKSYNC_S3_RAW_PREFIX: prefix('raw/').default('raw/'),
  TICKSYNC_S3_DLQ_PREFIX: prefix('dlq/').default('dlq/'),
  TICKSYNC_S3_INPUT_PREFIX: prefix('input/').default('input/'),
  TICKSYNC_S3_MANIFEST_PREFIX: prefix('manifests/').default('manifests/'),
  TICKSYNC_S3_CURATED_PREFIX: prefix('curated/').default('curated/'),
  TICKSYNC_AWS_ENDPOINT: httpUrl('http://127.0.0.1:4599').optional(),

  TICKSYNC_GLUE_DATABASE: name(
    'a Glue database name (lowercase letters, digits, underscores)',
    /^[a-z0-9_]{1,255}$/,
    'ticksync',
  ).default('ticksync'),
  TICKSYNC_GLUE_CRAWLER: name('a Glue crawler name', /^[A-Za-z0-9_.-]{1,255}$/, 'ticksync-raw').default('ticksync-raw'),
  TICKSYNC_GLUE_CRAWLER_ROLE: name(
    'an IAM role ARN',
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    'arn:aws:iam::123456789012:role/ticksync-crawler',
  ).optional(),
  TICKSYNC_ATHENA_WORKGROUP: name('an Athena workgroup name', /^[A-Za-z0-9._-]{1,128}$/, 'ticksync').default(
    'ticksync',
  ),
  TICKSYNC_ATHENA_OUTPUT_LOCATION: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.+\/)?$/, {
      error: "expected an s3:// URL ending in '/', such as s3://ticksync-lake/athena-results/",
    })
    .optional(),

  TICKSYNC_TEMPORAL_ADDRESS: hostPort('127.0.0.1:7233').default('127.0.0.1:7233'),
  TICKSYNC_TEMPORAL_NAMESPACE: name('a Temporal namespace', /^[A-Za-z0-9._-]{2,255}$/, 'default').default('default'),
  TICKSYNC_TEMPORAL_UI_URL: httpUrl('http://127.0.0.1:8233').default('http://127.0.0.1:8233'),
  TICKSYNC_TEMPORAL_TLS: flag.optional(),
  TICKSYNC_TEMPORAL_TLS_CERT: readableFile('PEM certificate').optional(),
  TICKSYNC_TEMPORAL_TLS_KEY: readableFile('PEM private key').optional(),
  TICKSYNC_TEMPORAL_TLS_CA: readableFile('PEM CA certificate').optional(),
  TICKSYNC_TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TICKSYNC_TEMPORAL_API_KEY: z.string().optional(),
  TICKSYNC_INGEST_TASK_QUEUE: name('a task queue name', /^[A-Za-z0-9._-]+$/, 'ticksync-ingest').default(
    'ticksync-ingest',
  ),
  TICKSYNC_CATALOG_TASK_QUEUE: name('a task queue name', /^[A-Za-z0-9._-]+$/, 'ticksync-catalog').default(
    'ticksync-catalog',
  ),
  TICKSYNC_QUERY_TASK_QUEUE: name('a task queue name', /^[A-Za-z0-9._-]+$/, 'ticksync-query').default('ticksync-query'),
  TICKSYNC_COMPACT_TASK_QUEUE: name('a task queue name', /^[A-Za-z0-9._-]+$/, 'ticksync-compact').default(
    'ticksync-compact',
  ),

  TICKSYNC_INGEST_METRICS_PORT: port.default(9464),
  TICKSYNC_CATALOG_METRICS_PORT: port.default(9465),
  TICKSYNC_QUERY_METRICS_PORT: port.default(9466),
  TICKSYNC_COMPACT_METRICS_PORT: port.default(9467),
  TICKSYNC_DASHBOARD_PORT: port.default(8090),
  TICKSYNC_DASHBOARD_NO_WORKER_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int('expected a whole number of seconds (1-3600)')
    .min(1, 'expected a whole number of seconds (1-3600)')
    .max(3600, 'expected a whole number of seconds (1-3600)')
    .default(90),
  TICKSYNC_DASHBOARD_WORKER_METRICS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim().split('=')))
    .pipe(
      z.array(
        z.tuple([z.string().regex(/^[a-z0-9-]{1,32}$/), httpUrl('http://ingest-worker:9464/metrics')], {
          error: 'expected name=URL pairs separated by commas, such as ingest=http://ingest-worker:9464/metrics',
        }),
      ),
    )
    .optional(),

  TICKSYNC_STACK_DIR: z.string().min(1).optional(),
  TICKSYNC_CACHE_DIR: z.string().min(1).optional(),
  TICKSYNC_STACK_KAFKA_CONTROLLER_PORT: port.default(9093),
  TICKSYNC_STACK_LISTEN_HOST: z
    .string()
    .regex(/^[0-9.]+$|^localhost$/, { error: 'expected an IPv4 address to listen on, such as 127.0.0.1' })
    .default('127.0.0.1'),

  ...credentialShape,
});

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Config {
  target: 'local' | 'aws';
  logLevel: string;
  kafka: {
    /** The client library: kafkajs (pure JavaScript, the default) or confluent (librdkafka). */
    client: 'kafkajs' | 'confluent';
    brokers: string[];
    clientId: string;
    topic: string;
    /** TLS to the brokers (Amazon MSK's TLS listeners, Confluent Cloud ...). */
    ssl: boolean;
    /** SASL with a user and password, or Amazon MSK's IAM authentication (the process's AWS credentials). */
    sasl?:
      | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
      | { mechanism: 'aws-msk-iam' };
  };
  aws: {
    region: string;
    /** S3 API endpoint; undefined means AWS itself. */
    s3Endpoint: string | undefined;
    /** Glue and Athena endpoint (TickSync's local service); undefined means AWS itself. */
    endpoint: string | undefined;
    /** Static keys per component; undefined means the SDK's default chain (instance profile on EC2). */
    credentials: Record<Role, Credentials | undefined>;
  };
  s3: {
    bucket: string;
    rawPrefix: string;
    dlqPrefix: string;
    inputPrefix: string;
    manifestPrefix: string;
    /** Where the compactor writes closed hours as Parquet. */
    curatedPrefix: string;
  };
  glue: {
    database: string;
    crawler: string;
    /** The role the crawler assumes to read S3 (required on AWS); locally `role/ticksync-<role>` maps to that role's keys. */
    crawlerRole: string | undefined;
  };
  athena: { workgroup: string; outputLocation: string };
  temporal: {
    address: string;
    namespace: string;
    uiUrl: string;
    ingestTaskQueue: string;
    catalogTaskQueue: string;
    queryTaskQueue: string;
    compactTaskQueue: string;
    /** TLS to the frontend (Temporal Cloud, a self-hosted cluster behind TLS); undefined means plaintext. */
    tls?: { certFile?: string; keyFile?: string; caFile?: string; serverName?: string };
    /** Temporal Cloud API key (implies TLS). */
    apiKey?: string;
  };
  /** Where each worker serves Prometheus metrics (`/metrics` on stack.listenHost). */
  metrics: { ingestPort: number; catalogPort: number; queryPort: number; compactPort: number };
  /** The live dashboard's HTTP port (on stack.listenHost), and where it reads each worker's metrics. */
  dashboard: {
    port: number;
    workerMetrics: { name: string; url: string }[];
    /** A task queue no worker has polled for this long gets a "no workers" banner. */
    noWorkerSeconds: number;
  };
  /** listenHost: the address TickSync's own local services bind (127.0.0.1; 0.0.0.0 only inside a container). */
  stack: { dir: string; cacheDir: string; kafkaControllerPort: number; listenHost: string };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most shells' ${VAR:-default}.
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('TICKSYNC_') && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0]);
        return `${variable}=${JSON.stringify(present[variable])}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const local = e.TICKSYNC_TARGET === 'local';

  const problems: string[] = [];
  const mechanism = e.TICKSYNC_KAFKA_SASL_MECHANISM;
  const withPassword = mechanism !== undefined && mechanism !== 'aws-msk-iam';
  const userOrPassword = (e.TICKSYNC_KAFKA_SASL_USERNAME ?? e.TICKSYNC_KAFKA_SASL_PASSWORD) !== undefined;
  if (withPassword && (e.TICKSYNC_KAFKA_SASL_USERNAME === undefined || e.TICKSYNC_KAFKA_SASL_PASSWORD === undefined))
    problems.push(`TICKSYNC_KAFKA_SASL_MECHANISM=${mechanism} needs TICKSYNC_KAFKA_SASL_USERNAME and _PASSWORD`);
  if (mechanism === 'aws-msk-iam' && userOrPassword)
    problems.push(
      'TICKSYNC_KAFKA_SASL_MECHANISM=aws-msk-iam signs with the AWS credentials of the process: unset TICKSYNC_KAFKA_SASL_USERNAME/_PASSWORD',
    );
  if (mechanism === 'aws-msk-iam' && !e.TICKSYNC_KAFKA_SSL)
    problems.push(
      'TICKSYNC_KAFKA_SASL_MECHANISM=aws-msk-iam needs TICKSYNC_KAFKA_SSL=true (MSK serves IAM authentication over TLS, port 9098)',
    );
  if (!mechanism && (e.TICKSYNC_KAFKA_SASL_USERNAME ?? e.TICKSYNC_KAFKA_SASL_PASSWORD) !== undefined)
    problems.push('TICKSYNC_KAFKA_SASL_USERNAME/_PASSWORD are set without TICKSYNC_KAFKA_SASL_MECHANISM');
  if ((e.TICKSYNC_TEMPORAL_TLS_CERT === undefined) !== (e.TICKSYNC_TEMPORAL_TLS_KEY === undefined))
    problems.push('TICKSYNC_TEMPORAL_TLS_CERT and TICKSYNC_TEMPORAL_TLS_KEY: set both or neither (mTLS)');
  const tlsSettings = [
    e.TICKSYNC_TEMPORAL_TLS_CERT,
    e.TICKSYNC_TEMPORAL_TLS_CA,
    e.TICKSYNC_TEMPORAL_TLS_SERVER_NAME,
    e.TICKSYNC_TEMPORAL_API_KEY,
  ].some((value) => value !== undefined);
  if (e.TICKSYNC_TEMPORAL_TLS === false && tlsSettings)
    problems.push('TICKSYNC_TEMPORAL_TLS=false, yet TLS settings or an API key are set');
  if (problems.length > 0) throw new ConfigError(problems);
  const temporalTls =
    e.TICKSYNC_TEMPORAL_TLS === true || tlsSettings
      ? {
          certFile: e.TICKSYNC_TEMPORAL_TLS_CERT,
          keyFile: e.TICKSYNC_TEMPORAL_TLS_KEY,
          caFile: e.TICKSYNC_TEMPORAL_TLS_CA,
          serverName: e.TICKSYNC_TEMPORAL_TLS_SERVER_NAME,
        }
      : undefined;

  const credentials = {} as Record<Role, Credentials | undefined>;
  for (const role of ROLES) {
    const variable = `TICKSYNC_${role.toUpperCase() as Uppercase<Role>}` as const;
    const accessKeyId = e[`${variable}_ACCESS_KEY_ID`];
    const secretAccessKey = e[`${variable}_SECRET_ACCESS_KEY`];
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw new ConfigError([`${variable}_ACCESS_KEY_ID and ${variable}_SECRET_ACCESS_KEY: set both or neither`]);
    }
    credentials[role] = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  }
  // Locally, the admin keys are the S3 server's root keys and every other role has
  // keys of its own (`ticksync-<role>`), which the stack makes S3 users with the
  // role's policy. On AWS, unset keys mean the SDK's default chain (an EC2 instance
  // profile, say).
  if (local) {
    credentials.admin ??= {
      accessKeyId: LOCAL_ADMIN_ACCESS_KEY_ID,
      secretAccessKey: LOCAL_ADMIN_SECRET_ACCESS_KEY,
    };
    for (const role of ROLES)
      credentials[role] ??= { accessKeyId: `ticksync-${role}`, secretAccessKey: `ticksync-${role}-secret-key` };
  }

  const home = env.HOME ?? '/tmp';
  return {
    target: e.TICKSYNC_TARGET,
    logLevel: e.TICKSYNC_LOG_LEVEL,
    kafka: {
      client: e.TICKSYNC_KAFKA_CLIENT,
      brokers: e.TICKSYNC_KAFKA_BROKERS,
      clientId: e.TICKSYNC_KAFKA_CLIENT_ID,
      topic: e.TICKSYNC_TOPIC,
      ssl: e.TICKSYNC_KAFKA_SSL,
      sasl:
        mechanism === 'aws-msk-iam'
          ? { mechanism }
          : mechanism && {
              mechanism,
              username: e.TICKSYNC_KAFKA_SASL_USERNAME!,
              password: e.TICKSYNC_KAFKA_SASL_PASSWORD!,
            },
    },
    aws: {
      region: e.TICKSYNC_AWS_REGION,
      s3Endpoint: e.TICKSYNC_S3_ENDPOINT ?? (local ? 'http://127.0.0.1:7070' : undefined),
      endpoint: e.TICKSYNC_AWS_ENDPOINT ?? (local ? 'http://127.0.0.1:4599' : undefined),
      credentials,
    },
    s3: {
      bucket: e.TICKSYNC_S3_BUCKET,
      rawPrefix: e.TICKSYNC_S3_RAW_PREFIX,
      dlqPrefix: e.TICKSYNC_S3_DLQ_PREFIX,
      inputPrefix: e.TICKSYNC_S3_INPUT_PREFIX,
      manifestPrefix: e.TICKSYNC_S3_MANIFEST_PREFIX,
      curatedPrefix: e.TICKSYNC_S3_CURATED_PREFIX,
    },
    glue: {
      database: e.TICKSYNC_GLUE_DATABASE,
      crawler: e.TICKSYNC_GLUE_CRAWLER,
      crawlerRole:
        e.TICKSYNC_GLUE_CRAWLER_ROLE ?? (local ? `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/ticksync-crawler` : undefined),
    },
    athena: {
      workgroup: e.TICKSYNC_ATHENA_WORKGROUP,
      outputLocation: e.TICKSYNC_ATHENA_OUTPUT_LOCATION ?? `s3://${e.TICKSYNC_S3_BUCKET}/athena-results/`,
    },
    temporal: {
      address: e.TICKSYNC_TEMPORAL_ADDRESS,
      namespace: e.TICKSYNC_TEMPORAL_NAMESPACE,
      uiUrl: e.TICKSYNC_TEMPORAL_UI_URL.replace(/\/+$/, ''),
      ingestTaskQueue: e.TICKSYNC_INGEST_TASK_QUEUE,
      catalogTaskQueue: e.TICKSYNC_CATALOG_TASK_QUEUE,
      queryTaskQueue: e.TICKSYNC_QUERY_TASK_QUEUE,
      compactTaskQueue: e.TICKSYNC_COMPACT_TASK_QUEUE,
      tls: temporalTls,
      apiKey: e.TICKSYNC_TEMPORAL_API_KEY,
    },
    metrics: {
      ingestPort: e.TICKSYNC_INGEST_METRICS_PORT,
      catalogPort: e.TICKSYNC_CATALOG_METRICS_PORT,
      queryPort: e.TICKSYNC_QUERY_METRICS_PORT,
      compactPort: e.TICKSYNC_COMPACT_METRICS_PORT,
    },
    dashboard: {
      port: e.TICKSYNC_DASHBOARD_PORT,
      noWorkerSeconds: e.TICKSYNC_DASHBOARD_NO_WORKER_SECONDS,
      workerMetrics: e.TICKSYNC_DASHBOARD_WORKER_METRICS?.map(([name, url]) => ({ name, url })) ?? [
        { name: 'ingest', url: `http://127.0.0.1:${e.TICKSYNC_INGEST_METRICS_PORT}/metrics` },
        { name: 'catalog', url: `http://127.0.0.1:${e.TICKSYNC_CATALOG_METRICS_PORT}/metrics` },
        { name: 'query', url: `http://127.0.0.1:${e.TICKSYNC_QUERY_METRICS_PORT}/metrics` },
      ],
    },
    stack: {
      dir: path.resolve(e.TICKSYNC_STACK_DIR ?? path.join(PROJECT_ROOT, '.stack')),
      cacheDir: path.resolve(e.TICKSYNC_CACHE_DIR ?? `${env.XDG_CACHE_HOME ?? `${home}/.cache`}/ticksync`),
      kafkaControllerPort: e.TICKSYNC_STACK_KAFKA_CONTROLLER_PORT,
      listenHost: e.TICKSYNC_STACK_LISTEN_HOST,
    },
  };
}

/** host:port → port, for the services the local stack binds. */
export function portOf(address: string): number {
  const url = address.includes('://') ? new URL(address) : new URL(`tcp://${address}`);
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/** The live dashboard's page (`npm run dashboard`). */
export function dashboardUrl(config: Config): string {
  const host = config.stack.listenHost === '0.0.0.0' ? '127.0.0.1' : config.stack.listenHost;
  return `http://${host}:${config.dashboard.port}/`;
}
