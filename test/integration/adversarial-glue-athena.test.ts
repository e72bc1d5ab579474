import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  type AthenaClient,
  BatchGetQueryExecutionCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  CreateDatabaseCommand,
  CreatePartitionCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  GetDatabaseCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GetTablesCommand,
  StartCrawlerCommand,
  type TableInput,
} from '@aws-sdk/client-glue';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createAthenaClient, createGlueClient, createS3Client } from '../../lib/clients';
import { loadConfig, PROJECT_ROOT, type Role } from '../../lib/config';
import { rawRequest, type RawAnswer } from '../helpers/aws-raw';
import {
  createTestCrawler,
  createTestWorkGroup,
  deletePrefix,
  dropTestCrawler,
  dropTestWorkGroup,
  testCrawlerName,
  testDatabaseName,
  testWorkGroupName,
  uniqueGlueName,
  waitForCrawlerReady,
} from '../helpers/glue';

/**
 * The local Glue + Athena service under attack: SQL that tries to reach DuckDB's
 * catalogs, settings and files; requests whose signature does not cover what they
 * do; names that are property names; bodies built to break the state; work built
 * to stall the service; roles asking for what their policy does not grant. Every
 * case asserts the AWS-shaped refusal, that the secret (data only the admin may
 * read) did not reach the caller, that no file appeared where an attack aimed one,
 * and that the service still answers a signed request afterwards.
 */

const config = loadConfig();
const { bucket } = config.s3;
const glue = (role: Role) => createGlueClient(config, role);
const athena = (role: Role) => createAthenaClient(config, role);
const clients = { adminGlue: glue('admin'), adminAthena: athena('admin'), analystAthena: athena('analyst') };
const s3: S3Client = createS3Client(config, 'admin');

const database = testDatabaseName('adv');
const workGroup = testWorkGroupName('adv');
const run = uniqueGlueName('adv').replace(/_/g, '-');
/** Objects the analyst may read (raw/), and objects it may not (dlq/, a private results folder). */
const rawPrefix = `${config.s3.rawPrefix}${run}/`;
const secretPrefix = `${config.s3.dlqPrefix}${run}/`;
const privateResults = `private-results/${run}/`;
const SECRET = `SECRET-${crypto.randomUUID()}`;
const cacheRoot = path.join(config.stack.dir, 'aws', 'athena-cache', 'objects');
/** Where an attack would put a file: none of them may gain an entry named after the case. */
const watchedFolders = [
  os.tmpdir(),
  PROJECT_ROOT,
  path.join(config.stack.dir, 'aws'),
  path.join(config.stack.dir, 'aws', 'athena-cache'),
  cacheRoot,
];

const tableInput = (name: string, location: string, extra: Partial<TableInput> = {}): TableInput => ({
  Name: name,
  TableType: 'EXTERNAL_TABLE',
  StorageDescriptor: {
    Columns: [
      { Name: 'symbol', Type: 'string' },
      { Name: 'price', Type: 'double' },
    ],
    Location: `s3://${bucket}/${location}`,
    InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
  },
  ...extra,
});
const LONG_NAME = 'a'.repeat(200);

beforeAll(async () => {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${rawPrefix}part-0.json`,
      Body: '{"symbol":"HSI","price":1.5}\n{"symbol":"N225","price":2.5}\n',
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: `${secretPrefix}part-0.json`, Body: `{"symbol":"${SECRET}"}\n` }),
  );
  await clients.adminGlue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  for (const [name, location] of [
    ['ticks', rawPrefix],
    ['secret', secretPrefix],
    [LONG_NAME, rawPrefix],
  ] as const) {
    await clients.adminGlue.send(
      new CreateTableCommand({ DatabaseName: database, TableInput: tableInput(name, location) }),
    );
  }
  await clients.adminGlue.send(
    new CreateTableCommand({
      DatabaseName: database,
      TableInput: tableInput('by_day', rawPrefix, { PartitionKeys: [{ Name: 'dt', Type: 'string' }] }),
    }),
  );
  await clients.adminGlue.send(
    new CreatePartitionCommand({
      DatabaseName: database,
      TableName: 'by_day',
      PartitionInput: { Values: [LONG_NAME], StorageDescriptor: { Location: `s3://${bucket}/${rawPrefix}` } },
    }),
  );
  await createTestWorkGroup(clients.adminAthena, config, workGroup);
});

afterAll(async () => {
  const ignore = () => undefined;
  await clients.adminGlue.send(new DeleteDatabaseCommand({ Name: database })).catch(ignore);
  await dropTestWorkGroup(clients.adminAthena, workGroup).catch(ignore);
  for (const prefix of [rawPrefix, secretPrefix, privateResults]) await deletePrefix(s3, bucket, prefix).catch(ignore);
  for (const client of Object.values(clients)) client.destroy();
  s3.destroy();
});

async function finished(client: AthenaClient, id: string): Promise<QueryExecution> {
  for (;;) {
    const { QueryExecution: found } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    if (!['QUEUED', 'RUNNING'].includes(found!.Status!.State!)) return found!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function query(role: Role, sql: string, outputLocation?: string): Promise<QueryExecution> {
  const client = role === 'admin' ? clients.adminAthena : clients.analystAthena;
  const { QueryExecutionId } = await client.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: workGroup,
      QueryExecutionContext: { Database: database },
      ...(outputLocation && { ResultConfiguration: { OutputLocation: outputLocation } }),
    }),
  );
  return finished(client, QueryExecutionId!);
}

async function rows(client: AthenaClient, id: string): Promise<string[][]> {
  const { ResultSet } = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
  return (ResultSet?.Rows ?? []).map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue ?? ''));
}

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => error,
  );

/**
 * No text the caller got back holds the secret, the cache's folder, or the engine's and DuckDB's
 * names for their insides, unless the caller wrote them itself (Athena echoes a missing table's name).
 */
function expectNoLeak(text: string, sent = ''): void {
  expect(text).not.toContain(SECRET);
  for (const inside of [cacheRoot, 'allowed_directories', 'enable_external_access', '__athena_cte_']) {
    if (!sent.includes(inside)) expect(text).not.toContain(inside);
  }
}

/** What the watched folders held before the suite: a file of the machine's own named like a case is no leak. */
const entriesBefore = new Map<string, Set<string>>();
const entriesOf = (folder: string) => (fs.existsSync(folder) ? fs.readdirSync(folder) : []);
beforeAll(() => {
  for (const folder of watchedFolders) entriesBefore.set(folder, new Set(entriesOf(folder)));
});

/** After each case: nothing named after it appeared where an attack aims, and the service answers. */
async function expectIntact(marker: string): Promise<void> {
  for (const folder of watchedFolders) {
    const before = entriesBefore.get(folder) ?? new Set<string>();
    const found = entriesOf(folder).filter((name) => name.includes(marker) && !before.has(name));
    expect({ folder, found }).toEqual({ folder, found: [] });
  }
  const { Database } = await clients.adminGlue.send(new GetDatabaseCommand({ Name: database }));
  expect(Database?.Name).toBe(database);
}

const fill = (sql: string, marker: string) =>
  sql
    .replaceAll('{marker}', marker)
    .replaceAll('{tmp}', os.tmpdir())
    .replaceAll('{cache}', cacheRoot)
    .replaceAll('{stack}', config.stack.dir);

/** Names DuckDB has for its own insides: a query may reach none of them. */
const DUCKDB_RELATIONS = [
  'pg_settings',
  'duckdb_settings',
  'duckdb_tables',
  'duckdb_views',
  'duckdb_databases',
  'pg_class',
  'sqlite_master',
];

const SQL_ATTACKS: [string, string, RegExp][] = [
  // One resolution path: a WITH query's body sees only the queries declared before it.
  ...DUCKDB_RELATIONS.map((name): [string, string, RegExp] => [
    `a forward WITH reference to ${name}`,
    `WITH a AS (SELECT * FROM ${name}), ${name} AS (SELECT 1 AS x) SELECT * FROM a`,
    new RegExp(`^TABLE_NOT_FOUND: line 1:\\d+: Table 'awsdatacatalog\\.${database}\\.${name}' does not exist`),
  ]),
  ...DUCKDB_RELATIONS.map((name): [string, string, RegExp] => [
    `${name} named directly`,
    `SELECT * FROM ${name}`,
    /^TABLE_NOT_FOUND: /,
  ]),
  [
    'a forward reference under WITH RECURSIVE',
    'WITH RECURSIVE a AS (SELECT * FROM pg_settings), pg_settings AS (SELECT 1 AS x) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a WITH query naming itself without RECURSIVE',
    'WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in a subquery of WHERE',
    'WITH a AS (SELECT 1 AS x WHERE 1 IN (SELECT 1 FROM duckdb_tables)), duckdb_tables AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in UNION ALL',
    "WITH a AS (SELECT name FROM pg_settings UNION ALL SELECT 'y'), pg_settings AS (SELECT 'z' AS name) SELECT * FROM a",
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in INTERSECT',
    'WITH a AS (SELECT 1 AS x INTERSECT SELECT 1 FROM pg_settings), pg_settings AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in EXCEPT',
    'WITH a AS (SELECT 1 AS x EXCEPT SELECT 2 FROM pg_settings), pg_settings AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in a lateral join',
    'WITH a AS (SELECT * FROM (VALUES (1)) AS v(x) CROSS JOIN LATERAL (SELECT * FROM pg_settings) AS p), pg_settings AS (SELECT 1 AS y) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference joined with VALUES',
    'WITH a AS (SELECT * FROM (VALUES (1)) AS v(x) JOIN duckdb_settings AS s ON true), duckdb_settings AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference inside a nested WITH',
    'WITH pg_settings AS (SELECT 1 AS x) SELECT * FROM (WITH a AS (SELECT * FROM b), b AS (SELECT * FROM pg_settings) SELECT * FROM a)',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a quoted forward reference',
    'WITH a AS (SELECT * FROM "pg_settings"), "pg_settings" AS (SELECT 1 AS x) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in another case',
    'WITH a AS (SELECT * FROM PG_Settings), pg_settings AS (SELECT 1 AS x) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in a scalar subquery',
    'WITH a AS (SELECT (SELECT count(*) FROM pg_settings) AS n), pg_settings AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'a forward reference in EXISTS',
    'WITH a AS (SELECT 1 AS x WHERE EXISTS (SELECT 1 FROM pg_settings)), pg_settings AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  ["the engine's own WITH name", 'SELECT * FROM __athena_cte_0', /^TABLE_NOT_FOUND: /],
  [
    "the engine's WITH name behind a user WITH of that form",
    'WITH __athena_cte_1 AS (SELECT 1 AS x), a AS (SELECT * FROM __athena_cte_0) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  [
    'information_schema of DuckDB',
    'SELECT * FROM information_schema.tables',
    /^(SCHEMA_NOT_FOUND|AccessDeniedException): /,
  ],
  ['pg_catalog of DuckDB', 'SELECT * FROM pg_catalog.pg_settings', /^(SCHEMA_NOT_FOUND|AccessDeniedException): /],
  ['the main schema of DuckDB', 'SELECT * FROM main.pg_settings', /^(SCHEMA_NOT_FOUND|AccessDeniedException): /],
  ['the memory catalog of DuckDB', 'SELECT * FROM memory.main.duckdb_settings', /^CATALOG_NOT_FOUND: /],
  ['the system catalog of DuckDB', 'SELECT * FROM system.main.duckdb_settings', /^CATALOG_NOT_FOUND: /],
  ['the temp catalog of DuckDB', 'SELECT * FROM temp.main.x', /^CATALOG_NOT_FOUND: /],
  ['DuckDB settings among joined tables', 'SELECT * FROM ticks t, pg_settings', /^TABLE_NOT_FOUND: /],
  [
    'DuckDB tables in a set operation after VALUES',
    'VALUES (1) UNION SELECT count(*) FROM duckdb_tables',
    /^TABLE_NOT_FOUND: /,
  ],
  ['DuckDB tables under UNNEST', 'SELECT * FROM UNNEST(ARRAY[1]) AS t(x) CROSS JOIN pg_settings', /^TABLE_NOT_FOUND: /],
  ['FROM-first syntax naming settings', 'SELECT 1 UNION ALL SELECT * FROM (FROM pg_settings)', /^TABLE_NOT_FOUND: /],
  // Files and paths as table names, readers, settings.
  ['a quoted file path as a table', 'SELECT * FROM "/etc/passwd"', /^TABLE_NOT_FOUND: /],
  ['a string file path as a table', "SELECT * FROM '/etc/passwd'", /^(TABLE_NOT_FOUND|SYNTAX_ERROR): /],
  ['a glob over the cache as a table', 'SELECT * FROM "{cache}/**"', /^TABLE_NOT_FOUND: /],
  ['a string glob over the cache', "SELECT * FROM '{cache}/*/*/*'", /^(TABLE_NOT_FOUND|SYNTAX_ERROR): /],
  [
    'a forward reference to a glob over the cache',
    'WITH a AS (SELECT * FROM "{cache}/**/*.json"), x AS (SELECT 1) SELECT * FROM a',
    /^TABLE_NOT_FOUND: /,
  ],
  ['read_json_auto over the cache', "SELECT * FROM read_json_auto('{cache}/**')", /^FUNCTION_NOT_FOUND: /],
  ['read_text', "SELECT * FROM read_text('/etc/passwd')", /^FUNCTION_NOT_FOUND: /],
  ['glob', "SELECT * FROM glob('{cache}/**')", /^FUNCTION_NOT_FOUND: /],
  ['duckdb_settings()', 'SELECT * FROM duckdb_settings()', /^FUNCTION_NOT_FOUND: /],
  ['current_setting', "SELECT current_setting('allowed_directories')", /^FUNCTION_NOT_FOUND: /],
  ['query()', "SELECT * FROM query('SELECT * FROM pg_settings')", /^FUNCTION_NOT_FOUND: /],
  ['query_table()', "SELECT * FROM query_table('pg_settings')", /^FUNCTION_NOT_FOUND: /],
  ['getenv', "SELECT getenv('HOME')", /^FUNCTION_NOT_FOUND: /],
  ['a reader inside a lambda', "SELECT transform(ARRAY[1], x -> read_text('/etc/passwd'))", /^FUNCTION_NOT_FOUND: /],
  // Statements other than queries.
  ['ATTACH', "ATTACH '{tmp}/{marker}.db' AS x", /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['COPY TO a file', "COPY (SELECT 1) TO '{tmp}/{marker}.csv'", /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['COPY into the cache', "COPY (SELECT 1) TO '{cache}/{marker}.csv'", /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['EXPORT DATABASE', "EXPORT DATABASE '{tmp}/{marker}'", /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['INSTALL', 'INSTALL httpfs', /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['LOAD', 'LOAD httpfs', /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['SET', "SET allowed_directories = ['/']", /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['PRAGMA', 'PRAGMA database_list', /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['CALL', 'CALL duckdb_settings()', /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['CREATE TABLE AS', 'CREATE TABLE t{marker} AS SELECT 1', /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['CREATE MACRO', 'CREATE MACRO m() AS 1', /^NOT_SUPPORTED: |^SYNTAX_ERROR: /],
  ['a second statement', "SELECT 1; COPY (SELECT 1) TO '{tmp}/{marker}.csv'", /^NOT_SUPPORTED: /],
  // Property names as table and schema names.
  ['__proto__ as a table', 'SELECT * FROM "__proto__"', /^TABLE_NOT_FOUND: /],
  ['constructor as a table', 'SELECT * FROM constructor', /^TABLE_NOT_FOUND: /],
  ['toString as a table', 'SELECT * FROM "toString"', /^TABLE_NOT_FOUND: /],
  ['__proto__ as a schema', 'SELECT * FROM "__proto__".ticks', /^(SCHEMA_NOT_FOUND|AccessDeniedException): /],
  ['constructor as a schema', 'SELECT * FROM constructor.ticks', /^(SCHEMA_NOT_FOUND|AccessDeniedException): /],
  // Trino's caps on the arrays a query makes.
  ['sequence beyond 10,000 entries', 'SELECT cardinality(sequence(1, 20000))', /^INVALID_FUNCTION_ARGUMENT: /],
  [
    'a day sequence beyond 10,000 entries',
    "SELECT cardinality(sequence(DATE '2000-01-01', DATE '2100-01-01'))",
    /^INVALID_FUNCTION_ARGUMENT: /,
  ],
  [
    'a timestamp sequence beyond 10,000 entries',
    "SELECT cardinality(sequence(TIMESTAMP '2000-01-01 00:00:00', TIMESTAMP '2001-01-01 00:00:00', INTERVAL '1' MINUTE))",
    /^INVALID_FUNCTION_ARGUMENT: /,
  ],
  ['repeat beyond 10,000', "SELECT cardinality(repeat('x', 20000))", /^INVALID_FUNCTION_ARGUMENT: /],
  [
    'sequence inside a lambda beyond 10,000',
    'SELECT transform(ARRAY[1], x -> cardinality(sequence(x, 100000)))',
    /^INVALID_FUNCTION_ARGUMENT: /,
  ],
];

describe('SQL that reaches for more than the catalog grants', () => {
  test('control: the analyst reads its own table', async () => {
    const done = await query('analyst', 'SELECT symbol FROM ticks ORDER BY symbol');
    expect(done.Status?.State).toBe('SUCCEEDED');
    expect(await rows(clients.analystAthena, done.QueryExecutionId!)).toEqual([['symbol'], ['HSI'], ['N225']]);
  });

  test.each(SQL_ATTACKS)('%s is refused', async (_name, template, expected) => {
    const marker = `adv${crypto.randomBytes(6).toString('hex')}`;
    const sql = fill(template, marker);
    const done = await query('analyst', sql);
    expect(done.Status?.State).toBe('FAILED');
    expect(done.Status?.StateChangeReason).toMatch(expected);
    expect(done.Status?.AthenaError?.ErrorCategory).toBe(2);
    // What the service says back (the query text echoed is the caller's own).
    expectNoLeak(JSON.stringify(done.Status), sql);
    await expectIntact(marker);
  });
});

describe('property names in SQL reach no inherited member, for the root either', () => {
  test.each([
    ['SELECT * FROM constructor.ticks', /^SCHEMA_NOT_FOUND: /],
    ['SELECT * FROM "__proto__".ticks', /^SCHEMA_NOT_FOUND: /],
    ['SELECT * FROM "hasOwnProperty".ticks', /^SCHEMA_NOT_FOUND: /],
    ['SELECT * FROM "toString"', /^TABLE_NOT_FOUND: /],
    ['SELECT * FROM "__proto__"', /^TABLE_NOT_FOUND: /],
  ])('admin: %s', async (sql, expected) => {
    const done = await query('admin', sql);
    expect(done.Status?.State).toBe('FAILED');
    expect(done.Status?.StateChangeReason).toMatch(expected);
    await expectIntact('admin-proto');
  });
});

describe('object reads are authorised per caller, cached or not', () => {
  test('after the admin has read the secret (cached), the analyst is refused by S3 and sees none of it', async () => {
    const admin = await query('admin', 'SELECT symbol FROM secret', `s3://${bucket}/${privateResults}`);
    expect(admin.Status?.State).toBe('SUCCEEDED');
    expect(await rows(clients.adminAthena, admin.QueryExecutionId!)).toEqual([['symbol'], [SECRET]]);
    const analyst = await query('analyst', 'SELECT symbol FROM secret');
    expect(analyst.Status?.State).toBe('FAILED');
    expect(analyst.Status?.StateChangeReason).toMatch(/Access Denied|AccessDenied|Forbidden/i);
    expectNoLeak(JSON.stringify(analyst.Status));
    await expectIntact('secret');
  });

  test('a join of a readable table with the cached secret is refused as a whole', async () => {
    const analyst = await query('analyst', 'SELECT t.symbol, s.symbol FROM ticks t CROSS JOIN secret s');
    expect(analyst.Status?.State).toBe('FAILED');
    expectNoLeak(JSON.stringify(analyst.Status));
    await expectIntact('join');
  });

  test('the secret through a forward WITH reference is refused the same way', async () => {
    const analyst = await query('analyst', 'WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM secret');
    expect(analyst.Status?.State).toBe('FAILED');
    expectNoLeak(JSON.stringify(analyst.Status));
    await expectIntact('forward-secret');
  });

  test("the analyst cannot page the admin's results kept where it may not read", async () => {
    const admin = await query('admin', 'SELECT symbol FROM secret', `s3://${bucket}/${privateResults}`);
    const error = await caught(
      clients.analystAthena.send(new GetQueryResultsCommand({ QueryExecutionId: admin.QueryExecutionId })),
    );
    expect(error?.name).toBe('InvalidRequestException');
    expectNoLeak(String(error?.message));
    await expectIntact('results');
  });
});

describe('SigV4 covers what the request does', () => {
  const getDatabase = JSON.stringify({ Name: database });
  const cases: [string, () => Promise<RawAnswer>, number, string, RegExp][] = [
    [
      'host left out of SignedHeaders',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { unsigned: ['host'] }),
      403,
      'InvalidSignatureException',
      /^'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization\.$/,
    ],
    [
      'x-amz-date left out of SignedHeaders',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { unsigned: ['x-amz-date'] }),
      403,
      'InvalidSignatureException',
      /^'X-Amz-Date' must be a 'SignedHeader'/,
    ],
    [
      'x-amz-target left out and the operation changed after signing',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          unsigned: ['x-amz-target'],
          afterSigning: { 'x-amz-target': 'AWSGlue.DeleteDatabase' },
        }),
      403,
      'InvalidSignatureException',
      /^'X-Amz-Target' must be a 'SignedHeader'/,
    ],
    [
      'x-amz-target left out, operation unchanged',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { unsigned: ['x-amz-target'] }),
      403,
      'InvalidSignatureException',
      /^'X-Amz-Target' must be a 'SignedHeader'/,
    ],
    [
      'a signed x-amz-target changed after signing',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          afterSigning: { 'x-amz-target': 'AWSGlue.DeleteDatabase' },
        }),
      403,
      'InvalidSignatureException',
      /^The request signature we calculated does not match/,
    ],
    [
      'the body changed after signing',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          sentBody: JSON.stringify({ Name: 'ticksync' }),
        }),
      403,
      'InvalidSignatureException',
      /^The request signature we calculated does not match/,
    ],
    [
      'a wrong secret',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          credentials: { ...config.aws.credentials.admin!, secretAccessKey: 'not-the-secret' },
        }),
      403,
      'InvalidSignatureException',
      /^The request signature we calculated does not match/,
    ],
    [
      'an unknown key',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          credentials: { accessKeyId: 'AKIAUNKNOWNKEY', secretAccessKey: 'whatever' },
        }),
      403,
      'UnrecognizedClientException',
      /^The security token included in the request is invalid\.$/,
    ],
    [
      'a signature 20 minutes old',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { date: new Date(Date.now() - 20 * 60_000) }),
      403,
      'InvalidSignatureException',
      /^Signature expired/,
    ],
    [
      'a signature 20 minutes ahead',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { date: new Date(Date.now() + 20 * 60_000) }),
      403,
      'InvalidSignatureException',
      /^Signature not yet current/,
    ],
    [
      'a Glue operation signed for Athena',
      () => rawRequest(config, 'AWSGlue.DeleteDatabase', getDatabase, { service: 'athena' }),
      403,
      'InvalidSignatureException',
      /^Credential should be scoped to correct service: 'glue'\.$/,
    ],
    [
      'another region',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { region: 'mars-north-1' }),
      403,
      'InvalidSignatureException',
      /^Credential should be scoped to a valid region/,
    ],
    [
      'another algorithm',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          authorization:
            'AWS4-HMAC-SHA1 Credential=x/20240101/us-east-1/glue/aws4_request, SignedHeaders=host, Signature=00',
        }),
      400,
      'IncompleteSignatureException',
      /^Unsupported AWS 'algorithm'/,
    ],
    [
      'no signature at all',
      () => rawRequest(config, 'AWSGlue.DeleteDatabase', getDatabase, { sign: false }),
      403,
      'MissingAuthenticationTokenException',
      /^Missing Authentication Token$/,
    ],
    [
      'an Authorization header without its Signature',
      () =>
        rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, {
          authorization: `AWS4-HMAC-SHA256 Credential=${config.aws.credentials.admin!.accessKeyId}/20240101/${config.aws.region}/glue/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target`,
        }),
      400,
      'IncompleteSignatureException',
      /^Authorization header requires 'Signature' parameter/,
    ],
    [
      'an x-amz-date that is not a date',
      () => rawRequest(config, 'AWSGlue.GetDatabase', getDatabase, { afterSigning: { 'x-amz-date': 'yesterday' } }),
      400,
      'IncompleteSignatureException',
      /^Date must be in ISO-8601 'basic format'/,
    ],
  ];

  test.each(cases)('%s is refused', async (_name, send, status, errorType, message) => {
    const answer = await send();
    expect(answer).toMatchObject({ status, errorType, body: { __type: errorType } });
    expect(String(answer.body.message)).toMatch(message);
    expectNoLeak(JSON.stringify(answer.body));
    await expectIntact(`sigv4-${errorType}`);
  });
});

describe('names that are property names are names like any other', () => {
  const PROPERTY_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
  const cases: [string, string, string, string][] = [
    ...PROPERTY_NAMES.map((name): [string, string, string, string] => [
      `GetDatabase ${name}`,
      'AWSGlue.GetDatabase',
      JSON.stringify({ Name: name }),
      'EntityNotFoundException',
    ]),
    ...PROPERTY_NAMES.map((name): [string, string, string, string] => [
      `GetTable ${name}`,
      'AWSGlue.GetTable',
      JSON.stringify({ DatabaseName: database, Name: name }),
      'EntityNotFoundException',
    ]),
    ...['__proto__', 'constructor', 'toString'].map((name): [string, string, string, string] => [
      `GetPartitions of table ${name}`,
      'AWSGlue.GetPartitions',
      JSON.stringify({ DatabaseName: database, TableName: name }),
      'EntityNotFoundException',
    ]),
    ...['__proto__', 'constructor', 'toString'].map((name): [string, string, string, string] => [
      `GetCrawler ${name}`,
      'AWSGlue.GetCrawler',
      JSON.stringify({ Name: name }),
      'EntityNotFoundException',
    ]),
  ];
  const athenaCases: [string, string, string][] = [
    ...['__proto__', 'constructor', 'toString'].map((name): [string, string, string] => [
      `GetWorkGroup ${name}`,
      'AmazonAthena.GetWorkGroup',
      JSON.stringify({ WorkGroup: name }),
    ]),
    ...['__proto__', 'constructor', 'toString'].map((name): [string, string, string] => [
      `GetQueryExecution ${name}`,
      'AmazonAthena.GetQueryExecution',
      JSON.stringify({ QueryExecutionId: name }),
    ]),
  ];

  test.each(cases)('%s is not found', async (_name, target, body, errorType) => {
    const answer = await rawRequest(config, target, body);
    expect(answer).toMatchObject({ status: 400, errorType, body: { __type: errorType } });
    expectNoLeak(JSON.stringify(answer.body));
    await expectIntact('proto');
  });

  test.each(athenaCases)('%s is not found', async (_name, target, body) => {
    const answer = await rawRequest(config, target, body, { service: 'athena' });
    expect(answer).toMatchObject({ status: 400, errorType: 'InvalidRequestException' });
    expectNoLeak(JSON.stringify(answer.body));
    await expectIntact('proto');
  });

  test('a database named __proto__ is stored and found as itself, and changes nothing else', async () => {
    const name = '__proto__';
    await clients.adminGlue.send(
      new CreateDatabaseCommand({
        DatabaseInput: {
          Name: name,
          Parameters: JSON.parse('{"constructor":"c","__proto__":"p"}') as Record<string, string>,
        },
      }),
    );
    try {
      const { Database } = await clients.adminGlue.send(new GetDatabaseCommand({ Name: name }));
      expect(Database?.Name).toBe(name);
      expect(Object.entries(Database?.Parameters ?? {}).sort()).toEqual([
        ['__proto__', 'p'],
        ['constructor', 'c'],
      ]);
      const other = await caught(clients.adminGlue.send(new GetDatabaseCommand({ Name: 'constructor' })));
      expect(other?.name).toBe('EntityNotFoundException');
    } finally {
      await clients.adminGlue.send(new DeleteDatabaseCommand({ Name: name }));
    }
    await expectIntact('proto-db');
  });
});

test('a crawler meeting folders named constructor, hasOwnProperty and toString catalogs them as names', async () => {
  const crawled = {
    crawler: testCrawlerName('adv'),
    database: testDatabaseName('adv_crawl'),
    path: `s3://${bucket}/${rawPrefix}crawl/`,
  };
  const folders = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
  for (const [index, folder] of folders.entries()) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${rawPrefix}crawl/${folder}/part-0.json`,
        Body: `{"only_in_${index}_a":1,"only_in_${index}_b":"x"}\n{"only_in_${index}_a":2,"only_in_${index}_b":"y"}\n`,
      }),
    );
  }
  await createTestCrawler(clients.adminGlue, config, crawled);
  try {
    await clients.adminGlue.send(new StartCrawlerCommand({ Name: crawled.crawler }));
    const done = await waitForCrawlerReady(clients.adminGlue, crawled.crawler);
    expect(done.LastCrawl?.Status).toBe('SUCCEEDED');
    // One table over the folders (the include path's child), its partitions named after them.
    const { TableList } = await clients.adminGlue.send(new GetTablesCommand({ DatabaseName: crawled.database }));
    expect((TableList ?? []).map((table) => table.Name)).toEqual(['crawl']);
    const { Partitions } = await clients.adminGlue.send(
      new GetPartitionsCommand({ DatabaseName: crawled.database, TableName: 'crawl' }),
    );
    // `__proto__` starts with `_`: a folder Glue never reads, as Hadoop hides it.
    expect((Partitions ?? []).map((partition) => partition.Values).sort()).toEqual([
      ['constructor'],
      ['hasOwnProperty'],
      ['toString'],
    ]);
    const { Table } = await clients.adminGlue.send(
      new GetTableCommand({ DatabaseName: crawled.database, Name: 'crawl' }),
    );
    expect(Table?.PartitionKeys?.map((key) => key.Name)).toEqual(['partition_0']);
  } finally {
    await dropTestCrawler(clients.adminGlue, crawled);
  }
  await expectIntact('crawl');
});

/** A JSON object nested `depth` levels deep, written without recursion. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('bodies built to break the state', () => {
  const createTable = (name: string, storageExtra: string) =>
    `{"DatabaseName":"${database}","TableInput":{"Name":"${name}","StorageDescriptor":{"Location":"s3://${bucket}/${rawPrefix}","Extra":${storageExtra}}}}`;

  test('a 20,000-level member is refused, and later writes are saved', async () => {
    const answer = await rawRequest(config, 'AWSGlue.CreateTable', createTable('deep', nested(20_000)));
    expect(answer).toMatchObject({ status: 400, errorType: 'SerializationException' });
    expect(String(answer.body.message)).toMatch(/nested deeper than 64 levels/);
    const later = await rawRequest(config, 'AWSGlue.CreateTable', createTable('after_deep', '1'));
    expect(later.status).toBe(200);
    await expectIntact('deep');
  });

  test('a member the model does not have is dropped, not stored', async () => {
    const answer = await rawRequest(config, 'AWSGlue.CreateTable', createTable('extra', nested(40)));
    expect(answer.status).toBe(200);
    const { Table } = await clients.adminGlue.send(new GetTableCommand({ DatabaseName: database, Name: 'extra' }));
    expect(Table?.StorageDescriptor?.Location).toBe(`s3://${bucket}/${rawPrefix}`);
    expect(JSON.stringify(Table)).not.toContain('Extra');
    await expectIntact('extra');
  });

  test.each([
    ['an array', 'AWSGlue.GetDatabase', '[]', 'InvalidInputException'],
    ['null', 'AWSGlue.GetDatabase', 'null', 'InvalidInputException'],
    ['a string', 'AWSGlue.GetDatabase', '"GetDatabase"', 'InvalidInputException'],
    ['a number where a name goes', 'AWSGlue.GetDatabase', '{"Name":42}', 'InvalidInputException'],
    [
      'a map of strings holding an object',
      'AWSGlue.CreateDatabase',
      '{"DatabaseInput":{"Name":"x","Parameters":{"a":{"b":1}}}}',
      'InvalidInputException',
    ],
    ['JSON cut short', 'AWSGlue.GetDatabase', '{"Name":', 'SerializationException'],
    [
      'a map nested 100 levels',
      'AWSGlue.CreateDatabase',
      `{"DatabaseInput":{"Name":"x","Parameters":${nested(100)}}}`,
      'SerializationException',
    ],
  ])('%s as a body is refused', async (_name, target, body, errorType) => {
    const answer = await rawRequest(config, target, body);
    expect(answer).toMatchObject({ status: 400, errorType, body: { __type: errorType } });
    expectNoLeak(JSON.stringify(answer.body));
    await expectIntact('body');
  });
});

describe('work bounded per request', () => {
  test.each([
    ['nested quantifiers', '(a+)+$', 'InvalidInputException'],
    ['a group', '(ticks)', 'InvalidInputException'],
    ['a pattern over 1024 characters', 'a'.repeat(1025), 'InvalidInputException'],
  ])('a GetTables expression with %s is refused', async (_name, expression, errorType) => {
    const error = await caught(
      clients.adminGlue.send(new GetTablesCommand({ DatabaseName: database, Expression: expression })),
    );
    expect(error?.name).toBe(errorType);
    await expectIntact('expression');
  });

  test.each([
    ['a*', 'a*'.repeat(100) + 'b'],
    ['.*', '.*'.repeat(100) + 'x'],
    ['alternatives of a*', Array.from({ length: 50 }, () => 'a*a*a*a*b').join('|')],
  ])('a GetTables expression of many %s runs in linear time and matches nothing', async (_name, expression) => {
    const { TableList } = await clients.adminGlue.send(
      new GetTablesCommand({ DatabaseName: database, Expression: expression }),
    );
    expect(TableList).toEqual([]);
    await expectIntact('expression');
  });

  test('GetTables still matches with * and alternatives', async () => {
    const { TableList } = await clients.adminGlue.send(
      new GetTablesCommand({ DatabaseName: database, Expression: 'tick*|secr[e]t|a*a*a*a' }),
    );
    expect(TableList?.map((table) => table.Name).sort()).toEqual([LONG_NAME, 'secret', 'ticks']);
  });

  test('a GetPartitions LIKE of many % runs in linear time', async () => {
    const like = `dt LIKE '${'%a'.repeat(100)}%b'`;
    const { Partitions } = await clients.adminGlue.send(
      new GetPartitionsCommand({ DatabaseName: database, TableName: 'by_day', Expression: like }),
    );
    expect(Partitions).toEqual([]);
    const matching = await clients.adminGlue.send(
      new GetPartitionsCommand({ DatabaseName: database, TableName: 'by_day', Expression: `dt LIKE '%a%a%'` }),
    );
    expect(matching.Partitions).toHaveLength(1);
    await expectIntact('like');
  });

  const HEAVY =
    'SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x), UNNEST(sequence(1, 10000)) AS b(y), UNNEST(sequence(1, 10000)) AS c(z)';
  const start = async (client: AthenaClient) =>
    (await client.send(new StartQueryExecutionCommand({ QueryString: HEAVY, WorkGroup: workGroup }))).QueryExecutionId!;
  const stopAll = async (client: AthenaClient, ids: string[]) => {
    for (const id of ids) await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    for (const id of ids) await finished(client, id);
  };

  test("one caller's heavy queries leave a slot for the others", async () => {
    const heavy = [await start(clients.analystAthena), await start(clients.analystAthena)];
    try {
      const admin = await query('admin', 'SELECT 1');
      expect(admin.Status?.State).toBe('SUCCEEDED');
      const states = await Promise.all(
        heavy.map(
          async (id) =>
            (await clients.analystAthena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!
              .Status!.State,
        ),
      );
      expect(states).toEqual(['RUNNING', 'RUNNING']);
    } finally {
      await stopAll(clients.analystAthena, heavy);
    }
    await expectIntact('fair');
  });

  test('beyond 20 queued or running queries, a caller gets TooManyRequestsException', async () => {
    const ids: string[] = [];
    try {
      for (let index = 0; index < 20; index++) ids.push(await start(clients.analystAthena));
      const error = await caught(start(clients.analystAthena));
      expect(error?.name).toBe('TooManyRequestsException');
      // Another caller is not held back by the analyst's queue.
      expect((await query('admin', 'SELECT 2')).Status?.State).toBe('SUCCEEDED');
    } finally {
      await stopAll(clients.analystAthena, ids);
    }
    await expectIntact('queue');
  });

  test('a request whose body never finishes is cut off with 408', async () => {
    // Named uniquely: a file of this machine's that merely contains "slow" must not count as a leak.
    const marker = `slow${crypto.randomBytes(6).toString('hex')}`;
    const url = new URL(config.aws.endpoint!);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSGlue.CreateDatabase\r\nContent-Length: 1000\r\n\r\n{"DatabaseInput":{"Name":"${marker}`,
        );
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.setTimeout(60_000, () => socket.destroy(new Error('the server kept the slow request open')));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    await expectIntact(marker);
  }, 90_000);
});

describe('AccessDenied before any lookup', () => {
  let known: string;
  beforeAll(async () => {
    known = (await query('admin', 'SELECT 1')).QueryExecutionId!;
  });
  const unknown = '00000000-0000-4000-8000-000000000000';
  const operations: [string, (id: string) => unknown][] = [
    ['GetQueryExecution', (id) => new GetQueryExecutionCommand({ QueryExecutionId: id })],
    ['GetQueryResults', (id) => new GetQueryResultsCommand({ QueryExecutionId: id })],
    ['StopQueryExecution', (id) => new StopQueryExecutionCommand({ QueryExecutionId: id })],
    ['BatchGetQueryExecution', (id) => new BatchGetQueryExecutionCommand({ QueryExecutionIds: [id] })],
  ];
  const cases = (['ingest', 'producer', 'crawler'] as const).flatMap((role) =>
    operations.flatMap(([operation, command]) =>
      (['known', 'unknown'] as const).map((which) => [role, operation, which, command] as const),
    ),
  );

  test.each(cases)('%s: %s of a %s execution', async (role, operation, which, command) => {
    const client = athena(role);
    try {
      const error = await caught(
        (client.send.bind(client) as (command: unknown) => Promise<unknown>)(
          command(which === 'known' ? known : unknown),
        ),
      );
      expect(error?.name).toBe('AccessDeniedException');
      expect(error?.message).toMatch(
        new RegExp(`^User: arn:aws:iam::\\d+:user/ticksync-${role} is not authorized to perform: athena:${operation} `),
      );
      expectNoLeak(String(error?.message));
    } finally {
      client.destroy();
    }
    await expectIntact('denied');
  });

  test("a ClientRequestToken is the caller's own: the analyst replaying the admin's gets a query of its own", async () => {
    const token = crypto.randomUUID();
    const start = (client: AthenaClient) =>
      client.send(
        new StartQueryExecutionCommand({
          QueryString: 'SELECT 1',
          WorkGroup: workGroup,
          QueryExecutionContext: { Database: database },
          ClientRequestToken: token,
        }),
      );
    const admin = (await start(clients.adminAthena)).QueryExecutionId!;
    // The same caller with the same token gets the same execution back (idempotency holds).
    expect((await start(clients.adminAthena)).QueryExecutionId).toBe(admin);
    const analyst = (await start(clients.analystAthena)).QueryExecutionId!;
    expect(analyst).not.toBe(admin);
    expect((await finished(clients.analystAthena, analyst)).Status?.State).toBe('SUCCEEDED');
  });

  test('the analyst asking for an unknown execution is told it is not found (it may ask)', async () => {
    const error = await caught(clients.analystAthena.send(new GetQueryExecutionCommand({ QueryExecutionId: unknown })));
    expect(error?.name).toBe('InvalidRequestException');
  });
});
