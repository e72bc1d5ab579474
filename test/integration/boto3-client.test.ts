import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createAthenaClient, createS3Client } from '../../lib/clients';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { ensurePythonEnv } from '../../stack/install';
import {
  createTestWorkGroup,
  deletePrefix,
  dropTestWorkGroup,
  testDatabaseName,
  testWorkGroupName,
  ticks,
  writeTickObjects,
  type TickPartition,
} from '../helpers/glue';

/**
 * The local Glue + Athena service through boto3 (Python), so that its wire
 * protocol is proven against a second AWS client, not only the JS SDK it was
 * built with: SigV4 as botocore signs it, paginators, error codes, timestamps.
 * test/clients/aws_flows.py runs the flows; the answers are computed here.
 */

const config = loadConfig();
const s3 = createS3Client(config, 'admin');
const athenaAdmin = createAthenaClient(config, 'admin');
const database = testDatabaseName('boto3');
const table = 'ticks';
const workGroup = testWorkGroupName('boto3');
const prefix = `${config.s3.rawPrefix}${database}/`;
const partitions: TickPartition[] = [
  { dt: '2024-01-02', hour: '03', objects: [ticks(5), ticks(4, { seq: 99 })] },
  { dt: '2024-01-02', hour: '04', objects: [ticks(3)] },
  { dt: '2024-01-03', hour: '00', objects: [ticks(7)] },
];

let report: Record<string, unknown>;

beforeAll(async () => {
  const python = await ensurePythonEnv(
    path.join(PROJECT_ROOT, 'test/clients/requirements.txt'),
    config.stack.cacheDir,
    path.join(config.stack.dir, 'logs'),
    createLogger('test', 'warn'),
  );
  await writeTickObjects(s3, config.s3.bucket, prefix, partitions);
  await createTestWorkGroup(athenaAdmin, config, workGroup);
  const keys = (role: 'admin' | 'analyst') => ({
    id: config.aws.credentials[role]!.accessKeyId,
    secret: config.aws.credentials[role]!.secretAccessKey,
  });
  const spec = {
    endpoint: config.aws.endpoint,
    region: config.aws.region,
    keys: { admin: keys('admin'), analyst: keys('analyst') },
    database,
    table,
    location: `s3://${config.s3.bucket}/${prefix}`,
    partitions: partitions.map(({ dt, hour }) => ({ dt, hour })),
    partitionExpression: "dt = '2024-01-02' AND hour >= '04' OR dt > '2024-01-02'",
    workGroup,
    token: `boto3-${database}`.padEnd(32, '0'),
  };
  const run = spawnSync(python, [path.join(PROJECT_ROOT, 'test/clients/aws_flows.py')], {
    input: JSON.stringify(spec),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`aws_flows.py exited with ${run.status ?? run.signal}:\n${run.stderr}`);
  report = JSON.parse(run.stdout) as Record<string, unknown>;
}, 600_000);

afterAll(async () => {
  await deletePrefix(s3, config.s3.bucket, prefix);
  await dropTestWorkGroup(athenaAdmin, workGroup);
  s3.destroy();
  athenaAdmin.destroy();
});

test('Glue through boto3: the table as created, paginated listings, expressions on names and partitions', () => {
  expect(report.partitionErrors).toEqual([]);
  expect(report.table).toEqual({
    name: table,
    columns: ['symbol', 'price', 'size', 'side', 'ts', 'run_id', 'seq'],
    partitionKeys: ['dt', 'hour'],
    createTimeIsDate: true,
  });
  expect(report.tablePages).toEqual([[table], [`${table}_b`], [`${table}_c`]]);
  expect(report.tablesMatching).toEqual([`${table}_b`, `${table}_c`]);
  expect(report.tableVersions).toEqual([[['1', 'second version']], [['0', null]]]);
  expect(report.partitionsMatching).toEqual([
    ['2024-01-02', '04'],
    ['2024-01-03', '00'],
  ]);
});

test('Glue through boto3: errors carry AWS codes; the analyst may not change the catalog', () => {
  expect(report.missingTable).toMatchObject({ code: 'EntityNotFoundException', status: 400 });
  expect(report.analystCreatesDatabase).toMatchObject({ code: 'AccessDeniedException', status: 400 });
  expect((report.analystCreatesDatabase as { message: string }).message).toContain('glue:CreateDatabase');
  expect(report.afterDelete).toMatchObject({ code: 'EntityNotFoundException' });
});

test('Athena through boto3: the query reads only its day, pages of 2 rows join to the answer computed here', () => {
  const day = partitions.filter(({ dt }) => dt === '2024-01-02').flatMap(({ objects }) => objects.flat());
  const expected = new Map<string, { trades: number; volume: number; high: number }>();
  for (const tick of day) {
    const symbol = tick.symbol as string;
    const row = expected.get(symbol) ?? { trades: 0, volume: 0, high: -Infinity };
    row.trades += 1;
    row.volume += tick.size as number;
    row.high = Math.max(row.high, tick.price as number);
    expected.set(symbol, row);
  }
  const answer = [...expected]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([symbol, row]) => [symbol, String(row.trades), String(row.volume), String(row.high)]);

  expect(report.query).toMatchObject({ state: 'SUCCEEDED', output: expect.stringMatching(/\.csv$/) });
  expect((report.query as { scanned: number }).scanned).toBeGreaterThan(0);
  expect(report.columns).toEqual([
    ['symbol', 'varchar'],
    ['trades', 'bigint'],
    ['volume', 'bigint'],
    ['high', 'double'],
  ]);
  expect(report.rows).toEqual([['symbol', 'trades', 'volume', 'high'], ...answer]);
  expect(report.sameTokenSameId).toBe(true);
  expect(report.engineVersion).toEqual({
    SelectedEngineVersion: 'AUTO',
    EffectiveEngineVersion: 'Athena engine version 3',
  });
  expect(report.sameTokenOtherQuery).toMatchObject({ code: 'InvalidRequestException', status: 400 });
  expect(report.listed).toBe(true);
  expect(report.analystLists).toMatchObject({ code: 'AccessDeniedException', status: 400 });
  expect(report.failedQuery).toMatchObject({
    state: 'FAILED',
    reason: expect.stringContaining('TABLE_NOT_FOUND'),
  });
});

test('SigV4 as botocore signs it: a wrong secret and an unknown key are refused with AWS codes', () => {
  expect(report.wrongSecret).toMatchObject({ code: 'InvalidSignatureException', status: 403 });
  expect(report.unknownKey).toMatchObject({ code: 'UnrecognizedClientException', status: 403 });
});
