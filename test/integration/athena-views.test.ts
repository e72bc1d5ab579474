import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import { CreateDatabaseCommand, CreateTableCommand, DeleteDatabaseCommand } from '@aws-sdk/client-glue';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { prestoViewInput } from '../../lib/glue-view';
import { TICKS_COLUMNS, ticksTableInput } from '../../lib/ticks-table';
import {
  createTestWorkGroup,
  deletePrefix,
  dropTestWorkGroup,
  testDatabaseName,
  testWorkGroupName,
  ticks,
  writeTickObjects,
} from '../helpers/glue';
import { uniqueName } from '../helpers/workers';

/**
 * Glue views (Athena's Presto view format) in the local Athena, over the real S3 server and Glue: a view
 * over two projected tables split at an hour reads each row once, its unqualified names resolve in its own
 * schema, the query's filters reach the tables' partition pruning through it, and a broken view fails the
 * query with a message naming it.
 */

const config = loadConfig();
const { bucket } = config.s3;
const glue = createGlueClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const admin = createAthenaClient(config, 'admin');
const athena = createAthenaClient(config, 'analyst');
const database = testDatabaseName('views');
const workGroup = testWorkGroupName('views');
const topic = uniqueName('views');
const prefixOf = (table: string) => `${config.s3.rawPrefix}${topic}/${table}/`;

const EARLY = { dt: '2024-01-02', hour: '03' };
const LATE = { dt: '2024-01-05', hour: '01' };
const COLUMNS = [...TICKS_COLUMNS.map((column) => column.Name!), 'dt', 'hour'].join(', ');
/** Hours before 2024-01-04 from `older`, the others from `newer`. */
const SPLIT_SQL =
  `SELECT ${COLUMNS} FROM older WHERE dt < '2024-01-04' ` +
  `UNION ALL SELECT ${COLUMNS} FROM newer WHERE dt >= '2024-01-04'`;

beforeAll(async () => {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  await createTestWorkGroup(admin, config, workGroup);
  await writeTickObjects(s3, bucket, prefixOf('older'), [
    { ...EARLY, objects: [ticks(4)] },
    { ...LATE, objects: [ticks(7)] },
  ]);
  await writeTickObjects(s3, bucket, prefixOf('newer'), [
    { ...EARLY, objects: [ticks(6)] },
    { ...LATE, objects: [ticks(2)] },
  ]);
  for (const name of ['older', 'newer']) {
    const location = `s3://${bucket}/${prefixOf(name)}`;
    await glue.send(
      new CreateTableCommand({
        DatabaseName: database,
        TableInput: ticksTableInput(config, { name, location, projection: true, projectionStart: '2024-01-01' }),
      }),
    );
  }
  const columns = [...TICKS_COLUMNS, { Name: 'dt', Type: 'string' }, { Name: 'hour', Type: 'string' }];
  await glue.send(
    new CreateTableCommand({
      DatabaseName: database,
      TableInput: prestoViewInput('split', database, SPLIT_SQL, columns),
    }),
  );
  await glue.send(
    new CreateTableCommand({
      DatabaseName: database,
      TableInput: prestoViewInput('on_split', database, "SELECT * FROM split WHERE symbol = 'HSI'", columns),
    }),
  );
  await glue.send(
    new CreateTableCommand({
      DatabaseName: database,
      TableInput: { ...prestoViewInput('broken', database, 'SELEC nothing', columns) },
    }),
  );
});

afterAll(async () => {
  await glue.send(new DeleteDatabaseCommand({ Name: database })).catch(() => undefined);
  await dropTestWorkGroup(admin, workGroup).catch(() => undefined);
  await deletePrefix(s3, bucket, `${config.s3.rawPrefix}${topic}/`);
  for (const client of [glue, s3, admin, athena]) client.destroy();
});

async function run(sql: string, context = database): Promise<{ execution: QueryExecution; rows: string[][] }> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: workGroup,
      QueryExecutionContext: { Database: context },
    }),
  );
  for (;;) {
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = execution!.Status!.State!;
    if (state === 'FAILED' || state === 'CANCELLED') return { execution: execution!, rows: [] };
    if (state === 'SUCCEEDED') {
      const results = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }));
      const rows = (results.ResultSet?.Rows ?? [])
        .slice(1)
        .map((row) => (row.Data ?? []).map((d) => d.VarCharValue ?? ''));
      return { execution: execution!, rows };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function succeeded(sql: string, context?: string) {
  const result = await run(sql, context);
  expect({ sql, state: result.execution.Status?.State, reason: result.execution.Status?.StateChangeReason }).toEqual({
    sql,
    state: 'SUCCEEDED',
    reason: undefined,
  });
  return result;
}

const scanned = async (sql: string) => Number((await succeeded(sql)).execution.Statistics?.DataScannedInBytes);

test('a view over two tables split at an hour reads each hour from one side', async () => {
  expect((await succeeded('SELECT dt, hour, count(*) FROM split GROUP BY dt, hour ORDER BY dt')).rows).toEqual([
    [EARLY.dt, EARLY.hour, '4'],
    [LATE.dt, LATE.hour, '2'],
  ]);
  // Aliased, joined and nested in another view, it stays the same rows.
  expect((await succeeded('SELECT count(*) FROM split s WHERE s.symbol IS NOT NULL')).rows).toEqual([['6']]);
  expect((await succeeded("SELECT count(*) FROM on_split WHERE dt = '2024-01-02'")).rows).toEqual([['2']]);
  // Unqualified names inside the view resolve in the view's schema, whatever the query's database.
  expect((await succeeded(`SELECT count(*) FROM ${database}.split`, 'default')).rows).toEqual([['6']]);
});

test("the query's filters reach the tables' partition pruning through the view", async () => {
  const early = await scanned(`SELECT count(*) FROM older WHERE dt = '${EARLY.dt}' AND hour = '${EARLY.hour}'`);
  const late = await scanned(`SELECT count(*) FROM newer WHERE dt = '${LATE.dt}' AND hour = '${LATE.hour}'`);
  expect(early).toBeGreaterThan(0);
  expect(await scanned('SELECT count(*) FROM split')).toBe(early + late);
  expect(await scanned(`SELECT count(*) FROM split WHERE dt = '${EARLY.dt}'`)).toBe(early);
  expect(await scanned(`SELECT count(*) FROM split AS s WHERE s.hour = '${LATE.hour}' AND s.dt > '2024-01-03'`)).toBe(
    late,
  );
  expect(await scanned("SELECT count(*) FROM split WHERE dt = '2024-01-03'")).toBe(0);
  // A filter on a data column is not about partitions: both hours are read, the answer filtered.
  const filtered = await succeeded("SELECT count(*) FROM split WHERE symbol = 'N225'");
  expect(filtered.rows).toEqual([['3']]);
});

test('a view whose query is not SQL fails the query naming the view', async () => {
  const failed = await run('SELECT count(*) FROM broken');
  expect(failed.execution.Status?.State).toBe('FAILED');
  expect(failed.execution.Status?.StateChangeReason).toContain(`View '${database}.broken' is stale or in error`);
});
