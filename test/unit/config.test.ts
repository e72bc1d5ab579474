import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaSasl } from '../../lib/kafka';
import { ConfigError, loadConfig } from '../../lib/config';
import { temporalConnectionOptions } from '../../lib/temporal';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults point at the local stack', () => {
    const config = loadConfig({ HOME: '/home/user' });
    expect(config.target).toBe('local');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.aws.s3Endpoint).toBe('http://127.0.0.1:7070');
    expect(config.temporal).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      ingestTaskQueue: 'ticksync-ingest',
      catalogTaskQueue: 'ticksync-catalog',
      queryTaskQueue: 'ticksync-query',
    });
    expect(config.athena.outputLocation).toBe('s3://ticksync-lake/athena-results/');
    expect(config.stack.cacheDir).toBe('/home/user/.cache/ticksync');
    expect(config.metrics).toEqual({ ingestPort: 9464, catalogPort: 9465, queryPort: 9466, compactPort: 9467 });
    expect(config.temporal.compactTaskQueue).toBe('ticksync-compact');
    expect(config.s3.curatedPrefix).toBe('curated/');
    expect(config.dashboard.port).toBe(8090);
    // Every local component has keys of its own; the admin keys are the S3 server's root.
    expect(config.aws.credentials.ingest).toEqual({
      accessKeyId: 'ticksync-ingest',
      secretAccessKey: 'ticksync-ingest-secret-key',
    });
    expect(config.aws.credentials.admin?.accessKeyId).toBe('ticksync-admin');
  });

  test('reads every documented variable', () => {
    const config = loadConfig({
      TICKSYNC_KAFKA_BROKERS: 'k1:9092, k2:9092',
      TICKSYNC_TOPIC: 'ticks-eu',
      TICKSYNC_S3_BUCKET: 'my-lake',
      TICKSYNC_AWS_REGION: 'eu-central-1',
      TICKSYNC_TEMPORAL_UI_URL: 'http://localhost:9999/',
      TICKSYNC_PRODUCER_ACCESS_KEY_ID: 'AKIAPRODUCER',
      TICKSYNC_PRODUCER_SECRET_ACCESS_KEY: 'producer-secret',
      TICKSYNC_INGEST_METRICS_PORT: '19464',
      TICKSYNC_CATALOG_METRICS_PORT: '19465',
      TICKSYNC_QUERY_METRICS_PORT: '19466',
      TICKSYNC_COMPACT_METRICS_PORT: '19467',
      TICKSYNC_COMPACT_TASK_QUEUE: 'compact-eu',
      TICKSYNC_DASHBOARD_PORT: '18090',
    });
    expect(config.metrics).toEqual({ ingestPort: 19464, catalogPort: 19465, queryPort: 19466, compactPort: 19467 });
    expect(config.temporal.compactTaskQueue).toBe('compact-eu');
    expect(config.dashboard.port).toBe(18090);
    // The dashboard reads the workers' metrics on their ports, unless told where they are (containers).
    expect(config.dashboard.workerMetrics.map((target) => target.url)).toEqual([
      'http://127.0.0.1:19464/metrics',
      'http://127.0.0.1:19465/metrics',
      'http://127.0.0.1:19466/metrics',
    ]);
    expect(
      loadConfig({ TICKSYNC_DASHBOARD_WORKER_METRICS: 'ingest=http://ingest-worker:9464/metrics, q=http://q:1/m' })
        .dashboard.workerMetrics,
    ).toEqual([
      { name: 'ingest', url: 'http://ingest-worker:9464/metrics' },
      { name: 'q', url: 'http://q:1/m' },
    ]);
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.kafka.topic).toBe('ticks-eu');
    expect(config.athena.outputLocation).toBe('s3://my-lake/athena-results/');
    expect(config.aws.region).toBe('eu-central-1');
    expect(config.temporal.uiUrl).toBe('http://localhost:9999');
    expect(config.aws.credentials.producer).toEqual({
      accessKeyId: 'AKIAPRODUCER',
      secretAccessKey: 'producer-secret',
    });
  });

  test('on AWS, endpoints and keys come from AWS itself unless set', () => {
    const config = loadConfig({ TICKSYNC_TARGET: 'aws' });
    expect(config.aws.s3Endpoint).toBeUndefined();
    expect(config.aws.endpoint).toBeUndefined();
    expect(config.aws.credentials.ingest).toBeUndefined();
    expect(config.aws.credentials.admin).toBeUndefined();
  });

  test('an empty variable counts as unset', () => {
    expect(loadConfig({ TICKSYNC_TOPIC: '' }).kafka.topic).toBe('ticks');
  });

  test.each([
    ['TICKSYNC_S3_ENDPOINT', 'not a url', 'expected an http(s) URL'],
    ['TICKSYNC_S3_ENDPOINT', 'ftp://127.0.0.1:7070', 'expected an http(s) URL'],
    ['TICKSYNC_AWS_REGION', 'useast1', 'expected an AWS region, such as us-east-1'],
    ['TICKSYNC_AWS_REGION', 'US-EAST-1', 'expected an AWS region'],
    ['TICKSYNC_STACK_KAFKA_CONTROLLER_PORT', '-1', 'expected a TCP port number (1-65535)'],
    ['TICKSYNC_STACK_KAFKA_CONTROLLER_PORT', '70000', 'expected a TCP port number (1-65535)'],
    ['TICKSYNC_STACK_KAFKA_CONTROLLER_PORT', 'ninety', 'expected a TCP port number (1-65535)'],
    ['TICKSYNC_INGEST_METRICS_PORT', '0', 'expected a TCP port number (1-65535)'],
    ['TICKSYNC_QUERY_METRICS_PORT', '9466x', 'expected a TCP port number (1-65535)'],
    ['TICKSYNC_DASHBOARD_PORT', '65536', 'expected a TCP port number (1-65535)'],
    ['TICKSYNC_DASHBOARD_NO_WORKER_SECONDS', '0', 'expected a whole number of seconds (1-3600)'],
    ['TICKSYNC_DASHBOARD_NO_WORKER_SECONDS', '1.5', 'expected a whole number of seconds (1-3600)'],
    ['TICKSYNC_DASHBOARD_NO_WORKER_SECONDS', 'soon', 'expected a number of seconds'],
    ['TICKSYNC_DASHBOARD_WORKER_METRICS', 'ingest:9464', 'expected name=URL pairs'],
    ['TICKSYNC_DASHBOARD_WORKER_METRICS', 'ingest=ftp://host/metrics', 'expected an http(s) URL'],
    ['TICKSYNC_KAFKA_BROKERS', '127.0.0.1:-9092', 'expected host:port with a port from 1 to 65535'],
    ['TICKSYNC_KAFKA_BROKERS', '127.0.0.1:9092,broker-two', 'expected host:port'],
    ['TICKSYNC_TEMPORAL_ADDRESS', 'localhost', 'expected host:port'],
    ['TICKSYNC_S3_BUCKET', 'My_Bucket', 'expected an S3 bucket name'],
    ['TICKSYNC_S3_RAW_PREFIX', 'raw', "expected an S3 key prefix ending in '/'"],
    ['TICKSYNC_ATHENA_OUTPUT_LOCATION', 'https://bucket/results', 'expected an s3:// URL'],
    ['TICKSYNC_TARGET', 'gcp', "expected 'local' or 'aws'"],
    ['TICKSYNC_LOG_LEVEL', 'loud', 'expected one of trace'],
  ])('%s=%j fails naming the variable and the expected form', (variable, value, expected) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${variable}=${JSON.stringify(value)}`);
    expect(problems[0]).toContain(expected);
  });

  test('reports every invalid variable at once', () => {
    const problems = problemsOf({ TICKSYNC_AWS_REGION: 'nowhere', TICKSYNC_S3_ENDPOINT: 'nope' });
    expect(problems.map((problem) => problem.split('=')[0]).sort()).toEqual([
      'TICKSYNC_AWS_REGION',
      'TICKSYNC_S3_ENDPOINT',
    ]);
  });

  test('an access key without its secret is rejected', () => {
    expect(problemsOf({ TICKSYNC_INGEST_ACCESS_KEY_ID: 'AKIAINGEST' })).toEqual([
      'TICKSYNC_INGEST_ACCESS_KEY_ID and TICKSYNC_INGEST_SECRET_ACCESS_KEY: set both or neither',
    ]);
  });
  test('the Kafka client: kafkajs by default, confluent when asked, nothing else', () => {
    expect(loadConfig({}).kafka.client).toBe('kafkajs');
    expect(loadConfig({ TICKSYNC_KAFKA_CLIENT: 'confluent' }).kafka.client).toBe('confluent');
    expect(problemsOf({ TICKSYNC_KAFKA_CLIENT: 'rdkafka' })[0]).toMatch(
      /TICKSYNC_KAFKA_CLIENT="rdkafka": expected 'kafkajs' or 'confluent'/,
    );
  });

  test('Kafka TLS and SASL (Amazon MSK, Confluent Cloud)', () => {
    const config = loadConfig({
      TICKSYNC_KAFKA_SSL: 'true',
      TICKSYNC_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      TICKSYNC_KAFKA_SASL_USERNAME: 'ticksync',
      TICKSYNC_KAFKA_SASL_PASSWORD: 'secret',
    });
    expect(config.kafka).toMatchObject({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'ticksync', password: 'secret' },
    });
    expect(loadConfig({}).kafka).toMatchObject({ ssl: false, sasl: undefined });
    expect(problemsOf({ TICKSYNC_KAFKA_SASL_MECHANISM: 'plain' })).toEqual([
      'TICKSYNC_KAFKA_SASL_MECHANISM=plain needs TICKSYNC_KAFKA_SASL_USERNAME and _PASSWORD',
    ]);
    expect(problemsOf({ TICKSYNC_KAFKA_SASL_MECHANISM: 'gssapi' })[0]).toMatch(
      /TICKSYNC_KAFKA_SASL_MECHANISM="gssapi": expected one of plain, scram-sha-256, scram-sha-512/,
    );
    expect(problemsOf({ TICKSYNC_KAFKA_SSL: 'yes' })[0]).toMatch(/TICKSYNC_KAFKA_SSL="yes": expected true or false/);
  });

  test('Amazon MSK IAM authentication: TLS, no user or password, a token signed with the AWS credentials', async () => {
    const msk = {
      TICKSYNC_KAFKA_SSL: 'true',
      TICKSYNC_KAFKA_SASL_MECHANISM: 'aws-msk-iam',
      TICKSYNC_AWS_REGION: 'eu-west-1',
    };
    expect(loadConfig(msk).kafka.sasl).toEqual({ mechanism: 'aws-msk-iam' });
    expect(problemsOf({ TICKSYNC_KAFKA_SASL_MECHANISM: 'aws-msk-iam' })).toEqual([
      'TICKSYNC_KAFKA_SASL_MECHANISM=aws-msk-iam needs TICKSYNC_KAFKA_SSL=true (MSK serves IAM authentication over TLS, port 9098)',
    ]);
    expect(problemsOf({ ...msk, TICKSYNC_KAFKA_SASL_USERNAME: 'u', TICKSYNC_KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'TICKSYNC_KAFKA_SASL_MECHANISM=aws-msk-iam signs with the AWS credentials of the process: unset TICKSYNC_KAFKA_SASL_USERNAME/_PASSWORD',
    ]);

    // The token is AWS's signer's: a presigned kafka-cluster:Connect URL for the region, with the process's key.
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY', AWS_SECRET_ACCESS_KEY: 'example-secret' });
    try {
      const sasl = kafkaSasl(loadConfig(msk));
      if (sasl?.mechanism !== 'oauthbearer') throw new Error(`expected oauthbearer, got ${sasl?.mechanism}`);
      const token = await sasl.oauthBearerProvider();
      // librdkafka (the confluent client) also needs the token's principal and expiry.
      expect(token.principal).toBe('ticksync');
      expect(token.lifetime).toBeGreaterThan(Date.now());
      const url = new URL(Buffer.from(token.value, 'base64url').toString('utf8'));
      expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
      expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(
        /^AKIAEXAMPLEKEY\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
      );
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      process.env = saved;
    }
    expect(kafkaSasl(loadConfig({}))).toBeUndefined();
  });

  test('Temporal TLS, mTLS and API key (Temporal Cloud), read into connection options', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-tls-'));
    try {
      for (const name of ['client.pem', 'client.key', 'ca.pem']) fs.writeFileSync(path.join(dir, name), name);
      const config = loadConfig({
        TICKSYNC_TEMPORAL_ADDRESS: 'ticksync.a1b2c.tmprl.cloud:7233',
        TICKSYNC_TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
        TICKSYNC_TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
        TICKSYNC_TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
        TICKSYNC_TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      });
      const options = temporalConnectionOptions(config);
      expect(options.address).toBe('ticksync.a1b2c.tmprl.cloud:7233');
      expect(options.tls?.serverNameOverride).toBe('temporal.internal');
      expect(options.tls?.serverRootCACertificate?.toString()).toBe('ca.pem');
      expect(options.tls?.clientCertPair?.crt.toString()).toBe('client.pem');
      expect(options.tls?.clientCertPair?.key.toString()).toBe('client.key');

      const cloud = temporalConnectionOptions(loadConfig({ TICKSYNC_TEMPORAL_API_KEY: 'key' }));
      expect(cloud).toMatchObject({ apiKey: 'key', tls: { clientCertPair: undefined } });
      expect(temporalConnectionOptions(loadConfig({})).tls).toBeUndefined();
      // TLS with the system's CAs: no client certificate, CA or SNI of its own.
      expect(temporalConnectionOptions(loadConfig({ TICKSYNC_TEMPORAL_TLS: 'true' })).tls).toEqual({
        serverNameOverride: undefined,
        serverRootCACertificate: undefined,
        clientCertPair: undefined,
      });

      expect(problemsOf({ TICKSYNC_TEMPORAL_TLS_CERT: path.join(dir, 'client.pem') })).toEqual([
        'TICKSYNC_TEMPORAL_TLS_CERT and TICKSYNC_TEMPORAL_TLS_KEY: set both or neither (mTLS)',
      ]);
      expect(problemsOf({ TICKSYNC_TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })[0]).toMatch(
        /TICKSYNC_TEMPORAL_TLS_CA=".*missing.pem": expected the path of a readable PEM CA certificate file/,
      );
      expect(problemsOf({ TICKSYNC_TEMPORAL_TLS: 'false', TICKSYNC_TEMPORAL_API_KEY: 'key' })).toEqual([
        'TICKSYNC_TEMPORAL_TLS=false, yet TLS settings or an API key are set',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
