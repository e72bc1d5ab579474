import { isDeepStrictEqual } from 'node:util';
import type { Crawler, CreateCrawlerCommandInput } from '@aws-sdk/client-glue';
import type { Config } from './config';
import { UsageError } from './errors';
import { parseS3Uri } from './s3-uri';

/**
 * What `npm run provision` creates in the lake, as data: deploy/build-template.ts declares the same crawler
 * and folders in the CloudFormation template, so both are built from here.
 */

/** The crawler TickSync needs: the raw topic's folder, JSON Lines in dt=/hour= partitions, one table. */
export function crawlerDefinition(config: Config): CreateCrawlerCommandInput {
  const role = config.glue.crawlerRole;
  if (role === undefined) {
    throw new UsageError(
      'TICKSYNC_GLUE_CRAWLER_ROLE is not set: on AWS, set it to the IAM role the crawler assumes, such as arn:aws:iam::123456789012:role/ticksync-crawler',
    );
  }
  return {
    Name: config.glue.crawler,
    Role: role,
    DatabaseName: config.glue.database,
    Description: `TickSync: ${config.kafka.topic} records in s3://${config.s3.bucket}/${config.s3.rawPrefix} (gzip JSON Lines, dt/hour partitions)`,
    Targets: { S3Targets: [{ Path: `s3://${config.s3.bucket}/${config.s3.rawPrefix}${config.kafka.topic}/` }] },
    // New fields become new columns; a folder that disappears marks its table deprecated rather than deleting it.
    SchemaChangePolicy: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DEPRECATE_IN_DATABASE' },
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVERYTHING' },
    Configuration: JSON.stringify({
      Version: 1.0,
      // Hours whose records differ in a field still make one table, not one table per schema.
      Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
      // New partitions take the table's schema, so Athena reads every hour with the same columns.
      CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
    }),
  };
}

/** Glue answers with the role as it was given, ARN or name; both name the same role. */
const roleName = (role: string | undefined) => role?.replace(/^arn:aws[a-z-]*:iam::\d{12}:role\//, '');

const parseJson = (text: string | undefined): unknown => {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
};

/** The settings of an existing crawler that differ from the wanted definition. */
export function crawlerDifferences(actual: Crawler, wanted: CreateCrawlerCommandInput): string[] {
  const targets = (crawler: Pick<Crawler, 'Targets'>) => ({
    s3: (crawler.Targets?.S3Targets ?? []).map((target) => ({
      path: target.Path,
      exclusions: target.Exclusions ?? [],
    })),
    others: Object.entries(crawler.Targets ?? {}).filter(
      ([kind, list]) => kind !== 'S3Targets' && Array.isArray(list) && list.length > 0,
    ).length,
  });
  const checks: [string, unknown, unknown][] = [
    ['Role', roleName(actual.Role), roleName(wanted.Role)],
    ['DatabaseName', actual.DatabaseName, wanted.DatabaseName],
    ['Description', actual.Description ?? '', wanted.Description ?? ''],
    ['Targets', targets(actual), targets(wanted)],
    ['SchemaChangePolicy', actual.SchemaChangePolicy, wanted.SchemaChangePolicy],
    ['RecrawlPolicy', actual.RecrawlPolicy?.RecrawlBehavior, wanted.RecrawlPolicy?.RecrawlBehavior],
    ['Configuration', parseJson(actual.Configuration), parseJson(wanted.Configuration)],
  ];
  return checks.filter(([, a, b]) => !isDeepStrictEqual(a, b)).map(([name]) => name);
}

/** The folders TickSync writes to or reads from in the lake bucket. */
export function folderPrefixes(config: Config): string[] {
  const { rawPrefix, dlqPrefix, inputPrefix, manifestPrefix, curatedPrefix } = config.s3;
  const prefixes = [rawPrefix, dlqPrefix, inputPrefix, manifestPrefix, curatedPrefix];
  const athena = parseS3Uri(config.athena.outputLocation);
  // Athena's results may live in a bucket of their own: only folders of the lake bucket are made here.
  if (athena?.bucket === config.s3.bucket && athena.key) prefixes.push(athena.key);
  return [...new Set(prefixes)];
}
