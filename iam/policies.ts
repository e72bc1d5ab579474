import fs from 'node:fs';
import path from 'node:path';
import type { Config, Role } from '../lib/config';
import { parseS3Uri } from '../lib/s3-uri';
import type { PolicyDocument } from './evaluate';

export type { PolicyDocument, PolicyStatement } from './evaluate';

/**
 * TickSync's IAM policies: one AWS policy document per role in iam/policies/<role>.json,
 * deployed unchanged to AWS (deploy/ticksync.yaml embeds each file's text in an `Fn::Sub`)
 * and enforced locally after `renderPolicy`. Names that depend on the deployment are
 * `${...}` placeholders written as CloudFormation's `Fn::Sub` reads them: a stack
 * parameter (`${BucketName}`), a pseudo parameter (`${AWS::Region}`) or, for
 * `${CrawlerRoleArn}`, a variable the template maps to the crawler role's ARN.
 */

/** The template's default for `${MskCluster}`: any MSK cluster of the account and region. */
export const ANY_MSK_CLUSTER = '*/*';

/** Every placeholder the policy files may use, and so every value `renderPolicy` needs. */
export const POLICY_PLACEHOLDERS = [
  'AWS::Partition',
  'AWS::Region',
  'AWS::AccountId',
  'BucketName',
  'RawPrefix',
  'DlqPrefix',
  'InputPrefix',
  'ManifestPrefix',
  'CuratedPrefix',
  'AthenaResultsPrefix',
  'GlueDatabase',
  'GlueCrawler',
  'AthenaWorkGroup',
  'CrawlerRoleArn',
  'Topic',
  'KafkaClientId',
  'MskCluster',
] as const;
export type PolicyPlaceholder = (typeof POLICY_PLACEHOLDERS)[number];
export type PolicyValues = Record<PolicyPlaceholder, string>;

export const POLICIES_DIR = path.join(__dirname, 'policies');

export const policyFile = (role: Role) => path.join(POLICIES_DIR, `${role}.json`);

/** The policy file's text, exactly as committed (what the CloudFormation template embeds). */
export function policyText(role: Role): string {
  return fs.readFileSync(policyFile(role), 'utf8');
}

/** The role's policy document as in the file, placeholders included. */
export function loadPolicy(role: Role): PolicyDocument {
  return JSON.parse(policyText(role)) as PolicyDocument;
}

// Fn::Sub syntax: `${Name}` is replaced, `${!Name}` stands for the literal `${Name}`.
const PLACEHOLDER = /\$\{(!?)([^}]*)\}/g;

/** The placeholders a text uses, in order of first use (`${!...}` literals excluded). */
export function placeholdersIn(text: string): string[] {
  const names = new Set<string>();
  for (const [, literal, name] of text.matchAll(PLACEHOLDER)) if (!literal) names.add(name!);
  return [...names];
}

function substitute(text: string, values: Partial<Record<string, string>>, role: Role): string {
  return text.replace(PLACEHOLDER, (_match, literal: string, name: string) => {
    if (literal) return `\${${name}}`;
    const value = values[name];
    if (value === undefined) {
      throw new Error(
        `iam/policies/${role}.json uses \${${name}}, which has no value; expected one of ${POLICY_PLACEHOLDERS.join(', ')}`,
      );
    }
    return value;
  });
}

function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [map(key), mapStrings(item, map)]));
  }
  return value;
}

/**
 * The role's policy with its placeholders replaced, as CloudFormation's `Fn::Sub`
 * would replace them. Substitution is per JSON string, so a value can never change
 * the document's structure.
 */
export function renderPolicy(role: Role, values: PolicyValues): PolicyDocument {
  return mapStrings(loadPolicy(role), (text) => substitute(text, values, role)) as PolicyDocument;
}

/**
 * The placeholder values for a configuration: what the local stack enforces, and
 * what a stack deployed with the same names resolves to. Athena's results must be
 * in the lake bucket, since the policies grant them there.
 */
export function policyValuesFor(config: Config, accountId: string, partition = 'aws'): PolicyValues {
  const results = parseS3Uri(config.athena.outputLocation);
  if (results?.bucket !== config.s3.bucket || !results.key) {
    throw new Error(
      `TICKSYNC_ATHENA_OUTPUT_LOCATION=${config.athena.outputLocation}: the policies grant Athena results under a prefix of the lake bucket, such as s3://${config.s3.bucket}/athena-results/`,
    );
  }
  if (config.glue.crawlerRole === undefined) {
    throw new Error('TICKSYNC_GLUE_CRAWLER_ROLE is not set: the admin policy passes that role to Glue');
  }
  return {
    'AWS::Partition': partition,
    'AWS::Region': config.aws.region,
    'AWS::AccountId': accountId,
    BucketName: config.s3.bucket,
    RawPrefix: config.s3.rawPrefix,
    DlqPrefix: config.s3.dlqPrefix,
    InputPrefix: config.s3.inputPrefix,
    ManifestPrefix: config.s3.manifestPrefix,
    CuratedPrefix: config.s3.curatedPrefix,
    AthenaResultsPrefix: results.key,
    GlueDatabase: config.glue.database,
    GlueCrawler: config.glue.crawler,
    AthenaWorkGroup: config.athena.workgroup,
    CrawlerRoleArn: config.glue.crawlerRole,
    Topic: config.kafka.topic,
    KafkaClientId: config.kafka.clientId,
    // Kafka authorises nothing by IAM locally; a deployment on Amazon MSK names its cluster (<name>/<uuid>).
    MskCluster: ANY_MSK_CLUSTER,
  };
}
