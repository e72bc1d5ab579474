import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import * as athenaSdk from '@aws-sdk/client-athena';
import type * as athena from '@aws-sdk/client-athena';
import type { QueryExecution, WorkGroup } from '@aws-sdk/client-athena';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { createS3Client } from '../../lib/clients';
import type { Config, Role } from '../../lib/config';
import { userPrincipal, type Authorizer, type Permission, type Principal } from '../authorize';
import { ServiceError } from '../errors';
import type { GlueStore } from '../glue/store';
import type { Handler, JsonService, PermissionRules, RequestContext } from '../protocol/json-protocol';
import type { Identity } from '../protocol/sigv4';
import { JsonFileStore, JsonRecordStore } from '../store';
import {
  glueAccessDenied,
  QueryEngine,
  QueryFailure,
  statementTypeOf,
  type ObjectSource,
  type QueryOutcome,
  type TableCatalog,
} from './engine';
import { InvalidRequest, TooManyRequests } from './errors';
import { ResultSpool, type SpoolWriter } from './result-spool';
import { columnInfo, toRows } from './results';

/**
 * Amazon Athena's query API over the local engine: executions move QUEUED →
 * RUNNING → SUCCEEDED / FAILED / CANCELLED, results are written to the output
 * location with the caller's credentials as Athena writes them, and
 * GetQueryResults pages them (header first for SELECT, 1,000 rows at most).
 */

/** Athena's default DML timeout is 30 minutes; locally a runaway query is stopped sooner. */
const QUERY_TIMEOUT_MS = 5 * 60_000;
const PAGE_ROWS = 1000;
/** Read checks remembered (caller and execution) before the memo starts again. */
const MAX_READ_CHECKS = 1000;
/** Queries one caller may have queued or running at once (Athena's account quota is 20 DML queries by default). */
const MAX_ACTIVE_PER_CALLER = 20;
/** Executions kept (Athena keeps 45 days of them): the oldest finished ones go first. */
const KEPT_EXECUTIONS = 1000;
/** The one engine the local service runs: Trino's SQL, as Athena engine version 3. */
const ENGINE_VERSION = { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' } as const;

interface Execution {
  execution: QueryExecution;
  token: string;
  /** Hash of the idempotent parameters, to refuse a reused token with other parameters. */
  parameters: string;
  /** The caller (a TickSync role): the query reads the catalog and S3 and writes S3 as it. */
  principal: Role;
}

interface AthenaState {
  workGroups: Record<string, WorkGroup>;
  /** Before executions had a file each, they were kept here; moved out on loading. */
  executions?: Record<string, Execution>;
}

function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/.exec(url);
  if (!match) throw InvalidRequest(`The S3 location provided to save your query results is invalid: ${url}`);
  return { bucket: match[1]!, key: match[2]! };
}

export interface AthenaServiceDeps {
  config: Config;
  logger: Logger;
  /** Holds `athena.json` (work groups), `athena-executions/` (one file per execution) and the engine's object cache. */
  dataDir: string;
  glue: GlueStore;
  authorizer: Authorizer;
}

export function createAthenaService({ config, logger, dataDir, glue, authorizer }: AthenaServiceDeps): JsonService {
  const store = new JsonFileStore<AthenaState>(path.join(dataDir, 'athena.json'), () => ({ workGroups: {} }));
  const state = store.state;
  /** One file per execution (a state change writes one small file), oldest first. */
  const executionStore = new JsonRecordStore<Execution>(
    path.join(dataDir, 'athena-executions'),
    (a, b) => a.execution.Status!.SubmissionDateTime!.getTime() - b.execution.Status!.SubmissionDateTime!.getTime(),
  );
  const executions = executionStore.records;
  for (const [id, record] of Object.entries(state.executions ?? {})) {
    executions[id] = record;
    executionStore.save(id);
  }
  delete state.executions;
  state.workGroups.primary ??= {
    Name: 'primary',
    State: 'ENABLED',
    Description: '',
    CreationTime: new Date(),
    Configuration: {
      EnforceWorkGroupConfiguration: false,
      PublishCloudWatchMetricsEnabled: false,
      RequesterPaysEnabled: false,
    },
  };
  // Queries do not survive the service: those it was running or holding when it stopped have failed.
  for (const [id, { execution }] of Object.entries(executions)) {
    if (execution.Status?.State === 'QUEUED' || execution.Status?.State === 'RUNNING') {
      execution.Status = {
        ...execution.Status,
        State: 'FAILED',
        StateChangeReason: 'The local Athena service stopped while the query was running.',
        CompletionDateTime: new Date(),
        AthenaError: {
          ErrorCategory: 1,
          ErrorType: 401,
          Retryable: true,
          ErrorMessage: 'The local Athena service stopped.',
        },
      };
      executionStore.save(id);
    }
  }
  store.save();

  /** Queries queued or running, to stop them. */
  const active = new Map<string, AbortController>();
  /** Writes an execution, and forgets the oldest finished ones beyond those kept. */
  const saveExecution = (id: string) => {
    // A query of a work group deleted while it ran finishes unrecorded.
    if (!executions[id]) return;
    executionStore.save(id);
    const ids = Object.keys(executions);
    for (const old of ids.slice(0, Math.max(0, ids.length - KEPT_EXECUTIONS))) {
      if (!active.has(old)) executionStore.delete(old);
    }
  };

  const log = logger.child({ service: 'athena' });
  const engine = new QueryEngine({
    cacheDir: path.join(dataDir, 'athena-cache'),
    memoryLimit: '2GB',
    threads: 2,
    // One caller runs at most two at once, so a third slot is always there for the others.
    maxConcurrentQueries: 3,
    logger: log,
  });
  const spool = new ResultSpool(path.join(dataDir, 'athena-result-spool'));

  /** Queries read and write S3 as their caller: the caller's principal is a TickSync role. One client each. */
  const s3Clients = new Map<Role, S3Client>();
  const s3For = (principal: Role) => {
    let client = s3Clients.get(principal);
    if (!client) s3Clients.set(principal, (client = createS3Client(config, principal)));
    return client;
  };

  /**
   * The Glue catalog as the caller sees it: as Athena does, a query reads tables,
   * partitions and listings with the caller's Glue permissions, and fails when it
   * lacks one.
   */
  const catalogFor = (principal: Principal): TableCatalog => {
    const { arns } = authorizer;
    const need = (permissions: Permission[]) => {
      try {
        authorizer.check(principal, permissions);
      } catch (error) {
        if (error instanceof ServiceError) throw glueAccessDenied(error.message);
        throw error;
      }
    };
    return {
      getTable(databaseName, tableName) {
        need(arns.tablePath('glue:GetTable', databaseName, tableName));
        const database = glue.state.databases[databaseName.toLowerCase()];
        if (!database) return { missing: 'database' };
        const record = database.tables[tableName.toLowerCase()];
        if (!record) return { missing: 'table' };
        if ((record.table.PartitionKeys ?? []).length > 0)
          need(arns.tablePath('glue:GetPartitions', databaseName, tableName));
        return { table: record.table, partitions: Object.values(record.partitions) };
      },
      listDatabases: () => {
        need([{ action: 'glue:GetDatabases', resource: arns.glueCatalog() }]);
        return Object.values(glue.state.databases)
          .map((record) => record.database.Name!)
          .filter((name) =>
            authorizer.allows(principal, { action: 'glue:GetDatabases', resource: arns.glueDatabase(name) }),
          );
      },
      listTables: (databaseName) => {
        need(arns.tablePath('glue:GetTables', databaseName, '*'));
        const database = glue.state.databases[databaseName.toLowerCase()];
        return database && Object.values(database.tables).map((record) => record.table.Name!);
      },
    };
  };

  const objectSource = (client: S3Client): ObjectSource => ({
    async list(bucket, prefix, signal) {
      const objects: { key: string; size: number; etag: string }[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
          {
            abortSignal: signal,
          },
        );
        for (const object of page.Contents ?? [])
          objects.push({ key: object.Key!, size: object.Size ?? 0, etag: object.ETag ?? '' });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async head(bucket, key, signal) {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    },
    async download(bucket, key, target, signal) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const temporary = `${target}.${process.pid}.part`;
      fs.writeFileSync(temporary, await response.Body!.transformToByteArray());
      fs.renameSync(temporary, target);
    },
  });

  function finish(
    record: Execution,
    status: Partial<athena.QueryExecutionStatus>,
    statistics: Partial<athena.QueryExecutionStatistics>,
  ) {
    const execution = record.execution;
    const submitted = execution.Status!.SubmissionDateTime!.getTime();
    const completed = new Date();
    execution.Status = { ...execution.Status, ...status, CompletionDateTime: completed };
    execution.Statistics = {
      ...execution.Statistics,
      ...statistics,
      TotalExecutionTimeInMillis: completed.getTime() - submitted,
      ResultReuseInformation: { ReusedPreviousResult: false },
    };
    saveExecution(execution.QueryExecutionId!);
  }

  /** Runs a queued execution: the engine holds it QUEUED until one of its slots is free. */
  async function run(id: string, controller: AbortController): Promise<void> {
    const record = executions[id];
    if (!record) {
      // Its work group was deleted before it could start.
      active.delete(id);
      return;
    }
    const execution = record.execution;
    let started: number | undefined;
    const client = s3For(record.principal);
    // A query's rows go to its result file as the engine renders them, never all in memory.
    let writer: SpoolWriter | undefined;
    try {
      const outcome: QueryOutcome = await engine.run({
        sql: execution.Query!,
        database: execution.QueryExecutionContext?.Database ?? 'default',
        catalog: catalogFor(userPrincipal(record.principal)),
        objects: objectSource(client),
        signal: controller.signal,
        caller: record.principal,
        invoker: userPrincipal(record.principal).arn,
        timeoutMs: QUERY_TIMEOUT_MS,
        onRows: async (columns, rows) => {
          if (!writer) {
            writer = spool.writer(id, true);
            await writer.add([columns.map((column) => column.name)]);
          }
          await writer.add(rows);
        },
        onStart: () => {
          started = Date.now();
          execution.Status = { ...execution.Status, State: 'RUNNING' };
          execution.Statistics = {
            QueryQueueTimeInMillis: started - execution.Status.SubmissionDateTime!.getTime(),
          };
          // Kept in memory only: after a restart a query that was running is FAILED either way.
        },
      });
      const engineDone = Date.now();
      execution.StatementType = outcome.statementType;
      const header = outcome.statementType === 'DML' ? outcome.columns.map((column) => column.name) : undefined;
      const columns = columnInfo(outcome.columns);
      const output = execution.ResultConfiguration!.OutputLocation!;
      const { bucket, key } = parseS3Url(output);
      if (!writer) {
        // A SHOW or DESCRIBE (its rows in the outcome), or a query without rows.
        writer = spool.writer(id, header !== undefined);
        if (header) await writer.add([header]);
        await writer.add(outcome.rows);
      }
      await writer.end(columns);
      const file = writer.file;
      try {
        await Promise.all([
          client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: fs.createReadStream(file),
              ContentLength: fs.statSync(file).size,
              ContentType: 'text/csv',
            }),
          ),
          client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `${key}.metadata`,
              Body: JSON.stringify({ ColumnInfo: columns }),
              ContentType: 'application/json',
            }),
          ),
        ]);
      } catch (error) {
        throw new QueryFailure(
          2,
          1301,
          `Access denied when writing output to url: ${output} . Please ensure you are allowed to access the S3 bucket. If you are encrypting query results with KMS key, please ensure you are allowed to access your KMS key (${(error as Error).name}: ${(error as Error).message})`,
          false,
        );
      }
      finish(
        record,
        { State: 'SUCCEEDED' },
        {
          EngineExecutionTimeInMillis: outcome.engineMs,
          QueryPlanningTimeInMillis: outcome.planningMs,
          DataScannedInBytes: outcome.dataScannedBytes,
          ServicePreProcessingTimeInMillis: 0,
          // Writing the result files, after the engine has answered.
          ServiceProcessingTimeInMillis: Date.now() - engineDone,
        },
      );
      log.info({ queryExecutionId: id, rows: outcome.rowCount, scanned: outcome.dataScannedBytes }, 'query succeeded');
      mayRead(record, record.principal).catch(() => undefined);
    } catch (error) {
      // A failed query keeps no result file.
      await writer?.abandon();
      spool.delete(id);
      if (controller.signal.aborted) {
        finish(
          record,
          { State: 'CANCELLED', StateChangeReason: 'Query was cancelled by user' },
          { EngineExecutionTimeInMillis: started === undefined ? 0 : Date.now() - started },
        );
      } else {
        const failure =
          error instanceof QueryFailure
            ? error
            : new QueryFailure(
                1,
                401,
                `INTERNAL_ERROR: ${error instanceof Error ? error.message : String(error)}`,
                true,
              );
        if (!(error instanceof QueryFailure))
          log.error({ err: error, queryExecutionId: id }, 'query failed unexpectedly');
        finish(
          record,
          {
            State: 'FAILED',
            StateChangeReason: failure.message,
            AthenaError: {
              ErrorCategory: failure.errorCategory,
              ErrorType: failure.errorType,
              Retryable: failure.retryable,
              ErrorMessage: failure.message,
            },
          },
          { EngineExecutionTimeInMillis: started === undefined ? 0 : Date.now() - started },
        );
      }
    } finally {
      active.delete(id);
    }
  }

  const execution = (id: string | undefined): Execution => {
    const record = id ? executions[id] : undefined;
    if (!record) throw InvalidRequest(`QueryExecution ${id} was not found`);
    return record;
  };

  const workGroup = (name: string | undefined): WorkGroup => {
    const group = state.workGroups[name ?? 'primary'];
    if (!group) throw InvalidRequest(`WorkGroup ${name} is not found.`);
    return group;
  };

  const operations = {
    StartQueryExecution(
      input: athena.StartQueryExecutionInput,
      context: RequestContext,
    ): athena.StartQueryExecutionOutput {
      const query = input.QueryString!;
      if (query.trim() === '') {
        throw InvalidRequest(
          "1 validation error detected: Value '' at 'queryString' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      if (query.length > 262_144) throw InvalidRequest('Query string is longer than 262144 characters.');
      const group = workGroup(input.WorkGroup);
      if (group.State !== 'ENABLED') throw InvalidRequest(`WorkGroup ${group.Name} is disabled.`);
      const configured = group.Configuration?.ResultConfiguration?.OutputLocation;
      const enforced = group.Configuration?.EnforceWorkGroupConfiguration && configured;
      const location = (enforced ? configured : input.ResultConfiguration?.OutputLocation) ?? configured;
      if (!location) {
        throw InvalidRequest(
          'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
        );
      }
      parseS3Url(location);
      const token = input.ClientRequestToken ?? crypto.randomUUID();
      const parameters = JSON.stringify([
        query,
        input.QueryExecutionContext,
        location,
        group.Name,
        input.ExecutionParameters,
      ]);
      // A token is the caller's own: another principal sending it starts its own query and learns nothing.
      const previous = Object.values(executions).find(
        (record) => record.token === token && record.principal === context.identity.principal,
      );
      if (previous) {
        if (previous.parameters !== parameters) {
          throw InvalidRequest(
            'Idempotent parameters do not match: the ClientRequestToken was used with a different request.',
          );
        }
        return { QueryExecutionId: previous.execution.QueryExecutionId };
      }
      const queued = [...active.keys()].filter((id) => executions[id]?.principal === context.identity.principal);
      if (queued.length >= MAX_ACTIVE_PER_CALLER) {
        throw TooManyRequests(
          `You have exceeded the limit for the number of queries you can run concurrently (${MAX_ACTIVE_PER_CALLER}). Reduce the number of concurrent queries submitted by this account.`,
        );
      }
      const id = crypto.randomUUID();
      const statementType = statementTypeOf(query);
      executions[id] = {
        token,
        parameters,
        principal: context.identity.principal,
        execution: {
          QueryExecutionId: id,
          Query: query,
          StatementType: statementType,
          ResultConfiguration: { OutputLocation: `${location.replace(/\/?$/, '/')}${id}.csv` },
          ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
          QueryExecutionContext: { Catalog: 'awsdatacatalog', Database: 'default', ...input.QueryExecutionContext },
          Status: { State: 'QUEUED', SubmissionDateTime: new Date() },
          Statistics: {},
          WorkGroup: group.Name,
          EngineVersion: ENGINE_VERSION,
          ExecutionParameters: input.ExecutionParameters,
          SubstatementType: statementType === 'DML' ? 'SELECT' : undefined,
        },
      };
      saveExecution(id);
      // Stoppable from now; run after the answer, since the engine may start the query at once.
      const controller = new AbortController();
      active.set(id, controller);
      setImmediate(() =>
        run(id, controller).catch((error: unknown) => {
          // Only a failed save gets here: the query's state is in memory, the next save writes it.
          log.error({ err: error, queryExecutionId: id }, 'query could not record its end');
          active.delete(id);
        }),
      );
      context.logger.info({ queryExecutionId: id, principal: context.identity.principal }, 'query queued');
      return { QueryExecutionId: id };
    },

    GetQueryExecution(input: athena.GetQueryExecutionInput): athena.GetQueryExecutionOutput {
      return { QueryExecution: execution(input.QueryExecutionId).execution };
    },

    BatchGetQueryExecution(input: athena.BatchGetQueryExecutionInput): athena.BatchGetQueryExecutionOutput {
      const ids = input.QueryExecutionIds!;
      if (ids.length < 1 || ids.length > 50) throw InvalidRequest('QueryExecutionIds must hold 1 to 50 ids.');
      return {
        QueryExecutions: ids.flatMap((id) => executions[id]?.execution ?? []),
        UnprocessedQueryExecutionIds: ids
          .filter((id) => !executions[id])
          .map((id) => ({
            QueryExecutionId: id,
            ErrorCode: 'INVALID_INPUT',
            ErrorMessage: `QueryExecution ${id} was not found`,
          })),
      };
    },

    ListQueryExecutions(input: athena.ListQueryExecutionsInput): athena.ListQueryExecutionsOutput {
      const group = workGroup(input.WorkGroup).Name;
      const ids = Object.values(executions)
        .filter((record) => record.execution.WorkGroup === group)
        .sort(
          (a, b) =>
            b.execution.Status!.SubmissionDateTime!.getTime() - a.execution.Status!.SubmissionDateTime!.getTime(),
        )
        .map((record) => record.execution.QueryExecutionId!);
      const size = Math.min(input.MaxResults ?? 50, 50);
      const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString()) : 0;
      if (!Number.isInteger(start) || start < 0) throw InvalidRequest('Invalid NextToken');
      return {
        QueryExecutionIds: ids.slice(start, start + size),
        NextToken: start + size < ids.length ? Buffer.from(String(start + size)).toString('base64url') : undefined,
      };
    },

    async GetQueryResults(
      input: athena.GetQueryResultsInput,
      context: RequestContext,
    ): Promise<athena.GetQueryResultsOutput> {
      const record = execution(input.QueryExecutionId);
      const stateNow = record.execution.Status?.State;
      if (stateNow === 'QUEUED' || stateNow === 'RUNNING')
        throw InvalidRequest(`Query has not yet finished. Current state: ${stateNow}`);
      if (stateNow !== 'SUCCEEDED')
        throw InvalidRequest(`Query did not finish successfully. Final query state: ${stateNow}`);
      const size = input.MaxResults ?? PAGE_ROWS;
      if (size < 1 || size > PAGE_ROWS)
        throw InvalidRequest(`MaxResults must be between 1 and ${PAGE_ROWS}, got ${size}`);
      const id = record.execution.QueryExecutionId!;
      if (spool.has(id)) await mayRead(record, context.identity.principal);
      else await readBack(record, context.identity);
      const result = spool.shape(id);
      if (!result) throw InvalidRequest(`Cannot read the results of ${id}: try again`);
      const header =
        (record.execution.StatementType ?? 'DML') === 'DML' ? result.columns.map((column) => column.Name!) : undefined;
      const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString()) : 0;
      if (!Number.isInteger(start) || start < 0) throw InvalidRequest('Invalid NextToken');
      // The header counts as a row of the first page, as in Athena; only the page's rows are read.
      const total = result.rows + (header ? 1 : 0);
      const first = header ? Math.max(0, start - 1) : start;
      const last = header ? start + size - 1 : start + size;
      const rows = toRows(start === 0 ? header : undefined, await spool.page(id, first, last));
      return {
        UpdateCount: 0,
        ResultSet: { Rows: rows, ResultSetMetadata: { ColumnInfo: result.columns } },
        NextToken: start + size < total ? Buffer.from(String(start + size)).toString('base64url') : undefined,
      };
    },

    StopQueryExecution(input: athena.StopQueryExecutionInput): athena.StopQueryExecutionOutput {
      const record = execution(input.QueryExecutionId);
      active.get(record.execution.QueryExecutionId!)?.abort();
      return {};
    },

    GetWorkGroup(input: athena.GetWorkGroupInput): athena.GetWorkGroupOutput {
      const group = workGroup(input.WorkGroup);
      return { WorkGroup: { ...group, Configuration: { ...group.Configuration, EngineVersion: ENGINE_VERSION } } };
    },

    ListEngineVersions(): athena.ListEngineVersionsOutput {
      return {
        EngineVersions: [
          ENGINE_VERSION,
          {
            SelectedEngineVersion: ENGINE_VERSION.EffectiveEngineVersion,
            EffectiveEngineVersion: ENGINE_VERSION.EffectiveEngineVersion,
          },
        ],
      };
    },

    ListWorkGroups(): athena.ListWorkGroupsOutput {
      return {
        WorkGroups: Object.values(state.workGroups).map((group) => ({
          Name: group.Name,
          State: group.State,
          Description: group.Description,
          CreationTime: group.CreationTime,
          EngineVersion: ENGINE_VERSION,
        })),
      };
    },

    UpdateWorkGroup(input: athena.UpdateWorkGroupInput): athena.UpdateWorkGroupOutput {
      const group = workGroup(input.WorkGroup);
      const updates = input.ConfigurationUpdates;
      const location = updates?.ResultConfigurationUpdates?.OutputLocation;
      if (location) parseS3Url(location);
      const configuration = { ...group.Configuration };
      if (updates?.EnforceWorkGroupConfiguration !== undefined)
        configuration.EnforceWorkGroupConfiguration = updates.EnforceWorkGroupConfiguration;
      if (location || updates?.ResultConfigurationUpdates?.RemoveOutputLocation) {
        configuration.ResultConfiguration = {
          ...configuration.ResultConfiguration,
          OutputLocation: updates?.ResultConfigurationUpdates?.RemoveOutputLocation ? undefined : location,
        };
      }
      Object.assign(group, {
        Configuration: configuration,
        ...(input.Description !== undefined && { Description: input.Description }),
        ...(input.State !== undefined && { State: input.State }),
      });
      store.save();
      return {};
    },

    DeleteWorkGroup(input: athena.DeleteWorkGroupInput): athena.DeleteWorkGroupOutput {
      const group = workGroup(input.WorkGroup);
      if (group.Name === 'primary') throw InvalidRequest('The primary workgroup cannot be deleted.');
      const ids = Object.keys(executions).filter((id) => executions[id]!.execution.WorkGroup === group.Name);
      if (ids.length > 0 && !input.RecursiveDeleteOption)
        throw InvalidRequest(`WorkGroup ${group.Name} is not empty: delete it with RecursiveDeleteOption.`);
      for (const id of ids) {
        active.get(id)?.abort();
        spool.delete(id);
        executionStore.delete(id);
      }
      delete state.workGroups[group.Name!];
      store.save();
      return {};
    },

    CreateWorkGroup(input: athena.CreateWorkGroupInput): athena.CreateWorkGroupOutput {
      if (!/^[a-zA-Z0-9._-]{1,128}$/.test(input.Name!)) throw InvalidRequest(`Invalid WorkGroup name ${input.Name}`);
      if (state.workGroups[input.Name!]) throw InvalidRequest('WorkGroup is already created');
      const location = input.Configuration?.ResultConfiguration?.OutputLocation;
      if (location) parseS3Url(location);
      state.workGroups[input.Name!] = {
        Name: input.Name,
        State: 'ENABLED',
        Description: input.Description ?? '',
        CreationTime: new Date(),
        Configuration: {
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: false,
          RequesterPaysEnabled: false,
          ...input.Configuration,
        },
      };
      store.save();
      return {};
    },
  } satisfies Record<string, (input: never, context: RequestContext) => unknown>;

  /** Checks that a caller may read an execution's result file, by `<principal> <id>`: each is made once. */
  const readChecks = new Map<string, Promise<void>>();

  /**
   * Athena streams results from the output location with the caller's credentials: a
   * result kept on local disk is served only to a caller S3 lets read its file. The
   * query's own caller is checked as soon as it succeeds, so its first page waits for
   * nothing.
   */
  function mayRead(record: Execution, principal: Role): Promise<void> {
    const reader = `${principal} ${record.execution.QueryExecutionId}`;
    let check = readChecks.get(reader);
    if (!check) {
      const { bucket, key } = parseS3Url(record.execution.ResultConfiguration!.OutputLocation!);
      check = s3For(principal)
        .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
        .then(
          () => undefined,
          (error: Error) => {
            readChecks.delete(reader);
            throw InvalidRequest(
              `Cannot read the results of ${record.execution.QueryExecutionId}: ${error.name} ${error.message}`,
            );
          },
        );
      if (readChecks.size >= MAX_READ_CHECKS) readChecks.clear();
      readChecks.set(reader, check);
    }
    return check;
  }

  /** A result no longer spooled, read back once from its CSV in S3 with the caller's credentials. */
  async function readBack(record: Execution, identity: Identity): Promise<void> {
    const client = s3For(identity.principal);
    const id = record.execution.QueryExecutionId!;
    try {
      const { bucket, key } = parseS3Url(record.execution.ResultConfiguration!.OutputLocation!);
      const metadata = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.metadata` }));
      const { ColumnInfo: columns } = JSON.parse((await metadata.Body!.transformToString()) || '{}') as {
        ColumnInfo: athena.ColumnInfo[];
      };
      const file = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const dml = (record.execution.StatementType ?? 'DML') === 'DML';
      await spool.copy(id, columns, dml, file.Body as Readable);
    } catch (error) {
      throw InvalidRequest(`Cannot read the results of ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * Every Athena call is authorised on its work group: the one named, or for a
   * query execution the one it ran in. An id that names no execution needs the
   * action on some work group, so a caller without the action anywhere is refused
   * before the lookup (AccessDenied, not "not found").
   */
  const onWorkGroup = (action: string, name: string | undefined): Permission[] => [
    { action, resource: authorizer.arns.athenaWorkGroup(name ?? 'primary') },
  ];
  const onExecution =
    (action: string) =>
    (input: { QueryExecutionId?: string }, principal: Principal): Permission[] => {
      const record = input.QueryExecutionId ? executions[input.QueryExecutionId] : undefined;
      if (record) return onWorkGroup(action, record.execution.WorkGroup);
      const names = Object.keys(state.workGroups);
      const granted = names.find((name) => authorizer.allows(principal, onWorkGroup(action, name)[0]!));
      return onWorkGroup(action, granted ?? 'primary');
    };
  const permissions = {
    StartQueryExecution: (input: { WorkGroup?: string }) => onWorkGroup('athena:StartQueryExecution', input.WorkGroup),
    GetQueryExecution: onExecution('athena:GetQueryExecution'),
    BatchGetQueryExecution: (input: { QueryExecutionIds?: string[] }, principal: Principal) =>
      (input.QueryExecutionIds ?? []).flatMap((id) =>
        onExecution('athena:BatchGetQueryExecution')({ QueryExecutionId: id }, principal),
      ),
    ListQueryExecutions: (input: { WorkGroup?: string }) => onWorkGroup('athena:ListQueryExecutions', input.WorkGroup),
    GetQueryResults: onExecution('athena:GetQueryResults'),
    StopQueryExecution: onExecution('athena:StopQueryExecution'),
    GetWorkGroup: (input: { WorkGroup?: string }) => onWorkGroup('athena:GetWorkGroup', input.WorkGroup),
    ListWorkGroups: () => [{ action: 'athena:ListWorkGroups', resource: '*' }],
    ListEngineVersions: () => [{ action: 'athena:ListEngineVersions', resource: '*' }],
    UpdateWorkGroup: (input: { WorkGroup?: string }) => onWorkGroup('athena:UpdateWorkGroup', input.WorkGroup),
    DeleteWorkGroup: (input: { WorkGroup?: string }) => onWorkGroup('athena:DeleteWorkGroup', input.WorkGroup),
    CreateWorkGroup: (input: { Name?: string }) => onWorkGroup('athena:CreateWorkGroup', input.Name),
  } satisfies Record<keyof typeof operations, unknown>;

  return {
    signingName: 'athena',
    targetPrefix: 'AmazonAthena',
    sdk: athenaSdk as unknown as Record<string, unknown>,
    invalidInput: (message) => InvalidRequest(message),
    operations: operations as unknown as Record<string, Handler>,
    permissions: permissions as PermissionRules,
  };
}
