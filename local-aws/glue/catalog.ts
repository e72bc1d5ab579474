import type * as glue from '@aws-sdk/client-glue';
import type { Database, Partition, PartitionInput, Table, TableInput } from '@aws-sdk/client-glue';
import { LOCAL_ACCOUNT_ID } from '../../lib/config';
import type { Authorizer } from '../authorize';
import { dictionary } from '../dictionary';
import type { RequestContext } from '../protocol/json-protocol';
import { AlreadyExists, ConcurrentModification, EntityNotFound, InvalidInput } from './errors';
import { compilePartitionFilter, compileTableNamePattern } from './expression';
import { partitionKey, type DatabaseRecord, type GlueStore, type TableRecord } from './store';

/**
 * The Data Catalog operations: databases, tables and partitions. Glue stores
 * database and table names in lowercase and looks them up case-insensitively.
 */

const PAGE = { tables: 100, partitions: 1000, databases: 100, tableVersions: 100 } as const;

/** Earlier versions kept per table: Glue keeps more, but a crawler updating a table often must not grow the store unbounded. */
const KEPT_TABLE_VERSIONS = 100;

function page<T>(items: T[], nextToken: string | undefined, maxResults: number | undefined, limit: number) {
  const size = Math.min(maxResults ?? limit, limit);
  if (size < 1) throw InvalidInput(`MaxResults must be at least 1, got ${maxResults}`);
  let start = 0;
  if (nextToken) {
    start = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw InvalidInput('Invalid NextToken');
  }
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return { slice, next };
}

const checkName = (what: string, name: string) => {
  if (name.length < 1 || name.length > 255) throw InvalidInput(`${what} name must be 1 to 255 characters long`);
  return name.toLowerCase();
};

export class Catalog {
  constructor(
    private readonly store: GlueStore,
    private readonly authorizer: Authorizer,
  ) {}

  database(name: string): DatabaseRecord {
    const record = this.store.state.databases[name.toLowerCase()];
    if (!record) throw EntityNotFound(`Database ${name} not found.`);
    return record;
  }

  table(databaseName: string, tableName: string): TableRecord {
    const record = this.database(databaseName).tables[tableName.toLowerCase()];
    if (!record) throw EntityNotFound(`Table ${tableName} not found.`);
    return record;
  }

  // --- databases

  createDatabase(input: glue.CreateDatabaseRequest, context: RequestContext): glue.CreateDatabaseResponse {
    const name = checkName('Database', input.DatabaseInput!.Name!);
    if (this.store.state.databases[name]) throw AlreadyExists('Database already exists.');
    this.store.state.databases[name] = {
      database: this.toDatabase(input.DatabaseInput!, new Date()),
      tables: dictionary(),
    };
    this.store.save();
    context.logger.info({ database: name }, 'database created');
    return {};
  }

  private toDatabase(input: glue.DatabaseInput, createTime: Date): Database {
    return {
      Name: input.Name!.toLowerCase(),
      Description: input.Description,
      LocationUri: input.LocationUri,
      Parameters: input.Parameters ?? {},
      CreateTime: createTime,
      CreateTableDefaultPermissions: input.CreateTableDefaultPermissions ?? [
        { Principal: { DataLakePrincipalIdentifier: 'IAM_ALLOWED_PRINCIPALS' }, Permissions: ['ALL'] },
      ],
      CatalogId: LOCAL_ACCOUNT_ID,
    };
  }

  getDatabase(input: glue.GetDatabaseRequest): glue.GetDatabaseResponse {
    return { Database: this.database(input.Name!).database };
  }

  /** The databases the caller may list (GetDatabases on each database's ARN). */
  getDatabases(input: glue.GetDatabasesRequest, context: RequestContext): glue.GetDatabasesResponse {
    const { arns } = this.authorizer;
    const all = Object.values(this.store.state.databases)
      .map((record) => record.database)
      .filter((database) =>
        this.authorizer.allows(context.principal, {
          action: 'glue:GetDatabases',
          resource: arns.glueDatabase(database.Name!),
        }),
      )
      .sort((a, b) => a.Name!.localeCompare(b.Name!));
    const { slice, next } = page(all, input.NextToken, input.MaxResults, PAGE.databases);
    return { DatabaseList: slice, NextToken: next };
  }

  updateDatabase(input: glue.UpdateDatabaseRequest): glue.UpdateDatabaseResponse {
    const record = this.database(input.Name!);
    if (input.DatabaseInput!.Name!.toLowerCase() !== record.database.Name) {
      throw InvalidInput('Database name cannot be changed by UpdateDatabase.');
    }
    record.database = this.toDatabase(input.DatabaseInput!, record.database.CreateTime!);
    this.store.save();
    return {};
  }

  deleteDatabase(input: glue.DeleteDatabaseRequest): glue.DeleteDatabaseResponse {
    this.database(input.Name!);
    delete this.store.state.databases[input.Name!.toLowerCase()];
    this.store.save();
    return {};
  }

  // --- tables

  private toTable(
    databaseName: string,
    input: TableInput,
    previous: Table | undefined,
    context?: RequestContext,
  ): Table {
    const now = new Date();
    return {
      Name: input.Name!.toLowerCase(),
      DatabaseName: databaseName,
      Description: input.Description,
      Owner: input.Owner,
      CreateTime: previous?.CreateTime ?? now,
      UpdateTime: now,
      LastAccessTime: input.LastAccessTime,
      LastAnalyzedTime: input.LastAnalyzedTime,
      Retention: input.Retention ?? 0,
      StorageDescriptor: input.StorageDescriptor,
      PartitionKeys: input.PartitionKeys ?? [],
      ViewOriginalText: input.ViewOriginalText,
      ViewExpandedText: input.ViewExpandedText,
      TableType: input.TableType,
      Parameters: input.Parameters ?? {},
      CreatedBy: previous?.CreatedBy ?? context?.principal.arn,
      IsRegisteredWithLakeFormation: false,
      CatalogId: LOCAL_ACCOUNT_ID,
      VersionId: previous ? String(Number(previous.VersionId ?? '0') + 1) : '0',
    };
  }

  /**
   * Also used by crawlers, which write the catalog as their role. The replaced version is archived
   * (GetTableVersions) unless `archive` is false (UpdateTable's SkipArchive).
   */
  putTable(databaseName: string, input: TableInput, context?: RequestContext, archive = true): Table {
    const database = this.database(databaseName);
    const name = checkName('Table', input.Name!);
    const existing = database.tables[name];
    const table = this.toTable(database.database.Name!, input, existing?.table, context);
    const earlier = existing?.versions ?? [];
    const versions = existing && archive ? [...earlier, existing.table].slice(-KEPT_TABLE_VERSIONS) : earlier;
    database.tables[name] = { table, partitions: existing?.partitions ?? dictionary(), versions };
    this.store.save();
    return table;
  }

  createTable(input: glue.CreateTableRequest, context: RequestContext): glue.CreateTableResponse {
    if (!input.TableInput) throw InvalidInput('TableInput is required.');
    if (this.database(input.DatabaseName!).tables[input.TableInput.Name!.toLowerCase()]) {
      throw AlreadyExists(`Table already exists.`);
    }
    this.putTable(input.DatabaseName!, input.TableInput, context);
    return {};
  }

  getTable(input: glue.GetTableRequest): glue.GetTableResponse {
    return { Table: this.table(input.DatabaseName!, input.Name!).table };
  }

  getTables(input: glue.GetTablesRequest): glue.GetTablesResponse {
    const matches = input.Expression ? compileTableNamePattern(input.Expression) : () => true;
    const all = Object.values(this.database(input.DatabaseName!).tables)
      .map((record) => record.table)
      .filter((table) => matches(table.Name!))
      .sort((a, b) => a.Name!.localeCompare(b.Name!));
    const { slice, next } = page(all, input.NextToken, input.MaxResults, PAGE.tables);
    return { TableList: slice, NextToken: next };
  }

  updateTable(input: glue.UpdateTableRequest, context: RequestContext): glue.UpdateTableResponse {
    if (!input.TableInput) throw InvalidInput('TableInput is required.');
    const record = this.table(input.DatabaseName!, input.TableInput.Name!);
    if (input.VersionId !== undefined && input.VersionId !== record.table.VersionId) {
      throw ConcurrentModification(
        `VersionId ${input.VersionId} does not match the table's current version ${record.table.VersionId}.`,
      );
    }
    this.putTable(input.DatabaseName!, input.TableInput, context, input.SkipArchive !== true);
    return {};
  }

  /** The current version first, then the earlier ones, newest first. */
  getTableVersions(input: glue.GetTableVersionsRequest): glue.GetTableVersionsResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    const all = [record.table, ...(record.versions ?? []).slice().reverse()].map((table) => ({
      Table: table,
      VersionId: table.VersionId,
    }));
    const { slice, next } = page(all, input.NextToken, input.MaxResults, PAGE.tableVersions);
    return { TableVersions: slice, NextToken: next };
  }

  getTableVersion(input: glue.GetTableVersionRequest): glue.GetTableVersionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    const wanted = input.VersionId ?? record.table.VersionId;
    const table = [record.table, ...(record.versions ?? [])].find((version) => version.VersionId === wanted);
    if (!table) throw EntityNotFound(`Version ${wanted} of table ${input.TableName} not found.`);
    return { TableVersion: { Table: table, VersionId: table.VersionId } };
  }

  deleteTableVersion(input: glue.DeleteTableVersionRequest): glue.DeleteTableVersionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    if (input.VersionId === record.table.VersionId) {
      throw InvalidInput(
        `Version ${input.VersionId} is the current version of table ${input.TableName}: it cannot be deleted.`,
      );
    }
    const versions = record.versions ?? [];
    const index = versions.findIndex((version) => version.VersionId === input.VersionId);
    if (index < 0) throw EntityNotFound(`Version ${input.VersionId} of table ${input.TableName} not found.`);
    versions.splice(index, 1);
    this.store.save();
    return {};
  }

  deleteTable(input: glue.DeleteTableRequest): glue.DeleteTableResponse {
    this.table(input.DatabaseName!, input.Name!);
    delete this.database(input.DatabaseName!).tables[input.Name!.toLowerCase()];
    this.store.save();
    return {};
  }

  batchDeleteTable(input: glue.BatchDeleteTableRequest): glue.BatchDeleteTableResponse {
    const database = this.database(input.DatabaseName!);
    const errors: glue.TableError[] = [];
    for (const name of input.TablesToDelete!) {
      if (database.tables[name.toLowerCase()]) delete database.tables[name.toLowerCase()];
      else
        errors.push({
          TableName: name,
          ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: `Table ${name} not found.` },
        });
    }
    this.store.save();
    return { Errors: errors };
  }

  // --- partitions

  private toPartition(record: TableRecord, input: PartitionInput, previous?: Partition): Partition {
    const keys = record.table.PartitionKeys ?? [];
    const values = input.Values ?? [];
    if (values.length !== keys.length) {
      throw InvalidInput(
        `The number of partition keys do not match the number of partition values: table ${record.table.Name} has ${keys.length} (${keys.map((key) => key.Name).join(', ')}), got ${values.length}`,
      );
    }
    return {
      Values: values,
      DatabaseName: record.table.DatabaseName,
      TableName: record.table.Name,
      CreationTime: previous?.CreationTime ?? new Date(),
      LastAccessTime: input.LastAccessTime,
      StorageDescriptor: input.StorageDescriptor,
      Parameters: input.Parameters ?? {},
      LastAnalyzedTime: input.LastAnalyzedTime,
      CatalogId: LOCAL_ACCOUNT_ID,
    };
  }

  /** Adds or replaces a partition; also used by crawlers. */
  putPartition(record: TableRecord, input: PartitionInput): Partition {
    const key = partitionKey(input.Values ?? []);
    const partition = this.toPartition(record, input, record.partitions[key]);
    record.partitions[key] = partition;
    return partition;
  }

  createPartition(input: glue.CreatePartitionRequest): glue.CreatePartitionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    if (record.partitions[partitionKey(input.PartitionInput!.Values ?? [])])
      throw AlreadyExists('Partition already exists.');
    this.putPartition(record, input.PartitionInput!);
    this.store.save();
    return {};
  }

  batchCreatePartition(input: glue.BatchCreatePartitionRequest): glue.BatchCreatePartitionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    if (input.PartitionInputList!.length > 100) {
      throw InvalidInput(
        `PartitionInputList has ${input.PartitionInputList!.length} entries; at most 100 are allowed.`,
      );
    }
    const errors: glue.PartitionError[] = [];
    for (const partition of input.PartitionInputList!) {
      try {
        if (record.partitions[partitionKey(partition.Values ?? [])]) throw AlreadyExists('Partition already exists.');
        this.putPartition(record, partition);
      } catch (error) {
        const { name, message } = error as Error;
        errors.push({ PartitionValues: partition.Values, ErrorDetail: { ErrorCode: name, ErrorMessage: message } });
      }
    }
    this.store.save();
    return { Errors: errors };
  }

  getPartition(input: glue.GetPartitionRequest): glue.GetPartitionResponse {
    const partition = this.table(input.DatabaseName!, input.TableName!).partitions[
      partitionKey(input.PartitionValues!)
    ];
    if (!partition) throw EntityNotFound('Partition not found.');
    return { Partition: partition };
  }

  batchGetPartition(input: glue.BatchGetPartitionRequest): glue.BatchGetPartitionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    if (input.PartitionsToGet!.length > 1000) {
      throw InvalidInput(`PartitionsToGet has ${input.PartitionsToGet!.length} entries; at most 1000 are allowed.`);
    }
    const partitions = input.PartitionsToGet!.flatMap(
      (wanted) => record.partitions[partitionKey(wanted.Values ?? [])] ?? [],
    );
    return { Partitions: partitions, UnprocessedKeys: [] };
  }

  getPartitions(input: glue.GetPartitionsRequest): glue.GetPartitionsResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    const filter = input.Expression
      ? compilePartitionFilter(input.Expression, record.table.PartitionKeys ?? [])
      : () => true;
    let all = Object.values(record.partitions).filter((partition) => filter(partition.Values ?? []));
    all.sort((a, b) => partitionKey(a.Values ?? []).localeCompare(partitionKey(b.Values ?? [])));
    if (input.Segment) {
      const { SegmentNumber: segment = 0, TotalSegments: total = 1 } = input.Segment;
      if (total < 1 || total > 10 || segment < 0 || segment >= total) {
        throw InvalidInput(`Invalid Segment: SegmentNumber ${segment} of TotalSegments ${total}`);
      }
      all = all.filter((_, index) => index % total === segment);
    }
    if (input.ExcludeColumnSchema) {
      all = all.map((partition) => ({
        ...partition,
        StorageDescriptor: partition.StorageDescriptor && { ...partition.StorageDescriptor, Columns: undefined },
      }));
    }
    const { slice, next } = page(all, input.NextToken, input.MaxResults, PAGE.partitions);
    return { Partitions: slice, NextToken: next };
  }

  updatePartition(input: glue.UpdatePartitionRequest): glue.UpdatePartitionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    const key = partitionKey(input.PartitionValueList!);
    if (!record.partitions[key]) throw EntityNotFound('Partition not found.');
    const values = input.PartitionInput!.Values ?? input.PartitionValueList!;
    if (partitionKey(values) !== key) delete record.partitions[key];
    this.putPartition(record, { ...input.PartitionInput, Values: values });
    this.store.save();
    return {};
  }

  deletePartition(input: glue.DeletePartitionRequest): glue.DeletePartitionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    const key = partitionKey(input.PartitionValues!);
    if (!record.partitions[key]) throw EntityNotFound('Partition not found.');
    delete record.partitions[key];
    this.store.save();
    return {};
  }

  batchDeletePartition(input: glue.BatchDeletePartitionRequest): glue.BatchDeletePartitionResponse {
    const record = this.table(input.DatabaseName!, input.TableName!);
    const errors: glue.PartitionError[] = [];
    for (const { Values: values = [] } of input.PartitionsToDelete!) {
      const key = partitionKey(values);
      if (record.partitions[key]) delete record.partitions[key];
      else
        errors.push({
          PartitionValues: values,
          ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: 'Partition not found.' },
        });
    }
    this.store.save();
    return { Errors: errors };
  }
}
