import {
  badData,
  describeError,
  columnNotFound,
  divisionByZero,
  exceededMemoryLimit,
  functionNotFound,
  genericUserError,
  internalError,
  invalidCastArgument,
  invalidFunctionArgument,
  malformedJson,
  notSupported,
  QueryFailure,
  type SqlPosition,
  syntaxError,
  typeMismatch,
} from './errors';

/**
 * DuckDB's error messages as Athena's: the error class picks the Trino error
 * name, files in the cache are named by their S3 object, internal names
 * (athena_* macros, cache paths, the rewritten SQL DuckDB quotes) never show.
 */

export interface ErrorContext {
  /** The S3 URI of a cached file, if it is one. */
  objectFor(file: string): string | undefined;
  /** Where the user's SQL names a column, for COLUMN_NOT_FOUND. */
  columnPosition(name: string): SqlPosition | undefined;
  memoryLimit: string;
  /** The object cache's folder: no path under it shows in a message. */
  cacheRoot: string;
}

/** DuckDB's "<Kind> Error: <detail>", detail cut before the SQL excerpt DuckDB appends. */
export function splitDuckDbError(message: string): { kind: string; detail: string } {
  const match = /^([A-Za-z ]+?) Error: ([\s\S]*)$/.exec(message);
  const detail = (match?.[2] ?? message).split(/\n\s*\n|\nLINE \d+:/)[0]!.trim();
  return { kind: match?.[1] ?? '', detail };
}

const hideInternalNames = (text: string) => text.replace(/\bathena_/g, '').replace(/\bmain\./g, '');

type Classifier = (detail: string, context: ErrorContext) => QueryFailure | undefined;

const inFile = /in file "([^"]+)"/;

function objectIn(detail: string, context: ErrorContext): string | undefined {
  const file = inFile.exec(detail)?.[1];
  return file === undefined ? undefined : (context.objectFor(file) ?? 'a cached object');
}

const withoutFile = (detail: string) =>
  detail.replace(/ in file "[^"]+"(, at byte \d+)?(, in line \d+| in line \d+)?/, '');

const CLASSIFIERS: Record<string, Classifier> = {
  'Out of Memory': (_detail, context) => exceededMemoryLimit(context.memoryLimit),
  'Invalid Input': (detail, context) => {
    const object = objectIn(detail, context);
    if (object && /^Malformed JSON/.test(detail)) {
      return malformedJson(
        withoutFile(detail)
          .replace(/^Malformed JSON:?\s*/, '')
          .replace(/^: /, ''),
        object,
      );
    }
    if (object) return badData(withoutFile(detail), object);
    if (detail === 'Division by zero') return divisionByZero();
    return invalidFunctionArgument(hideInternalNames(detail));
  },
  Conversion: (detail, context) => {
    // macros.ts fails a division by zero with this cast, which DuckDB's TRY can catch.
    if (detail.includes("'athena_division_by_zero'")) return divisionByZero();
    const invalid = /^Could not convert string 'athena_invalid_argument: ([\s\S]*)' to INT64/.exec(detail)?.[1];
    if (invalid !== undefined) return invalidFunctionArgument(invalid);
    const object = objectIn(detail, context);
    return object ? badData(withoutFile(detail), object) : invalidCastArgument(detail);
  },
  'Out of Range': (detail) => new QueryFailure(2, 1106, `NUMERIC_VALUE_OUT_OF_RANGE: ${detail}`, false),
  Binder: (detail, context) => {
    const column = /^Referenced column "([^"]+)" not found/.exec(detail)?.[1];
    if (column !== undefined) return columnNotFound(column, context.columnPosition(column));
    const call = /^No function matches the given name and argument types '([^(]+)\((.*)\)'/.exec(detail);
    if (call) {
      const name = hideInternalNames(call[1]!);
      return new QueryFailure(
        2,
        1303,
        `FUNCTION_NOT_FOUND: Unexpected parameters (${call[2]!.toLowerCase()}) for function ${name}`,
        false,
      );
    }
    const grouped = /column "([^"]+)" must appear in the GROUP BY clause/.exec(detail)?.[1];
    if (grouped !== undefined) {
      return new QueryFailure(
        2,
        1000,
        `EXPRESSION_NOT_AGGREGATE: '${grouped}' must be an aggregate expression or appear in GROUP BY clause`,
        false,
      );
    }
    if (/^Cannot compare values of type/.test(detail)) return typeMismatch(detail);
    return genericUserError(hideInternalNames(detail));
  },
  Catalog: (detail) => {
    const name = /Function with name (\w+) does not exist/.exec(detail)?.[1];
    return name ? functionNotFound(hideInternalNames(name)) : genericUserError(hideInternalNames(detail));
  },
  Parser: (detail) => syntaxError(detail),
  'Not implemented': (detail) => notSupported(hideInternalNames(detail)),
  Permission: (detail) => notSupported(`The local Athena engine does not allow this: ${detail}`),
};

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Cache paths outside `in file "..."` (which the classifiers name by object) as their S3 objects. */
function hideCachePaths(detail: string, context: ErrorContext): string {
  const path = new RegExp(`${escapeRegExp(context.cacheRoot)}[^\\s"',)]*`, 'g');
  return detail.replace(path, (file) => (inFile.test(detail) ? file : (context.objectFor(file) ?? 'a cached object')));
}

/** A DuckDB failure (not an interrupt: the engine decides between time limit and cancel) as a QueryFailure. */
export function classifyDuckDbError(error: unknown, context: ErrorContext): QueryFailure {
  if (error instanceof QueryFailure) return error;
  const { message } = describeError(error);
  const { kind, detail: raw } = splitDuckDbError(message);
  const detail = hideCachePaths(raw, context);
  const classified = CLASSIFIERS[kind]?.(detail, context);
  if (classified) return classified;
  if (kind === 'INTERNAL' || kind === 'FATAL' || kind === '') return internalError(hideInternalNames(detail));
  return genericUserError(hideInternalNames(detail));
}
