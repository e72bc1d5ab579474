import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../lib/config';
import { UsageError } from '../lib/errors';
import { isPortFree, isRunning, readPidFile, startDetached, stopProcess, tailLines } from './process';
import { SERVICES, type BoundPort, type Service } from './services';

/**
 * The local stack: `up` installs what is missing, starts what is not running
 * and waits until each service answers a real request; `down` stops what `up`
 * started (a pid file marks each); `status` asks each service.
 */

export class StackError extends Error {
  override readonly name = 'StackError';
}

export interface Stack {
  config: Config;
  logger: Logger;
  dir: string;
}

export function openStack(config: Config, logger: Logger): Stack {
  if (config.target !== 'local') {
    throw new StackError('the local stack serves TICKSYNC_TARGET=local; this configuration targets AWS');
  }
  return { config, logger, dir: config.stack.dir };
}

const pidFile = (stack: Stack, service: Service) => path.join(stack.dir, 'run', `${service.name}.pid`);
export const logFile = (stack: Stack, service: Service) => path.join(stack.dir, 'logs', `${service.name}.log`);

export function selectServices(names: string[], withWorkers: boolean): Service[] {
  const unknown = names.filter((name) => !SERVICES.some((service) => service.name === name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown service ${unknown.join(', ')}; expected one of ${SERVICES.map((service) => service.name).join(', ')}`,
    );
  }
  if (names.length > 0) return SERVICES.filter((service) => names.includes(service.name));
  return SERVICES.filter((service) => service.kind === 'infra' || withWorkers);
}

function managedProcess(stack: Stack, service: Service) {
  const record = readPidFile(pidFile(stack, service));
  return record && isRunning(record) ? record : undefined;
}

async function health(stack: Stack, service: Service): Promise<string | undefined> {
  try {
    await service.healthcheck(stack.config);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function waitHealthy(stack: Stack, service: Service): Promise<void> {
  const deadline = Date.now() + service.startTimeoutMs;
  let problem: string | undefined = 'not checked yet';
  while (Date.now() < deadline) {
    problem = await health(stack, service);
    if (problem === undefined) return;
    const record = readPidFile(pidFile(stack, service));
    if (!record || !isRunning(record)) {
      throw new StackError(
        `${service.name} exited during start-up; log: ${logFile(stack, service)}\n    ${tailLines(logFile(stack, service), 15).join('\n    ')}`,
      );
    }
    await sleep(500);
  }
  throw new StackError(
    `${service.name} did not answer within ${service.startTimeoutMs / 1000} s (${problem}); log: ${logFile(stack, service)}\n    ${tailLines(logFile(stack, service), 15).join('\n    ')}`,
  );
}

/**
 * Sorts the services not started by this stack: those whose ports are free are
 * to start; a taken port is fine when the service there answers (a stack from
 * another clone, docker compose), and an error before anything starts otherwise.
 */
async function partitionByPorts(
  stack: Stack,
  services: Service[],
): Promise<{ toStart: Service[]; external: Service[] }> {
  const problems: string[] = [];
  const toStart: Service[] = [];
  const external: Service[] = [];
  for (const service of services) {
    const taken: BoundPort[] = [];
    for (const bound of service.ports(stack.config)) if (!(await isPortFree(bound.port))) taken.push(bound);
    if (taken.length === 0) toStart.push(service);
    else if (taken.length === service.ports(stack.config).length && (await health(stack, service)) === undefined)
      external.push(service);
    else
      for (const { port, variable } of taken)
        problems.push(
          `${service.name}: 127.0.0.1:${port} is already in use by another process; stop it, or move ${service.name} with ${variable}`,
        );
  }
  if (problems.length > 0) throw new StackError(problems.join('\n'));
  return { toStart, external };
}

async function startService(stack: Stack, service: Service): Promise<void> {
  const options = await service.prepare(stack);
  const record = await startDetached({
    ...options,
    logFile: logFile(stack, service),
    pidFile: pidFile(stack, service),
  });
  stack.logger.info({ service: service.name, pid: record.pid, log: logFile(stack, service) }, 'started');
  await waitHealthy(stack, service);
  await service.afterHealthy?.(stack);
  stack.logger.info({ service: service.name, address: service.address(stack.config) }, 'ready');
}

/** Brings the given services up; returns the names of those this call started. */
export async function up(stack: Stack, services: Service[]): Promise<string[]> {
  const running = services.filter((service) => managedProcess(stack, service));
  const { toStart, external } = await partitionByPorts(
    stack,
    services.filter((service) => !running.includes(service)),
  );
  for (const service of running) {
    await waitHealthy(stack, service);
    await service.afterHealthy?.(stack);
    stack.logger.info({ service: service.name }, 'already running');
  }
  for (const service of external) {
    await service.afterHealthy?.(stack);
    stack.logger.info({ service: service.name }, 'already running, not started by this stack: using it');
  }
  const started: string[] = [];
  // Infrastructure starts in parallel; workers need it, so they come after.
  for (const kind of ['infra', 'worker'] as const) {
    const batch = toStart.filter((service) => service.kind === kind);
    const results = await Promise.allSettled(
      batch.map(async (service) => {
        await startService(stack, service);
        started.push(service.name);
      }),
    );
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    if (failures.length > 0) {
      // Leave nothing half up: stop what this call started, then report every failure.
      await down(
        stack,
        services.filter((service) => started.includes(service.name) || batch.includes(service)),
      );
      throw new StackError(failures.map((failure) => failure.message).join('\n'));
    }
  }
  return started;
}

/** Brings the services up, runs the work, then stops only those this call started. */
export async function withStackUp<T>(stack: Stack, services: Service[], work: () => Promise<T>): Promise<T> {
  let started: string[] = [];
  try {
    started = await up(stack, services);
    return await work();
  } finally {
    await down(
      stack,
      services.filter((service) => started.includes(service.name)),
    );
  }
}

/** Stops the given services that `up` started; returns the names of those it stopped. */
export async function down(stack: Stack, services: Service[]): Promise<string[]> {
  const stopped: string[] = [];
  const byKind = (kind: Service['kind']) => services.filter((service) => service.kind === kind);
  // Workers first, so they do not spend their last seconds retrying a vanished server.
  for (const batch of [byKind('worker'), byKind('infra')]) {
    await Promise.all(
      batch.map(async (service) => {
        const file = pidFile(stack, service);
        const record = readPidFile(file);
        if (record && isRunning(record)) {
          const how = await stopProcess(record);
          stack.logger.info({ service: service.name, pid: record.pid, how }, 'stopped');
          stopped.push(service.name);
        }
        fs.rmSync(file, { force: true });
      }),
    );
  }
  return stopped;
}

export interface ServiceStatus {
  service: string;
  state: 'up' | 'down';
  /** Whether this stack started the process (false: something else answers on the port). */
  managed: boolean;
  pid?: number;
  address: string;
  problem?: string;
  log: string;
}

export async function status(stack: Stack, services: Service[]): Promise<ServiceStatus[]> {
  return Promise.all(
    services.map(async (service): Promise<ServiceStatus> => {
      const record = managedProcess(stack, service);
      // A worker is only ours if its process lives; other pollers on the queue do not count.
      const problem = service.kind === 'worker' && !record ? 'not running' : await health(stack, service);
      return {
        service: service.name,
        state: problem === undefined ? 'up' : 'down',
        managed: record !== undefined,
        pid: record?.pid,
        address: service.address(stack.config),
        problem,
        log: logFile(stack, service),
      };
    }),
  );
}
