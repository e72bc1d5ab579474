import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { dashboardUrl, loadConfig } from '../lib/config';
import { UsageError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { down, logFile, openStack, selectServices, status, up, type Stack } from '../stack';
import { tailLines } from '../stack/process';
import { runCli, textTable } from './cli';

const program = new Command('npm run stack --').description(
  'Run the local stack (Kafka, the Temporal dev server with its Web UI, the S3 server, the local Glue + Athena service, optionally the workers) natively, with data in .stack/.',
);

function openFromEnv(): Stack {
  const config = loadConfig();
  return openStack(config, createLogger('stack', config.logLevel));
}

program
  .command('up')
  .description('install what is missing, start what is not running, wait until every service answers')
  .argument(
    '[services...]',
    'kafka, temporal, s3, aws, ingest-worker, catalog-worker, query-worker (default: kafka, temporal, s3, aws)',
  )
  .option('--workers', 'also start the ingest, catalog and query workers and the live dashboard')
  .action(async (names: string[], options: { workers?: boolean }) => {
    const stack = openFromEnv();
    const services = selectServices(names, options.workers ?? false);
    const started = await up(stack, services);
    console.log(started.length > 0 ? `started: ${started.join(', ')}` : 'already up: nothing to start');
    console.log(`Temporal Web UI: ${stack.config.temporal.uiUrl}`);
    if (services.some((service) => service.name === 'dashboard'))
      console.log(`Live dashboard: ${dashboardUrl(stack.config)}`);
  });

program
  .command('down')
  .description('stop the services that `up` started (all of them, or those named)')
  .argument('[services...]', 'services to stop (default: all, workers included)')
  .action(async (names: string[]) => {
    const stack = openFromEnv();
    const stopped = await down(stack, selectServices(names, true));
    console.log(stopped.length > 0 ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
  });

program
  .command('status')
  .description('ask each service; exit 0 only if every one asked is up')
  .argument('[services...]', 'services to ask (default: kafka, temporal, s3, aws, and the workers if running)')
  .option('--json', 'print one JSON array instead of a table')
  .action(async (names: string[], options: { json?: boolean }) => {
    const stack = openFromEnv();
    const services = selectServices(names, true);
    const statuses = await status(stack, services);
    // Workers are optional: unless named, a stopped worker does not make the stack "down".
    const counted = statuses.filter(
      (entry) => names.length > 0 || entry.managed || services.find((s) => s.name === entry.service)?.kind === 'infra',
    );
    if (options.json) {
      console.log(JSON.stringify(statuses));
    } else {
      const rows = statuses.map((entry) => [
        entry.service,
        entry.state === 'up' ? (entry.managed ? 'up' : 'up (not ours)') : 'DOWN',
        entry.address,
        entry.pid ? String(entry.pid) : '',
      ]);
      console.log(textTable(['service', 'state', 'address', 'pid'], rows));
      for (const entry of statuses) {
        if (entry.problem && entry.state === 'down')
          console.log(`${entry.service}: ${entry.problem}\n  log: ${entry.log}`);
      }
    }
    process.exitCode = counted.every((entry) => entry.state === 'up') ? 0 : 1;
  });

program
  .command('logs')
  .description("print the end of each service's log")
  .argument('[services...]', 'services whose logs to print (default: all)')
  .option('-n, --lines <count>', 'lines per service', '40')
  .option('-f, --follow', 'keep printing new lines (tail -F)')
  .action(async (names: string[], options: { lines: string; follow?: boolean }) => {
    const stack = openFromEnv();
    const lines = Number(options.lines);
    if (!Number.isInteger(lines) || lines < 1)
      throw new UsageError(`--lines expects a positive integer, got '${options.lines}'`);
    const files = selectServices(names, true).map((service) => ({ service, file: logFile(stack, service) }));
    if (options.follow) {
      const tail = spawn('tail', ['-n', String(lines), '-F', ...files.map((entry) => entry.file)], {
        stdio: 'inherit',
      });
      await new Promise((resolve) => tail.once('exit', resolve));
      return;
    }
    for (const { service, file } of files) {
      console.log(`==> ${service.name}: ${file}`);
      for (const line of tailLines(file, lines)) console.log(line);
    }
  });

runCli(program);
