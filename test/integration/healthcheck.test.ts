import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/clients';
import { createKafka } from '../../lib/kafka';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { connectClient } from '../../lib/temporal';
import { runHealthcheck } from '../../scripts/healthcheck';
import { startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

// Real worker processes on task queues of their own, against the running local stack.
const env = {
  TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-ingest'),
  TICKSYNC_CATALOG_TASK_QUEUE: uniqueName('test-catalog'),
};
const config = loadConfig({ ...process.env, ...env });
let workers: WorkerProcess[] = [];

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
});

test('fails fast, naming the queue, when no worker polls it', async () => {
  await expect(runHealthcheck(config)).rejects.toThrow(`no worker polls task queue ${env.TICKSYNC_CATALOG_TASK_QUEUE}`);
});

test('healthcheckWorkflow round-trips one Kafka message and one S3 object through both workers', async () => {
  workers = await Promise.all([startWorkerProcess('ingest', env), startWorkerProcess('catalog', env)]);
  const run = await runHealthcheck(config);

  expect(run.result.probeId).toBe(run.workflowId);
  expect(run.url).toBe(
    `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${run.workflowId}/${run.runId}/history`,
  );

  // The probe message is really in the topic, at the offset the workflow reports.
  expect(run.result.kafka.topic).toBe(`${config.kafka.topic}.healthcheck`);
  const admin = createKafka(config, createLogger('test', 'silent')).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(run.result.kafka.topic);
    const partition = offsets.find((entry) => entry.partition === run.result.kafka.partition);
    expect(BigInt(partition?.high ?? '0')).toBeGreaterThan(BigInt(run.result.kafka.offset));
  } finally {
    await admin.disconnect();
  }

  // The probe object was written, read back and then deleted.
  expect(run.result.s3.bytes).toBeGreaterThan(0);
  const s3 = createS3Client(config, 'admin');
  await expect(
    s3.send(new HeadObjectCommand({ Bucket: run.result.s3.bucket, Key: run.result.s3.key })),
  ).rejects.toMatchObject({
    name: 'NotFound',
  });
  s3.destroy();

  // The workflow ran on the catalog queue and completed.
  const client = await connectClient(config);
  try {
    const description = await client.workflow.getHandle(run.workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.taskQueue).toBe(env.TICKSYNC_CATALOG_TASK_QUEUE);
  } finally {
    await client.connection.close();
  }
});
