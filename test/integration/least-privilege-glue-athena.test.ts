import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetWorkGroupCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import {
  BatchCreatePartitionCommand,
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreateTableCommand,
  DeleteCrawlerCommand,
  DeleteDatabaseCommand,
  DeleteTableCommand,
  GetCrawlerCommand,
  GetDatabaseCommand,
  GetDatabasesCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GetTablesCommand,
  GlueClient,
  StartCrawlerCommand,
  StopCrawlerCommand,
  UpdateTableCommand,
  type TableInput,
} from '@aws-sdk/client-glue';
import { evaluate } from '../../iam/evaluate';
import { policyValuesFor, renderPolicy } from '../../iam/policies';
import { createAthenaClient, createGlueClient } from '../../lib/clients';
import { LOCAL_ACCOUNT_ID, loadConfig, ROLES, type Role } from '../../lib/config';
import {
  createTestWorkGroup,
  dropTestWorkGroup,
  testCrawlerName,
  testDatabaseName,
  testWorkGroupName,
} from '../helpers/glue';

/**
 * Least privilege in the local Glue and Athena: every role's keys against every
 * Glue and Athena call of the pipeline, on the deployment's own resources and on
 * others, each allowed or refused with AccessDeniedException exactly as the role's
 * policy document says; then the pipeline's rules spelled out, and the catalog
 * reads a query makes checked with the caller's Glue permissions.
 */

const config = loadConfig();
const values = policyValuesFor(config, LOCAL_ACCOUNT_ID);
const { region } = config.aws;
const glueClients = Object.fromEntries(ROLES.map((role) => [role, createGlueClient(config, role)])) as Record<
  Role,
  GlueClient
>;
const athenaClients = Object.fromEntries(ROLES.map((role) => [role, createAthenaClient(config, role)])) as Record<
  Role,
  AthenaClient
>;

/** The deployment's resources (siblings of the stack's names), and the same kinds outside them. */
const database = testDatabaseName('lp');
const outsideDatabase = 'elsewhere';
const table = 'ticks';
const crawler = testCrawlerName('lp');
const workGroup = testWorkGroupName('lp');
const outsideWorkGroup = 'primary';
/** Created by the tests if a role were (wrongly) allowed to: removed after. */
const newDatabase = testDatabaseName('lp_new');
const newWorkGroup = testWorkGroupName('lp-new');
let execution: string;

const tableInput: TableInput = {
  Name: table,
  TableType: 'EXTERNAL_TABLE',
  PartitionKeys: [{ Name: 'dt', Type: 'string' }],
  StorageDescriptor: {
    Columns: [{ Name: 'symbol', Type: 'string' }],
    Location: `s3://${config.s3.bucket}/${config.s3.rawPrefix}lp/`,
    InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
  },
};

const admin = { glue: glueClients.admin, athena: athenaClients.admin };

async function finished(client: AthenaClient, id: string): Promise<QueryExecution> {
  for (;;) {
    const { QueryExecution: found } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    if (!['QUEUED', 'RUNNING'].includes(found!.Status!.State!)) return found!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  await admin.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  await admin.glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: tableInput }));
  await createTestWorkGroup(admin.athena, config, workGroup);
  const started = await admin.athena.send(
    new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: workGroup }),
  );
  execution = started.QueryExecutionId!;
  await finished(admin.athena, execution);
});

afterAll(async () => {
  const ignore = () => undefined;
  await admin.glue.send(new DeleteDatabaseCommand({ Name: database })).catch(ignore);
  await admin.glue.send(new DeleteDatabaseCommand({ Name: newDatabase })).catch(ignore);
  await admin.glue.send(new DeleteCrawlerCommand({ Name: crawler })).catch(ignore);
  await dropTestWorkGroup(admin.athena, workGroup).catch(ignore);
  await dropTestWorkGroup(admin.athena, newWorkGroup).catch(ignore);
  for (const client of [...Object.values(glueClients), ...Object.values(athenaClients)]) client.destroy();
});

const glueArn = (resource: string) => `arn:aws:glue:${region}:${LOCAL_ACCOUNT_ID}:${resource}`;
const catalogArns = (db: string, tableName?: string) => [
  glueArn('catalog'),
  glueArn(`database/${db}`),
  ...(tableName === undefined ? [] : [glueArn(`table/${db}/${tableName}`)]),
];
const workGroupArn = (name: string) => `arn:aws:athena:${region}:${LOCAL_ACCOUNT_ID}:workgroup/${name}`;

interface Call {
  /** The IAM action, and every resource it is authorised on. */
  action: string;
  resources: string[];
  send: (role: Role) => Promise<unknown>;
}

/** A call with a role's client; the command is built anew for each call. */
type Send = (command: unknown) => Promise<unknown>;
const glueCall = (action: string, resources: string[], command: () => unknown): Call => ({
  action,
  resources,
  send: (role) => (glueClients[role].send.bind(glueClients[role]) as Send)(command()),
});
const athenaCall = (action: string, resources: string[], command: () => unknown): Call => ({
  action,
  resources,
  send: (role) => (athenaClients[role].send.bind(athenaClients[role]) as Send)(command()),
});

/**
 * The calls, each built to be harmless when allowed: writes aim at what exists
 * already or is missing, so an allowed call fails after authorisation (with
 * AlreadyExists or EntityNotFound) instead of changing the pipeline's state.
 */
const CALLS: Record<string, Call> = {
  'GetDatabase on the lake database': glueCall(
    'glue:GetDatabase',
    catalogArns(database),
    () => new GetDatabaseCommand({ Name: database }),
  ),
  'GetDatabase elsewhere': glueCall(
    'glue:GetDatabase',
    catalogArns(outsideDatabase),
    () => new GetDatabaseCommand({ Name: outsideDatabase }),
  ),
  CreateDatabase: glueCall(
    'glue:CreateDatabase',
    catalogArns(newDatabase),
    () => new CreateDatabaseCommand({ DatabaseInput: { Name: newDatabase } }),
  ),
  GetTables: glueCall(
    'glue:GetTables',
    catalogArns(database, '*'),
    () => new GetTablesCommand({ DatabaseName: database }),
  ),
  GetTable: glueCall(
    'glue:GetTable',
    catalogArns(database, table),
    () => new GetTableCommand({ DatabaseName: database, Name: table }),
  ),
  'GetTable elsewhere': glueCall(
    'glue:GetTable',
    catalogArns(outsideDatabase, table),
    () => new GetTableCommand({ DatabaseName: outsideDatabase, Name: table }),
  ),
  'CreateTable (exists)': glueCall(
    'glue:CreateTable',
    catalogArns(database, table),
    () => new CreateTableCommand({ DatabaseName: database, TableInput: tableInput }),
  ),
  'CreateTable elsewhere': glueCall(
    'glue:CreateTable',
    catalogArns(outsideDatabase, table),
    () => new CreateTableCommand({ DatabaseName: outsideDatabase, TableInput: tableInput }),
  ),
  'UpdateTable (missing)': glueCall(
    'glue:UpdateTable',
    catalogArns(database, 'missing'),
    () => new UpdateTableCommand({ DatabaseName: database, TableInput: { ...tableInput, Name: 'missing' } }),
  ),
  'DeleteTable (missing)': glueCall(
    'glue:DeleteTable',
    catalogArns(database, 'missing'),
    () => new DeleteTableCommand({ DatabaseName: database, Name: 'missing' }),
  ),
  GetPartitions: glueCall(
    'glue:GetPartitions',
    catalogArns(database, table),
    () => new GetPartitionsCommand({ DatabaseName: database, TableName: table }),
  ),
  'BatchCreatePartition (missing table)': glueCall(
    'glue:BatchCreatePartition',
    catalogArns(database, 'missing'),
    () =>
      new BatchCreatePartitionCommand({
        DatabaseName: database,
        TableName: 'missing',
        PartitionInputList: [{ Values: ['2024-01-02'] }],
      }),
  ),
  CreateCrawler: glueCall(
    'glue:CreateCrawler',
    [glueArn(`crawler/${crawler}`)],
    () =>
      new CreateCrawlerCommand({
        Name: crawler,
        Role: config.glue.crawlerRole,
        DatabaseName: database,
        Targets: { S3Targets: [{ Path: tableInput.StorageDescriptor!.Location }] },
      }),
  ),
  // The crawler is never created (no role but the admin may): these are allowed only as far as EntityNotFound.
  'GetCrawler (missing)': glueCall(
    'glue:GetCrawler',
    [glueArn(`crawler/${crawler}-x`)],
    () => new GetCrawlerCommand({ Name: `${crawler}-x` }),
  ),
  'StartCrawler (missing)': glueCall(
    'glue:StartCrawler',
    [glueArn(`crawler/${crawler}-x`)],
    () => new StartCrawlerCommand({ Name: `${crawler}-x` }),
  ),
  'StartCrawler elsewhere': glueCall(
    'glue:StartCrawler',
    [glueArn('crawler/elsewhere')],
    () => new StartCrawlerCommand({ Name: 'elsewhere' }),
  ),
  'StopCrawler (missing)': glueCall(
    'glue:StopCrawler',
    [glueArn(`crawler/${crawler}-x`)],
    () => new StopCrawlerCommand({ Name: `${crawler}-x` }),
  ),
  StartQueryExecution: athenaCall(
    'athena:StartQueryExecution',
    [workGroupArn(workGroup)],
    () => new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: workGroup }),
  ),
  'StartQueryExecution in primary': athenaCall(
    'athena:StartQueryExecution',
    [workGroupArn(outsideWorkGroup)],
    () =>
      new StartQueryExecutionCommand({
        QueryString: 'SELECT 1',
        WorkGroup: outsideWorkGroup,
        ResultConfiguration: { OutputLocation: `s3://${config.s3.bucket}/athena-results/` },
      }),
  ),
  GetQueryExecution: athenaCall(
    'athena:GetQueryExecution',
    [workGroupArn(workGroup)],
    () => new GetQueryExecutionCommand({ QueryExecutionId: execution }),
  ),
  GetQueryResults: athenaCall(
    'athena:GetQueryResults',
    [workGroupArn(workGroup)],
    () => new GetQueryResultsCommand({ QueryExecutionId: execution }),
  ),
  'StopQueryExecution (finished)': athenaCall(
    'athena:StopQueryExecution',
    [workGroupArn(workGroup)],
    () => new StopQueryExecutionCommand({ QueryExecutionId: execution }),
  ),
  GetWorkGroup: athenaCall(
    'athena:GetWorkGroup',
    [workGroupArn(workGroup)],
    () => new GetWorkGroupCommand({ WorkGroup: workGroup }),
  ),
  CreateWorkGroup: athenaCall(
    'athena:CreateWorkGroup',
    [workGroupArn(newWorkGroup)],
    () => new CreateWorkGroupCommand({ Name: newWorkGroup }),
  ),
};

/** What the role's document says of the call: allowed only if every resource it is authorised on allows it. */
const documented = (role: Role, call: Call) =>
  role === 'admin' ||
  call.resources.every(
    (resource) => evaluate([renderPolicy(role, values)], { action: call.action, resource }) === 'allowed',
  )
    ? 'allowed'
    : 'AccessDeniedException';

/** 'allowed' when the service got past authorisation (whatever it answered next), else the error's name. */
const outcome = (call: Promise<unknown>) =>
  call.then(
    () => 'allowed',
    (error: Error) => (error.name === 'AccessDeniedException' ? error.name : 'allowed'),
  );

const cases = ROLES.flatMap((role) => Object.keys(CALLS).map((name) => [role, name] as const));

test.each(cases)('%s: %s is as its policy says', async (role, name) => {
  const call = CALLS[name]!;
  expect(await outcome(call.send(role))).toBe(documented(role, call));
});

test("the pipeline's rules hold in the local Glue and Athena", async () => {
  const may = async (role: Role, name: string) => (await outcome(CALLS[name]!.send(role))) === 'allowed';
  // The ingest worker and the producer touch neither the catalog nor Athena.
  for (const role of ['ingest', 'producer'] as const) {
    for (const name of ['GetTable', 'StartCrawler (missing)', 'StartQueryExecution', 'CreateTable (exists)'])
      expect({ role, name, allowed: await may(role, name) }).toEqual({ role, name, allowed: false });
  }
  // The crawler reads and writes tables of the lake database, runs its crawler, and runs no query.
  expect(await may('crawler', 'CreateTable (exists)')).toBe(true);
  expect(await may('crawler', 'StartCrawler (missing)')).toBe(true);
  expect(await may('crawler', 'CreateTable elsewhere')).toBe(false);
  expect(await may('crawler', 'StartCrawler elsewhere')).toBe(false);
  expect(await may('crawler', 'DeleteTable (missing)')).toBe(false);
  expect(await may('crawler', 'StartQueryExecution')).toBe(false);
  // The analyst queries in its work group and reads the catalog; it cannot change the catalog.
  expect(await may('analyst', 'StartQueryExecution')).toBe(true);
  expect(await may('analyst', 'GetPartitions')).toBe(true);
  expect(await may('analyst', 'StartQueryExecution in primary')).toBe(false);
  for (const name of ['CreateTable (exists)', 'UpdateTable (missing)', 'DeleteTable (missing)', 'CreateDatabase'])
    expect({ name, allowed: await may('analyst', name) }).toEqual({ name, allowed: false });
  // The compactor publishes in the lake database's tables and partitions, and runs neither crawler nor query.
  for (const name of ['GetTable', 'GetPartitions', 'CreateTable (exists)', 'UpdateTable (missing)'])
    expect({ name, allowed: await may('compactor', name) }).toEqual({ name, allowed: true });
  expect(await may('compactor', 'BatchCreatePartition (missing table)')).toBe(true);
  for (const name of [
    'CreateTable elsewhere',
    'DeleteTable (missing)',
    'CreateDatabase',
    'StartCrawler (missing)',
    'StartQueryExecution',
  ])
    expect({ name, allowed: await may('compactor', name) }).toEqual({ name, allowed: false });
  // The admin provisions.
  for (const name of ['CreateDatabase', 'CreateCrawler', 'CreateWorkGroup'])
    expect({ name, allowed: await may('admin', name) }).toEqual({ name, allowed: true });
});

test('the refusal names the caller, the action and the resource, as AWS words it', async () => {
  const error = (await glueClients.analyst
    .send(new CreateTableCommand({ DatabaseName: database, TableInput: tableInput }))
    .catch((caught: unknown) => caught)) as Error & { $metadata?: { httpStatusCode?: number } };
  expect(error.name).toBe('AccessDeniedException');
  expect(error.$metadata?.httpStatusCode).toBe(400);
  expect(error.message).toBe(
    `User: arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/ticksync-analyst is not authorized to perform: glue:CreateTable on resource: ${glueArn(`table/${database}/${table}`)} because no identity-based policy allows the glue:CreateTable action`,
  );
});

test('GetDatabases lists only the databases the caller may see', async () => {
  await admin.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: outsideDatabase } })).catch(() => undefined);
  try {
    const names = async (role: Role) => {
      const found: string[] = [];
      let token: string | undefined;
      do {
        const page = await glueClients[role].send(new GetDatabasesCommand({ NextToken: token }));
        found.push(...(page.DatabaseList ?? []).map((db) => db.Name!));
        token = page.NextToken;
      } while (token);
      return found;
    };
    expect(await names('admin')).toEqual(expect.arrayContaining([database, outsideDatabase]));
    const analyst = await names('analyst');
    expect(analyst).toContain(database);
    expect(analyst).not.toContain(outsideDatabase);
    expect(analyst.every((name) => name === config.glue.database || name.startsWith(`${config.glue.database}_`))).toBe(
      true,
    );
  } finally {
    await admin.glue.send(new DeleteDatabaseCommand({ Name: outsideDatabase })).catch(() => undefined);
  }
});

test("a query reads the catalog with the caller's Glue permissions", async () => {
  await admin.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: outsideDatabase } })).catch(() => undefined);
  await admin.glue
    .send(new CreateTableCommand({ DatabaseName: outsideDatabase, TableInput: tableInput }))
    .catch(() => undefined);
  try {
    const run = async (role: Role, sql: string) => {
      const { QueryExecutionId } = await athenaClients[role].send(
        new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: workGroup }),
      );
      return finished(athenaClients[role], QueryExecutionId!);
    };
    // The lake's table: the analyst reads it (no rows: nothing under its location).
    expect((await run('analyst', `SELECT count(*) FROM ${database}.${table}`)).Status?.State).toBe('SUCCEEDED');
    // The same table in a database outside the analyst's policy: Glue refuses, the query fails with its words.
    const refused = await run('analyst', `SELECT count(*) FROM ${outsideDatabase}.${table}`);
    expect(refused.Status?.State).toBe('FAILED');
    expect(refused.Status?.StateChangeReason).toMatch(
      new RegExp(
        `^AccessDeniedException: User: arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/ticksync-analyst is not authorized to perform: glue:GetTable on resource: ${glueArn(`table/${outsideDatabase}/${table}`)} `,
      ),
    );
    expect(refused.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, ErrorType: 1501, Retryable: false });
    // The admin (the account's root) reads it.
    expect((await run('admin', `SELECT count(*) FROM ${outsideDatabase}.${table}`)).Status?.State).toBe('SUCCEEDED');
    // SHOW DATABASES lists what the caller may see.
    const shown = await run('analyst', 'SHOW DATABASES');
    expect(shown.Status?.State).toBe('SUCCEEDED');
    const rows = await athenaClients.analyst.send(
      new GetQueryResultsCommand({ QueryExecutionId: shown.QueryExecutionId }),
    );
    const listed = (rows.ResultSet?.Rows ?? []).map((row) => row.Data?.[0]?.VarCharValue);
    expect(listed).toContain(database);
    expect(listed).not.toContain(outsideDatabase);
  } finally {
    await admin.glue.send(new DeleteDatabaseCommand({ Name: outsideDatabase })).catch(() => undefined);
  }
});
