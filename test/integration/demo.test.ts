import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { consumerTarget } from '../../lib/workflow-inputs';
import { stopConsumerSignal } from '../../lib/contracts';
import type { ServiceStatus } from '../../stack';
import { npmRunWords, runOnTerminal, runScript, type ScriptResult } from '../helpers/scripts';

const WORKERS = ['ingest-worker', 'catalog-worker', 'query-worker', 'compact-worker', 'dashboard'];
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

/** What a terminal shows, line by line: progress bars redraw, and colour with ANSI escapes. */
const screenLines = (output: string) =>
  output
    // A bar returns to the first column (ESC [1G) or its saved cursor (ESC 8) to redraw: a new line, as \r is.
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b(\[1G|8)/g, '\r')
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b(\[[0-9;?]*[A-Za-z]|7)/g, '')
    .split(/[\r\n]/);

/** What every command shows a user on a 100-column terminal: no error, no stack trace, no NULL symbol, nothing wider. */
function expectReadable(command: string, result: ScriptResult): void {
  // A failure shows what the command printed last: the reason is there, not in the exit code.
  const said = result.code === 0 ? '' : `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
  expect({ command, code: result.code, said }).toEqual({ command, code: 0, said: '' });
  const lines = screenLines(result.stdout);
  expect({ command, wide: lines.filter((line) => [...line].length > 100) }).toEqual({ command, wide: [] });
  expect({ command, traces: lines.filter((line) => /^\s+at .+[(:]\d+/.test(line)) }).toEqual({ command, traces: [] });
  expect({ command, nullSymbols: lines.filter((line) => /^│ NULL\s+│/.test(line)) }).toEqual({
    command,
    nullSymbols: [],
  });
  expect({ command, errors: lines.filter((line) => /^error:|"level":[45]0/.test(line)) }).toEqual({
    command,
    errors: [],
  });
}

/** The commands of the README's "Try it" block, in order. */
function readmeCommands(): string[] {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Try it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((line) => line.startsWith('npm run '));
}

test('npm run demo runs the pipeline on the sample, prints its report and the Web UI URL, and leaves it answering; every README command then works as written', async () => {
  const result = await runOnTerminal('demo', []);
  expectReadable('npm run demo', result);
  const output = result.stdout;
  // The report comes first: the logs went to a file.
  expect(output).not.toContain('"level"');
  expect(output).toMatch(/^Logs: \S*\.stack\/logs\/demo\.log$/m);
  expect(output).toMatch(/^Pipeline run \S+ on topic \S+: done in [\d.]+ s/m);
  // The sample has 3,080 rows: all replayed, and exactly those of this run in the lake.
  expect(output).toMatch(/│ rows replayed +│ 3080 +│/);
  expect(output).toMatch(/│ rows in the lake, counted by Athena +│ 3080 +│/);
  expect(output).toContain('The named queries read the whole table: every run in their window, not only this one.');
  for (const name of ['trades', 'top-volume', 'vwap', 'ohlc']) {
    expect(output).toContain(
      `\n${name}: the last 60 minutes of event time (column date, up to its latest value)\n` +
        'columns: symbol=index, price=close, size=volume; times in UTC\n',
    );
  }
  expect(output).toMatch(/^\d+ trades in the window \(the latest 5 shown; --limit for more\)$/m);
  expect(output).toContain('Rerun a query: npm run query -- --named top-volume --minutes 60');
  expect(output).toContain('npm run stack -- down');
  startedConsumer = !output.includes('(joined the running consumer)');

  const url = /^Temporal Web UI: (\S+)$/m.exec(output)?.[1];
  expect(url).toBe(loadConfig().temporal.uiUrl);
  expect((await fetch(url as string)).status).toBe(200);

  const dashboard = /^Live dashboard: (\S+)$/m.exec(output)?.[1];
  expect(dashboard).toBe(`http://127.0.0.1:${loadConfig().dashboard.port}/`);
  expect((await fetch(dashboard as string)).status).toBe(200);

  const pipelineLink = /^Pipeline: (\S+)$/m.exec(output)?.[1];
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
    'compact-worker': 'up',
    dashboard: 'up',
  });

  const commands = readmeCommands();
  expect(commands.length).toBeGreaterThanOrEqual(8);
  for (const command of commands) {
    const { name, args } = npmRunWords(command);
    expectReadable(command, await runOnTerminal(name, args));
  }
}, 600_000);
