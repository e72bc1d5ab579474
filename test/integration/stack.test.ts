import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ServiceStatus } from '../../stack';
import { readPidFile } from '../../stack/process';
import { freePorts, runScript } from '../helpers/scripts';

// A second, complete stack on ports of its own beside the one `npm test` runs,
// driven through the real `npm run stack` script.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-stack-test-'));
let env: NodeJS.ProcessEnv;

const stack = (...args: string[]) => runScript('stack', args, env);
async function statusJson(): Promise<{ code: number | null; services: Record<string, ServiceStatus> }> {
  const result = await stack('status', 'kafka', 'temporal', 's3', '--json');
  const entries = JSON.parse(result.stdout) as ServiceStatus[];
  return { code: result.code, services: Object.fromEntries(entries.map((entry) => [entry.service, entry])) };
}

beforeAll(async () => {
  const [kafka, controller, temporal, ui, s3] = await freePorts(5);
  env = {
    TICKSYNC_STACK_DIR: dir,
    TICKSYNC_KAFKA_BROKERS: `127.0.0.1:${kafka}`,
    TICKSYNC_STACK_KAFKA_CONTROLLER_PORT: String(controller),
    TICKSYNC_TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TICKSYNC_TEMPORAL_UI_URL: `http://127.0.0.1:${ui}`,
    TICKSYNC_S3_ENDPOINT: `http://127.0.0.1:${s3}`,
  };
});

afterAll(async () => {
  await stack('down');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('up starts every service and waits until each answers; up again is harmless', async () => {
  const first = await stack('up');
  expect(first.stderr).not.toContain('error:');
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/started: .*kafka/);

  const { code, services } = await statusJson();
  expect(code).toBe(0);
  for (const name of ['kafka', 'temporal', 's3']) expect(services[name]).toMatchObject({ state: 'up', managed: true });

  const response = await fetch(env.TICKSYNC_TEMPORAL_UI_URL as string);
  expect(response.status).toBe(200);

  const second = await stack('up');
  expect(second.code).toBe(0);
  expect(second.stdout).toContain('already up: nothing to start');
  const again = await statusJson();
  expect(again.services.kafka?.pid).toBe(services.kafka?.pid);
});

test('status names the one service that stopped and exits non-zero', async () => {
  const record = readPidFile(path.join(dir, 'run', 'temporal.pid'));
  expect(record?.pid).toBeGreaterThan(1);
  process.kill(-record!.pid, 'SIGKILL');

  const { code, services } = await statusJson();
  expect(code).toBe(1);
  expect(services.temporal?.state).toBe('down');
  expect(services.kafka?.state).toBe('up');
  expect(services.s3?.state).toBe('up');

  const table = await stack('status');
  expect(table.code).toBe(1);
  expect(table.stdout).toMatch(/^│ temporal +│ DOWN +│/m);
  expect(table.stdout).toContain(path.join(dir, 'logs', 'temporal.log'));
});

test('down stops what up started, and status then exits non-zero', async () => {
  const result = await stack('down');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/stopped: .*kafka/);
  const { code, services } = await statusJson();
  expect(code).toBe(1);
  expect(Object.values(services).map((entry) => entry.state)).toEqual(['down', 'down', 'down']);
  expect(fs.readdirSync(path.join(dir, 'run'))).toEqual([]);
});

test('a port already in use makes up fail at once with a message naming it', async () => {
  const blocker = net.createServer();
  const port = Number(new URL(env.TICKSYNC_S3_ENDPOINT as string).port);
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    const result = await stack('up', 's3');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`s3: 127.0.0.1:${port} is already in use by another process`);
    expect(result.stderr).toContain('TICKSYNC_S3_ENDPOINT');
    expect(result.ms).toBeLessThan(30_000);
  } finally {
    blocker.close();
  }
});

test('an invalid setting fails at start, naming the variable, with the usage exit code', async () => {
  const result = await runScript('stack', ['status'], { ...env, TICKSYNC_S3_ENDPOINT: 'localhost:7070' });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('TICKSYNC_S3_ENDPOINT="localhost:7070": expected an http(s) URL');
});

test('unknown commands and services are usage errors', async () => {
  expect((await stack('launch')).code).toBe(2);
  const unknown = await stack('up', 'zookeeper');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown service zookeeper');
});

test('up beside a stack that already answers on the ports uses it and starts nothing', async () => {
  // `npm test` has the default stack up; a second stack folder on the same ports must not fight it.
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-stack-shared-'));
  try {
    const result = await runScript('stack', ['up'], { TICKSYNC_STACK_DIR: other });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('already up: nothing to start');
    expect(result.stderr).toContain('not started by this stack');
    const down = await runScript('stack', ['down'], { TICKSYNC_STACK_DIR: other });
    expect(down.stdout).toContain('nothing was running');
    const status = await runScript('stack', ['status', '--json']);
    expect(
      (JSON.parse(status.stdout) as ServiceStatus[]).filter((entry) => entry.state === 'up').length,
    ).toBeGreaterThanOrEqual(3);
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});
