import fs from 'node:fs';
import path from 'node:path';
import { Document, Scalar, visit } from 'yaml';
import {
  ANY_MSK_CLUSTER,
  policyText,
  loadPolicy,
  POLICY_PLACEHOLDERS,
  placeholdersIn,
  type PolicyDocument,
} from '../iam/policies';
import { loadConfig, PROJECT_ROOT, type Config, type Role } from '../lib/config';
import { DEFAULT_PROJECTION_START, NO_WATERMARK, ticksTableInput } from '../lib/ticks-table';
import { curatedTableInput, lakeViewInput } from '../lib/provision-lake';
import { crawlerDefinition } from '../lib/provisioning';
import { parseS3Uri } from '../lib/s3-uri';

/**
 * Writes deploy/ticksync.yaml, the CloudFormation template of TickSync on AWS, from
 * the definition below, the IAM policy files, and the crawler and ticks table
 * `npm run provision` wants.
 * Each managed policy's document is its file's text, unchanged, inside an `Fn::Sub`:
 * the policies AWS enforces are the ones the local stack enforces.
 *
 *   node --import tsx deploy/build-template.ts            # writes deploy/ticksync.yaml
 *   node --import tsx deploy/build-template.ts --stdout   # prints it
 */

export const TEMPLATE_FILE = path.join(PROJECT_ROOT, 'deploy/ticksync.yaml');

/** The managed policy made from each role's file. */
export const POLICY_RESOURCES: Record<Role, string> = {
  producer: 'ProducerPolicy',
  ingest: 'IngestPolicy',
  crawler: 'CrawlerPolicy',
  analyst: 'AnalystPolicy',
  compactor: 'CompactorPolicy',
  admin: 'AdminPolicy',
};

/** The statements of crawler.json that the catalog worker needs (the rest is the Glue service's). */
export const CATALOG_WORKER_SID_PREFIX = 'CatalogWorker';

/** Policy placeholders that are no stack parameter: `Fn::Sub` variables and what they stand for. */
const SUB_VARIABLES: Partial<Record<string, unknown>> = {
  CrawlerRoleArn: { 'Fn::GetAtt': ['CrawlerRole', 'Arn'] },
};

type Json = unknown;

/** The location template's own placeholders, which `Fn::Sub` must leave as they are: `${!dt}`. */
const PROJECTED_KEYS = /\$\{(dt|hour)\}/g;

/** Every string of a value through `cfn`, the projection's `${dt}`/`${hour}` kept literal. */
function cfnDeep(value: unknown): Json {
  if (typeof value === 'string') return cfn(value.replace(PROJECTED_KEYS, '$${!$1}'));
  if (Array.isArray(value)) return value.map(cfnDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, cfnDeep(item)]),
    );
  }
  return value;
}

/** A string with `${...}` becomes an `Fn::Sub`, a lone `${Name}` a `Ref` (or `Fn::GetAtt` for `Name.Attr`). */
function cfn(text: string | undefined): Json {
  if (text === undefined) throw new Error('crawlerDefinition left a setting undefined');
  const whole = /^\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z0-9]+))?\}$/.exec(text);
  if (whole) return whole[2] ? { 'Fn::GetAtt': [whole[1], whole[2]] } : { Ref: whole[1] };
  return text.includes('${') ? { 'Fn::Sub': text } : text;
}

function managedPolicy(description: string, text: string): Json {
  const variables = Object.fromEntries(
    placeholdersIn(text)
      .filter((name) => SUB_VARIABLES[name] !== undefined)
      .map((name) => [name, SUB_VARIABLES[name]]),
  );
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: {
      Description: description,
      PolicyDocument: { 'Fn::Sub': Object.keys(variables).length > 0 ? [text, variables] : text },
    },
  };
}

/** The catalog worker's part of crawler.json, as a document of its own. */
export function catalogWorkerPolicy(): PolicyDocument {
  const crawler = loadPolicy('crawler');
  const statements = crawler.Statement.filter((statement) => statement.Sid?.startsWith(CATALOG_WORKER_SID_PREFIX));
  if (statements.length === 0)
    throw new Error(`iam/policies/crawler.json has no ${CATALOG_WORKER_SID_PREFIX}* statement`);
  return { Version: crawler.Version, Statement: statements };
}

const trust = (service: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
});

const stringParameter = (description: string, pattern: string, defaultValue?: string) => ({
  Type: 'String',
  Description: description,
  AllowedPattern: pattern,
  ...(defaultValue === undefined ? {} : { Default: defaultValue }),
});

/** A policy document formatted as the policy files are (Prettier's JSON style). */
async function policyJson(document: PolicyDocument): Promise<string> {
  const prettier = await import('prettier');
  const file = path.join(PROJECT_ROOT, 'iam/policies/crawler.json');
  const options = await prettier.resolveConfig(file);
  return prettier.format(JSON.stringify(document, null, 2), { ...options, filepath: file });
}

/** The template as data, before it is written as YAML. */
export async function templateDefinition(): Promise<Json> {
  const defaults = loadConfig({});
  const athenaResultsPrefix = parseS3Uri(defaults.athena.outputLocation)?.key || 'athena-results/';

  // The crawler exactly as `npm run provision` defines it, names replaced by the
  // template's parameters and resources, so a provision run after the deploy finds it unchanged.
  const placeholders: Config = {
    ...defaults,
    kafka: { ...defaults.kafka, topic: '${Topic}' },
    s3: { ...defaults.s3, bucket: '${LakeBucket}', rawPrefix: '${RawPrefix}', curatedPrefix: '${CuratedPrefix}' },
    glue: { database: '${Database}', crawler: '${GlueCrawler}', crawlerRole: '${CrawlerRole.Arn}' },
  };
  const {
    Name,
    Role: crawlerRole,
    DatabaseName,
    Description,
    Targets,
    SchemaChangePolicy,
    RecrawlPolicy,
    Configuration,
    ...others
  } = crawlerDefinition(placeholders);
  if (Object.keys(others).length > 0) {
    throw new Error(`crawlerDefinition sets ${Object.keys(others).join(', ')}: add them to deploy/build-template.ts`);
  }
  if (Object.keys(Targets ?? {}).join() !== 'S3Targets') throw new Error('crawlerDefinition has targets other than S3');
  // The ticks table with partition projection, as `npm run provision -- --projection` creates it.
  const ticksTable = ticksTableInput(placeholders, {
    name: '${Topic}',
    projection: true,
    projectionStart: '${ProjectionStart}',
  });

  // Compaction's catalog beside it, as provision makes it once the ticks table exists: the curated table and the
  // lake view (a Presto view: its SQL and columns, base64 in ViewOriginalText, get the names by Fn::Base64).
  const curatedTable = curatedTableInput(placeholders, ticksTable);
  const { ViewOriginalText: viewText, ...lakeView } = lakeViewInput('${Database}', ticksTable, NO_WATERMARK);
  const viewMatch = /^(\/\* Presto View: )(.*)( \*\/)$/.exec(viewText ?? '');
  if (!viewMatch) throw new Error('lakeViewInput made no Presto view text: update deploy/build-template.ts');
  const viewDocument = Buffer.from(viewMatch[2]!, 'base64').toString('utf8');

  const prefix = (what: string, defaultValue: string) =>
    stringParameter(`Key prefix of ${what}, ending in '/'`, '^([A-Za-z0-9._-]+/)+$', defaultValue);

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'TickSync on AWS: the S3 data lake, the Glue database and crawler, the Athena work group, and the IAM roles and policies of its processes (iam/policies/*.json).',
    Parameters: {
      BucketName: stringParameter(
        'Name of the data-lake bucket to create (TICKSYNC_S3_BUCKET)',
        '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
      ),
      Topic: stringParameter(
        'Kafka topic the pipeline replays into and consumes, whose records the crawler catalogs (TICKSYNC_TOPIC)',
        '^[A-Za-z0-9._-]{1,200}$',
        defaults.kafka.topic,
      ),
      KafkaClientId: stringParameter(
        "Kafka client id, the prefix of the workers' consumer groups and transactional ids (TICKSYNC_KAFKA_CLIENT_ID)",
        '^[A-Za-z0-9._-]+$',
        defaults.kafka.clientId,
      ),
      MskCluster: stringParameter(
        "For Amazon MSK's IAM authentication: the cluster as in its ARN, <name>/<uuid> (the default, */*, is any MSK cluster of the account and Region)",
        '^([A-Za-z0-9-]+/[A-Za-z0-9-]+|\\*/\\*)$',
        ANY_MSK_CLUSTER,
      ),
      RawPrefix: prefix('the records the consumer writes (TICKSYNC_S3_RAW_PREFIX)', defaults.s3.rawPrefix),
      DlqPrefix: prefix('the dead letters (TICKSYNC_S3_DLQ_PREFIX)', defaults.s3.dlqPrefix),
      InputPrefix: prefix('the CSV files replays read (TICKSYNC_S3_INPUT_PREFIX)', defaults.s3.inputPrefix),
      ManifestPrefix: prefix('the segment manifests (TICKSYNC_S3_MANIFEST_PREFIX)', defaults.s3.manifestPrefix),
      CuratedPrefix: prefix(
        'the closed hours the compactor writes as Parquet (TICKSYNC_S3_CURATED_PREFIX)',
        defaults.s3.curatedPrefix,
      ),
      AthenaResultsPrefix: prefix('the Athena results (TICKSYNC_ATHENA_OUTPUT_LOCATION)', athenaResultsPrefix),
      AthenaResultsExpirationDays: {
        Type: 'Number',
        Description: 'Days after which Athena result files are deleted',
        Default: 7,
        MinValue: 1,
      },
      GlueDatabase: stringParameter(
        'Glue database (TICKSYNC_GLUE_DATABASE)',
        '^[a-z0-9_]{1,255}$',
        defaults.glue.database,
      ),
      GlueCrawler: stringParameter(
        'Glue crawler (TICKSYNC_GLUE_CRAWLER)',
        '^[A-Za-z0-9_.-]{1,255}$',
        defaults.glue.crawler,
      ),
      AthenaWorkGroup: stringParameter(
        'Athena work group (TICKSYNC_ATHENA_WORKGROUP)',
        '^[A-Za-z0-9._-]{1,128}$',
        defaults.athena.workgroup,
      ),
      PartitionProjection: {
        Type: 'String',
        Description:
          'enabled: create the ticks table (named as the Topic, which must then be lowercase letters, digits and underscores, as the crawler names its table) with partition projection, so a new hour is queryable without a crawl; disabled: the crawler creates the table and its partitions',
        AllowedValues: ['enabled', 'disabled'],
        Default: 'enabled',
      },
      ProjectionStart: stringParameter(
        'First day (YYYY-MM-DD) the partition projection of dt covers; it ends at NOW',
        '^\\d{4}-\\d{2}-\\d{2}$',
        DEFAULT_PROJECTION_START,
      ),
    },
    Conditions: {
      ProjectTicks: { 'Fn::Equals': [{ Ref: 'PartitionProjection' }, 'enabled'] },
    },
    Resources: {
      // Unversioned on purpose: objects are written once, create-only, and never replaced.
      LakeBucket: {
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: { Ref: 'BucketName' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          LifecycleConfiguration: {
            Rules: [
              {
                Id: 'expire-athena-results',
                Status: 'Enabled',
                Prefix: { Ref: 'AthenaResultsPrefix' },
                ExpirationInDays: { Ref: 'AthenaResultsExpirationDays' },
              },
              {
                Id: 'abort-incomplete-multipart-uploads',
                Status: 'Enabled',
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              },
            ],
          },
        },
      },
      LakeBucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: { Ref: 'LakeBucket' },
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DenyInsecureTransport',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [{ 'Fn::GetAtt': ['LakeBucket', 'Arn'] }, { 'Fn::Sub': '${LakeBucket.Arn}/*' }],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          },
        },
      },
      Database: {
        Type: 'AWS::Glue::Database',
        Properties: {
          CatalogId: { Ref: 'AWS::AccountId' },
          DatabaseInput: { Name: { Ref: 'GlueDatabase' }, Description: 'TickSync: market data in the S3 data lake' },
        },
      },
      // The crawler keeps the projection properties when it updates the table's schema.
      TicksTable: {
        Type: 'AWS::Glue::Table',
        Condition: 'ProjectTicks',
        Properties: {
          CatalogId: { Ref: 'AWS::AccountId' },
          DatabaseName: { Ref: 'Database' },
          TableInput: cfnDeep(ticksTable),
        },
      },
      // Compaction publishes hours into this table and moves the view's watermark (npm run compact).
      CuratedTicksTable: {
        Type: 'AWS::Glue::Table',
        Condition: 'ProjectTicks',
        DependsOn: 'TicksTable',
        Properties: {
          CatalogId: { Ref: 'AWS::AccountId' },
          DatabaseName: { Ref: 'Database' },
          TableInput: cfnDeep(curatedTable),
        },
      },
      // The named queries read this view: compacted hours from curated/, the rest raw.
      TicksLakeView: {
        Type: 'AWS::Glue::Table',
        Condition: 'ProjectTicks',
        DependsOn: 'CuratedTicksTable',
        Properties: {
          CatalogId: { Ref: 'AWS::AccountId' },
          DatabaseName: { Ref: 'Database' },
          TableInput: {
            ...(cfnDeep(lakeView) as Record<string, Json>),
            ViewOriginalText: {
              'Fn::Join': ['', [viewMatch[1]!, { 'Fn::Base64': cfn(viewDocument) }, viewMatch[3]!]],
            },
          },
        },
      },
      // No Schedule: crawls run from a Temporal Schedule (npm run schedule -- crawl).
      Crawler: {
        Type: 'AWS::Glue::Crawler',
        Properties: {
          Name: cfn(Name),
          Role: cfn(crawlerRole),
          DatabaseName: cfn(DatabaseName),
          Description: cfn(Description),
          Targets: {
            S3Targets: (Targets?.S3Targets ?? []).map((target) => ({
              Path: cfn(target.Path),
              ...(target.Exclusions ? { Exclusions: target.Exclusions } : {}),
            })),
          },
          SchemaChangePolicy,
          RecrawlPolicy,
          Configuration,
        },
      },
      // The settings `npm run provision` gives the work group.
      WorkGroup: {
        Type: 'AWS::Athena::WorkGroup',
        Properties: {
          Name: { Ref: 'AthenaWorkGroup' },
          Description: 'TickSync: queries over the lake',
          WorkGroupConfiguration: {
            ResultConfiguration: { OutputLocation: { 'Fn::Sub': 's3://${LakeBucket}/${AthenaResultsPrefix}' } },
            EnforceWorkGroupConfiguration: true,
            PublishCloudWatchMetricsEnabled: false,
            EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          },
        },
      },

      ProducerPolicy: managedPolicy(
        'TickSync producer (replay activities): iam/policies/producer.json',
        policyText('producer'),
      ),
      IngestPolicy: managedPolicy(
        'TickSync ingest (consumer activities): iam/policies/ingest.json',
        policyText('ingest'),
      ),
      CrawlerPolicy: managedPolicy(
        'TickSync crawler role, assumed by the Glue crawler: iam/policies/crawler.json',
        policyText('crawler'),
      ),
      CatalogWorkerPolicy: managedPolicy(
        `TickSync catalog worker: the ${CATALOG_WORKER_SID_PREFIX}* statements of iam/policies/crawler.json`,
        await policyJson(catalogWorkerPolicy()),
      ),
      AnalystPolicy: managedPolicy('TickSync analyst (query worker): iam/policies/analyst.json', policyText('analyst')),
      CompactorPolicy: managedPolicy(
        'TickSync compactor (compact worker): iam/policies/compactor.json',
        policyText('compactor'),
      ),
      AdminPolicy: managedPolicy(
        'TickSync admin (npm run provision), to attach to the user or role that runs it: iam/policies/admin.json',
        policyText('admin'),
      ),

      CrawlerRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: 'TickSync: the role the Glue crawler assumes (TICKSYNC_GLUE_CRAWLER_ROLE)',
          AssumeRolePolicyDocument: trust('glue.amazonaws.com'),
          ManagedPolicyArns: [{ Ref: 'CrawlerPolicy' }],
        },
      },
      // The ingest worker runs the replay (producer) and the consumer (ingest) activities:
      // its role carries both policies, as the local stack gives it both identities.
      ...workerRole('Ingest', 'TickSync ingest worker (ticksync-ingest task queue)', [
        'ProducerPolicy',
        'IngestPolicy',
      ]),
      ...workerRole('Catalog', 'TickSync catalog worker (ticksync-catalog task queue)', ['CatalogWorkerPolicy']),
      ...workerRole('Query', 'TickSync query worker (ticksync-query task queue)', ['AnalystPolicy']),
      ...workerRole('Compact', 'TickSync compact worker (compaction of closed hours)', ['CompactorPolicy']),
    },
    Outputs: {
      BucketName: output('The data-lake bucket: TICKSYNC_S3_BUCKET', { Ref: 'LakeBucket' }),
      GlueDatabase: output('TICKSYNC_GLUE_DATABASE', { Ref: 'Database' }),
      GlueCrawler: output('TICKSYNC_GLUE_CRAWLER', { Ref: 'Crawler' }),
      CrawlerRoleArn: output('TICKSYNC_GLUE_CRAWLER_ROLE', { 'Fn::GetAtt': ['CrawlerRole', 'Arn'] }),
      AthenaWorkGroup: output('TICKSYNC_ATHENA_WORKGROUP', { Ref: 'WorkGroup' }),
      AthenaOutputLocation: output('TICKSYNC_ATHENA_OUTPUT_LOCATION', {
        'Fn::Sub': 's3://${LakeBucket}/${AthenaResultsPrefix}',
      }),
      IngestWorkerRoleArn: output('Role of the ingest workers', { 'Fn::GetAtt': ['IngestWorkerRole', 'Arn'] }),
      CatalogWorkerRoleArn: output('Role of the catalog workers', { 'Fn::GetAtt': ['CatalogWorkerRole', 'Arn'] }),
      QueryWorkerRoleArn: output('Role of the query workers', { 'Fn::GetAtt': ['QueryWorkerRole', 'Arn'] }),
      CompactWorkerRoleArn: output('Role of the compact workers', { 'Fn::GetAtt': ['CompactWorkerRole', 'Arn'] }),
      IngestWorkerInstanceProfile: output('Instance profile of the ingest workers', {
        Ref: 'IngestWorkerInstanceProfile',
      }),
      CatalogWorkerInstanceProfile: output('Instance profile of the catalog workers', {
        Ref: 'CatalogWorkerInstanceProfile',
      }),
      QueryWorkerInstanceProfile: output('Instance profile of the query workers', {
        Ref: 'QueryWorkerInstanceProfile',
      }),
      CompactWorkerInstanceProfile: output('Instance profile of the compact workers', {
        Ref: 'CompactWorkerInstanceProfile',
      }),
      AdminPolicyArn: output('Managed policy for whoever runs npm run provision', { Ref: 'AdminPolicy' }),
    },
  };
}

function workerRole(name: string, description: string, policies: string[]): Record<string, Json> {
  return {
    [`${name}WorkerRole`]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: description,
        AssumeRolePolicyDocument: trust('ec2.amazonaws.com'),
        ManagedPolicyArns: policies.map((policy) => ({ Ref: policy })),
      },
    },
    [`${name}WorkerInstanceProfile`]: {
      Type: 'AWS::IAM::InstanceProfile',
      Properties: { Roles: [{ Ref: `${name}WorkerRole` }] },
    },
  };
}

const output = (description: string, value: Json) => ({ Description: description, Value: value });

/** Fails when a policy uses a placeholder that neither a parameter, a pseudo parameter nor a Sub variable answers. */
function checkPlaceholders(template: { Parameters: Record<string, unknown> }): void {
  for (const role of Object.keys(POLICY_RESOURCES) as Role[]) {
    for (const name of placeholdersIn(policyText(role))) {
      const known = (POLICY_PLACEHOLDERS as readonly string[]).includes(name);
      const answered = name.startsWith('AWS::') || name in template.Parameters || SUB_VARIABLES[name] !== undefined;
      if (!known || !answered) {
        throw new Error(`iam/policies/${role}.json: \${${name}} is not a placeholder the template can fill`);
      }
    }
  }
}

/** deploy/ticksync.yaml as it should be committed. */
export async function buildTemplate(): Promise<string> {
  const definition = (await templateDefinition()) as { Parameters: Record<string, unknown> };
  checkPlaceholders(definition);
  // YAML 1.1 rules quote what CloudFormation's parser would read as a date or a boolean ('2010-09-09').
  const document = new Document(definition, { version: '1.1' });
  // Policy texts stay literal blocks, so the template shows each file as it is.
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes('\n')) node.type = Scalar.BLOCK_LITERAL;
    },
  });
  document.commentBefore =
    ' Generated by deploy/build-template.ts from iam/policies/*.json and scripts/provision.ts: do not edit.\n' +
    ' Regenerate with: node --import tsx deploy/build-template.ts';
  const text = document.toString({ lineWidth: 0 });
  // Loaded here, not at the top: Prettier's loader uses import(), which jest's CommonJS runtime refuses.
  const prettier = await import('prettier');
  const options = await prettier.resolveConfig(TEMPLATE_FILE);
  return prettier.format(text, { ...options, filepath: TEMPLATE_FILE });
}

if (require.main === module) {
  // --stdout prints the template instead of writing it (the unit test compares it with the committed file).
  const toStdout = process.argv.includes('--stdout');
  buildTemplate().then(
    (text) => {
      if (toStdout) {
        process.stdout.write(text);
        return;
      }
      fs.writeFileSync(TEMPLATE_FILE, text);
      console.log(`wrote ${path.relative(process.cwd(), TEMPLATE_FILE)}`);
    },
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
