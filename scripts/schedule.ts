import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleSummary,
} from '@temporalio/client';
import { Command } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { workflowUrl } from '../lib/temporal';
import type { CrawlInput } from '../lib/contracts';
import { compactWorkflow, crawlWorkflow } from '../workflows';
import {
  compactInput,
  type CompactOptions,
  compactWorkflowId,
  crawlInput,
  crawlWorkflowId,
} from '../lib/workflow-inputs';
import { compactionOptions, connectTemporal, crawlerName, duration, formatDuration, runCli } from './cli';

/** One schedule per crawler, with a fixed id: running the create command again updates it. */
export const crawlScheduleId = (crawler: string) => `ticksync-crawl-${crawler}`;

/** One compaction schedule per topic table. */
export const compactScheduleId = (table: string) => `ticksync-compact-${table}`;

interface CrawlScheduleOptions {
  crawler?: string;
  every: number;
  catchupWindow?: number;
  paused?: boolean;
}

interface TargetOptions {
  crawler?: string;
}

const crawlerOf = (options: TargetOptions, config: Config) => options.crawler ?? config.glue.crawler;

async function withClient<T>(run: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectTemporal(config);
  try {
    return await run(client, config);
  } finally {
    await client.connection.close();
  }
}

/** Runs an operation on the crawler's schedule; a missing schedule is reported with the command that creates it. */
function withSchedule(
  options: TargetOptions,
  run: (handle: ScheduleHandle, config: Config, client: Client) => Promise<void>,
): Promise<void> {
  return withClient(async (client, config) => {
    const crawler = crawlerOf(options, config);
    const scheduleId = crawlScheduleId(crawler);
    try {
      await run(client.schedule.getHandle(scheduleId), config, client);
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) {
        const flag = options.crawler ? ` --crawler ${options.crawler}` : '';
        throw new Error(`no schedule ${scheduleId}; create it with: npm run schedule -- crawl --every 5m${flag}`, {
          cause: error,
        });
      }
      throw error;
    }
  });
}

/** The parts of a schedule this script sets, in a form two schedules can be compared by. */
function settings(description: Pick<ScheduleDescription, 'spec' | 'action' | 'policies'>) {
  const { action, policies, spec } = description;
  return JSON.stringify({
    every: spec.intervals?.map((interval) => interval.every),
    workflowType: action.workflowType,
    workflowId: action.workflowId,
    taskQueue: action.taskQueue,
    args: action.args,
    overlap: policies.overlap,
    catchupWindow: policies.catchupWindow,
  });
}

function describeSchedule(scheduleId: string, summary: ScheduleSummary | ScheduleDescription): string {
  const every = summary.spec?.intervals?.map((interval) => `every ${formatDuration(Number(interval.every))}`);
  const next = summary.info.nextActionTimes[0];
  const last = summary.info.recentActions.at(-1);
  return [
    scheduleId,
    summary.state.paused ? 'PAUSED' : 'active',
    every?.join(', ') ?? '',
    summary.state.paused || !next ? '' : `next ${next.toISOString()}`,
    last ? `last ${last.action.workflow.workflowId} at ${last.takenAt.toISOString()}` : 'never ran',
  ]
    .filter(Boolean)
    .join('  ');
}

const program = new Command('npm run schedule --').description(
  'Temporal Schedules for TickSync: a crawl of the Glue crawler every so often (crawlWorkflow on the catalog workers). ' +
    'One schedule per crawler, id ticksync-crawl-<crawler>.',
);

const crawlerOption = (command: Command) =>
  command.option('--crawler <name>', 'Glue crawler (default: TICKSYNC_GLUE_CRAWLER)', crawlerName('--crawler'));

crawlerOption(
  program
    .command('crawl')
    .description(
      'create the crawl schedule, or update it (same id; paused or not stays as it was). ' +
        'Overlap policy SKIP: a crawler runs one crawl at a time, so a crawl due while one runs is skipped.',
    ),
)
  .requiredOption(
    '--every <duration>',
    'how often to crawl, such as 5m, 1h or 1h30m',
    duration('--every', 60_000, 'a crawl takes about a minute on AWS, and a crawler runs one crawl at a time'),
  )
  .option(
    '--catchup-window <duration>',
    'how late a crawl missed while Temporal was down may still start (default: the interval)',
    duration('--catchup-window', 10_000, "Temporal's shortest catch-up window is 10s"),
  )
  .option('--paused', 'create the schedule paused (an existing schedule keeps its state)')
  .action((options: CrawlScheduleOptions) =>
    withClient(async (client, config) => {
      const crawler = crawlerOf(options, config);
      const scheduleId = crawlScheduleId(crawler);
      const input: CrawlInput = crawlInput(crawler, {});
      const spec = { intervals: [{ every: options.every }] };
      const action = {
        type: 'startWorkflow' as const,
        workflowType: crawlWorkflow,
        // The server adds each run's scheduled time to this id: crawl-<crawler>-2025-01-01T00:05:00Z.
        workflowId: crawlWorkflowId(crawler),
        taskQueue: config.temporal.catalogTaskQueue,
        args: [input] as [CrawlInput],
      };
      const policies = {
        overlap: ScheduleOverlapPolicy.SKIP,
        // A crawl catalogs everything in its path, whenever it runs, so missed crawls need not all be made up.
        // One interval of catch-up means: after Temporal was down, at most one missed crawl starts (the last
        // one, if it is less than an interval late), at once rather than at the next tick; older ones are dropped.
        catchupWindow: options.catchupWindow ?? options.every,
        // A failed crawl (an S3 outage, a bad file) must not stop the next one; failures show in the Web UI.
        pauseOnFailure: false,
      };
      const summary =
        `crawlWorkflow for ${crawler} every ${formatDuration(options.every)} on ${config.temporal.catalogTaskQueue}, ` +
        `overlap SKIP, catch-up window ${formatDuration(policies.catchupWindow)}`;
      await createOrUpdate(client, {
        scheduleId,
        spec,
        action,
        policies,
        paused: options.paused,
        summary,
        command: 'crawl',
      });
    }),
  );

interface ScheduleSettings {
  scheduleId: string;
  spec: { intervals: { every: number }[] };
  action: {
    type: 'startWorkflow';
    workflowType: (input: never) => Promise<unknown>;
    workflowId: string;
    taskQueue: string;
    args: unknown[];
  };
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: number; pauseOnFailure: boolean };
  paused?: boolean;
  summary: string;
  command: string;
}

/** Creates the schedule, or updates it when its settings differ (paused or not stays as it was). */
async function createOrUpdate(client: Client, wanted: ScheduleSettings): Promise<void> {
  const { scheduleId, spec, policies, paused, summary } = wanted;
  const action = wanted.action as Parameters<Client['schedule']['create']>[0]['action'];
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies,
      state: { paused: paused ?? false, note: `created by npm run schedule -- ${wanted.command}` },
    });
    console.log(`schedule ${scheduleId} created: ${summary}${paused ? ' (paused)' : ''}`);
    return;
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const previous = await handle.describe();
  const comparable = { spec, action: { ...wanted.action, workflowType: wanted.action.workflowType.name }, policies };
  if (settings(previous) === settings(comparable as unknown as ScheduleDescription)) {
    console.log(`schedule ${scheduleId} unchanged: ${summary}`);
    return;
  }
  await handle.update((current) => ({ ...current, spec, action, policies }));
  console.log(`schedule ${scheduleId} updated: ${summary}${previous.state.paused ? ' (still paused)' : ''}`);
}

compactionOptions(
  program
    .command('compact')
    .description(
      'create the compaction schedule of the topic table, or update it: compactWorkflow on the compact workers. ' +
        'Overlap policy SKIP (a run compacts every closed hour; one at a time), catch-up window of one interval.',
    )
    .requiredOption(
      '--every <duration>',
      'how often to compact, such as 1h',
      duration('--every', 60_000, 'hours close once an hour; more often only finds nothing to do'),
    ),
  'how far back each run looks for new or changed hours',
)
  .option('--paused', 'create the schedule paused (an existing schedule keeps its state)')
  .action((options: CompactOptions & { every: number; paused?: boolean }) =>
    withClient(async (client, config) => {
      const input = compactInput(
        { ...options, hour: undefined },
        { table: config.kafka.topic, database: config.glue.database },
      );
      const scheduleId = compactScheduleId(input.table);
      const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: options.every, pauseOnFailure: false };
      await createOrUpdate(client, {
        scheduleId,
        spec: { intervals: [{ every: options.every }] },
        action: {
          type: 'startWorkflow',
          workflowType: compactWorkflow,
          workflowId: compactWorkflowId(input.table),
          taskQueue: config.temporal.compactTaskQueue,
          args: [input],
        },
        policies,
        paused: options.paused,
        summary:
          `compactWorkflow for ${input.database}.${input.table} every ${formatDuration(options.every)} on ` +
          `${config.temporal.compactTaskQueue} (grace ${formatDuration(options.grace)}, target ${input.targetMb} MB), overlap SKIP`,
        command: 'compact',
      });
    }),
  );

program
  .command('list')
  .description('list the TickSync schedules: state, interval, next and last run')
  .option('--json', 'print one JSON array')
  .action((options: { json?: boolean }) =>
    withClient(async (client) => {
      const schedules: ScheduleSummary[] = [];
      for await (const schedule of client.schedule.list()) {
        if (schedule.scheduleId.startsWith('ticksync-')) schedules.push(schedule);
      }
      schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
      if (options.json) {
        console.log(
          JSON.stringify(
            schedules.map((schedule) => ({
              scheduleId: schedule.scheduleId,
              paused: schedule.state.paused,
              every: schedule.spec?.intervals?.map((interval) => formatDuration(Number(interval.every))),
              nextActionTimes: schedule.info.nextActionTimes,
              recentActions: schedule.info.recentActions.map((result) => result.action.workflow.workflowId),
            })),
          ),
        );
      } else if (schedules.length === 0) {
        console.log('no TickSync schedules; create one with: npm run schedule -- crawl --every 5m');
      } else {
        for (const schedule of schedules) console.log(describeSchedule(schedule.scheduleId, schedule));
      }
    }),
  );

crawlerOption(program.command('describe').description('print the crawl schedule as JSON')).action(
  (options: TargetOptions) =>
    withSchedule(options, async (handle) => {
      const description = await handle.describe();
      console.log(JSON.stringify({ ...description, raw: undefined }, null, 2));
    }),
);

crawlerOption(program.command('pause').description('stop starting crawls until unpaused (a running crawl goes on)'))
  .option('--note <text>', 'why, shown in the Web UI', 'paused with npm run schedule -- pause')
  .action((options: TargetOptions & { note: string }) =>
    withSchedule(options, async (handle) => {
      await handle.pause(options.note);
      console.log(`schedule ${handle.scheduleId} paused`);
    }),
  );

crawlerOption(program.command('unpause').description('start crawls on schedule again'))
  .option('--note <text>', 'why, shown in the Web UI', 'unpaused with npm run schedule -- unpause')
  .action((options: TargetOptions & { note: string }) =>
    withSchedule(options, async (handle) => {
      await handle.unpause(options.note);
      console.log(`schedule ${handle.scheduleId} unpaused`);
    }),
  );

crawlerOption(
  program.command('trigger').description('start a crawl now (skipped, as scheduled ones are, if a crawl is running)'),
).action((options: TargetOptions) =>
  withSchedule(options, async (handle, config) => {
    const before = (await handle.describe()).info.recentActions.length;
    const triggeredAt = Date.now();
    await handle.trigger();
    // The schedule starts the run a moment later; show it when it appears.
    for (let attempt = 0; attempt < 20; attempt++) {
      const { recentActions } = (await handle.describe()).info;
      const run = recentActions.at(-1);
      if (recentActions.length > before || (run && run.takenAt.getTime() >= triggeredAt - 1000)) {
        const { workflowId, firstExecutionRunId } = run!.action.workflow;
        console.log(`schedule ${handle.scheduleId} triggered: ${workflowId}`);
        console.log(`Workflow: ${workflowUrl(config, workflowId, firstExecutionRunId)}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    console.log(`schedule ${handle.scheduleId} triggered (skipped if a crawl was running: overlap SKIP)`);
  }),
);

crawlerOption(program.command('delete').description('delete the crawl schedule (a running crawl goes on)')).action(
  (options: TargetOptions) =>
    withSchedule(options, async (handle) => {
      await handle.delete();
      console.log(`schedule ${handle.scheduleId} deleted`);
    }),
);

if (require.main === module) runCli(program);
