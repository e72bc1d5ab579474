import { loadConfig } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { consumerTarget } from '../../scripts/consume';
import { stopConsumerSignal } from '../../workflows/consumer';
import type { ServiceStatus } from '../../stack';
import { runScript } from '../helpers/scripts';

const WORKERS = ['ingest-worker', 'catalog-worker', 'query-worker', 'dashboard'];
let workersWereRunning: string[] = [];
/** The demo starts the topic's consumer unless one runs; the test stops the one it started. */
let startedConsumer = false;

beforeAll(async () => {
  const status = await runScript('stack', ['status', '--json']);
  workersWereRunning = (JSON.parse(status.stdout) as ServiceStatus[])
    .filter((entry) => WORKERS.includes(entry.service) && entry.managed)
    .map((entry) => entry.service);
});

afterAll(async () => {
  if (startedConsumer) {
    const config = loadConfig();
    const client = await connectClient(config);
    const handle = client.workflow.getHandle(consumerTarget({}, config).workflowId);
    await handle.signal(stopConsumerSignal).catch(() => undefined);
    await handle.result().catch(() => undefined);
    await client.connection.close();
  }
  // Leave the stack as the test found it: stop only the workers the demo started.
  const started = WORKERS.filter((name) => !workersWereRunning.includes(name));
  if (started.length > 0) await runScript('stack', ['down', ...started]);
});

test('npm run demo runs the pipeline on the sample, prints its report and the Web UI URL, and leaves it answering', async () => {
  const result = await runScript('demo', []);
  expect(result.stderr).not.toContain('error:');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^Pipeline run \S+ on topic \S+: done in [\d.]+ s/m);
  // The sample has 3,080 rows: all replayed, and exactly those of this run in the lake.
  expect(result.stdout).toMatch(/rows replayed\s+│ 3080 /);
  expect(result.stdout).toMatch(/this run's rows in the lake\s+│ 3080 /);
  for (const name of ['trades', 'top-volume', 'vwap', 'ohlc']) expect(result.stdout).toContain(`\n${name}:\n`);
  expect(result.stdout).toContain('Rerun a query: npm run query -- --named top-volume');
  expect(result.stdout).toContain('npm run stack -- down');
  startedConsumer = !result.stdout.includes('(joined the running consumer)');

  const url = /^Temporal Web UI: (\S+)$/m.exec(result.stdout)?.[1];
  expect(url).toBe(loadConfig().temporal.uiUrl);
  expect((await fetch(url as string)).status).toBe(200);

  const dashboard = /^Live dashboard: (\S+)$/m.exec(result.stdout)?.[1];
  expect(dashboard).toBe(`http://127.0.0.1:${loadConfig().dashboard.port}/`);
  expect((await fetch(dashboard as string)).status).toBe(200);

  const pipelineLink = /^Pipeline: (\S+)$/m.exec(result.stdout)?.[1];
  expect(pipelineLink?.startsWith(`${loadConfig().temporal.uiUrl}/namespaces/default/workflows/pipeline-`)).toBe(true);

  const status = await runScript('stack', ['status', '--json']);
  expect(status.code).toBe(0);
  const states = Object.fromEntries(
    (JSON.parse(status.stdout) as ServiceStatus[]).map((entry) => [entry.service, entry.state]),
  );
  expect(states).toMatchObject({
    kafka: 'up',
    temporal: 'up',
    s3: 'up',
    'ingest-worker': 'up',
    'catalog-worker': 'up',
    'query-worker': 'up',
    dashboard: 'up',
  });
});
