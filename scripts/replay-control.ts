import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { UsageError } from '../lib/errors';
import type { replayWorkflow } from '../workflows';
import { pauseSignal, progressQuery, resumeSignal, setRateSignal } from '../workflows/replay';
import { connectTemporal, runCli } from './cli';
import { replayWorkflowId } from './replay';

type Action = (
  handle: ReturnType<Awaited<ReturnType<typeof connectTemporal>>['workflow']['getHandle']>,
) => Promise<string>;

async function control(runId: string, action: Action): Promise<void> {
  const client = await connectTemporal(loadConfig());
  try {
    console.log(await action(client.workflow.getHandle<typeof replayWorkflow>(replayWorkflowId(runId))));
  } finally {
    await client.connection.close();
  }
}

const program = new Command('npm run replay-control --').description(
  'Steer a running replay by its run id: status, pause, resume, rate, cancel',
);

program
  .command('status <run-id>')
  .description('print the progress query as JSON')
  .action((runId: string) => control(runId, async (handle) => JSON.stringify(await handle.query(progressQuery))));
program
  .command('pause <run-id>')
  .description('stop sending after the current chunk')
  .action((runId: string) => control(runId, async (handle) => (await handle.signal(pauseSignal), `paused ${runId}`)));
program
  .command('resume <run-id>')
  .description('send again')
  .action((runId: string) => control(runId, async (handle) => (await handle.signal(resumeSignal), `resumed ${runId}`)));
program
  .command('rate <run-id> <rows-per-second>')
  .description('send at this rate from the next chunk on')
  .action((runId: string, rate: string) => {
    const rowsPerSecond = Number(rate);
    if (!Number.isFinite(rowsPerSecond) || rowsPerSecond <= 0) {
      throw new UsageError(`rows-per-second must be a number above 0, got '${rate}'`);
    }
    return control(
      runId,
      async (handle) => (await handle.signal(setRateSignal, rowsPerSecond), `${runId}: ${rowsPerSecond} rows/s`),
    );
  });
program
  .command('cancel <run-id>')
  .description('stop the run at its last committed batch')
  .action((runId: string) => control(runId, async (handle) => (await handle.cancel(), `cancelled ${runId}`)));

runCli(program);
