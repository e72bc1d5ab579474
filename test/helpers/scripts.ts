import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `scripts/<name>.ts` as `npm run <name>` would (minus the bootstrap), with extra environment. */
export function runScript(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 170_000,
): Promise<ScriptResult> {
  return runCommand(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', `${name}.ts`), ...args],
    env,
    timeoutMs,
  );
}

function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ScriptResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // Decoded as a stream: a character split across two chunks stays whole.
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Ports nothing listens on now (the kernel's choice), for a second stack beside the main one. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Runs `run` with a Kafka broker, Temporal dev server, S3 server or local AWS service of its own (free ports, its own stack dir), started and stopped by
 * the real stack script, so a test can stop and restart it while the shared stack serves the other tests.
 */
export async function withOwnService<T>(
  service: 'kafka' | 'temporal' | 's3' | 'aws',
  run: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  const env: Record<string, string> = {
    TICKSYNC_STACK_DIR: fs.mkdtempSync(path.join(os.tmpdir(), `ticksync-own-${service}-`)),
  };
  if (service === 'kafka') {
    const [brokerPort, controllerPort] = await freePorts(2);
    env.TICKSYNC_KAFKA_BROKERS = `127.0.0.1:${brokerPort}`;
    env.TICKSYNC_STACK_KAFKA_CONTROLLER_PORT = String(controllerPort);
  } else if (service === 'temporal') {
    const [frontendPort, uiPort] = await freePorts(2);
    env.TICKSYNC_TEMPORAL_ADDRESS = `127.0.0.1:${frontendPort}`;
    env.TICKSYNC_TEMPORAL_UI_URL = `http://127.0.0.1:${uiPort}`;
  } else {
    const [port] = await freePorts(1);
    env[service === 's3' ? 'TICKSYNC_S3_ENDPOINT' : 'TICKSYNC_AWS_ENDPOINT'] = `http://127.0.0.1:${port}`;
  }
  try {
    const up = await runScript('stack', ['up', service], env);
    if (up.code !== 0) throw new Error(`stack up ${service} failed:\n${up.stderr}`);
    return await run(env);
  } finally {
    await runScript('stack', ['down', service], env);
    fs.rmSync(env.TICKSYNC_STACK_DIR as string, { recursive: true, force: true });
  }
}

/** Quotes a word for sh. */
const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `scripts/<name>.ts` on a terminal of `columns` × 50 (a pseudo-terminal made by util-linux's `script`),
 * as a user sees it: stdout is a TTY, and stdout and stderr share the screen. The output comes back with
 * `\r\n` as `\n`.
 */
export async function runOnTerminal(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  columns = 100,
  timeoutMs = 170_000,
): Promise<ScriptResult> {
  const command = [process.execPath, '--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', `${name}.ts`), ...args]
    .map(shellQuote)
    .join(' ');
  const result = await runCommand(
    'script',
    ['--quiet', '--return', '--command', `stty cols ${columns} rows 50; exec ${command}`, '/dev/null'],
    env,
    timeoutMs,
  );
  return { ...result, stdout: result.stdout.replace(/\r\n/g, '\n') };
}

/** `npm run name -- a "b c"` → ['name', 'a', 'b c']: the words of a README command (double quotes only). */
export function npmRunWords(line: string): { name: string; args: string[] } {
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
  if (words[0] !== 'npm' || words[1] !== 'run' || !words[2]) throw new Error(`not an npm run command: ${line}`);
  return { name: words[2], args: words[3] === '--' ? words.slice(4) : words.slice(3) };
}
