/// <reference lib="dom" />
// Functions passed to the page run in the browser.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { ensureChromium } from '../../stack/install';
import { startWorkerProcess } from './workers';

export interface DashboardProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `npm run dashboard` (minus the bootstrap) and resolves with its URL once it prints it. */
export async function startDashboardProcess(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<DashboardProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'dashboard.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the dashboard printed no URL within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^Dashboard: (\S+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('exit', (code) => reject(new Error(`the dashboard exited with ${code}:\n${output}`)));
  });
  return {
    child,
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      // A dashboard that does not stop within 15 s is killed, and the test fails with its output.
      let hung = false;
      const timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, 15_000);
      await exited;
      clearTimeout(timer);
      if (hung) throw new Error(`the dashboard did not stop within 15 s of SIGTERM:\n${output}`);
    },
  };
}

/** Debian's headless Chromium (installed by the stack's installer when missing), through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const config = loadConfig();
  const executablePath = await ensureChromium(path.join(config.stack.dir, 'logs'), createLogger('test-browser'));
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

/** Where tests put screenshots: `.stack/test-output/`. */
export function testOutputPath(name: string): string {
  const dir = path.join(loadConfig().stack.dir, 'test-output');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** Every console error and uncaught exception of a page, for a test to assert there are none. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return errors;
}

/**
 * Waits until the page's element at `selector` reads as `expected` (its text, or an attribute with `attribute`),
 * or how many elements match when `expected` is a number; on timeout the error says what the page showed.
 */
export async function waitForPage(
  page: Page,
  selector: string,
  expected: string | RegExp | number,
  { attribute, timeout = 15_000 }: { attribute?: string; timeout?: number } = {},
): Promise<void> {
  const read = (args: { selector: string; attribute?: string; count: boolean }) => {
    if (args.count) return String(document.querySelectorAll(args.selector).length);
    const element = document.querySelector(args.selector);
    if (!element) return null;
    return args.attribute ? element.getAttribute(args.attribute) : (element.textContent ?? '');
  };
  const args = { selector, attribute, count: typeof expected === 'number' };
  const matches = (value: string | null) =>
    value !== null && (expected instanceof RegExp ? expected.test(value) : value === String(expected));
  const until = Date.now() + timeout;
  let value: string | null = null;
  while (Date.now() < until) {
    value = await page.evaluate(read, args);
    if (matches(value)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const what = typeof expected === 'number' ? 'count of' : (attribute ?? 'text');
  throw new Error(`${what} ${selector}: expected ${String(expected)}, the page shows ${JSON.stringify(value)}`);
}

/**
 * Workers on the stack's own task queues, as `npm run stack -- up --workers` runs them (npm test starts none):
 * without them the page shows a "no workers" banner for each queue. Resolves to what stops them.
 */
export async function startStackQueueWorkers(): Promise<() => Promise<unknown>> {
  const workers = await Promise.all(
    (['ingest', 'catalog', 'query'] as const).map((entry) => startWorkerProcess(entry, {})),
  );
  return () => Promise.all(workers.map((worker) => worker.stop()));
}
