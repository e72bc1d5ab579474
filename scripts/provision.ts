import fs from 'node:fs';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type { Column } from '@aws-sdk/client-glue';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { createS3Client } from '../lib/clients';
import { loadConfig, type Config } from '../lib/config';
import { UsageError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { provision } from '../lib/provision';
import { parseS3Uri } from '../lib/s3-uri';
import { inferJson } from '../local-aws/glue/crawler/json';
import { toColumns } from '../local-aws/glue/crawler/schema';
import { requireServices, runCli } from './cli';
/** The most bytes of a --schema-from sample read: a schema needs a few records, not a whole object. */
const SAMPLE_BYTES = 16 * 1024 * 1024;

/**
 * The columns of a JSON Lines sample (a local file or an s3:// object, gzip or not), inferred as the crawler
 * infers them; the partition keys dt and hour are the table's, not columns.
 */
export async function columnsFromSample(config: Config, sample: string): Promise<Column[]> {
  let body: Buffer;
  const s3Url = parseS3Uri(sample);
  if (s3Url?.key) {
    const s3 = createS3Client(config, 'admin');
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: s3Url.bucket, Key: s3Url.key, Range: `bytes=0-${SAMPLE_BYTES - 1}` }),
      );
      body = Buffer.from(await object.Body!.transformToByteArray());
    } catch (error) {
      throw new UsageError(
        `--schema-from ${sample}: cannot read it (${(error as Error).name}: ${(error as Error).message})`,
      );
    } finally {
      s3.destroy();
    }
  } else {
    if (!fs.existsSync(sample) || !fs.statSync(sample).isFile()) {
      throw new UsageError(`--schema-from ${sample}: no such file (expected a JSON Lines file or an s3:// object)`);
    }
    const handle = fs.openSync(sample, 'r');
    try {
      body = Buffer.alloc(Math.min(SAMPLE_BYTES, fs.fstatSync(handle).size));
      fs.readSync(handle, body, 0, body.length, 0);
    } finally {
      fs.closeSync(handle);
    }
  }
  let text: string;
  // A sample cut off at SAMPLE_BYTES may end inside a record; sync flush still inflates a cut-off gzip stream.
  const complete = body.length < SAMPLE_BYTES;
  try {
    const gzip = body[0] === 0x1f && body[1] === 0x8b;
    text = (gzip ? gunzipSync(body, { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : body).toString('utf8');
  } catch (error) {
    throw new UsageError(`--schema-from ${sample}: not readable gzip (${(error as Error).message})`);
  }
  const outcome = inferJson(text, complete);
  if (outcome.kind !== 'json' || outcome.records === 0) {
    const why = outcome.kind === 'not-json' ? outcome.reason : 'no complete record in the sample';
    throw new UsageError(`--schema-from ${sample}: not JSON Lines records (${why})`);
  }
  const columns = toColumns(outcome.fields).filter((column) => !['dt', 'hour'].includes(column.Name!.toLowerCase()));
  if (columns.length === 0) throw new UsageError(`--schema-from ${sample}: its records have no fields`);
  return columns;
}
if (require.main === module) {
  const program = new Command('npm run provision --')
    .description(
      'Create, idempotently, what TickSync needs in S3, Glue and Athena: the lake bucket and its folders (raw/, dlq/, ' +
        'input/, manifests/, curated/, athena-results/), the Glue database, the crawler of raw/<topic>/, the Athena work group, and ' +
        'partition projection on the ticks table once the crawler has made it (dt a date up to NOW, hour 00-23: a new hour is ' +
        'queryable without a crawl), and once the ticks table exists the curated table <topic>_curated and the view <topic>_lake ' +
        'the named queries read (compacted hours from curated/, the rest raw). Against the local stack by default; against AWS with TICKSYNC_TARGET=aws (admin ' +
        'credentials, TICKSYNC_GLUE_CRAWLER_ROLE set).',
    )
    .option('--projection', 'also create the ticks table with partition projection if the crawler has not made it yet')
    .option('--no-projection', 'leave the ticks table alone: its partitions come from crawls only')
    .option(
      '--projection-start <date>',
      "the first day (YYYY-MM-DD) the projection covers (default: the table's, or 2024-01-01)",
    )
    .option(
      '--schema-from <sample>',
      'with --projection: take the columns of a table provision creates from a JSON Lines sample (a file or an s3:// object, gzip or not) instead of the known ticks schema',
    )
    .option('--json', 'print the steps as one JSON array')
    .action(
      async (options: { json?: boolean; projection?: boolean; projectionStart?: string; schemaFrom?: string }) => {
        const config = loadConfig();
        const start = options.projectionStart;
        if (
          start !== undefined &&
          (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(`${start}T00:00:00Z`)))
        ) {
          throw new UsageError(`--projection-start ${start}: expected a date as YYYY-MM-DD, such as 2024-01-01`);
        }
        if (options.schemaFrom !== undefined && options.projection !== true) {
          throw new UsageError(
            '--schema-from gives the columns of a table provision creates: use it with --projection',
          );
        }
        await requireServices(config, ['s3', 'aws']);
        const columns =
          options.schemaFrom === undefined ? undefined : await columnsFromSample(config, options.schemaFrom);
        const steps = await provision(config, createLogger('provision', config.logLevel), {
          projection: options.projection,
          projectionStart: start,
          columns,
        });
        if (options.json) {
          console.log(JSON.stringify(steps));
          return;
        }
        for (const step of steps) {
          const changed = step.changed ? ` (${step.changed.join(', ')})` : '';
          console.log(`${step.action.padEnd(10)} ${step.resource.padEnd(9)} ${step.name}${changed}`);
        }
        const target =
          config.target === 'local' ? `the local stack (Glue at ${config.aws.endpoint})` : `AWS ${config.aws.region}`;
        console.log(`provisioned on ${target}`);
      },
    );
  runCli(program);
}
