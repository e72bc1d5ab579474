import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { openStack, selectServices, status, up } from '../stack';
import { runCli } from './cli';
import { describeHealthcheck, runHealthcheck } from './healthcheck';

const program = new Command('npm run demo')
  .description(
    'The main job on the local stack: install what is missing, bring the stack and the workers up, run the health-check workflow, and leave everything running for the Web UI.',
  )
  .showHelpAfterError()
  .action(async () => {
    const config = loadConfig();
    const stack = openStack(config, createLogger('demo', config.logLevel));
    const services = selectServices([], true);
    await up(stack, services);
    const run = await runHealthcheck(config);

    console.log('\nTickSync demo: the health-check workflow passed.\n');
    console.log(describeHealthcheck(run));
    console.log('\nRunning services:');
    for (const entry of await status(stack, services)) {
      console.log(`  ${entry.service.padEnd(15)} ${entry.state.padEnd(5)} ${entry.address}`);
    }
    console.log(`\nTemporal Web UI: ${config.temporal.uiUrl}`);
    console.log('The stack and workers keep running. Stop them with: npm run stack -- down');
  });

runCli(program);
