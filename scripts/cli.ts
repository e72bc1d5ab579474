import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../lib/config';
import { UsageError } from '../lib/errors';

/** Exit codes every script shares; the README lists them. */
export const ExitCode = {
  Ok: 0,
  /** The operation ran and failed (a service down, a workflow failed). */
  Failed: 1,
  /** Bad usage: an unknown flag, a bad value, an invalid TICKSYNC_* setting. */
  Usage: 2,
} as const;

/** Parses argv, runs the chosen action and turns its error into a message and an exit code. */
export function runCli(program: Command): void {
  // --help and --version exit 0; commander's own parse errors are usage errors. Subcommands
  // copied the parent's settings when they were made, so each gets the override too.
  const override = (command: Command): void => {
    command.exitOverride((error) => process.exit(error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage));
    command.commands.forEach(override);
  };
  override(program);
  program.parseAsync(process.argv).catch((error: unknown) => {
    const usage = error instanceof ConfigError || error instanceof UsageError;
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(usage ? ExitCode.Usage : ExitCode.Failed);
  });
}

/** cli-table3 options for a table without colours, so output stays plain in logs and pipes. */
export const PLAIN_TABLE = { style: { head: [], border: [] } };

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
