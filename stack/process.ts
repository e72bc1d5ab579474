import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Background processes of the local stack. Each started process leaves a pid
 * file; `down` stops only processes that have one, and only if the process
 * behind the pid is still the one that was started (pids get reused).
 */

export interface PidRecord {
  pid: number;
  /** A string the process's command line contains, to tell it from a later process with the same pid. */
  signature: string;
  startedAt: string;
}

export function readPidFile(file: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

function commandLineOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** Whether the recorded process is alive and is still the process that was started. */
export function isRunning(record: PidRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  const commandLine = commandLineOf(record.pid);
  // Without /proc (macOS) the signal check is all there is.
  return commandLine === undefined || commandLine.includes(record.signature);
}

export interface StartOptions {
  command: string;
  args: string[];
  signature: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
}

/** Starts a detached process in its own process group, output appended to its log. */
export async function startDetached(options: StartOptions): Promise<PidRecord> {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(options.pidFile), { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  fs.writeSync(log, `\n==== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  // A missing or unrunnable program is reported by an 'error' event, not by spawn() itself.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`could not start ${options.command}: ${error.message}`)));
  });
  child.unref();
  const record: PidRecord = {
    pid: child.pid as number,
    signature: options.signature,
    startedAt: new Date().toISOString(),
  };
  fs.writeFileSync(options.pidFile, JSON.stringify(record));
  return record;
}

/** SIGTERM the process group, then SIGKILL after the grace period. */
export async function stopProcess(record: PidRecord, graceMs = 20_000): Promise<'stopped' | 'killed'> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-record.pid, signal);
    } catch {
      try {
        process.kill(record.pid, signal);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record)) return 'stopped';
    await sleep(100);
  }
  signalGroup('SIGKILL');
  while (isRunning(record)) await sleep(50);
  return 'killed';
}

/** Resolves when 127.0.0.1:port can be bound, i.e. nothing listens there. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The last lines of a log file, to show next to a failure. */
export function tailLines(file: string, count: number): string[] {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    fs.closeSync(fd);
    text = buffer.toString('utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-count);
}
