import {
  AthenaClient,
  BatchGetQueryExecutionCommand,
  CreateWorkGroupCommand,
  DeleteWorkGroupCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetWorkGroupCommand,
  ListEngineVersionsCommand,
  ListQueryExecutionsCommand,
  ListWorkGroupsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecution,
  type QueryExecutionState,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { CreateDatabaseCommand, DeleteDatabaseCommand } from '@aws-sdk/client-glue';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig, type Config } from '../../lib/config';
import { createTestWorkGroup, dropTestWorkGroup, testDatabaseName, testWorkGroupName } from '../helpers/glue';
import { runScript, withOwnService } from '../helpers/scripts';
import { uniqueName } from '../helpers/workers';

/**
 * The local Athena API through @aws-sdk/client-athena, as a user's code calls
 * it: states, statistics, result files, paging, idempotency, stopping, queueing
 * and AWS-shaped errors.
 */

const config = loadConfig();
const athena = createAthenaClient(config, 'analyst');
const s3 = createS3Client(config, 'admin');
const { bucket } = config.s3;
const outputLocation = `s3://${bucket}/athena-results/test/`;

/** A query that runs for minutes unless stopped: 10^12 combinations. */
const SLOW_SQL =
  'SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) ' +
  'CROSS JOIN UNNEST(sequence(1, 10000)) AS c(z) WHERE x + y + z = 7';

const glue = createGlueClient(config, 'admin');
const admin = createAthenaClient(config, 'admin');
/** An empty database of the test's own, for the unknown-table case. */
const database = testDatabaseName('athena_test');
/** The analyst's work group for these tests (its policy grants the stack's work group and its siblings). */
const workGroup = testWorkGroupName('athena-test');

beforeAll(async () => {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  await createTestWorkGroup(admin, config, workGroup);
});

afterAll(async () => {
  await glue.send(new DeleteDatabaseCommand({ Name: database }));
  await dropTestWorkGroup(admin, workGroup);
  admin.destroy();
  athena.destroy();
  glue.destroy();
  s3.destroy();
});

async function start(
  sql: string,
  input: Partial<StartQueryExecutionCommandInput> = {},
  client: AthenaClient = athena,
): Promise<string> {
  const { QueryExecutionId } = await client.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: workGroup,
      ResultConfiguration: { OutputLocation: outputLocation },
      ...input,
    }),
  );
  expect(QueryExecutionId).toMatch(/^[0-9a-f-]{36}$/);
  return QueryExecutionId!;
}

async function execution(id: string, client: AthenaClient = athena): Promise<QueryExecution> {
  return (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!;
}

async function waitFor(
  id: string,
  states: QueryExecutionState[],
  client: AthenaClient = athena,
  timeoutMs = 60_000,
): Promise<QueryExecution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await execution(id, client);
    if (states.includes(found.Status!.State!)) return found;
    if (Date.now() > deadline) throw new Error(`query ${id} stayed ${found.Status?.State}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const over: QueryExecutionState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

async function run(sql: string, input: Partial<StartQueryExecutionCommandInput> = {}): Promise<QueryExecution> {
  return waitFor(await start(sql, input), over);
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

const values = (rows: { Data?: { VarCharValue?: string }[] }[] | undefined) =>
  (rows ?? []).map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue ?? null));

describe('executions', () => {
  test('a SELECT succeeds with statistics, typed columns, a header row and result files in S3', async () => {
    const before = Date.now();
    const done = await run(
      "SELECT 42 AS answer, 'it''s' AS text, CAST(NULL AS varchar) AS missing, 2.5e0 AS ratio, " +
        "from_iso8601_timestamp('2024-01-02T03:04:05.678Z') AS at",
    );
    expect(done.Status).toMatchObject({ State: 'SUCCEEDED' });
    expect(done.StatementType).toBe('DML');
    expect(done.QueryExecutionContext).toEqual({ Catalog: 'awsdatacatalog', Database: 'default' });
    expect(done.Status!.SubmissionDateTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(done.Status!.CompletionDateTime!.getTime()).toBeGreaterThanOrEqual(
      done.Status!.SubmissionDateTime!.getTime(),
    );
    const statistics = done.Statistics!;
    for (const field of [
      'EngineExecutionTimeInMillis',
      'QueryQueueTimeInMillis',
      'QueryPlanningTimeInMillis',
      'TotalExecutionTimeInMillis',
      'DataScannedInBytes',
    ] as const) {
      expect(typeof statistics[field]).toBe('number');
    }
    expect(statistics.TotalExecutionTimeInMillis).toBeGreaterThanOrEqual(statistics.EngineExecutionTimeInMillis!);
    expect(statistics.DataScannedInBytes).toBe(0);

    const id = done.QueryExecutionId!;
    expect(done.ResultConfiguration?.OutputLocation).toBe(`${outputLocation}${id}.csv`);
    const results = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
    expect(values(results.ResultSet?.Rows)).toEqual([
      ['answer', 'text', 'missing', 'ratio', 'at'],
      ['42', "it's", null, '2.5', '2024-01-02 03:04:05.678 UTC'],
    ]);
    expect(results.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((column) => [column.Name, column.Type])).toEqual([
      ['answer', 'integer'],
      ['text', 'varchar'],
      ['missing', 'varchar'],
      ['ratio', 'double'],
      ['at', 'timestamp with time zone'],
    ]);
    expect(results.NextToken).toBeUndefined();

    const read = async (key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    const key = `athena-results/test/${id}.csv`;
    expect(await read(key)).toBe(
      '"answer","text","missing","ratio","at"\n"42","it\'s",,"2.5","2024-01-02 03:04:05.678 UTC"\n',
    );
    const metadata = JSON.parse(await read(`${key}.metadata`)) as { ColumnInfo: { Name: string; Type: string }[] };
    expect(metadata.ColumnInfo.map((column) => column.Type)).toEqual([
      'integer',
      'varchar',
      'varchar',
      'double',
      'timestamp with time zone',
    ]);
  });

  test('GetQueryResults pages 2,500 rows by 1,000 with the header on the first page only', async () => {
    const done = await run('SELECT x, x * 2 AS twice FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x');
    expect(done.Status?.State).toBe('SUCCEEDED');
    const pages: (string | null)[][][] = [];
    let token: string | undefined;
    do {
      const page = await athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: done.QueryExecutionId, NextToken: token, MaxResults: 1000 }),
      );
      pages.push(values(page.ResultSet?.Rows));
      expect(page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((column) => column.Name)).toEqual(['x', 'twice']);
      token = page.NextToken;
    } while (token);
    expect(pages.map((page) => page.length)).toEqual([1000, 1000, 501]);
    expect(pages[0]![0]).toEqual(['x', 'twice']);
    const rows = pages.flat().slice(1);
    expect(rows).toHaveLength(2500);
    expect(rows.every((row, index) => row[0] === String(index + 1) && row[1] === String(2 * (index + 1)))).toBe(true);

    const error = await errorOf(
      athena.send(new GetQueryResultsCommand({ QueryExecutionId: done.QueryExecutionId, MaxResults: 1001 })),
    );
    expect(error.name).toBe('InvalidRequestException');
  });

  test('utility and DDL statements have their statement type and no header row', async () => {
    const done = await run('SHOW DATABASES');
    expect(done.Status?.State).toBe('SUCCEEDED');
    expect(done.StatementType).toBe('DDL');
    const rows = values(
      (await athena.send(new GetQueryResultsCommand({ QueryExecutionId: done.QueryExecutionId }))).ResultSet?.Rows,
    );
    expect(rows.flat()).not.toContain('database_name');
  });

  test('the same ClientRequestToken starts one query; reused with other parameters it is refused', async () => {
    const token = uniqueName('token').padEnd(32, '0');
    const first = await start('SELECT 1', { ClientRequestToken: token });
    const again = await start('SELECT 1', { ClientRequestToken: token });
    expect(again).toBe(first);
    const error = await errorOf(start('SELECT 2', { ClientRequestToken: token }));
    expect(error.name).toBe('InvalidRequestException');
    expect(error.message).toMatch(/idempotent parameters do not match/i);
    expect((await waitFor(first, over)).Status?.State).toBe('SUCCEEDED');
  });

  test('a running query is stopped: CANCELLED, and the service answers the next query', async () => {
    const id = await start(SLOW_SQL);
    await waitFor(id, ['RUNNING']);
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    const stopped = await waitFor(id, over, athena, 20_000);
    expect(stopped.Status).toMatchObject({ State: 'CANCELLED', StateChangeReason: 'Query was cancelled by user' });
    // Stopping a query that is over changes nothing.
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    expect((await execution(id)).Status?.State).toBe('CANCELLED');
    expect((await run('SELECT 1')).Status?.State).toBe('SUCCEEDED');
  });

  test('queries beyond the running slots wait QUEUED, in order, and none is lost', async () => {
    const slow = [await start(SLOW_SQL), await start(SLOW_SQL)];
    await Promise.all(slow.map((id) => waitFor(id, ['RUNNING'])));
    const waiting = await start('SELECT 7');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await execution(waiting)).Status?.State).toBe('QUEUED');
    for (const id of slow) await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    const done = await waitFor(waiting, over);
    expect(done.Status?.State).toBe('SUCCEEDED');
    expect(done.Statistics?.QueryQueueTimeInMillis).toBeGreaterThanOrEqual(250);
    // Stopping a queued query cancels it without running it.
    const more = [await start(SLOW_SQL), await start(SLOW_SQL)];
    const queued = await start(SLOW_SQL);
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queued }));
    expect((await waitFor(queued, over)).Status?.State).toBe('CANCELLED');
    for (const id of more) await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    await Promise.all(more.map((id) => waitFor(id, over)));
  });

  test('ListQueryExecutions pages newest first; BatchGetQueryExecution reports unknown ids', async () => {
    const ids = [await start('SELECT 1'), await start('SELECT 2'), await start('SELECT 3')];
    // Listing the history is the admin's (the analyst's policy has no ListQueryExecutions, which nothing it runs needs).
    const page = await admin.send(new ListQueryExecutionsCommand({ WorkGroup: workGroup, MaxResults: 2 }));
    expect(page.QueryExecutionIds).toEqual([ids[2], ids[1]]);
    const next = await admin.send(
      new ListQueryExecutionsCommand({ WorkGroup: workGroup, MaxResults: 2, NextToken: page.NextToken }),
    );
    expect(next.QueryExecutionIds?.[0]).toBe(ids[0]);
    const missing = '00000000-0000-0000-0000-000000000000';
    const batch = await admin.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [ids[0]!, missing] }));
    expect(batch.QueryExecutions?.map((found) => found.QueryExecutionId)).toEqual([ids[0]]);
    expect(batch.UnprocessedQueryExecutionIds).toEqual([
      expect.objectContaining({ QueryExecutionId: missing, ErrorCode: 'INVALID_INPUT' }),
    ]);
  });
});

describe('work groups', () => {
  test('primary exists; a new work group with an enforced output location directs every query there; deleting', async () => {
    const groups = await admin.send(new ListWorkGroupsCommand({}));
    expect(groups.WorkGroups?.map((group) => group.Name)).toContain('primary');
    const name = testWorkGroupName('wg');
    await admin.send(
      new CreateWorkGroupCommand({
        Name: name,
        Configuration: {
          ResultConfiguration: { OutputLocation: `s3://${bucket}/athena-results/${name}/` },
          EnforceWorkGroupConfiguration: true,
        },
      }),
    );
    const duplicate = await errorOf(admin.send(new CreateWorkGroupCommand({ Name: name })));
    expect(duplicate.name).toBe('InvalidRequestException');
    const group = (await athena.send(new GetWorkGroupCommand({ WorkGroup: name }))).WorkGroup;
    expect(group?.Configuration?.ResultConfiguration?.OutputLocation).toBe(`s3://${bucket}/athena-results/${name}/`);
    expect(group?.Configuration?.EngineVersion).toEqual({
      SelectedEngineVersion: 'AUTO',
      EffectiveEngineVersion: 'Athena engine version 3',
    });
    const engines = await admin.send(new ListEngineVersionsCommand({}));
    expect(engines.EngineVersions?.map((engine) => engine.EffectiveEngineVersion)).toEqual([
      'Athena engine version 3',
      'Athena engine version 3',
    ]);
    const done = await run('SELECT 1', { WorkGroup: name });
    expect(done.ResultConfiguration?.OutputLocation).toBe(
      `s3://${bucket}/athena-results/${name}/${done.QueryExecutionId}.csv`,
    );
    expect(done.WorkGroup).toBe(name);

    const notEmpty = await errorOf(admin.send(new DeleteWorkGroupCommand({ WorkGroup: name })));
    expect(notEmpty.message).toMatch(/is not empty/);
    await admin.send(new DeleteWorkGroupCommand({ WorkGroup: name, RecursiveDeleteOption: true }));
    expect((await errorOf(athena.send(new GetWorkGroupCommand({ WorkGroup: name })))).name).toBe(
      'InvalidRequestException',
    );
    const primary = await errorOf(admin.send(new DeleteWorkGroupCommand({ WorkGroup: 'primary' })));
    expect(primary.message).toMatch(/primary workgroup cannot be deleted/);
  });

  test('deleting a work group with queries running and queued stops them, and the service goes on', async () => {
    const name = testWorkGroupName('busy');
    await createTestWorkGroup(admin, config, name);
    // Two run (the engine's two slots), the third waits in the queue.
    const ids = [];
    for (let index = 0; index < 3; index++) ids.push(await start(SLOW_SQL, { WorkGroup: name }));
    await waitFor(ids[0]!, ['RUNNING']);
    await admin.send(new DeleteWorkGroupCommand({ WorkGroup: name, RecursiveDeleteOption: true }));
    for (const id of ids) {
      const gone = await errorOf(athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id })));
      expect(gone.name).toBe('InvalidRequestException');
    }
    // The stopped queries end without taking the service with them; it answers and runs the next query.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await run('SELECT 1')).Status?.State).toBe('SUCCEEDED');
  });
});

describe('bad input answers with AWS-shaped errors, and the service keeps answering', () => {
  test('requests refused at the API', async () => {
    const missingGroup = testWorkGroupName('missing');
    const cases: [Partial<StartQueryExecutionCommandInput>, RegExp][] = [
      [{ QueryString: '' }, /queryString.*length greater than or equal to 1/],
      [{ QueryString: '   ' }, /queryString/],
      [{ WorkGroup: missingGroup }, new RegExp(`WorkGroup ${missingGroup} is not found`)],
      [
        { ResultConfiguration: { OutputLocation: 'not-a-url' } },
        /S3 location provided to save your query results is invalid/,
      ],
    ];
    for (const [input, message] of cases) {
      const error = await errorOf(start('SELECT 1', input));
      expect(error.name).toBe('InvalidRequestException');
      expect(error.message).toMatch(message);
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
    const unknown = await errorOf(
      athena.send(new GetQueryExecutionCommand({ QueryExecutionId: '00000000-0000-0000-0000-000000000000' })),
    );
    expect(unknown.name).toBe('InvalidRequestException');
    const id = await start(SLOW_SQL);
    const early = await errorOf(athena.send(new GetQueryResultsCommand({ QueryExecutionId: id })));
    expect(early.message).toMatch(/Query has not yet finished/);
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    await waitFor(id, over);
  });

  test('queries that fail: FAILED with the reason and an AthenaError', async () => {
    const cases: [string, Partial<StartQueryExecutionCommandInput>, RegExp][] = [
      ['SELEC 1', {}, /^SYNTAX_ERROR: line 1:1: mismatched input 'SELEC'/],
      [
        'SELECT * FROM no_such_table',
        { QueryExecutionContext: { Database: database } },
        new RegExp(`^TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog\\.${database}\\.no_such_table' does not exist`),
      ],
      [
        'SELECT * FROM t',
        { QueryExecutionContext: { Database: `${config.glue.database}_no_such_database` } },
        /^SCHEMA_NOT_FOUND: .*Schema '\w+_no_such_database' does not exist/,
      ],
      // The analyst reads only the stack's databases: elsewhere Glue refuses, before it says whether the table exists.
      [
        'SELECT * FROM elsewhere.t',
        {},
        /^AccessDeniedException: User: arn:aws:iam::000000000000:user\/ticksync-analyst is not authorized to perform: glue:GetTable on resource: arn:aws:glue:[\w-]+:000000000000:table\/elsewhere\/t because no identity-based policy allows the glue:GetTable action/,
      ],
      ['SELECT no_such_function(1)', {}, /FUNCTION_NOT_FOUND.*no_such_function/],
      ["SELECT * FROM read_csv('/etc/passwd')", {}, /read_csv/],
      ["COPY (SELECT 1) TO '/tmp/ticksync-escape.csv'", {}, /./],
      ["ATTACH '/tmp/ticksync-escape.db' AS escape", {}, /./],
      ['INSTALL httpfs', {}, /./],
      ["SET memory_limit = '100GB'", {}, /./],
    ];
    for (const [sql, input, reason] of cases) {
      const done = await run(sql, input);
      expect({ sql, state: done.Status?.State }).toEqual({ sql, state: 'FAILED' });
      expect(done.Status?.StateChangeReason).toMatch(reason);
      expect(done.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, Retryable: false });
      expect(typeof done.Status?.AthenaError?.ErrorType).toBe('number');
      const error = await errorOf(athena.send(new GetQueryResultsCommand({ QueryExecutionId: done.QueryExecutionId })));
      expect(error.message).toMatch(/FAILED/);
    }
    expect((await run('SELECT 1')).Status?.State).toBe('SUCCEEDED');
  });

  test('an output location the caller may not write fails the query with an access error', async () => {
    const done = await run('SELECT 1', {
      ResultConfiguration: { OutputLocation: `s3://${uniqueName('no-such-bucket').slice(0, 60)}/results/` },
    });
    expect(done.Status?.State).toBe('FAILED');
    expect(done.Status?.StateChangeReason).toMatch(/Access denied when writing output to url/);
    expect(done.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, Retryable: false });
  });
});

test('executions survive a restart of the service; results are read back from S3', async () => {
  await withOwnService('aws', async (env) => {
    const own: Config = loadConfig({ ...process.env, ...env });
    const client = createAthenaClient(own, 'analyst');
    const ownAdmin = createAthenaClient(own, 'admin');
    try {
      await createTestWorkGroup(ownAdmin, own, workGroup);
      const id = await start('SELECT x FROM UNNEST(sequence(1, 3)) AS t(x)', {}, client);
      await waitFor(id, over, client);
      const running = await start(SLOW_SQL, {}, client);
      await waitFor(running, ['RUNNING'], client);
      expect((await runScript('stack', ['down', 'aws'], env)).code).toBe(0);
      expect((await runScript('stack', ['up', 'aws'], env)).code).toBe(0);
      expect((await execution(id, client)).Status?.State).toBe('SUCCEEDED');
      const results = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
      expect(values(results.ResultSet?.Rows)).toEqual([['x'], ['1'], ['2'], ['3']]);
      const lost = await execution(running, client);
      expect(lost.Status?.State).toBe('FAILED');
      expect(lost.Status?.AthenaError?.Retryable).toBe(true);
    } finally {
      ownAdmin.destroy();
      client.destroy();
    }
  });
});
