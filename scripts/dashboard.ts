import os from 'node:os';
import { Command } from 'commander';
import { startDashboard } from '../dashboard/server';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { runCli } from './cli';

const DASHBOARD_NICENESS = 10;

if (require.main === module) {
  const program = new Command('npm run dashboard --')
    .description(
      'Serve the live market dashboard: ticks of TICKSYNC_TOPIC (its own consumer group, from the end of the topic), ' +
        "rankings, the tape and the pipeline's state, on TICKSYNC_DASHBOARD_PORT (bound to TICKSYNC_STACK_LISTEN_HOST, 127.0.0.1 by default)",
    )
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger('dashboard', config.logLevel);
      const host = config.stack.listenHost;
      // The dashboard only watches: on a host it shares with the workers and the broker it takes the CPU they
      // leave (nice 10), so it never slows the pipeline down (docs/BENCHMARKS.md, dashboard).
      os.setPriority(Math.max(os.getPriority(), DASHBOARD_NICENESS));
      const dashboard = await startDashboard({ config, logger, port: config.dashboard.port, host }).catch(
        (error: unknown) => {
          if ((error as { code?: string }).code === 'EADDRINUSE')
            throw new Error(
              `port ${config.dashboard.port} on ${host} is in use: stop what holds it or set TICKSYNC_DASHBOARD_PORT`,
            );
          throw error;
        },
      );
      console.log(`Dashboard: ${dashboard.url}`);
      logger.info({ url: dashboard.url, topic: config.kafka.topic }, 'dashboard serving');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await dashboard.close();
      logger.info('dashboard stopped');
      // Everything the dashboard owns is closed; a Kafka client still retrying a connection made during the
      // stop (a probe in flight) must not keep the process alive.
      process.exit(0);
    });
  runCli(program);
}
