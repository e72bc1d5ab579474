import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetDatabasesCommand } from '@aws-sdk/client-glue';
import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import pino, { type Logger } from 'pino';
import { createGlueClient, createS3Client } from '../lib/clients';
import { createKafka } from '../lib/kafka';
import { dashboardUrl, LOCAL_ACCOUNT_ID, PROJECT_ROOT, portOf, ROLES, type Config } from '../lib/config';
import { SEARCH_ATTRIBUTE_KEYS } from '../lib/search-attributes';
import { localBucketPolicy } from '../iam/bucket-policy';
import { policyValuesFor } from '../iam/policies';
import { temporalConnectionOptions } from '../lib/temporal';
import { ensureGoTool, kafkaJava, TEMPORAL_CLI, VERSITYGW } from './install';
import type { StartOptions } from './process';

export interface StackContext {
  config: Config;
  logger: Logger;
  /** `.stack/` by default: data, logs and pid files. */
  dir: string;
}

export interface BoundPort {
  port: number;
  /** The variable that moves this port, for the "port in use" message. */
  variable: string;
}

export interface Service {
  name: string;
  kind: 'infra' | 'worker';
  /** What a user connects to, for `status`. */
  address(config: Config): string;
  ports(config: Config): BoundPort[];
  /** Installs what is missing and prepares the data folder; returns how to start the process. */
  prepare(context: StackContext): Promise<Omit<StartOptions, 'logFile' | 'pidFile'>>;
  /** One real request; throws with the reason when the service does not answer it. */
  healthcheck(config: Config): Promise<void>;
  /** Idempotent set-up once healthy, such as creating the bucket. */
  afterHealthy?(context: StackContext): Promise<void>;
  startTimeoutMs: number;
}

async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const kafka: Service = {
  name: 'kafka',
  kind: 'infra',
  address: (config) => config.kafka.brokers.join(','),
  ports: (config) => [
    { port: portOf(config.kafka.brokers[0] ?? ''), variable: 'TICKSYNC_KAFKA_BROKERS' },
    { port: config.stack.kafkaControllerPort, variable: 'TICKSYNC_STACK_KAFKA_CONTROLLER_PORT' },
  ],
  async prepare({ config, logger, dir }) {
    const java = await kafkaJava(PROJECT_ROOT, config.stack.cacheDir, path.join(dir, 'logs'), logger);
    const home = path.join(dir, 'kafka');
    const dataDir = path.join(home, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const brokerPort = portOf(config.kafka.brokers[0] ?? '');
    const controllerPort = config.stack.kafkaControllerPort;
    const properties = path.join(home, 'server.properties');
    fs.writeFileSync(
      properties,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
        `log.dirs=${dataDir}`,
        // One broker: every internal topic has one replica, and one partition (as Testcontainers' Kafka): a fresh
        // broker creates and loads 50 partitions of each otherwise, and until a group's partition is loaded its
        // coordinator answers NOT_COORDINATOR (a first transaction's sendOffsets failed so, 1.6 s after start).
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.num.partitions=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        // Topics are created on purpose, with their partition count, as on a managed cluster.
        'auto.create.topics.enable=false',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
      // KRaft storage is formatted once, with a fresh cluster id (16 random bytes, base64url). As Kafka's own
      // Uuid.randomUuid, never one starting with '-', which the tool would read as an option.
      let clusterId: string;
      do clusterId = crypto.randomBytes(16).toString('base64url');
      while (clusterId.startsWith('-'));
      await promisify(execFile)(java.command, [
        ...java.args,
        'kafka.tools.StorageTool',
        'format',
        '--standalone',
        '-t',
        clusterId,
        '-c',
        properties,
      ]);
    }
    return {
      command: java.command,
      args: ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', ...java.args, 'kafka.Kafka', properties],
      signature: 'kafka.Kafka',
    };
  },
  async healthcheck(config) {
    // Always through kafkajs, whichever client the pipeline uses: librdkafka's DescribeGroups crashes the process
    // (SIGSEGV) while a restarted broker's group coordinator loads, as its ListConsumerGroupOffsets does.
    const admin = createKafka({ ...config, kafka: { ...config.kafka, client: 'kafkajs' } }, pino({ level: 'silent' }), {
      failFast: true,
      silent: true,
    }).admin();
    try {
      await withTimeout('Kafka metadata request', 5000, admin.connect());
      await withTimeout('Kafka metadata request', 5000, admin.ping());
      // Ready means a consumer group can work: on a fresh broker this creates the offsets topic, and it answers
      // once the group coordinator has loaded it.
      await withTimeout('Kafka group coordinator', 5000, admin.describeGroup('ticksync-stack-healthcheck'));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
  startTimeoutMs: 90_000,
};

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (the enum lives in @temporalio/proto). */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

const temporal: Service = {
  name: 'temporal',
  kind: 'infra',
  address: (config) => `${config.temporal.address} (Web UI ${config.temporal.uiUrl})`,
  ports: (config) => [
    { port: portOf(config.temporal.address), variable: 'TICKSYNC_TEMPORAL_ADDRESS' },
    { port: portOf(config.temporal.uiUrl), variable: 'TICKSYNC_TEMPORAL_UI_URL' },
  ],
  async prepare({ config, logger, dir }) {
    const binary = await ensureGoTool(TEMPORAL_CLI, config.stack.cacheDir, path.join(dir, 'logs'), logger);
    const home = path.join(dir, 'temporal');
    fs.mkdirSync(home, { recursive: true });
    const namespaces = config.temporal.namespace === 'default' ? [] : ['--namespace', config.temporal.namespace];
    return {
      command: binary,
      args: [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(portOf(config.temporal.address)),
        '--ui-port',
        String(portOf(config.temporal.uiUrl)),
        '--db-filename',
        path.join(home, 'temporal.db'),
        ...namespaces,
        // TickSync's search attributes, so the Web UI can filter a run's workflows.
        ...SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
        '--log-level',
        'warn',
      ],
      signature: binary,
    };
  },
  async healthcheck(config) {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 2000 });
    try {
      await withTimeout(
        'Temporal DescribeNamespace',
        5000,
        connection.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
      );
    } finally {
      await connection.close();
    }
    const response = await fetch(config.temporal.uiUrl, { signal: AbortSignal.timeout(5000) });
    if (response.status !== 200) throw new Error(`Temporal Web UI answered HTTP ${response.status}`);
  },
  // A server started before TickSync had search attributes, or not by this stack (docker compose), gets them
  // here; `status` only asks. Without them every workflow start that sets them would be refused.
  async afterHealthy({ config }) {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 2000 });
    try {
      const { namespace } = config.temporal;
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !customAttributes?.[key.name]);
      if (missing.length > 0) {
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_VALUE_TYPE_KEYWORD])),
        });
      }
    } finally {
      await connection.close();
    }
  },
  startTimeoutMs: 60_000,
};

const s3: Service = {
  name: 's3',
  kind: 'infra',
  address: (config) => `${config.aws.s3Endpoint} (bucket ${config.s3.bucket})`,
  ports: (config) => [{ port: portOf(config.aws.s3Endpoint ?? ''), variable: 'TICKSYNC_S3_ENDPOINT' }],
  async prepare({ config, logger, dir }) {
    const binary = await ensureGoTool(VERSITYGW, config.stack.cacheDir, path.join(dir, 'logs'), logger);
    const home = path.join(dir, 's3');
    for (const sub of ['data', 'meta', 'iam']) fs.mkdirSync(path.join(home, sub), { recursive: true });
    const root = config.aws.credentials.admin;
    if (!root) throw new Error('the local S3 server needs admin credentials (TICKSYNC_ADMIN_ACCESS_KEY_ID)');
    return {
      command: binary,
      args: [
        '--port',
        `127.0.0.1:${portOf(config.aws.s3Endpoint ?? '')}`,
        '--region',
        config.aws.region,
        '--iam-dir',
        path.join(home, 'iam'),
        '--quiet',
        'posix',
        '--sidecar',
        path.join(home, 'meta'),
        path.join(home, 'data'),
      ],
      // Root keys through the environment, so they do not show in `ps`.
      env: { ...process.env, ROOT_ACCESS_KEY_ID: root.accessKeyId, ROOT_SECRET_ACCESS_KEY: root.secretAccessKey },
      signature: binary,
    };
  },
  async healthcheck(config) {
    const client = createS3Client(config, 'admin');
    try {
      await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(5000) });
    } finally {
      client.destroy();
    }
  },
  /**
   * The lake bucket, one S3 user per TickSync role with keys of its own (the admin
   * keys are the root), and the bucket policy made from the roles' documents.
   */
  async afterHealthy({ config, logger, dir }) {
    const client = createS3Client(config, 'admin');
    try {
      await client.send(new HeadBucketCommand({ Bucket: config.s3.bucket })).catch(async (error: Error) => {
        if (error.name !== 'NotFound' && error.name !== 'NoSuchBucket') throw error;
        await client.send(new CreateBucketCommand({ Bucket: config.s3.bucket }));
      });
      const admin = config.aws.credentials.admin!;
      const binary = await ensureGoTool(VERSITYGW, config.stack.cacheDir, path.join(dir, 'logs'), logger);
      const env = {
        ...process.env,
        ADMIN_ACCESS_KEY_ID: admin.accessKeyId,
        ADMIN_SECRET_ACCESS_KEY: admin.secretAccessKey,
        ADMIN_ENDPOINT_URL: config.aws.s3Endpoint,
      };
      for (const role of ROLES) {
        const keys = config.aws.credentials[role];
        if (role === 'admin' || !keys || keys.accessKeyId === admin.accessKeyId) continue;
        const args = ['-a', keys.accessKeyId, '-s', keys.secretAccessKey, '-r', 'user'];
        await promisify(execFile)(binary, ['admin', 'create-user', ...args], { env }).catch(async () =>
          // The user exists from an earlier start: its secret is set again, in case it changed.
          promisify(execFile)(binary, ['admin', 'update-user', '-a', keys.accessKeyId, '-s', keys.secretAccessKey], {
            env,
          }),
        );
      }
      const policy = localBucketPolicy(config, policyValuesFor(config, LOCAL_ACCOUNT_ID));
      await client.send(new PutBucketPolicyCommand({ Bucket: config.s3.bucket, Policy: JSON.stringify(policy) }));
    } finally {
      client.destroy();
    }
  },
  startTimeoutMs: 30_000,
};

const localAws: Service = {
  name: 'aws',
  kind: 'infra',
  address: (config) => `${config.aws.endpoint} (Glue, Athena)`,
  ports: (config) => [{ port: portOf(config.aws.endpoint ?? ''), variable: 'TICKSYNC_AWS_ENDPOINT' }],
  prepare: () => {
    const script = path.join(PROJECT_ROOT, 'local-aws/server.ts');
    return Promise.resolve({
      command: process.execPath,
      args: ['--import', 'tsx', script],
      cwd: PROJECT_ROOT,
      signature: script,
    });
  },
  async healthcheck(config) {
    const client = createGlueClient(config, 'admin');
    try {
      await client.send(new GetDatabasesCommand({ MaxResults: 1 }), { abortSignal: AbortSignal.timeout(5000) });
    } finally {
      client.destroy();
    }
  },
  startTimeoutMs: 30_000,
};

function worker(
  name: string,
  entry: string,
  taskQueue: (config: Config) => string,
  metricsPort: BoundPort['variable'],
  port: (config: Config) => number,
): Service {
  const script = path.join(PROJECT_ROOT, entry);
  return {
    name,
    kind: 'worker',
    address: (config) => `task queue ${taskQueue(config)}, metrics http://127.0.0.1:${port(config)}/metrics`,
    ports: (config) => [{ port: port(config), variable: metricsPort }],
    // The worker is plain Node with the tsx loader: one process, so signals reach it directly.
    prepare: () =>
      Promise.resolve({
        command: process.execPath,
        args: ['--import', 'tsx', script],
        cwd: PROJECT_ROOT,
        signature: script,
      }),
    async healthcheck(config) {
      const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: 2000 });
      try {
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace: config.temporal.namespace,
          taskQueue: { name: taskQueue(config) },
          taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
        });
        if (!pollers?.length) throw new Error(`no worker polls task queue ${taskQueue(config)} yet`);
      } finally {
        await connection.close();
      }
    },
    startTimeoutMs: 90_000,
  };
}

/** The live dashboard (`npm run dashboard`), started with the workers. */
const dashboard: Service = {
  name: 'dashboard',
  kind: 'worker',
  address: (config) => dashboardUrl(config),
  ports: (config) => [{ port: config.dashboard.port, variable: 'TICKSYNC_DASHBOARD_PORT' }],
  prepare: () => {
    const script = path.join(PROJECT_ROOT, 'scripts/dashboard.ts');
    return Promise.resolve({
      command: process.execPath,
      args: ['--import', 'tsx', script],
      cwd: PROJECT_ROOT,
      signature: script,
    });
  },
  async healthcheck(config) {
    const response = await fetch(`${dashboardUrl(config)}healthz`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) throw new Error(`${dashboardUrl(config)}healthz answered HTTP ${response.status}`);
  },
  startTimeoutMs: 30_000,
};

export const SERVICES: Service[] = [
  kafka,
  temporal,
  s3,
  localAws,
  worker(
    'ingest-worker',
    'workers/ingest.ts',
    (config) => config.temporal.ingestTaskQueue,
    'TICKSYNC_INGEST_METRICS_PORT',
    (config) => config.metrics.ingestPort,
  ),
  worker(
    'catalog-worker',
    'workers/catalog.ts',
    (config) => config.temporal.catalogTaskQueue,
    'TICKSYNC_CATALOG_METRICS_PORT',
    (config) => config.metrics.catalogPort,
  ),
  worker(
    'query-worker',
    'workers/query.ts',
    (config) => config.temporal.queryTaskQueue,
    'TICKSYNC_QUERY_METRICS_PORT',
    (config) => config.metrics.queryPort,
  ),
  worker(
    'compact-worker',
    'workers/compact.ts',
    (config) => config.temporal.compactTaskQueue,
    'TICKSYNC_COMPACT_METRICS_PORT',
    (config) => config.metrics.compactPort,
  ),
  dashboard,
];
