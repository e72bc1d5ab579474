import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import {
  COMPACT_DEFAULTS,
  CONSUMER_DEFAULTS,
  CRAWL_DEFAULTS,
  MIB,
  PIPELINE_DEFAULTS,
  QUERY_DEFAULTS,
  REPLAY_DEFAULTS,
} from '../../lib/contracts';
import { consumerInput, crawlInput, pipelineInput, replayInput } from '../../lib/workflow-inputs';
import { runScript } from '../helpers/scripts';

/** Each stage's defaults live in its contract: the inputs built without options, and the scripts' --help, show them. */

const SAMPLE = path.join(PROJECT_ROOT, 'data/indexProcessed-sample.csv');
const config = loadConfig({});

test('inputs built without options take the contract defaults', () => {
  expect(replayInput(SAMPLE, {}, config)).toMatchObject(REPLAY_DEFAULTS);
  expect(replayInput(SAMPLE, { mode: 'sample' }, config).pacing).toEqual({ kind: 'rate', rowsPerSecond: 1 });
  expect(consumerInput({}, config)).toMatchObject(CONSUMER_DEFAULTS);
  // The buffer limit follows the flush size it is given.
  expect(consumerInput({ maxMb: 2 }, config).maxBufferedBytes).toBe(4 * 2 * MIB);
  expect(crawlInput('c', {})).toEqual({ crawler: 'c', ...CRAWL_DEFAULTS });

  const pipeline = pipelineInput(SAMPLE, { time: 'event' }, config);
  expect(pipeline.replay).toMatchObject({ ...REPLAY_DEFAULTS, ...PIPELINE_DEFAULTS.replay });
  expect(pipeline.consumer).toMatchObject({ ...CONSUMER_DEFAULTS, ...PIPELINE_DEFAULTS.consumer });
  expect(pipeline.crawl).toEqual({ crawler: config.glue.crawler, ...PIPELINE_DEFAULTS.crawl });
  expect(pipeline.query).toMatchObject(PIPELINE_DEFAULTS.namedQueries);
});

/** The first `(default: …)` (or `, default: …)` after choices) after the flag in the help text, whitespace folded (commander wraps long lines). */
function defaultShown(help: string, flag: string): string | undefined {
  const text = help.replace(/\s+/g, ' ');
  const at = text.indexOf(`${flag} `);
  if (at < 0) return undefined;
  return /[(,] ?default: ([^)]*)\)/.exec(text.slice(at))?.[1];
}

test.each([
  [
    'replay',
    {
      '--partitions': REPLAY_DEFAULTS.partitions,
      '--batch-rows': REPLAY_DEFAULTS.batchRows,
      '--chunk-seconds': REPLAY_DEFAULTS.chunkSeconds,
      '--mode': `"${REPLAY_DEFAULTS.mode}"`,
    },
  ],
  [
    'consume',
    {
      '--members': CONSUMER_DEFAULTS.members,
      '--max-records': CONSUMER_DEFAULTS.flush.maxRecords,
      '--max-mb': CONSUMER_DEFAULTS.flush.maxBytes / MIB,
      '--max-age-seconds': CONSUMER_DEFAULTS.flush.maxAgeMs / 1000,
      '--max-record-kb': CONSUMER_DEFAULTS.maxRecordBytes / 1024,
    },
  ],
  [
    'crawl',
    { '--poll-seconds': CRAWL_DEFAULTS.pollInitialSeconds, '--poll-max-seconds': CRAWL_DEFAULTS.pollMaxSeconds },
  ],
  ['query', { '--max-rows': QUERY_DEFAULTS.maxRows }],
  [
    'compact',
    {
      '--grace': `${COMPACT_DEFAULTS.graceMinutes}m`,
      '--lookback': `${COMPACT_DEFAULTS.lookbackHours / 24}d`,
      '--target-mb': COMPACT_DEFAULTS.targetMb,
    },
  ],
  ['demo', { '--minutes': PIPELINE_DEFAULTS.namedQueries.minutes }],
])('npm run %s -- --help shows the contract defaults', async (script, expected) => {
  const { code, stdout } = await runScript(script, ['--help']);
  expect(code).toBe(0);
  const shown = Object.fromEntries(Object.keys(expected).map((flag) => [flag, defaultShown(stdout, flag)]));
  expect(shown).toEqual(Object.fromEntries(Object.entries(expected).map(([flag, value]) => [flag, String(value)])));
});
