import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  BatchCreatePartitionCommand,
  BatchDeleteTableCommand,
  BatchGetPartitionCommand,
  CreateDatabaseCommand,
  CreateCrawlerCommand,
  CreatePartitionCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  DeletePartitionCommand,
  DeleteTableVersionCommand,
  GetCrawlerCommand,
  GetDatabaseCommand,
  GetDatabasesCommand,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GetTablesCommand,
  GetTableVersionCommand,
  GetTableVersionsCommand,
  GlueClient,
  UpdateDatabaseCommand,
  UpdatePartitionCommand,
  UpdateTableCommand,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import { createGlueClient } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { rawRequest } from '../helpers/aws-raw';
import { runScript, withOwnService } from '../helpers/scripts';
import { uniqueName } from '../helpers/workers';

const config = loadConfig();
const glue = createGlueClient(config, 'admin');
const endpoint = config.aws.endpoint!;
const admin = config.aws.credentials.admin!;
const database = uniqueName('test_glue').replace(/-/g, '_');

const descriptor = (location: string): StorageDescriptor => ({
  Columns: [
    { Name: 'symbol', Type: 'string' },
    { Name: 'volume', Type: 'bigint' },
  ],
  Location: location,
  InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
});

beforeAll(async () => {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database, Description: 'test' } }));
});

afterAll(async () => {
  await glue.send(new DeleteDatabaseCommand({ Name: database })).catch(() => undefined);
  glue.destroy();
});

describe('protocol', () => {
  test('a request the SDK signs is answered; dates come back as dates', async () => {
    const { Database } = await glue.send(new GetDatabaseCommand({ Name: database }));
    expect(Database).toMatchObject({ Name: database, Description: 'test', CatalogId: '000000000000' });
    expect(Database?.CreateTime).toBeInstanceOf(Date);
    expect(Math.abs(Database!.CreateTime!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  test('an unknown access key is refused with UnrecognizedClientException', async () => {
    const stranger = new GlueClient({
      region: config.aws.region,
      endpoint,
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'whatever-secret' },
      maxAttempts: 1,
    });
    await expect(stranger.send(new GetDatabasesCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    });
    stranger.destroy();
  });

  test('a wrong secret, a tampered body and a request signed 20 minutes ago are refused as AWS refuses them', async () => {
    const wrongSecret = await rawRequest(config, 'AWSGlue.GetDatabases', '{}', {
      credentials: { ...admin, secretAccessKey: 'not-the-secret' },
    });
    expect(wrongSecret).toMatchObject({ status: 403, errorType: 'InvalidSignatureException' });
    expect(wrongSecret.body.message).toMatch(/^The request signature we calculated does not match/);

    const tampered = await rawRequest(config, 'AWSGlue.GetDatabase', JSON.stringify({ Name: database }), {
      sentBody: JSON.stringify({ Name: 'other' }),
    });
    expect(tampered).toMatchObject({ status: 403, errorType: 'InvalidSignatureException' });

    const expired = await rawRequest(config, 'AWSGlue.GetDatabases', '{}', {
      date: new Date(Date.now() - 20 * 60_000),
    });
    expect(expired).toMatchObject({ status: 403, errorType: 'InvalidSignatureException' });
    expect(expired.body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/);

    const unsigned = await rawRequest(config, 'AWSGlue.GetDatabases', '{}', { sign: false });
    expect(unsigned).toMatchObject({ status: 403, errorType: 'MissingAuthenticationTokenException' });

    const signedNow = await rawRequest(config, 'AWSGlue.GetDatabase', JSON.stringify({ Name: database }));
    expect(signedNow.status).toBe(200);
  });

  test('the SDK corrects its clock from the answer to a skewed request, as it does with AWS', async () => {
    const skewed = new GlueClient({
      region: config.aws.region,
      endpoint,
      credentials: admin,
      systemClockOffset: -30 * 60_000,
    });
    const { Database } = await skewed.send(new GetDatabaseCommand({ Name: database }));
    expect(Database?.Name).toBe(database);
    skewed.destroy();
  });

  test('malformed JSON, unknown operations and missing or mistyped fields get AWS-shaped errors, and the service goes on', async () => {
    const malformed = await rawRequest(config, 'AWSGlue.GetDatabase', '{"Name": ');
    expect(malformed).toMatchObject({
      status: 400,
      errorType: 'SerializationException',
      body: { __type: 'SerializationException' },
    });

    const unknown = await rawRequest(config, 'AWSGlue.FlyToTheMoon', '{}');
    expect(unknown).toMatchObject({ status: 400, errorType: 'UnknownOperationException' });

    const missing = await rawRequest(config, 'AWSGlue.CreateTable', JSON.stringify({ TableInput: { Name: 'x' } }));
    expect(missing).toMatchObject({ status: 400, errorType: 'InvalidInputException' });
    expect(missing.body.message).toBe(
      "1 validation error detected: Value null at 'databaseName' failed to satisfy constraint: Member must not be null",
    );

    const mistyped = await rawRequest(
      config,
      'AWSGlue.GetTables',
      JSON.stringify({ DatabaseName: database, MaxResults: 'ten' }),
    );
    expect(mistyped).toMatchObject({ status: 400, errorType: 'InvalidInputException' });
    expect(mistyped.body.message).toMatch(
      /Value "ten" at 'maxResults' failed to satisfy constraint: Member must be a number/,
    );

    await expect(glue.send(new GetDatabaseCommand({ Name: database }))).resolves.toBeDefined();
  });

  test('the AWS CLI works against the service by setting only the endpoint', async () => {
    const { stdout } = await promisify(execFile)(
      'aws',
      [
        'glue',
        'get-database',
        '--name',
        database,
        '--endpoint-url',
        endpoint,
        '--region',
        config.aws.region,
        '--output',
        'json',
      ],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ Database: { Name: database } });
    const failure = await promisify(execFile)(
      'aws',
      [
        'glue',
        'get-table',
        '--database-name',
        database,
        '--name',
        'nope',
        '--endpoint-url',
        endpoint,
        '--region',
        config.aws.region,
      ],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey } },
    ).catch((error: { stderr: string }) => error);
    expect((failure as { stderr: string }).stderr).toMatch(/EntityNotFoundException.*Table nope not found/);
  });
});

describe('Data Catalog', () => {
  test('databases: create, duplicate, update, list with paging, missing', async () => {
    await expect(glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }))).rejects.toMatchObject({
      name: 'AlreadyExistsException',
    });
    await glue.send(
      new UpdateDatabaseCommand({
        Name: database,
        DatabaseInput: { Name: database, Description: 'updated', Parameters: { a: '1' } },
      }),
    );
    const { Database } = await glue.send(new GetDatabaseCommand({ Name: database.toUpperCase() }));
    expect(Database).toMatchObject({ Description: 'updated', Parameters: { a: '1' } });

    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await glue.send(new GetDatabasesCommand({ MaxResults: 1, NextToken: token }));
      expect(page.DatabaseList!.length).toBeLessThanOrEqual(1);
      names.push(...page.DatabaseList!.map((db) => db.Name!));
      token = page.NextToken;
    } while (token);
    expect(names).toContain(database);

    await expect(glue.send(new GetDatabaseCommand({ Name: 'no_such_db' }))).rejects.toMatchObject({
      name: 'EntityNotFoundException',
      message: 'Database no_such_db not found.',
    });
  });

  test('tables: create, get, update with versions, list with an expression and paging, batch delete', async () => {
    for (const name of ['ticks', 'ticks_daily', 'quotes', 'Trades']) {
      await glue.send(
        new CreateTableCommand({
          DatabaseName: database,
          TableInput: {
            Name: name,
            StorageDescriptor: descriptor(`s3://bucket/${name}/`),
            PartitionKeys: [{ Name: 'dt', Type: 'string' }],
            TableType: 'EXTERNAL_TABLE',
            Parameters: { classification: 'json' },
          },
        }),
      );
    }
    await expect(
      glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: { Name: 'ticks' } })),
    ).rejects.toMatchObject({ name: 'AlreadyExistsException' });

    const { Table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: 'trades' }));
    expect(Table).toMatchObject({
      Name: 'trades',
      DatabaseName: database,
      VersionId: '0',
      PartitionKeys: [{ Name: 'dt' }],
    });
    expect(Table?.StorageDescriptor?.Columns).toHaveLength(2);

    await glue.send(
      new UpdateTableCommand({
        DatabaseName: database,
        VersionId: '0',
        TableInput: { Name: 'trades', StorageDescriptor: descriptor('s3://bucket/trades2/') },
      }),
    );
    const updated = (await glue.send(new GetTableCommand({ DatabaseName: database, Name: 'trades' }))).Table!;
    expect(updated).toMatchObject({ VersionId: '1', StorageDescriptor: { Location: 's3://bucket/trades2/' } });
    expect(updated.CreateTime).toEqual(Table?.CreateTime);
    await expect(
      glue.send(new UpdateTableCommand({ DatabaseName: database, VersionId: '0', TableInput: { Name: 'trades' } })),
    ).rejects.toMatchObject({ name: 'ConcurrentModificationException' });

    // Every version kept, the current one first; each readable alone; an earlier one deletable, the current one not.
    await glue.send(
      new UpdateTableCommand({
        DatabaseName: database,
        TableInput: { Name: 'trades', StorageDescriptor: descriptor('s3://bucket/trades3/') },
      }),
    );
    const versions = await glue.send(new GetTableVersionsCommand({ DatabaseName: database, TableName: 'trades' }));
    expect(
      versions.TableVersions!.map((version) => [version.VersionId, version.Table?.StorageDescriptor?.Location]),
    ).toEqual([
      ['2', 's3://bucket/trades3/'],
      ['1', 's3://bucket/trades2/'],
      ['0', 's3://bucket/Trades/'],
    ]);
    const paged = await glue.send(
      new GetTableVersionsCommand({ DatabaseName: database, TableName: 'trades', MaxResults: 2 }),
    );
    expect(paged.TableVersions).toHaveLength(2);
    const rest = await glue.send(
      new GetTableVersionsCommand({ DatabaseName: database, TableName: 'trades', NextToken: paged.NextToken }),
    );
    expect(rest.TableVersions!.map((version) => version.VersionId)).toEqual(['0']);
    const one = await glue.send(
      new GetTableVersionCommand({ DatabaseName: database, TableName: 'trades', VersionId: '1' }),
    );
    expect(one.TableVersion?.Table?.StorageDescriptor?.Location).toBe('s3://bucket/trades2/');
    const current = await glue.send(new GetTableVersionCommand({ DatabaseName: database, TableName: 'trades' }));
    expect(current.TableVersion?.VersionId).toBe('2');
    await glue.send(new DeleteTableVersionCommand({ DatabaseName: database, TableName: 'trades', VersionId: '1' }));
    await expect(
      glue.send(new GetTableVersionCommand({ DatabaseName: database, TableName: 'trades', VersionId: '1' })),
    ).rejects.toMatchObject({ name: 'EntityNotFoundException', message: 'Version 1 of table trades not found.' });
    await expect(
      glue.send(new DeleteTableVersionCommand({ DatabaseName: database, TableName: 'trades', VersionId: '2' })),
    ).rejects.toMatchObject({ name: 'InvalidInputException', message: expect.stringMatching(/current version/) });
    await expect(
      glue.send(new GetTableVersionsCommand({ DatabaseName: database, TableName: 'nope' })),
    ).rejects.toMatchObject({ name: 'EntityNotFoundException' });
    // SkipArchive replaces the current version without keeping it.
    await glue.send(
      new UpdateTableCommand({
        DatabaseName: database,
        SkipArchive: true,
        TableInput: { Name: 'trades', StorageDescriptor: descriptor('s3://bucket/trades4/') },
      }),
    );
    const unarchived = await glue.send(new GetTableVersionsCommand({ DatabaseName: database, TableName: 'trades' }));
    expect(
      unarchived.TableVersions!.map((version) => [version.VersionId, version.Table?.StorageDescriptor?.Location]),
    ).toEqual([
      ['3', 's3://bucket/trades4/'],
      ['0', 's3://bucket/Trades/'],
    ]);

    const matching = await glue.send(new GetTablesCommand({ DatabaseName: database, Expression: 'ticks*' }));
    expect(matching.TableList!.map((table) => table.Name)).toEqual(['ticks', 'ticks_daily']);
    const alternatives = await glue.send(new GetTablesCommand({ DatabaseName: database, Expression: 'quotes|trades' }));
    expect(alternatives.TableList!.map((table) => table.Name)).toEqual(['quotes', 'trades']);

    const first = await glue.send(new GetTablesCommand({ DatabaseName: database, MaxResults: 3 }));
    expect(first.TableList).toHaveLength(3);
    const second = await glue.send(
      new GetTablesCommand({ DatabaseName: database, MaxResults: 3, NextToken: first.NextToken }),
    );
    expect(second.TableList!.map((table) => table.Name)).toEqual(['trades']);
    expect(second.NextToken).toBeUndefined();

    const { Errors } = await glue.send(
      new BatchDeleteTableCommand({ DatabaseName: database, TablesToDelete: ['quotes', 'ghost'] }),
    );
    expect(Errors).toEqual([
      {
        TableName: 'ghost',
        ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: 'Table ghost not found.' },
      },
    ]);
    await expect(glue.send(new GetTableCommand({ DatabaseName: database, Name: 'quotes' }))).rejects.toMatchObject({
      name: 'EntityNotFoundException',
    });
  });

  test('partitions: batch create, filter with expressions, page, get, update, delete', async () => {
    const table = 'hourly';
    await glue.send(
      new CreateTableCommand({
        DatabaseName: database,
        TableInput: {
          Name: table,
          StorageDescriptor: descriptor('s3://bucket/hourly/'),
          PartitionKeys: [
            { Name: 'dt', Type: 'string' },
            { Name: 'hour', Type: 'int' },
          ],
        },
      }),
    );
    const inputs = ['2024-01-01', '2024-01-02'].flatMap((dt) =>
      Array.from({ length: 24 }, (_, hour) => ({
        Values: [dt, String(hour)],
        StorageDescriptor: descriptor(`s3://bucket/hourly/dt=${dt}/hour=${hour}/`),
      })),
    );
    const created = await glue.send(
      new BatchCreatePartitionCommand({
        DatabaseName: database,
        TableName: table,
        PartitionInputList: inputs.slice(0, 40),
      }),
    );
    expect(created.Errors).toEqual([]);
    const again = await glue.send(
      new BatchCreatePartitionCommand({
        DatabaseName: database,
        TableName: table,
        PartitionInputList: inputs.slice(38),
      }),
    );
    expect(again.Errors!.map((error) => [error.PartitionValues, error.ErrorDetail?.ErrorCode])).toEqual([
      [['2024-01-02', '14'], 'AlreadyExistsException'],
      [['2024-01-02', '15'], 'AlreadyExistsException'],
    ]);
    await expect(
      glue.send(
        new CreatePartitionCommand({
          DatabaseName: database,
          TableName: table,
          PartitionInput: { Values: ['2024-01-03'] },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInputException',
      message: expect.stringMatching(/number of partition keys/),
    });

    const values = async (expression: string) => {
      const all: string[] = [];
      let token: string | undefined;
      do {
        const page = await glue.send(
          new GetPartitionsCommand({
            DatabaseName: database,
            TableName: table,
            Expression: expression,
            MaxResults: 10,
            NextToken: token,
          }),
        );
        expect(page.Partitions!.length).toBeLessThanOrEqual(10);
        all.push(...page.Partitions!.map((partition) => partition.Values!.join('/')));
        token = page.NextToken;
      } while (token);
      return all.sort();
    };
    expect(await values("dt = '2024-01-02' AND hour >= 22")).toEqual(['2024-01-02/22', '2024-01-02/23']);
    // hour is an int key: compared as numbers, so 9 < 10.
    expect(await values("dt = '2024-01-01' AND hour BETWEEN 8 AND 10")).toEqual([
      '2024-01-01/10',
      '2024-01-01/8',
      '2024-01-01/9',
    ]);
    expect(await values("hour IN (0, 1) AND NOT dt = '2024-01-01'")).toEqual(['2024-01-02/0', '2024-01-02/1']);
    expect(await values("dt LIKE '2024-01-0_' AND (hour < 1 OR hour > 22)")).toHaveLength(4);
    expect(await values("dt <> '2024-01-01'")).toHaveLength(24);
    await expect(
      glue.send(new GetPartitionsCommand({ DatabaseName: database, TableName: table, Expression: 'dt = ' })),
    ).rejects.toMatchObject({ name: 'InvalidInputException', message: expect.stringMatching(/expected a literal/) });
    await expect(
      glue.send(new GetPartitionsCommand({ DatabaseName: database, TableName: table, Expression: "region = 'eu'" })),
    ).rejects.toMatchObject({
      name: 'InvalidInputException',
      message: expect.stringMatching(/Unknown partition key 'region'/),
    });

    const batch = await glue.send(
      new BatchGetPartitionCommand({
        DatabaseName: database,
        TableName: table,
        PartitionsToGet: [{ Values: ['2024-01-01', '3'] }, { Values: ['2030-01-01', '3'] }],
      }),
    );
    expect(batch.Partitions!.map((partition) => partition.Values)).toEqual([['2024-01-01', '3']]);

    await glue.send(
      new UpdatePartitionCommand({
        DatabaseName: database,
        TableName: table,
        PartitionValueList: ['2024-01-01', '3'],
        PartitionInput: {
          Values: ['2024-01-01', '3'],
          Parameters: { note: 'x' },
          StorageDescriptor: descriptor('s3://bucket/moved/'),
        },
      }),
    );
    const { Partition } = await glue.send(
      new GetPartitionCommand({ DatabaseName: database, TableName: table, PartitionValues: ['2024-01-01', '3'] }),
    );
    expect(Partition).toMatchObject({
      Parameters: { note: 'x' },
      StorageDescriptor: { Location: 's3://bucket/moved/' },
    });
    expect(Partition?.CreationTime).toBeInstanceOf(Date);

    await glue.send(
      new DeletePartitionCommand({ DatabaseName: database, TableName: table, PartitionValues: ['2024-01-01', '3'] }),
    );
    await expect(
      glue.send(
        new GetPartitionCommand({ DatabaseName: database, TableName: table, PartitionValues: ['2024-01-01', '3'] }),
      ),
    ).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  });
});

test('the catalog and crawlers survive a restart of the service', async () => {
  await withOwnService('aws', async (env) => {
    const own = createGlueClient(loadConfig({ ...process.env, ...env }), 'admin');
    try {
      await own.send(new CreateDatabaseCommand({ DatabaseInput: { Name: 'kept' } }));
      await own.send(
        new CreateTableCommand({
          DatabaseName: 'kept',
          TableInput: {
            Name: 't',
            StorageDescriptor: descriptor('s3://some-bucket/t/'),
            PartitionKeys: [{ Name: 'dt', Type: 'string' }],
          },
        }),
      );
      await own.send(
        new CreatePartitionCommand({
          DatabaseName: 'kept',
          TableName: 't',
          PartitionInput: { Values: ['2024-01-01'] },
        }),
      );
      await own.send(
        new CreateCrawlerCommand({
          Name: 'kept-crawler',
          Role: config.glue.crawlerRole,
          DatabaseName: 'kept',
          Targets: { S3Targets: [{ Path: 's3://some-bucket/t/' }] },
        }),
      );
      const before = (await own.send(new GetTableCommand({ DatabaseName: 'kept', Name: 't' }))).Table;

      expect((await runScript('stack', ['down', 'aws'], env)).code).toBe(0);
      expect((await runScript('stack', ['up', 'aws'], env)).code).toBe(0);

      const after = (await own.send(new GetTableCommand({ DatabaseName: 'kept', Name: 't' }))).Table;
      expect(after).toEqual(before);
      const { Partition } = await own.send(
        new GetPartitionCommand({ DatabaseName: 'kept', TableName: 't', PartitionValues: ['2024-01-01'] }),
      );
      expect(Partition?.Values).toEqual(['2024-01-01']);
      const { Crawler } = await own.send(new GetCrawlerCommand({ Name: 'kept-crawler' }));
      expect(Crawler).toMatchObject({ State: 'READY', DatabaseName: 'kept', Version: 1 });
    } finally {
      own.destroy();
    }
  });
});
