import fs from 'node:fs';
import path from 'node:path';
import * as athenaSdk from '@aws-sdk/client-athena';
import * as glueSdk from '@aws-sdk/client-glue';
import { NormalizedSchema } from '@smithy/core/schema';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadConfig } from '../../lib/config';
import { Sha256 } from '../../local-aws/protocol/sigv4';
import { validateInput } from '../../local-aws/protocol/validate';
import { testDatabaseName, testWorkGroupName } from '../helpers/glue';

/**
 * Every response of a Glue and an Athena flow, as it comes over the wire, checked against the
 * operation's output shape in the AWS SDK's model (`<Op>$` schemas): each member of the right kind,
 * required members present, and no member the model does not define (which an SDK would drop).
 */

const config = loadConfig();
const endpoint = config.aws.endpoint!;
const admin = config.aws.credentials.admin!;
const database = testDatabaseName('responses');
const workGroup = testWorkGroupName('responses');

type Sdk = Record<string, unknown>;

function outputSchema(sdk: Sdk, operation: string): NormalizedSchema {
  const raw = sdk[`${operation}$`];
  if (!Array.isArray(raw) || raw[0] !== 9) throw new Error(`the SDK has no operation ${operation}`);
  return NormalizedSchema.of(raw[5] as Parameters<typeof NormalizedSchema.of>[0]);
}

/** Members the model does not define, anywhere in the value. */
function unmodeled(schema: NormalizedSchema, value: unknown, at: string): string[] {
  if (typeof value !== 'object' || value === null) return [];
  if (schema.isListSchema() && Array.isArray(value)) {
    return value.flatMap((item, index) => unmodeled(schema.getValueSchema(), item, `${at}[${index}]`));
  }
  if (schema.isMapSchema()) {
    return Object.entries(value).flatMap(([key, item]) => unmodeled(schema.getValueSchema(), item, `${at}.${key}`));
  }
  if (!schema.isStructSchema()) return [];
  const members = new Map(schema.structIterator());
  return Object.entries(value).flatMap(([key, item]) => {
    const member = members.get(key);
    return member ? unmodeled(member, item, `${at}.${key}`) : [`${at}.${key}`];
  });
}

async function send(
  service: 'glue' | 'athena',
  operation: string,
  input: object,
): Promise<{ status: number; errorType: string | null; output: Record<string, unknown> }> {
  const url = new URL(endpoint);
  const target = service === 'glue' ? `AWSGlue.${operation}` : `AmazonAthena.${operation}`;
  const body = JSON.stringify(input);
  const signer = new SignatureV4({ credentials: admin, region: config.aws.region, service, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body,
  });
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name !== 'host')),
    body,
  });
  const output = (await response.json()) as Record<string, unknown>;
  return { status: response.status, errorType: response.headers.get('x-amzn-errortype'), output };
}

async function call(service: 'glue' | 'athena', operation: string, input: object): Promise<Record<string, unknown>> {
  const { status, output } = await send(service, operation, input);
  expect({ operation, status, output }).toMatchObject({ operation, status: 200 });
  const schema = outputSchema(service === 'glue' ? glueSdk : athenaSdk, operation);
  expect({
    operation,
    problems: validateInput(schema, output).problems,
    unmodeled: unmodeled(schema, output, ''),
  }).toEqual({
    operation,
    problems: [],
    unmodeled: [],
  });
  return output;
}

const glue = (operation: string, input: object = {}) => call('glue', operation, input);
const athena = (operation: string, input: object = {}) => call('athena', operation, input);

afterAll(async () => {
  await send('glue', 'DeleteDatabase', { Name: database });
  await send('athena', 'DeleteWorkGroup', { WorkGroup: workGroup, RecursiveDeleteOption: true });
});

test('a Data Catalog flow answers with the shapes the Glue SDK models', async () => {
  await glue('CreateDatabase', { DatabaseInput: { Name: database, Description: 'responses' } });
  await glue('GetDatabase', { Name: database });
  await glue('GetDatabases', { MaxResults: 5 });
  const tableInput = {
    Name: 'ticks',
    TableType: 'EXTERNAL_TABLE',
    Parameters: { classification: 'json' },
    PartitionKeys: [{ Name: 'dt', Type: 'string' }],
    StorageDescriptor: {
      Columns: [{ Name: 'symbol', Type: 'string' }],
      Location: `s3://${config.s3.bucket}/responses/ticks/`,
      SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
    },
  };
  await glue('CreateTable', { DatabaseName: database, TableInput: tableInput });
  await glue('UpdateTable', { DatabaseName: database, TableInput: { ...tableInput, Description: 'v1' } });
  const { Table } = await glue('GetTable', { DatabaseName: database, Name: 'ticks' });
  expect(Table).toMatchObject({ Name: 'ticks', VersionId: '1' });
  await glue('GetTables', { DatabaseName: database, Expression: 'tick*' });
  const { TableVersions } = await glue('GetTableVersions', { DatabaseName: database, TableName: 'ticks' });
  expect(TableVersions).toHaveLength(2);
  await glue('GetTableVersion', { DatabaseName: database, TableName: 'ticks', VersionId: '0' });
  const partition = { Values: ['2024-01-02'], StorageDescriptor: tableInput.StorageDescriptor };
  await glue('CreatePartition', { DatabaseName: database, TableName: 'ticks', PartitionInput: partition });
  await glue('BatchCreatePartition', {
    DatabaseName: database,
    TableName: 'ticks',
    PartitionInputList: [{ ...partition, Values: ['2024-01-03'] }],
  });
  await glue('GetPartition', { DatabaseName: database, TableName: 'ticks', PartitionValues: ['2024-01-02'] });
  await glue('GetPartitions', { DatabaseName: database, TableName: 'ticks', Expression: "dt >= '2024-01-01'" });
  await glue('BatchGetPartition', {
    DatabaseName: database,
    TableName: 'ticks',
    PartitionsToGet: [{ Values: ['2024-01-02'] }, { Values: ['1999-01-01'] }],
  });
  await glue('BatchDeletePartition', {
    DatabaseName: database,
    TableName: 'ticks',
    PartitionsToDelete: [{ Values: ['2024-01-03'] }, { Values: ['1999-01-01'] }],
  });
  await glue('DeleteTableVersion', { DatabaseName: database, TableName: 'ticks', VersionId: '0' });
  await glue('BatchDeleteTable', { DatabaseName: database, TablesToDelete: ['ticks', 'missing'] });
});

test('an Athena flow answers with the shapes the Athena SDK models', async () => {
  await athena('CreateWorkGroup', {
    Name: workGroup,
    Configuration: { ResultConfiguration: { OutputLocation: `s3://${config.s3.bucket}/athena-results/responses/` } },
  });
  const group = await athena('GetWorkGroup', { WorkGroup: workGroup });
  expect(group).toMatchObject({
    WorkGroup: { Configuration: { EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' } } },
  });
  await athena('ListWorkGroups');
  await athena('ListEngineVersions');
  const { QueryExecutionId } = await athena('StartQueryExecution', {
    QueryString: "SELECT 1 AS n, 'a' AS s, ARRAY[1] AS a, NULL AS z",
    WorkGroup: workGroup,
    ClientRequestToken: `responses-${Date.now()}-${'x'.repeat(20)}`,
  });
  for (;;) {
    const { QueryExecution } = await athena('GetQueryExecution', { QueryExecutionId });
    const state = (QueryExecution as { Status: { State: string } }).Status.State;
    if (state === 'SUCCEEDED') break;
    expect(['QUEUED', 'RUNNING']).toContain(state);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const results = await athena('GetQueryResults', { QueryExecutionId });
  expect(results).toMatchObject({ ResultSet: { Rows: [{}, { Data: [{ VarCharValue: '1' }, {}, {}, {}] }] } });
  await athena('BatchGetQueryExecution', {
    QueryExecutionIds: [QueryExecutionId, '00000000-0000-0000-0000-000000000000'],
  });
  await athena('ListQueryExecutions', { WorkGroup: workGroup });
  const failed = await athena('StartQueryExecution', { QueryString: 'SELECT nope()', WorkGroup: workGroup });
  for (;;) {
    const { QueryExecution } = await athena('GetQueryExecution', { QueryExecutionId: failed.QueryExecutionId });
    const status = (QueryExecution as { Status: { State: string; AthenaError?: unknown } }).Status;
    if (status.State === 'FAILED') {
      expect(status.AthenaError).toMatchObject({ ErrorCategory: 2, ErrorType: 1303, Retryable: false });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await athena('StopQueryExecution', { QueryExecutionId });
});

/** The operations an SDK models: its `<Op>$` operation schemas. */
const operationsOf = (sdk: Sdk) =>
  Object.keys(sdk)
    .filter((name) => name.endsWith('$') && Array.isArray(sdk[name]) && (sdk[name] as unknown[])[0] === 9)
    .map((name) => name.slice(0, -1))
    .sort();

/** Whether the service has the operation: an unknown one is refused before the request is validated. */
async function implemented(service: 'glue' | 'athena', operation: string): Promise<boolean> {
  // Not valid for any operation that changes something: every one of them requires a name.
  const { errorType } = await send(service, operation, { MaxResults: 0 });
  return errorType !== 'UnknownOperationException';
}

test("docs/ARCHITECTURE.md lists the operations the service has of each SDK's model", async () => {
  const lines: string[] = [];
  for (const [service, label, sdk] of [
    ['glue', 'Glue', glueSdk],
    ['athena', 'Athena', athenaSdk],
  ] as const) {
    const all = operationsOf(sdk);
    const have: string[] = [];
    for (const operation of all) if (await implemented(service, operation)) have.push(operation);
    lines.push(`- ${label}: ${have.length} of the ${all.length} operations of the SDK's model: ${have.join(', ')}.`);
  }
  const docs = fs.readFileSync(path.join(__dirname, '../../docs/ARCHITECTURE.md'), 'utf8');
  const section = /<!-- operations:start -->\s*([\s\S]*?)\s*<!-- operations:end -->/.exec(docs)?.[1];
  expect(section).toBe(lines.join('\n'));
});
