import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Crawler } from '@aws-sdk/client-glue';
import { parse, stringify } from 'yaml';
import {
  catalogWorkerPolicy,
  CATALOG_WORKER_SID_PREFIX,
  POLICY_RESOURCES,
  TEMPLATE_FILE,
} from '../../deploy/build-template';
import { cfnLintDataDir, CFN_LINT_VERSION, ensureCfnLint } from '../../deploy/cfn-lint';
import { evaluate as evaluatePolicies } from '../../iam/evaluate';
import {
  loadPolicy,
  placeholdersIn,
  POLICY_PLACEHOLDERS,
  policyText,
  policyValuesFor,
  renderPolicy,
  type PolicyDocument,
  type PolicyStatement,
} from '../../iam/policies';
import { loadConfig, PROJECT_ROOT, ROLES, type Role } from '../../lib/config';
import { DEFAULT_PROJECTION_START, NO_WATERMARK, ticksTableInput } from '../../lib/ticks-table';
import { curatedTableInput, lakeViewInput } from '../../lib/provision-lake';
import { crawlerDefinition, crawlerDifferences } from '../../lib/provisioning';

const ACCOUNT = '123456789012';
const config = loadConfig({
  TICKSYNC_TARGET: 'aws',
  TICKSYNC_S3_BUCKET: 'example-lake',
  TICKSYNC_GLUE_CRAWLER_ROLE: `arn:aws:iam::${ACCOUNT}:role/example-crawler`,
});
// A deployment on Amazon MSK names its cluster, so no resource keeps the default's wildcard.
const values = { ...policyValuesFor(config, ACCOUNT), MskCluster: 'ticksync-msk/0a1b2c3d-4e5f-6789' };

/** Actions AWS authorises on no resource but "*": the only ones a policy may grant on "*". */
const UNSCOPED_ACTIONS: Record<string, Role[]> = {
  'glue:GetCrawlerMetrics': ['crawler'],
  'glue:CreateCrawler': ['admin'],
};

const list = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Whether the policy grants the action on the resource, conditions aside, as the local services evaluate it. */
function grants(policy: PolicyDocument, action: string, resource: string): boolean {
  const unconditional = { ...policy, Statement: policy.Statement.map(({ Condition: _, ...statement }) => statement) };
  return evaluatePolicies([unconditional], { action, resource }) === 'allowed';
}

describe('iam/policies/<role>.json', () => {
  test.each(ROLES)('%s.json is an IAM policy document', (role) => {
    const policy = loadPolicy(role);
    expect(Object.keys(policy).sort()).toEqual(['Statement', 'Version']);
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.length).toBeGreaterThan(0);
    const sids = policy.Statement.map((statement) => statement.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const statement of policy.Statement) {
      expect(['Action', 'Condition', 'Effect', 'Resource', 'Sid']).toEqual(
        expect.arrayContaining(Object.keys(statement)),
      );
      expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
      expect(statement.Effect).toBe('Allow');
      expect(list(statement.Action).length).toBeGreaterThan(0);
      expect(list(statement.Resource).length).toBeGreaterThan(0);
      for (const operator of Object.keys(statement.Condition ?? {}))
        expect(['StringEquals', 'StringLike']).toContain(operator);
    }
  });

  test.each(ROLES)('%s.json names every action and scopes every resource', (role) => {
    for (const statement of loadPolicy(role).Statement) {
      // No wildcard actions (s3:*, glue:Get*), in any role.
      for (const action of list(statement.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
      const resources = list(statement.Resource);
      if (resources.includes('*')) {
        // "*" only where AWS offers no resource-level permission, and only for the role that needs it.
        expect(resources).toEqual(['*']);
        for (const action of list(statement.Action)) expect(UNSCOPED_ACTIONS[action] ?? []).toContain(role);
        continue;
      }
      for (const resource of resources) {
        expect(resource).toMatch(/^arn:\$\{AWS::Partition\}:|^\$\{CrawlerRoleArn\}$/);
        const arn = resource.replace(/\$\{([^}]+)\}/g, (_, name: string) => values[name as keyof typeof values]);
        const [, partition, service, region, account, ...rest] = arn.split(':');
        for (const part of [partition, service, region, account]) expect(part).not.toContain('*');
        // A wildcard only as "everything under this prefix", or for a name's siblings (ticksync_*, ticksync-raw-*,
        // the groups ticksync.lake.*).
        expect(
          rest
            .join(':')
            .replace(/\/\*$/, '')
            .replace(/(\/|:)([a-z0-9.-]+)[_.-]\*$/, '$1$2'),
        ).not.toMatch(/[*?]/);
      }
    }
  });

  test.each(ROLES)('%s.json uses only the known placeholders, and renderPolicy fills them all', (role) => {
    for (const name of placeholdersIn(policyText(role))) expect(POLICY_PLACEHOLDERS).toContain(name);
    const rendered = JSON.stringify(renderPolicy(role, values));
    expect(rendered).not.toContain('${');
    expect(rendered).toContain(`arn:aws:`);
  });

  test('renderPolicy names an unfilled placeholder', () => {
    const partial = { ...values } as Partial<typeof values>;
    delete partial.BucketName;
    expect(() => renderPolicy('producer', partial as typeof values)).toThrow(/producer\.json uses \$\{BucketName\}/);
  });

  test('renderPolicy substitutes per string: a value cannot change the document', () => {
    const rendered = renderPolicy('producer', { ...values, BucketName: 'x"], "Action": ["s3:*' });
    expect(rendered.Statement).toHaveLength(loadPolicy('producer').Statement.length);
    expect(rendered.Statement[0]?.Action).toEqual(['s3:GetObject']);
  });

  test('the local defaults render to the local stack names', () => {
    const local = loadConfig({});
    const rendered = renderPolicy('ingest', policyValuesFor(local, '000000000000'));
    expect(rendered.Statement[0]?.Resource).toEqual([
      'arn:aws:s3:::ticksync-lake/raw/*',
      'arn:aws:s3:::ticksync-lake/dlq/*',
      'arn:aws:s3:::ticksync-lake/manifests/*',
    ]);
    const admin = renderPolicy('admin', policyValuesFor(local, '000000000000'));
    expect(grants(admin, 'iam:PassRole', 'arn:aws:iam::000000000000:role/ticksync-crawler')).toBe(true);
  });

  test('policyValuesFor refuses Athena results outside the lake bucket', () => {
    const elsewhere = loadConfig({ TICKSYNC_ATHENA_OUTPUT_LOCATION: 's3://other-bucket/results/' });
    expect(() => policyValuesFor(elsewhere, ACCOUNT)).toThrow(/TICKSYNC_ATHENA_OUTPUT_LOCATION/);
  });

  // ARCHITECTURE.md section 6: what each principal may and may not do.
  const object = (prefix: string) => `arn:aws:s3:::example-lake/${prefix}ticks/dt=2024-01-02/hour=03/x.jsonl.gz`;
  const glue = (kind: string) => `arn:aws:glue:us-east-1:${ACCOUNT}:${kind}`;
  const table = glue('table/ticksync/ticks');
  const workGroup = `arn:aws:athena:us-east-1:${ACCOUNT}:workgroup/ticksync`;
  const crawler = glue('crawler/ticksync-raw');
  const kafka = (kind: string, name?: string) =>
    `arn:aws:kafka:us-east-1:${ACCOUNT}:${kind}/${values.MskCluster}${name === undefined ? '' : `/${name}`}`;
  const cases: [Role, string, string, boolean][] = [
    // Kafka on Amazon MSK with IAM authentication: the replay writes, the consumer reads, nobody else connects.
    ['producer', 'kafka-cluster:Connect', kafka('cluster'), true],
    ['producer', 'kafka-cluster:WriteData', kafka('topic', 'ticks'), true],
    ['producer', 'kafka-cluster:WriteData', kafka('topic', 'ticks.rejects'), true],
    ['producer', 'kafka-cluster:WriteData', kafka('topic', 'other'), false],
    ['producer', 'kafka-cluster:AlterTransactionalId', kafka('transactional-id', 'ticksync.replay.run-1'), true],
    ['producer', 'kafka-cluster:AlterGroup', kafka('group', 'ticksync.lake.ticks'), false],
    ['ingest', 'kafka-cluster:ReadData', kafka('topic', 'ticks'), true],
    ['ingest', 'kafka-cluster:WriteData', kafka('topic', 'ticks'), false],
    ['ingest', 'kafka-cluster:AlterGroup', kafka('group', 'ticksync.lake.ticks'), true],
    ['ingest', 'kafka-cluster:AlterGroup', kafka('group', 'other'), false],
    ['crawler', 'kafka-cluster:Connect', kafka('cluster'), false],
    ['analyst', 'kafka-cluster:Connect', kafka('cluster'), false],
    ['producer', 's3:GetObject', object('input/'), true],
    ['producer', 's3:GetObject', object('raw/'), false],
    ['producer', 's3:PutObject', object('raw/'), false],
    ['producer', 's3:PutObject', object('input/'), false],
    ['producer', 'glue:GetTables', table, false],
    ['ingest', 's3:PutObject', object('raw/'), true],
    ['ingest', 's3:PutObject', object('dlq/'), true],
    ['ingest', 's3:PutObject', object('manifests/'), true],
    ['ingest', 's3:GetObject', object('manifests/'), true],
    ['ingest', 's3:GetObject', object('raw/'), false],
    ['ingest', 's3:GetObject', object('dlq/'), false],
    ['ingest', 's3:DeleteObject', object('raw/'), false],
    ['ingest', 's3:PutObject', object('input/'), false],
    ['ingest', 'glue:GetTables', table, false],
    ['crawler', 's3:GetObject', object('raw/'), true],
    ['crawler', 'glue:CreateTable', table, true],
    ['crawler', 'glue:BatchCreatePartition', table, true],
    ['crawler', 'glue:StartCrawler', crawler, true],
    ['crawler', 'glue:StartCrawler', glue('crawler/another'), false],
    // The deployment's names and their siblings (ticksync_bench, ticksync-raw-bench), nothing else.
    ['crawler', 'glue:StartCrawler', glue('crawler/ticksync-raw-bench'), true],
    ['crawler', 'glue:StartCrawler', glue('crawler/ticksync-rawx'), false],
    ['crawler', 'glue:CreateTable', glue('table/ticksync_bench/ticks'), true],
    ['crawler', 'glue:CreateTable', glue('table/ticksyncx/ticks'), false],
    ['crawler', 'glue:GetDatabase', glue('database/ticksync-x'), false],
    ['crawler', 's3:PutObject', object('raw/'), false],
    ['crawler', 's3:GetObject', object('dlq/'), false],
    ['crawler', 'glue:CreateTable', glue('table/otherdb/ticks'), false],
    ['crawler', 'athena:StartQueryExecution', workGroup, false],
    ['analyst', 'athena:StartQueryExecution', workGroup, true],
    ['analyst', 'athena:StopQueryExecution', workGroup, true],
    ['analyst', 'athena:StartQueryExecution', `arn:aws:athena:us-east-1:${ACCOUNT}:workgroup/primary`, false],
    ['analyst', 'athena:StartQueryExecution', `${workGroup}-reports`, true],
    ['analyst', 'athena:StartQueryExecution', `${workGroup}x`, false],
    ['analyst', 'glue:GetTable', glue('table/ticksync_bench/ticks'), true],
    ['analyst', 'glue:GetPartitions', table, true],
    ['analyst', 's3:GetObject', object('raw/'), true],
    ['analyst', 's3:PutObject', 'arn:aws:s3:::example-lake/athena-results/abc.csv', true],
    ['analyst', 's3:PutObject', object('raw/'), false],
    ['analyst', 's3:GetObject', object('dlq/'), false],
    ['analyst', 'glue:CreateTable', table, false],
    ['analyst', 'glue:UpdateTable', table, false],
    ['analyst', 's3:GetObject', object('curated/'), true],
    ['analyst', 's3:PutObject', object('curated/'), false],
    // The compactor reads raw/, writes curated/ (and dead letters), and publishes in the lake's catalog.
    ['compactor', 's3:GetObject', object('raw/'), true],
    ['compactor', 's3:PutObject', object('raw/'), false],
    ['compactor', 's3:DeleteObject', object('raw/'), false],
    ['compactor', 's3:PutObject', object('curated/'), true],
    ['compactor', 's3:GetObject', object('curated/'), true],
    ['compactor', 's3:DeleteObject', object('curated/'), true],
    ['compactor', 's3:PutObject', object('dlq/'), true],
    ['compactor', 's3:GetObject', object('dlq/'), false],
    ['compactor', 's3:GetObject', object('input/'), false],
    ['compactor', 's3:PutObject', object('athena-results/'), false],
    ['compactor', 'glue:UpdatePartition', table, true],
    ['compactor', 'glue:CreateTable', glue('table/ticksync/ticks_curated'), true],
    ['compactor', 'glue:CreateTable', glue('table/otherdb/ticks'), false],
    ['compactor', 'glue:DeleteTable', table, false],
    ['compactor', 'glue:StartCrawler', crawler, false],
    ['compactor', 'athena:StartQueryExecution', workGroup, false],
    ['compactor', 'kafka-cluster:Connect', kafka('cluster'), false],
    ['admin', 's3:CreateBucket', 'arn:aws:s3:::example-lake', true],
    ['admin', 's3:PutObject', 'arn:aws:s3:::example-lake/raw/', true],
    ['admin', 's3:PutObject', object('raw/'), false],
    ['admin', 's3:GetObject', object('dlq/'), true],
    ['admin', 'glue:CreateCrawler', '*', true],
    ['admin', 'glue:UpdateTable', table, true],
    ['admin', 'glue:UpdateTable', glue('table/otherdb/ticks'), false],
    ['admin', 'athena:CreateWorkGroup', workGroup, true],
    ['admin', 'iam:PassRole', config.glue.crawlerRole!, true],
    ['admin', 'iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/anything-else`, false],
  ];
  test.each(cases)('%s: %s on %s is allowed: %s', (role, action, resource, allowed) => {
    expect(grants(renderPolicy(role, values), action, resource)).toBe(allowed);
  });
});

interface Template {
  Parameters: Record<string, { Default?: string | number }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, unknown>;
}

/** Evaluates Ref, Fn::GetAtt and Fn::Sub as CloudFormation would, with the given names. */
function evaluate(value: unknown, names: Record<string, string>): unknown {
  const lookup = (name: string) => {
    if (!(name in names)) throw new Error(`the test has no value for ${name}`);
    return names[name]!;
  };
  if (Array.isArray(value)) return value.map((item) => evaluate(item, names));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [fn, argument] = entries[0] ?? [];
  if (entries.length === 1 && fn === 'Ref') return lookup(argument as string);
  if (entries.length === 1 && fn === 'Fn::GetAtt') return lookup((argument as string[]).join('.'));
  if (entries.length === 1 && fn === 'Fn::Sub') {
    const [text, variables] = (Array.isArray(argument) ? argument : [argument, {}]) as [
      string,
      Record<string, unknown>,
    ];
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) =>
      literal ? `\${${name}}` : name in variables ? String(evaluate(variables[name], names)) : lookup(name),
    );
  }
  if (entries.length === 1 && fn === 'Fn::Join') {
    const [separator, items] = argument as [string, unknown[]];
    return items.map((item) => String(evaluate(item, names))).join(separator);
  }
  if (entries.length === 1 && fn === 'Fn::Base64') {
    return Buffer.from(String(evaluate(argument, names))).toString('base64');
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, evaluate(item, names)]));
}

describe('deploy/ticksync.yaml', () => {
  const text = fs.readFileSync(TEMPLATE_FILE, 'utf8');
  const template = parse(text) as Template;
  const resource = (name: string) => {
    const found = template.Resources[name];
    if (!found) throw new Error(`the template has no resource ${name}`);
    return found;
  };
  // What CloudFormation resolves the template to when deployed with the test configuration's names.
  const names: Record<string, string> = {
    ...Object.fromEntries(Object.entries(template.Parameters).map(([name, p]) => [name, String(p.Default)])),
    'AWS::Partition': 'aws',
    'AWS::Region': config.aws.region,
    'AWS::AccountId': ACCOUNT,
    BucketName: config.s3.bucket,
    LakeBucket: config.s3.bucket,
    Database: config.glue.database,
    'CrawlerRole.Arn': config.glue.crawlerRole!,
    MskCluster: values.MskCluster,
  };

  test('is what deploy/build-template.ts makes (run it with node --import tsx when this fails)', async () => {
    // A child process, since Prettier's API loads its plugins with import(), which jest's CommonJS runtime refuses.
    const built = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(PROJECT_ROOT, 'deploy/build-template.ts'), '--stdout'],
        { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => (error ? reject(new Error(`build-template failed: ${stderr}`)) : resolve(stdout)),
      ),
    );
    expect(text).toBe(built);
  });

  test.each(ROLES)('embeds iam/policies/%s.json byte for byte', (role) => {
    const sub = (resource(POLICY_RESOURCES[role]).Properties.PolicyDocument as { 'Fn::Sub': unknown })['Fn::Sub'];
    expect(Array.isArray(sub) ? sub[0] : sub).toBe(policyText(role));
  });

  test.each(ROLES)('deploys %s.json as renderPolicy renders it locally', (role) => {
    const deployed = evaluate(resource(POLICY_RESOURCES[role]).Properties.PolicyDocument, names) as string;
    expect(JSON.parse(deployed)).toEqual(renderPolicy(role, values));
  });

  test(`gives the catalog worker the ${CATALOG_WORKER_SID_PREFIX}* statements of crawler.json, and nothing else`, () => {
    const deployed = evaluate(resource('CatalogWorkerPolicy').Properties.PolicyDocument, names) as string;
    const crawler = renderPolicy('crawler', values);
    const statements = (JSON.parse(deployed) as PolicyDocument).Statement;
    expect(statements.map((statement) => statement.Sid)).toEqual(catalogWorkerPolicy().Statement.map((s) => s.Sid));
    for (const statement of statements) expect(crawler.Statement).toContainEqual(statement);
    expect(statements.flatMap((statement) => list(statement.Action)).sort()).toEqual(
      [
        'glue:GetCrawler',
        'glue:GetCrawlerMetrics',
        'glue:GetDatabase',
        'glue:GetPartitions',
        'glue:GetTables',
        'glue:StartCrawler',
        'glue:StopCrawler',
      ].sort(),
    );
  });

  test('gives each role its policies and trust', () => {
    const role = (name: string) => {
      const properties = resource(name).Properties as {
        AssumeRolePolicyDocument: { Statement: { Principal: { Service: string } }[] };
        ManagedPolicyArns: { Ref: string }[];
      };
      return {
        service: properties.AssumeRolePolicyDocument.Statement.map((statement) => statement.Principal.Service),
        policies: properties.ManagedPolicyArns.map((arn) => arn.Ref),
      };
    };
    expect(role('CrawlerRole')).toEqual({ service: ['glue.amazonaws.com'], policies: ['CrawlerPolicy'] });
    expect(role('IngestWorkerRole')).toEqual({
      service: ['ec2.amazonaws.com'],
      policies: ['ProducerPolicy', 'IngestPolicy'],
    });
    expect(role('CatalogWorkerRole')).toEqual({ service: ['ec2.amazonaws.com'], policies: ['CatalogWorkerPolicy'] });
    expect(role('QueryWorkerRole')).toEqual({ service: ['ec2.amazonaws.com'], policies: ['AnalystPolicy'] });
    expect(role('CompactWorkerRole')).toEqual({ service: ['ec2.amazonaws.com'], policies: ['CompactorPolicy'] });
    for (const worker of ['Ingest', 'Catalog', 'Query', 'Compact']) {
      expect(resource(`${worker}WorkerInstanceProfile`).Properties.Roles).toEqual([{ Ref: `${worker}WorkerRole` }]);
      expect(template.Outputs).toHaveProperty(`${worker}WorkerInstanceProfile`);
      expect(template.Outputs).toHaveProperty(`${worker}WorkerRoleArn`);
    }
  });

  test('defaults its parameters to the configuration defaults', () => {
    const defaults = loadConfig({});
    expect(template.Parameters.Topic?.Default).toBe(defaults.kafka.topic);
    expect(template.Parameters.RawPrefix?.Default).toBe(defaults.s3.rawPrefix);
    expect(template.Parameters.DlqPrefix?.Default).toBe(defaults.s3.dlqPrefix);
    expect(template.Parameters.InputPrefix?.Default).toBe(defaults.s3.inputPrefix);
    expect(template.Parameters.ManifestPrefix?.Default).toBe(defaults.s3.manifestPrefix);
    expect(template.Parameters.CuratedPrefix?.Default).toBe(defaults.s3.curatedPrefix);
    expect(template.Parameters.GlueDatabase?.Default).toBe(defaults.glue.database);
    expect(template.Parameters.GlueCrawler?.Default).toBe(defaults.glue.crawler);
    expect(template.Parameters.AthenaWorkGroup?.Default).toBe(defaults.athena.workgroup);
    expect(`s3://${defaults.s3.bucket}/${template.Parameters.AthenaResultsPrefix?.Default}`).toBe(
      defaults.athena.outputLocation,
    );
  });

  test('makes the crawler and work group npm run provision wants, so provision finds them unchanged', () => {
    const properties = evaluate(resource('Crawler').Properties, names) as Crawler;
    expect(properties).not.toHaveProperty('Schedule');
    expect(crawlerDifferences(properties, crawlerDefinition(config))).toEqual([]);
    expect(properties.Name).toBe(config.glue.crawler);

    const workGroup = evaluate(resource('WorkGroup').Properties, names) as {
      Name: string;
      WorkGroupConfiguration: Record<string, unknown>;
    };
    expect(workGroup.Name).toBe(config.athena.workgroup);
    expect(workGroup.WorkGroupConfiguration).toMatchObject({
      ResultConfiguration: { OutputLocation: config.athena.outputLocation },
      EnforceWorkGroupConfiguration: true,
      EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
    });
  });

  test('makes the ticks table with partition projection that provision --projection makes, unless disabled', () => {
    const table = resource('TicksTable') as { Condition?: string; Properties: Record<string, unknown> };
    expect(table.Condition).toBe('ProjectTicks');
    expect(template.Parameters.PartitionProjection?.Default).toBe('enabled');
    expect(template.Parameters.ProjectionStart?.Default).toBe(DEFAULT_PROJECTION_START);
    expect(evaluate(table.Properties, names)).toEqual({
      CatalogId: ACCOUNT,
      DatabaseName: config.glue.database,
      TableInput: ticksTableInput(config, { projection: true }),
    });
  });

  test('makes the curated table and the lake view provision makes beside the projected ticks table', () => {
    const ticks = ticksTableInput(config, { projection: true });
    const curated = resource('CuratedTicksTable') as { Condition?: string; Properties: Record<string, unknown> };
    expect(curated.Condition).toBe('ProjectTicks');
    expect(evaluate(curated.Properties, names)).toEqual({
      CatalogId: ACCOUNT,
      DatabaseName: config.glue.database,
      TableInput: curatedTableInput(config, ticks),
    });
    const view = resource('TicksLakeView') as { Condition?: string; Properties: Record<string, unknown> };
    expect(view.Condition).toBe('ProjectTicks');
    expect(evaluate(view.Properties, names)).toEqual({
      CatalogId: ACCOUNT,
      DatabaseName: config.glue.database,
      TableInput: lakeViewInput(config.glue.database, ticks, NO_WATERMARK),
    });
  });

  test('makes a private, encrypted, unversioned bucket whose Athena results expire', () => {
    const bucket = resource('LakeBucket').Properties;
    expect(bucket).not.toHaveProperty('VersioningConfiguration');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    const rules = (bucket.LifecycleConfiguration as { Rules: { Prefix?: unknown; ExpirationInDays?: unknown }[] })
      .Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({ Prefix: { Ref: 'AthenaResultsPrefix' }, ExpirationInDays: expect.anything() }),
    );
  });
});

describe(`cfn-lint ${CFN_LINT_VERSION}`, () => {
  let binary: string;
  // A fresh machine installs cfn-lint into the cache first (about 20 s; pip may be slower).
  beforeAll(async () => {
    binary = await ensureCfnLint();
  }, 300_000);

  const lint = (file: string) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      // -c I: the informational rules too (I3510 checks that each action has a resource of its type).
      execFile(binary, ['--format', 'parseable', '--include-checks', 'I', '--', file], (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });

  test('a missing Python is named in the install error', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-cfn-lint-'));
    try {
      await expect(ensureCfnLint({ cacheDir, python: 'no-such-python3' })).rejects.toThrow(
        /'no-such-python3' is not on PATH: cfn-lint needs Python 3\.9 or later/,
      );
      expect(fs.readdirSync(cacheDir).filter((name) => name.startsWith('.cfn-lint-'))).toEqual([]);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('passes the template with no error, warning or informational finding', async () => {
    expect(await lint(TEMPLATE_FILE)).toEqual({ code: 0, output: '' });
  });

  test('passes each rendered policy through its IAM rules (schema, action names, resources per action)', async () => {
    // cfn-lint cannot see inside an Fn::Sub string, so the rendered documents are linted as AWS::IAM::Policy.
    const resources: Record<string, unknown> = {
      Subject: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
        },
      },
    };
    for (const role of ROLES) {
      resources[`${POLICY_RESOURCES[role]}Rendered`] = {
        Type: 'AWS::IAM::Policy',
        Properties: { PolicyName: role, PolicyDocument: renderPolicy(role, values), Roles: [{ Ref: 'Subject' }] },
      };
    }
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-policies-'));
    try {
      const file = path.join(directory, 'policies.yaml');
      fs.writeFileSync(file, stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: resources }));
      expect(await lint(file)).toEqual({ code: 0, output: '' });
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  test("every action exists, and every resource is of a type the statement's actions take", () => {
    interface ServiceMap {
      Actions: Record<string, { Resources?: string[] }>;
      Resources: Record<string, { ARNFormats: string[] }>;
    }
    const services = JSON.parse(
      fs.readFileSync(path.join(cfnLintDataDir(binary), 'AdditionalSpecs', 'Policies.json'), 'utf8'),
    ) as Record<string, ServiceMap>;
    const formats = (action: string): RegExp[] | undefined => {
      const [service, name] = action.split(':') as [string, string];
      const entry = services[service]?.Actions[name.toLowerCase()];
      if (!entry) throw new Error(`${action} is not an IAM action`);
      return entry.Resources?.flatMap((type) =>
        services[service]!.Resources[type.toLowerCase()]!.ARNFormats.map(
          (format) => new RegExp(`^${format.replace(/\$\{[A-Za-z]+\}/g, '[^:]*')}$`),
        ),
      );
    };
    for (const role of ROLES) {
      for (const statement of renderPolicy(role, values).Statement as PolicyStatement[]) {
        const resources = list(statement.Resource);
        const actions = list(statement.Action).map((action) => ({ action, formats: formats(action) }));
        for (const { action, formats: accepted } of actions) {
          const where = `${role}.json ${statement.Sid} ${action}`;
          if (accepted === undefined || accepted.length === 0) {
            expect([where, resources]).toEqual([where, ['*']]);
          } else {
            expect([where, resources.some((arn) => accepted.some((format) => format.test(arn)))]).toEqual([
              where,
              true,
            ]);
          }
        }
        for (const arn of resources.filter((arn) => arn !== '*')) {
          const used = actions.some(({ formats: accepted }) => accepted?.some((format) => format.test(arn)));
          expect([`${role}.json ${statement.Sid} ${arn}`, used]).toEqual([
            `${role}.json ${statement.Sid} ${arn}`,
            true,
          ]);
        }
      }
    }
  });
});
