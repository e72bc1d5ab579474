import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import {
  BatchCreatePartitionCommand,
  CreateDatabaseCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  UpdateTableCommand,
  type TableInput,
} from '@aws-sdk/client-glue';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { projectionParameters, ticksTableInput } from '../../lib/ticks-table';
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
 * Partition projection in the local Athena, over the real S3 server and Glue: a
 * projected table answers for an hour no crawl has seen, reads only the hours a
 * query names, ignores Glue's partitions (and SHOW PARTITIONS lists only those, as
 * on AWS), and a table whose projection properties Athena would refuse fails the
 * query with Athena's error.
 */

const config = loadConfig();
const { bucket } = config.s3;
const glue = createGlueClient(config, 'admin');
const s3 = createS3Client(config, 'admin');
const admin = createAthenaClient(config, 'admin');
const athena = createAthenaClient(config, 'analyst');
const database = testDatabaseName('projection');
const workGroup = testWorkGroupName('projection');
const topic = uniqueName('projection');
const prefix = `${config.s3.rawPrefix}${topic}/`;
const location = `s3://${bucket}/${prefix}`;

/** The current hour and the one before, as the consumer names their partitions. */
const hourOf = (ms: number) => {
  const iso = new Date(ms).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
};
const now = hourOf(Date.now());
const before = hourOf(Date.now() - 3_600_000);
const OLD = { dt: '2024-01-02', hour: '03' };

/** The ticks table with projection, some of its properties replaced (or removed, when undefined). */
const input = (name: string, changes: Record<string, string | undefined>): TableInput => {
  const table = ticksTableInput(config, { name, location, projection: true });
  const parameters = { ...table.Parameters };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete parameters[key];
    else parameters[key] = value;
  }
  return { ...table, Parameters: parameters };
};

beforeAll(async () => {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  await createTestWorkGroup(admin, config, workGroup);
  await writeTickObjects(s3, bucket, prefix, [
    { ...OLD, objects: [ticks(4)] },
    { ...before, objects: [ticks(3), ticks(2)] },
    { ...now, objects: [ticks(5)] },
  ]);
  await glue.send(
    new CreateTableCommand({
      DatabaseName: database,
      TableInput: input('ticks', { 'projection.dt.range': `${OLD.dt},NOW` }),
    }),
  );
});

afterAll(async () => {
  await glue.send(new DeleteDatabaseCommand({ Name: database })).catch(() => undefined);
  await dropTestWorkGroup(admin, workGroup).catch(() => undefined);
  await deletePrefix(s3, bucket, prefix);
  for (const client of [glue, s3, admin, athena]) client.destroy();
});

async function run(sql: string): Promise<{ execution: QueryExecution; rows: (string | undefined)[][] }> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: workGroup,
      QueryExecutionContext: { Database: database },
    }),
  );
  for (;;) {
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = execution!.Status!.State!;
    if (state === 'FAILED' || state === 'CANCELLED') return { execution: execution!, rows: [] };
    if (state === 'SUCCEEDED') {
      const results = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }));
      // A SELECT's first row is its header; SHOW's results have none, as on Athena.
      const header = execution!.StatementType === 'DML' ? 1 : 0;
      const rows = (results.ResultSet?.Rows ?? [])
        .slice(header)
        .map((row) => (row.Data ?? []).map((d) => d.VarCharValue));
      return { execution: execution!, rows };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const succeeded = async (sql: string) => {
  const result = await run(sql);
  expect({ sql, state: result.execution.Status?.State, reason: result.execution.Status?.StateChangeReason }).toEqual({
    sql,
    state: 'SUCCEEDED',
    reason: undefined,
  });
  return result;
};

test('a query on the current hour answers with no crawl and no partition in Glue', async () => {
  const { rows } = await succeeded(`SELECT count(*) FROM ticks WHERE dt = '${now.dt}' AND hour = '${now.hour}'`);
  expect(rows).toEqual([['5']]);
  const all = await succeeded('SELECT dt, hour, count(*) FROM ticks GROUP BY dt, hour ORDER BY dt, hour');
  expect(all.rows).toEqual(
    [
      [OLD.dt, OLD.hour, '4'],
      [before.dt, before.hour, '5'],
      [now.dt, now.hour, '5'],
    ].sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`)),
  );
});

test('pruning reads only the hours the query names', async () => {
  const bytesOf = async (sql: string) => Number((await succeeded(sql)).execution.Statistics?.DataScannedInBytes);
  const everything = await bytesOf('SELECT count(*) FROM ticks');
  const one = await bytesOf(`SELECT count(*) FROM ticks WHERE dt = '${before.dt}' AND hour = '${before.hour}'`);
  const other = await bytesOf(`SELECT count(*) FROM ticks WHERE dt = '${OLD.dt}' AND hour = '${OLD.hour}'`);
  const none = await bytesOf(`SELECT count(*) FROM ticks WHERE dt = '2024-01-01'`);
  expect(one).toBeGreaterThan(0);
  expect(other).toBeGreaterThan(0);
  // The hours are disjoint: the whole table is the three hours' bytes, and a day with no data reads nothing.
  expect(one + other).toBeLessThan(everything);
  expect(none).toBe(0);
  // A predicate over both keys, a range and an IN list prune the same way.
  const both = await succeeded(
    `SELECT count(*) FROM ticks WHERE concat(dt, '/', hour) IN ('${before.dt}/${before.hour}', '${OLD.dt}/${OLD.hour}')`,
  );
  expect(both.rows).toEqual([['9']]);
  expect(Number(both.execution.Statistics?.DataScannedInBytes)).toBe(one + other);
  const range = await succeeded(`SELECT count(*) FROM ticks WHERE dt > '2024-01-02' AND hour IN ('${now.hour}')`);
  expect(range.rows).toEqual([['5']]);
});

test("Glue's partitions are ignored, and SHOW PARTITIONS lists only them, as on AWS", async () => {
  // A partition registered in Glue that the projection does not produce (hour 99) is never read.
  await glue.send(
    new BatchCreatePartitionCommand({
      DatabaseName: database,
      TableName: 'ticks',
      PartitionInputList: [
        { Values: ['2024-01-02', '99'], StorageDescriptor: { Location: `${location}dt=${OLD.dt}/hour=${OLD.hour}/` } },
      ],
    }),
  );
  expect((await succeeded(`SELECT count(*) FROM ticks WHERE hour = '99'`)).rows).toEqual([['0']]);
  expect((await succeeded('SHOW PARTITIONS ticks')).rows).toEqual([['dt=2024-01-02/hour=99']]);
});

test('an injected key takes the values the WHERE clause names, and refuses a query that names none', async () => {
  await glue.send(
    new CreateTableCommand({
      DatabaseName: database,
      TableInput: input('injected', {
        'projection.dt.type': 'injected',
        'projection.dt.range': undefined,
        'projection.dt.format': undefined,
        'projection.dt.interval': undefined,
        'projection.dt.interval.unit': undefined,
      }),
    }),
  );
  expect((await succeeded(`SELECT count(*) FROM injected WHERE dt IN ('${OLD.dt}', '2024-01-01')`)).rows).toEqual([
    ['4'],
  ]);
  const refused = await run(`SELECT count(*) FROM injected WHERE dt > '2024-01-01'`);
  expect(refused.execution.Status?.State).toBe('FAILED');
  expect(refused.execution.Status?.StateChangeReason).toBe(
    'CONSTRAINT_VIOLATION: Injected projected partition column dt must have only (and at least one) equality conditions in the WHERE clause!',
  );
});

test.each([
  [
    'an hour range that is not two integers',
    { 'projection.hour.range': '0-23' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'hour' failed. Property: 'projection.hour.range' needs to be a list of 2 integers, got '0-23'",
  ],
  [
    'a template without the hour',
    { 'storage.location.template': `${location}dt=\${dt}/` },
    `INVALID_TABLE_PROPERTY: Partition projection location template: ${location}dt=\${dt}/ is missing partition column: 'hour' placeholder`,
  ],
  [
    'a dt range not in its format',
    { 'projection.dt.range': '2024/01/01,NOW' },
    "INVALID_TABLE_PROPERTY: Column projection for column 'dt' failed. Property: 'projection.dt.range' needs to be a list of 2 valid dates formatted as 'yyyy-MM-dd' or 'NOW' with an optional offset such as 'NOW-3DAYS', got '2024/01/01,NOW'",
  ],
])('%s fails the query with Athena’s error, and the table answers again once fixed', async (_what, bad, message) => {
  const name = `bad_${Math.random().toString(36).slice(2, 8)}`;
  await glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: input(name, bad) }));
  const failed = await run(`SELECT count(*) FROM ${name}`);
  expect(failed.execution.Status?.State).toBe('FAILED');
  expect(failed.execution.Status?.StateChangeReason).toBe(message);
  expect(failed.execution.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, Retryable: false });
  await glue.send(
    new UpdateTableCommand({
      DatabaseName: database,
      TableInput: input(name, { 'projection.dt.range': `${OLD.dt},NOW` }),
    }),
  );
  expect((await succeeded(`SELECT count(*) FROM ${name} WHERE dt = '${OLD.dt}'`)).rows).toEqual([['4']]);
});

test('the projection properties are the ones provision and the template set', () => {
  expect(projectionParameters(location)).toEqual({
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': expect.stringMatching(/^\d{4}-\d{2}-\d{2},NOW$/),
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'projection.hour.type': 'integer',
    'projection.hour.range': '0,23',
    'projection.hour.digits': '2',
    'storage.location.template': `${location}dt=\${dt}/hour=\${hour}/`,
  });
});
