/**
 * The ways a query fails, worded as Athena engine version 3 (Trino) words them:
 * `<ERROR_NAME>: line L:C: <detail>`, with Athena's error category (1 system,
 * 2 user, 3 other) and error type from its error catalog.
 */
export class QueryFailure extends Error {
  constructor(
    readonly errorCategory: 1 | 2 | 3,
    readonly errorType: number,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'QueryFailure';
  }
}

/** A place in the user's SQL, both 1-based as Trino reports them. */
export interface SqlPosition {
  line: number;
  column: number;
}

const SYSTEM = 1;
const USER = 2;

/** Athena's error types (https://docs.aws.amazon.com/athena/latest/ug/error-reference.html). */
export const AthenaErrorType = {
  exhaustedResources: 0,
  internal: 200,
  timeout: 206,
  user: 1000,
  data: 1001,
  syntax: 1006,
  canceled: 1011,
  invalidFunctionArgument: 1106,
  tableNotFound: 1110,
  notSupported: 1200,
  statementNotSupported: 1202,
  entityNotFound: 1301,
  fileNotFound: 1302,
  functionNotFound: 1303,
  s3Throttled: 1403,
  permission: 1501,
} as const;

const at = (position: SqlPosition | undefined) => (position ? `line ${position.line}:${position.column}: ` : '');

const userFailure = (type: number, name: string, detail: string, position?: SqlPosition) =>
  new QueryFailure(USER, type, `${name}: ${at(position)}${detail}`, false);

export const syntaxError = (detail: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.syntax, 'SYNTAX_ERROR', detail, position);

export const tableNotFound = (name: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.tableNotFound, 'TABLE_NOT_FOUND', `Table '${name}' does not exist`, position);

export const schemaNotFound = (name: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.entityNotFound, 'SCHEMA_NOT_FOUND', `Schema '${name}' does not exist`, position);

export const catalogNotFound = (name: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.entityNotFound, 'CATALOG_NOT_FOUND', `Catalog '${name}' does not exist`, position);

export const functionNotFound = (name: string, position?: SqlPosition, kind = 'Function') =>
  userFailure(AthenaErrorType.functionNotFound, 'FUNCTION_NOT_FOUND', `${kind} '${name}' not registered`, position);

/** A known function called with arguments none of its signatures takes, when their types do not matter. */
export const unexpectedParameters = (name: string, types: string, expected: string, position?: SqlPosition) =>
  userFailure(
    AthenaErrorType.functionNotFound,
    'FUNCTION_NOT_FOUND',
    `Unexpected parameters (${types}) for function ${name}. Expected: ${expected}`,
    position,
  );

/** Trino's limit on the arguments of one call. */
export const tooManyArguments = (name: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.user, 'TOO_MANY_ARGUMENTS', `Too many arguments for function call ${name}()`, position);

export const columnNotFound = (name: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.user, 'COLUMN_NOT_FOUND', `Column '${name}' cannot be resolved`, position);

export const notSupported = (detail: string, position?: SqlPosition) =>
  userFailure(AthenaErrorType.notSupported, 'NOT_SUPPORTED', detail, position);

export const statementNotSupported = (statement: string, position?: SqlPosition) =>
  userFailure(
    AthenaErrorType.statementNotSupported,
    'NOT_SUPPORTED',
    `${statement} statements are not supported by the local Athena engine (it runs SELECT, WITH, VALUES, SHOW and DESCRIBE)`,
    position,
  );

/** Table properties Athena cannot use (partition projection's, say): the table, not the query, is wrong. */
export const invalidTableProperty = (detail: string) =>
  userFailure(AthenaErrorType.user, 'INVALID_TABLE_PROPERTY', detail);

/** A query whose WHERE clause gives an injected projected partition column no value, or not only equalities. */
export const injectedProjectionConstraint = (column: string) =>
  userFailure(
    AthenaErrorType.user,
    'CONSTRAINT_VIOLATION',
    `Injected projected partition column ${column} must have only (and at least one) equality conditions in the WHERE clause!`,
  );

export const exceededPartitionLimit = (detail: string) =>
  userFailure(AthenaErrorType.user, 'HIVE_EXCEEDED_PARTITION_LIMIT', detail);

export const typeMismatch = (detail: string) => userFailure(AthenaErrorType.user, 'TYPE_MISMATCH', detail);

export const invalidFunctionArgument = (detail: string) =>
  userFailure(AthenaErrorType.invalidFunctionArgument, 'INVALID_FUNCTION_ARGUMENT', detail);

export const invalidCastArgument = (detail: string) =>
  userFailure(AthenaErrorType.invalidFunctionArgument, 'INVALID_CAST_ARGUMENT', detail);

export const divisionByZero = () =>
  userFailure(AthenaErrorType.invalidFunctionArgument, 'DIVISION_BY_ZERO', 'Division by zero');

export const genericUserError = (detail: string) => userFailure(AthenaErrorType.user, 'GENERIC_USER_ERROR', detail);

/** A line the JSON SerDe cannot parse (OpenX: "Row is not a valid JSON Object"). */
export const malformedJson = (detail: string, object: string) =>
  userFailure(
    AthenaErrorType.data,
    'HIVE_CURSOR_ERROR',
    `Row is not a valid JSON Object - JSONException: ${detail} (object ${object})`,
  );

/** A value that does not fit its column's type. */
export const badData = (detail: string, object: string) =>
  userFailure(AthenaErrorType.data, 'HIVE_BAD_DATA', `${detail} (object ${object})`);

export const unsupportedObject = (detail: string, object: string) =>
  userFailure(AthenaErrorType.notSupported, 'HIVE_UNSUPPORTED_FORMAT', `${detail} (object ${object})`);

export const objectNotFound = (object: string) =>
  userFailure(AthenaErrorType.fileNotFound, 'HIVE_FILE_NOT_FOUND', `${object} was listed but could not be read`);

export const objectAccessDenied = (object: string, detail: string) =>
  userFailure(AthenaErrorType.permission, 'PERMISSION_DENIED', `Access denied reading ${object} (${detail})`);

/** The caller may not read a table of the catalog: Athena passes on Glue's AccessDeniedException. */
export const glueAccessDenied = (detail: string) =>
  new QueryFailure(
    USER,
    AthenaErrorType.permission,
    `AccessDeniedException: ${detail} (Service: AWSGlue; Status Code: 400; Error Code: AccessDeniedException)`,
    false,
  );

export const canceled = () =>
  new QueryFailure(USER, AthenaErrorType.canceled, 'USER_CANCELED: Query was canceled by user', false);

/** Resubmitting the same query to the same engine would hit the same limit: not retryable. */
export const exceededTimeLimit = (timeoutMs: number) =>
  new QueryFailure(
    SYSTEM,
    AthenaErrorType.timeout,
    `EXCEEDED_TIME_LIMIT: Query exceeded the maximum execution time limit of ${formatDuration(timeoutMs)}`,
    false,
  );

export const exceededMemoryLimit = (limit: string) =>
  new QueryFailure(
    SYSTEM,
    AthenaErrorType.exhaustedResources,
    `EXCEEDED_MEMORY_LIMIT: Query exceeded the local memory limit of ${limit}`,
    false,
  );

export const s3Throttled = (object: string) =>
  new QueryFailure(SYSTEM, AthenaErrorType.s3Throttled, `HIVE_CANNOT_OPEN_SPLIT: S3 throttled reading ${object}`, true);

export const internalError = (detail: string) =>
  new QueryFailure(SYSTEM, AthenaErrorType.internal, `GENERIC_INTERNAL_ERROR: ${detail}`, true);

/**
 * An error's message and name. Duck-typed: errors from the DuckDB binding or an SDK may come from
 * another realm (a test VM, say), where `instanceof Error` is false.
 */
export function describeError(error: unknown): { name: string; message: string } {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { name, code, message } = error as { name?: unknown; code?: unknown; message: unknown };
    return { name: String(typeof code === 'string' ? code : (name ?? '')), message: String(message) };
  }
  return { name: '', message: String(error) };
}

/** Trino's duration format: "30.00m", "10.00s". */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(2)}h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(2)}m`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  return `${ms}ms`;
}
