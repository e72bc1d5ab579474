import { loadConfig } from '../../lib/config';
import type { ServiceStatus } from '../../stack';
import { runScript } from '../helpers/scripts';

const WORKERS = ['ingest-worker', 'catalog-worker', 'query-worker'];
let workersWereRunning: string[] = [];

beforeAll(async () => {
  const status = await runScript('stack', ['status', '--json']);
  workersWereRunning = (JSON.parse(status.stdout) as ServiceStatus[])
    .filter((entry) => WORKERS.includes(entry.service) && entry.managed)
    .map((entry) => entry.service);
});

afterAll(async () => {
  // Leave the stack as the test found it: stop only the workers the demo started.
  const started = WORKERS.filter((name) => !workersWereRunning.includes(name));
  if (started.length > 0) await runScript('stack', ['down', ...started]);
});

test('npm run demo runs the main job, prints the Web UI URL, and leaves it answering', async () => {
  const result = await runScript('demo', []);
  expect(result.stderr).not.toContain('error:');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('the health-check workflow passed');
  expect(result.stdout).toMatch(/^Kafka: produced and consumed probe healthcheck-/m);
  expect(result.stdout).toMatch(/^S3: +put, read back and deleted s3:\/\//m);
  expect(result.stdout).toContain('npm run stack -- down');

  const url = /^Temporal Web UI: (\S+)$/m.exec(result.stdout)?.[1];
  expect(url).toBe(loadConfig().temporal.uiUrl);
  expect((await fetch(url as string)).status).toBe(200);

  const workflowLink = /^Workflow: (\S+)$/m.exec(result.stdout)?.[1];
  expect(workflowLink?.startsWith(`${loadConfig().temporal.uiUrl}/namespaces/default/workflows/healthcheck-`)).toBe(
    true,
  );

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
  });
});
