/// <reference lib="dom" />
// Functions passed to the page run in the browser.
import fs from 'node:fs';
import net from 'node:net';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { consumerWorkflow, replayWorkflow } from '../../workflows';
import { stopConsumerSignal } from '../../lib/contracts';
import {
  collectPageErrors,
  launchChromium,
  startDashboardProcess,
  testOutputPath,
  waitForPage,
  type DashboardProcess,
  startStackQueueWorkers,
} from '../helpers/dashboard';
import { testKafka } from '../helpers/kafka';
import { consumerInputFor, waitForProgress } from '../helpers/lake';
import { replayInputFor, SAMPLE_CSV } from '../helpers/replay';
import { runScript, withOwnService } from '../helpers/scripts';
import { freePort, startWorkerProcess, uniqueName, type WorkerProcess } from '../helpers/workers';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core):
 * what the page renders after a replay is checked against the replayed file,
 * and a broker outage shows on the page and clears without a reload.
 */

jest.setTimeout(300_000);

let browser: Browser;
let client: Client;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  client = await connectClient(loadConfig());
  stops.push(await startStackQueueWorkers());
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch((error: unknown) => console.error(error));
  await browser?.close();
  await client?.connection.close();
});

async function createTopic(env: NodeJS.ProcessEnv, topic: string) {
  const admin = testKafka(loadConfig({ ...process.env, ...env })).admin();
  await admin.connect();
  await admin.createTopics([{ topic, numPartitions: 3 }]);
  await admin.disconnect();
}

async function startDashboard(env: NodeJS.ProcessEnv): Promise<DashboardProcess> {
  const dashboard = await startDashboardProcess(env);
  stops.push(() => dashboard.stop());
  // Ready when its consumer has joined: ticks from then on reach the page.
  const until = Date.now() + 60_000;
  for (;;) {
    const health = (await (await fetch(`${dashboard.url}healthz`)).json()) as { kafka: { consuming: boolean } };
    if (health.kafka.consuming) return dashboard;
    if (Date.now() > until) throw new Error(`the dashboard's consumer did not join:\n${dashboard.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors = collectPageErrors(page);
  await page.goto(url);
  return { page, errors };
}

test('after a replay, the page shows each symbol’s last replayed price, the file’s volume ranking, and lag 0 once flushed', async () => {
  const topic = uniqueName('dashboard');
  const [metricsPort, dashboardPort] = [await freePort(), await freePort()];
  const env = {
    TICKSYNC_TOPIC: topic,
    TICKSYNC_INGEST_TASK_QUEUE: uniqueName('test-dashboard'),
    TICKSYNC_INGEST_METRICS_PORT: String(metricsPort),
    // No catalog or query worker answers there: the workers tile shows the ingest worker alone.
    TICKSYNC_CATALOG_METRICS_PORT: String(await freePort()),
    TICKSYNC_QUERY_METRICS_PORT: String(await freePort()),
    TICKSYNC_DASHBOARD_PORT: String(dashboardPort),
  };
  const config = loadConfig({ ...process.env, ...env });
  await createTopic(env, topic);
  const worker: WorkerProcess = await startWorkerProcess('ingest', env);
  stops.push(() => worker.stop());
  const dashboard = await startDashboard(env);
  expect(dashboard.url).toBe(`http://127.0.0.1:${dashboardPort}/`);

  // What the file says: each symbol's last close, and the symbols by total volume.
  const rows = parse(fs.readFileSync(SAMPLE_CSV), { columns: true }) as Record<string, string>[];
  const lastClose = new Map<string, number>();
  const volume = new Map<string, number>();
  for (const row of rows) {
    lastClose.set(row.Index!, Number(row.Close));
    volume.set(row.Index!, (volume.get(row.Index!) ?? 0) + Number(row.Volume));
  }
  const byVolume = [...volume]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, 10)
    .map(([symbol]) => symbol);
  const symbol = byVolume[0] as string;

  const { page, errors } = await openPage(`${dashboard.url}?window=60&symbol=${encodeURIComponent(symbol)}`);
  const consumer: WorkflowHandle<typeof consumerWorkflow> = await client.workflow.start(consumerWorkflow, {
    workflowId: uniqueName('consumer'),
    taskQueue: config.temporal.ingestTaskQueue,
    args: [consumerInputFor(topic, { flush: { maxRecords: 100_000, maxBytes: 8 << 20, maxAgeMs: 1000 } })],
  });
  stops.push(async () => {
    await consumer.signal(stopConsumerSignal);
    await consumer.result();
  });
  const replay = replayInputFor(SAMPLE_CSV, { topic, symbolColumn: 'Index' });
  const result = await client.workflow.execute(replayWorkflow, {
    workflowId: `replay-${replay.runId}`,
    taskQueue: config.temporal.ingestTaskQueue,
    args: [replay],
  });
  expect(result.sent).toBe(rows.length);

  // The chart's latest price for the symbol is its last row in the file.
  await page.waitForFunction(
    ([name, price]) => {
      const last = document.querySelector<HTMLElement>('#last-price');
      return last?.dataset.symbol === name && last.dataset.price === String(price);
    },
    [symbol, lastClose.get(symbol)] as const,
    { timeout: 15_000 },
  );
  // The volume ranking is the file's.
  await page.waitForFunction(
    (expected) =>
      Array.from(document.querySelectorAll<HTMLElement>('#rank-volume tr[data-symbol]'))
        .map((row) => row.dataset.symbol)
        .join() === expected.join(),
    byVolume,
    { timeout: 15_000 },
  );
  // Every other symbol's last price, one by one through the picker's URL.
  for (const [other, close] of [...lastClose].slice(0, 3)) {
    await page.goto(`${dashboard.url}?window=60&symbol=${encodeURIComponent(other)}`);
    await waitForPage(page, '#last-price', String(close), { attribute: 'data-price' });
  }
  await page.screenshot({ path: testOutputPath('dashboard-after-replay.png'), fullPage: true });
  // A second tab gets the same picture.
  const second = await openPage(`${dashboard.url}?window=60&symbol=${encodeURIComponent(symbol)}`);
  await waitForPage(second.page, '#last-price', String(lastClose.get(symbol)), { attribute: 'data-price' });
  await waitForPage(second.page, '#rank-volume tr[data-symbol]', byVolume.length);
  expect(second.errors).toEqual([]);
  await second.page.close();

  // The consumer writes everything: the lag tile falls to 0.
  await waitForProgress(consumer, (p) => p.totals.records === rows.length && p.lag === 0);
  await page.waitForFunction(() => document.querySelector<HTMLElement>('#tile-lag')?.dataset.lag === '0', undefined, {
    timeout: 15_000,
  });
  await waitForPage(page, '#tile-workers .value', '1/3 up');
  await page.screenshot({ path: testOutputPath('dashboard-flushed.png'), fullPage: true });
  expect(errors).toEqual([]);
  await page.close();
});

test('Kafka stopped while the page is open: the outage shows within 5 s, and the page recovers without a reload', async () => {
  await withOwnService('kafka', async (kafkaEnv) => {
    const topic = uniqueName('dashboard-outage');
    const env = { ...kafkaEnv, TICKSYNC_TOPIC: topic, TICKSYNC_DASHBOARD_PORT: String(await freePort()) };
    await createTopic(env, topic);
    const dashboard = await startDashboard(env);
    const { page, errors } = await openPage(dashboard.url);
    await waitForPage(page, '#stream-state', 'live');
    const produce = async (symbol: string) => {
      const producer = testKafka(loadConfig({ ...process.env, ...env })).producer();
      await producer.connect();
      await producer.send({
        topic,
        messages: [{ key: symbol, value: JSON.stringify({ price: 10.5, size: 3, ts: new Date().toISOString() }) }],
      });
      await producer.disconnect();
    };
    await produce('BEFORE');
    await waitForPage(page, '#tape tr[data-symbol="BEFORE"]', 1);

    expect((await runScript('stack', ['down', 'kafka'], env)).code).toBe(0);
    const stoppedAt = Date.now();
    const banner = '#banners [data-kind="outage"]';
    await waitForPage(page, banner, /^Kafka unreachable since \d{2}:\d{2}:\d{2}, retrying/, { timeout: 5_000 });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await waitForPage(page, '#tape-panel', /\bstale\b/, { attribute: 'class' });
    await page.screenshot({ path: testOutputPath('dashboard-kafka-down.png'), fullPage: true });

    expect((await runScript('stack', ['up', 'kafka'], env)).code).toBe(0);
    await waitForPage(page, banner, 0, { timeout: 60_000 });
    await waitForPage(page, '#stream-state', 'live', { timeout: 60_000 });
    await produce('AFTER');
    await waitForPage(page, '#tape tr[data-symbol="AFTER"]', 1, { timeout: 30_000 });
    await waitForPage(page, '#tape-panel', /^(?!.*\bstale\b)/, { attribute: 'class' });
    await page.screenshot({ path: testOutputPath('dashboard-kafka-back.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
    await dashboard.stop();
  });
});

test('bad requests get a clear 4xx naming what was wrong, and the server goes on serving', async () => {
  const topic = uniqueName('dashboard-input');
  const env = { TICKSYNC_TOPIC: topic, TICKSYNC_DASHBOARD_PORT: String(await freePort()) };
  await createTopic(env, topic);
  const dashboard = await startDashboard(env);
  const get = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${dashboard.url}${path}`, init);
    return { status: response.status, text: await response.text() };
  };
  expect(await get('events?window=7')).toEqual({
    status: 400,
    text: JSON.stringify({ error: 'window: expected one of 1, 5, 10, 60 (minutes), got "7"' }),
  });
  expect(await get(`events?symbol=${'S'.repeat(65)}`)).toMatchObject({ status: 400, text: /symbol: expected 1 to 64/ });
  expect(await get(`api/symbols?prefix=${'S'.repeat(65)}`)).toMatchObject({ status: 400, text: /prefix: expected/ });
  expect(await get('', { method: 'POST', body: 'x' })).toMatchObject({ status: 405, text: /only serves GET/ });
  expect(await get('nothing/here')).toMatchObject({ status: 404, text: /no such page: \/nothing\/here/ });
  expect(await get('api/symbols?prefix=')).toEqual({ status: 200, text: '[]' });
  // The page's assets, uPlot and its licence are served from the project (the page works offline).
  expect(await get('vendor/uPlot.LICENSE.txt')).toMatchObject({ status: 200, text: /MIT License/ });
  expect((await get('vendor/uPlot.iife.min.js')).status).toBe(200);
  expect(JSON.parse((await get('healthz')).text)).toMatchObject({ topic, kafka: { up: true, consuming: true } });
});

test('npm run dashboard: --help exits 0, an invalid setting exits 2 naming it, a port in use exits 1 naming its variable', async () => {
  const help = await runScript('dashboard', ['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('TICKSYNC_DASHBOARD_PORT');
  const invalid = await runScript('dashboard', [], { TICKSYNC_DASHBOARD_PORT: 'eighty' });
  expect(invalid.code).toBe(2);
  expect(invalid.stderr).toContain('TICKSYNC_DASHBOARD_PORT="eighty": expected a TCP port number');
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  try {
    const port = (holder.address() as net.AddressInfo).port;
    const taken = await runScript('dashboard', [], { TICKSYNC_DASHBOARD_PORT: String(port) });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(taken.stderr).toContain('TICKSYNC_DASHBOARD_PORT');
  } finally {
    holder.close();
  }
});
