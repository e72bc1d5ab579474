import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { UsageError } from '../lib/errors';
import {
  pauseReplaySignal,
  type ReplayProgress,
  replayProgressQuery,
  resumeReplaySignal,
  setReplayRateSignal,
} from '../lib/contracts';
import type { replayWorkflow } from '../workflows';
import { connectTemporal, runCli, textTable } from './cli';
import { replayWorkflowId } from '../lib/workflow-inputs';

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

/** The progress query as a two-column table a person reads at a glance. */
export function describeReplayProgress(progress: ReplayProgress, now = Date.now()): string {
  const ago = (iso: string) => `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago`;
  const status = progress.pausedAt
    ? `${progress.status} since ${progress.pausedAt} (${ago(progress.pausedAt)})`
    : progress.status;
  const target = progress.targetRowsPerSecond === undefined ? '' : ` (asked: ${progress.targetRowsPerSecond})`;
  const done =
    progress.fraction === undefined
      ? 'unknown (sample mode, a loop, or no limit)'
      : `${(progress.fraction * 100).toFixed(1)}%${progress.etaSeconds === undefined ? '' : `, about ${progress.etaSeconds} s to go`}`;
  return textTable(undefined, [
    ['run', progress.runId],
    ['status', status],
    ['rows read', String(progress.rowsRead)],
    ['sent', String(progress.sent)],
    ['rejected', String(progress.rejected)],
    ['rows/s', `${progress.rowsPerSecond}${target}`],
    ['done', done],
    ['retries', String(progress.retries)],
    ...(progress.lastError ? [['last error', progress.lastError]] : []),
  ]);
}

program
  .command('status <run-id>')
  .description("print the run's progress (as a table; --json for the progress query as JSON)")
  .option('--json', 'print the progress query as JSON')
  .action((runId: string, options: { json?: boolean }) =>
    control(runId, async (handle) => {
      const progress = await handle.query(replayProgressQuery);
      return options.json ? JSON.stringify(progress, null, 2) : describeReplayProgress(progress);
    }),
  );
program
  .command('pause <run-id>')
  .description('stop sending within about a second (at the next Kafka transaction)')
  .action((runId: string) =>
    control(runId, async (handle) => (await handle.signal(pauseReplaySignal), `paused ${runId}`)),
  );
program
  .command('resume <run-id>')
  .description('send again')
  .action((runId: string) =>
    control(runId, async (handle) => (await handle.signal(resumeReplaySignal), `resumed ${runId}`)),
  );
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
      async (handle) => (await handle.signal(setReplayRateSignal, rowsPerSecond), `${runId}: ${rowsPerSecond} rows/s`),
    );
  });
program
  .command('cancel <run-id>')
  .description('stop the run at its last committed batch')
  .action((runId: string) => control(runId, async (handle) => (await handle.cancel(), `cancelled ${runId}`)));

if (require.main === module) runCli(program);
