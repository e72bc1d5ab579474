import net from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { COMPACT_DEFAULTS } from '../lib/contracts';
import { UsageError } from '../lib/errors';
import { HOUR_MS } from '../lib/hour-keys';
import { logToFile } from '../lib/logger';
import { connectClient } from '../lib/temporal';
import { OUTPUT_WIDTH } from '../lib/text-output';

// Scripts print tables through lib/text-output.ts; re-exported so a script's helpers come from one import.
export { firstRows, OUTPUT_WIDTH, textTable } from '../lib/text-output';

/** Exit codes every script shares; the README lists them. */
export const ExitCode = {
  Ok: 0,
  /** The operation ran and failed (a service down, a workflow failed). */
  Failed: 1,
  /** Bad usage: an unknown flag, a bad value, an invalid TICKSYNC_* setting. */
  Usage: 2,
} as const;

/** Commander's own error helpers, which its typings do not list. */
interface CommanderErrors {
  unknownCommand(): void;
  missingMandatoryOptionValue(option: Option): void;
}

/** Whether commander has an action for the command (its typings do not show the handler). */
const hasAction = (command: Command) => Boolean((command as unknown as { _actionHandler?: unknown })._actionHandler);

/** `npm run x -- sub`: how a user types the command, for "see … --help". */
function commandLine(command: Command): string {
  return command.parent ? `${commandLine(command.parent)} ${command.name()}` : command.name();
}

/**
 * Parses argv, runs the chosen action and turns its error into a message and an exit code.
 * Usage errors read the same in every script: one `error:` line (with commander's "Did you mean"
 * after a typo), then one line pointing at --help, exit 2.
 */
export function runCli(program: Command): void {
  const configure = (command: Command): void => {
    // --help and --version exit 0; commander's own parse errors are usage errors.
    command.exitOverride((error) => process.exit(error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage));
    command.showHelpAfterError(`(see ${commandLine(command)} --help)`);
    const internals = command as unknown as CommanderErrors;
    // Commander checks required options before unknown ones: a typo in a required flag would read as
    // "not specified". Checked after parsing instead, the typo is reported with its suggestion.
    const required = command.options.filter((option) => option.mandatory);
    for (const option of required) option.mandatory = false;
    // A command with subcommands and an action of its own would call an unknown subcommand an excess argument.
    const subcommands = command.commands.length > 0;
    // A group only dispatches to its subcommands, which take --verbose themselves.
    const isGroup = subcommands && !hasAction(command);
    if (subcommands) command.allowExcessArguments(true);
    if (isGroup) {
      const names = command.commands.map((sub) => sub.name()).join(', ');
      command.action(() => {
        throw new UsageError(`give a command: ${names}`);
      });
    } else command.option('--verbose', 'on a terminal, log to stderr too (by default the logs go to .stack/logs/)');
    command.hook('preAction', (_hooked, action) => {
      if (action !== command) return;
      if (subcommands && command.args.length > command.registeredArguments.length) internals.unknownCommand();
      for (const option of required)
        if (command.getOptionValue(option.attributeName()) === undefined) internals.missingMandatoryOptionValue(option);
      if (process.stdout.isTTY && !isGroup && !command.opts<{ verbose?: boolean }>().verbose) {
        const script = commandLine(program).replace(/^npm run (\S+).*$/, '$1');
        logToFile(path.join(loadConfig().stack.dir, 'logs', `${script}.log`));
      }
    });
    command.commands.forEach(configure);
  };
  configure(program);
  program.parseAsync(process.argv).catch((error: unknown) => {
    const usage = error instanceof ConfigError || error instanceof UsageError;
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    if (usage && !(error instanceof ConfigError)) console.error(`(see ${commandLine(program)} --help)`);
    process.exit(usage ? ExitCode.Usage : ExitCode.Failed);
  });
}

/** A service a script needs, and how it is named and configured. */
export type Service = 'temporal' | 'kafka' | 's3' | 'aws';

const SERVICES: Record<Service, { label: string; setting: string; addresses: (config: Config) => string[] }> = {
  temporal: { label: 'Temporal', setting: 'TICKSYNC_TEMPORAL_ADDRESS', addresses: (c) => [c.temporal.address] },
  kafka: { label: 'Kafka', setting: 'TICKSYNC_KAFKA_BROKERS', addresses: (c) => c.kafka.brokers },
  s3: { label: 'The S3 server', setting: 'TICKSYNC_S3_ENDPOINT', addresses: (c) => [c.aws.s3Endpoint ?? ''] },
  aws: { label: 'Glue + Athena', setting: 'TICKSYNC_AWS_ENDPOINT', addresses: (c) => [c.aws.endpoint ?? ''] },
};

/** How long a service may take to accept a connection before a script says it is not answering. */
const ANSWER_TIMEOUT_MS = 2000;

function answers(address: string): Promise<boolean> {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port, timeout: ANSWER_TIMEOUT_MS });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

const isLoopback = (address: string) => /^(\w+:\/\/)?(127\.|localhost[:/]|\[::1\])/.test(address);

/**
 * Fails within a few seconds, naming the service, its address and the fix, when a
 * service the script needs does not accept connections (instead of the clients'
 * own long retries and messages that name no service). AWS's own endpoints
 * (no endpoint configured) are not probed.
 */
export async function requireServices(config: Config, services: Service[]): Promise<void> {
  const down = await Promise.all(
    services.map(async (service) => {
      const addresses = SERVICES[service].addresses(config).filter((address) => address !== '');
      const up = addresses.length === 0 || (await Promise.all(addresses.map(answers))).some(Boolean);
      return up ? undefined : { service, addresses };
    }),
  );
  const first = down.find((entry) => entry !== undefined);
  if (!first) return;
  const { label, setting } = SERVICES[first.service];
  const address = first.addresses.join(', ').replace(/^\w+:\/\//, '');
  const fix = first.addresses.every(isLoopback)
    ? 'start the stack with npm run stack -- up'
    : `check ${setting} and that the service runs`;
  throw new Error(`${label} at ${address} is not answering — ${fix}`);
}

/** A progress bar's options: a short bar, so the status line beside it fits the terminal (see fitLine). */
export const BAR_OPTIONS = { barsize: 20, hideCursor: true };

/** A status line cut to what fits beside a progress bar of BAR_OPTIONS (`prefix` is the text before the bar). */
export function fitLine(line: string, prefix = ''): string {
  const room = OUTPUT_WIDTH - prefix.length - 30;
  return line.length <= room ? line : `${line.slice(0, room - 1)}…`;
}

/** Commander argument parsers that name the flag in their error. */
export const positiveNumber = (flag: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError(`${flag} must be a number above 0`);
  return number;
};
export const positiveInteger = (flag: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError(`${flag} must be a whole number above 0`);
  return number;
};

/** Awaits a workflow's result while `tick` runs every `intervalMs` (progress lines, bars, logs), then stops ticking. */
export async function awaitWhileWatching<T>(
  result: Promise<T>,
  tick: () => Promise<void>,
  intervalMs: number,
): Promise<T> {
  let watching = true;
  const polling = (async () => {
    while (watching) {
      await tick();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  try {
    return await result;
  } finally {
    watching = false;
    await polling;
  }
}

/** A Temporal client for a script, after checking that Temporal answers (see requireServices). */
export async function connectTemporal(config: Config): Promise<Client> {
  await requireServices(config, ['temporal']);
  return connectClient(config);
}

const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** `30s`, `5m`, `1h30m`, `1d` → milliseconds; anything else is undefined. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  return Number(d) * UNITS.d! + Number(h) * UNITS.h! + Number(m) * UNITS.m! + Number(s) * UNITS.s!;
}

export function formatDuration(ms: number): string {
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of Object.entries(UNITS)) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text || '0s';
}

/** A commander parser for a duration flag of at least `minimumMs` (`why` says why). */
export const duration = (flag: string, minimumMs: number, why: string) => (value: string) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    // Only examples the flag accepts.
    const examples = ['30s', '5m', '1h', '1h30m'].filter((example) => parseDuration(example)! >= minimumMs);
    throw new InvalidArgumentError(`${flag} expects a duration such as ${examples.join(', ')}, got '${value}'`);
  }
  if (ms < minimumMs) throw new InvalidArgumentError(`${flag} must be at least ${formatDuration(minimumMs)}: ${why}`);
  return ms;
};

/** A Glue crawler name given to `flag`. */
export const crawlerName = (flag: string) => (value: string) => {
  if (!/^[A-Za-z0-9_.-]{1,255}$/.test(value)) {
    throw new InvalidArgumentError(`${flag} expects a Glue crawler name (letters, digits, . _ -), got '${value}'`);
  }
  return value;
};

/** The options a compaction run takes, shared by `npm run compact` and `npm run schedule -- compact`. */
export function compactionOptions(command: Command, lookback: string): Command {
  const graceMs = COMPACT_DEFAULTS.graceMinutes * 60_000;
  const lookbackMs = COMPACT_DEFAULTS.lookbackHours * HOUR_MS;
  return command
    .addOption(
      new Option('--grace <duration>', 'how long after its end an hour counts as closed (late records)')
        .argParser(duration('--grace', 0, 'a grace cannot be negative'))
        .default(graceMs, formatDuration(graceMs)),
    )
    .option(
      '--target-mb <mb>',
      'size of each Parquet file aimed at',
      positiveNumber('--target-mb'),
      COMPACT_DEFAULTS.targetMb,
    )
    .addOption(
      new Option('--lookback <duration>', lookback)
        .argParser(duration('--lookback', HOUR_MS, 'an hour is the smallest unit compacted'))
        .default(lookbackMs, formatDuration(lookbackMs)),
    )
    .option('--table <name>', 'the raw topic table (default: TICKSYNC_TOPIC)');
}
