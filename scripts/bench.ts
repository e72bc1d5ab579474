import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { REPLAY_DEFAULTS } from '../lib/contracts';
import { createLogger } from '../lib/logger';
import { openStack, selectServices, withStackUp } from '../stack';
import { benchConsume } from '../bench/consume';
import { benchDashboard } from '../bench/dashboard';
import { benchQuery } from '../bench/query';
import { benchReplay } from '../bench/replay';
import { positiveInteger, positiveNumber, runCli } from './cli';

type ClientChoice = Config['kafka']['client'] | 'all';
const CLIENTS: Config['kafka']['client'][] = ['kafkajs', 'confluent'];
const clientOption = (value: string): ClientChoice => {
  if (value !== 'all' && !CLIENTS.includes(value as never))
    throw new InvalidArgumentError(`--client: expected kafkajs, confluent or all, got "${value}"`);
  return value as ClientChoice;
};
/** The configuration once per client asked for (all: each in turn), each with its client. */
const perClient = (config: Config, choice: ClientChoice | undefined) =>
  (choice === 'all' ? CLIENTS : [choice ?? config.kafka.client]).map((client) => ({
    ...config,
    kafka: { ...config.kafka, client },
  }));
const CLIENT_HELP = 'Kafka client: kafkajs, confluent or all (one JSON line each; default TICKSYNC_KAFKA_CLIENT)';

const program = new Command('npm run bench --').description(
  'Benchmarks: TickSync against its reference on the same local stack; the last line is JSON',
);

program
  .command('replay')
  .description("replayWorkflow as fast as possible against Kafka's ProducerPerformance")
  .option('--rows <count>', 'rows in the generated tick file', positiveInteger('--rows'), 1_000_000)
  .option(
    '--batch-rows <count>',
    'rows per Kafka transaction (the replay default)',
    positiveInteger('--batch-rows'),
    REPLAY_DEFAULTS.batchRows,
  )
  .option('--client <name>', CLIENT_HELP, clientOption)
  .action(async (options: { rows: number; batchRows: number; client?: ClientChoice }) => {
    const config = loadConfig();
    const logger = createLogger('bench', config.logLevel);
    const stack = openStack(config, logger);
    await withStackUp(stack, selectServices([], false), async () => {
      for (const clientConfig of perClient(config, options.client))
        console.log(JSON.stringify(await benchReplay(clientConfig, logger, options)));
    });
  });

program
  .command('consume')
  .description("consumerWorkflow into S3 against Kafka's ConsumerPerformance and one S3 PUT per message")
  .option('--rows <count>', 'records in the topic', positiveInteger('--rows'), 1_000_000)
  .option(
    '--per-message-sample <count>',
    'records for the one-PUT-per-message run',
    positiveInteger('--per-message-sample'),
    5000,
  )
  .option(
    '--members <count>',
    'consumer-group members, each on its own ingest worker process',
    positiveInteger('--members'),
    1,
  )
  .option('--client <name>', CLIENT_HELP, clientOption)
  .action(async (options: { rows: number; perMessageSample: number; members: number; client?: ClientChoice }) => {
    const config = loadConfig();
    const logger = createLogger('bench', config.logLevel);
    const stack = openStack(config, logger);
    await withStackUp(stack, selectServices([], false), async () => {
      for (const clientConfig of perClient(config, options.client))
        console.log(JSON.stringify(await benchConsume(clientConfig, logger, options)));
    });
  });

program
  .command('query')
  .description('the named queries through the local Athena API against the same SQL directly in DuckDB; freshness')
  .option('--rows <count>', 'ticks in the lake', positiveInteger('--rows'), 10_000_000)
  .option(
    '--repeat <count>',
    'warm runs of each query on each side (the median is reported)',
    positiveInteger('--repeat'),
    5,
  )
  .option(
    '--poll-ms <ms>',
    'how often the API side asks GetQueryExecution whether its query has finished',
    positiveInteger('--poll-ms'),
    20,
  )
  .option(
    '--span-hours <hours>',
    "the hours over which the lake's ticks arrived (default: one trading session, 09:30 to 16:00)",
    positiveNumber('--span-hours'),
    6.5,
  )
  .action(async (options: { rows: number; repeat: number; pollMs: number; spanHours: number }) => {
    const config = loadConfig();
    const logger = createLogger('bench', config.logLevel);
    const stack = openStack(config, logger);
    const result = await withStackUp(stack, selectServices([], false), () => benchQuery(config, logger, options));
    console.log(JSON.stringify(result));
  });

program
  .command('dashboard')
  .description(
    "the dashboard while a replay runs at full speed: produce-to-stream latency of the ticks, and the replay's rate without and with it",
  )
  .option('--rows <count>', 'rows in the generated tick file', positiveInteger('--rows'), 200_000)
  .option(
    '--pairs <count>',
    'replays without and with the dashboard, alternated (the rates compared are the medians)',
    positiveInteger('--pairs'),
    5,
  )
  .action(async (options: { rows: number; pairs: number }) => {
    const config = loadConfig();
    const logger = createLogger('bench', config.logLevel);
    const stack = openStack(config, logger);
    const result = await withStackUp(stack, selectServices([], false), () => benchDashboard(config, logger, options));
    console.log(JSON.stringify(result));
  });

runCli(program);
