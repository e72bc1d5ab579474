import { classifyDuckDbError, type ErrorContext, splitDuckDbError } from '../../local-aws/athena/engine/duckdb-errors';
import { formatDuration, QueryFailure } from '../../local-aws/athena/engine/errors';
import { classifyObjectError } from '../../local-aws/athena/engine/object-cache';
import { QueryEngine } from '../../local-aws/athena/engine';

const context: ErrorContext = {
  objectFor: (file) => (file === '/cache/objects/ab/x.gz' ? 's3://lake/raw/a.jsonl.gz' : undefined),
  columnPosition: (name) => (name === 'volum' ? { line: 2, column: 8 } : undefined),
  memoryLimit: '1GB',
  cacheRoot: '/cache/objects',
};
const classify = (message: string) => classifyDuckDbError(new Error(message), context);

test("DuckDB's message is split from the SQL excerpt it appends", () => {
  expect(splitDuckDbError('Binder Error: bad thing\n\nLINE 1: SELECT athena_x(1)\n   ^')).toEqual({
    kind: 'Binder',
    detail: 'bad thing',
  });
});

test.each([
  [
    'Invalid Input Error: Malformed JSON in file "/cache/objects/ab/x.gz", at byte 12 in line 3: unexpected character.',
    'HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: unexpected character. (object s3://lake/raw/a.jsonl.gz)',
    1001,
  ],
  [
    'Invalid Input Error: JSON transform error in file "/cache/objects/ab/x.gz", in line 1: Failed to cast value to numerical: "r1"',
    'HIVE_BAD_DATA: JSON transform error: Failed to cast value to numerical: "r1" (object s3://lake/raw/a.jsonl.gz)',
    1001,
  ],
  ['Invalid Input Error: Division by zero', 'DIVISION_BY_ZERO: Division by zero', 1106],
  [
    'Out of Memory Error: failed to allocate data of size 128.0 MiB (128.0 MiB/190.7 MiB used)',
    'EXCEEDED_MEMORY_LIMIT: Query exceeded the local memory limit of 1GB',
    0,
  ],
  [
    'Binder Error: Referenced column "volum" not found in FROM clause!\nCandidate bindings: "volume"',
    "COLUMN_NOT_FOUND: line 2:8: Column 'volum' cannot be resolved",
    1000,
  ],
  [
    "Binder Error: No function matches the given name and argument types 'athena_split_part(INTEGER)'. You might need to add explicit type casts.\n\tCandidate functions:",
    'FUNCTION_NOT_FOUND: Unexpected parameters (integer) for function split_part',
    1303,
  ],
  [
    'Binder Error: column "seq" must appear in the GROUP BY clause or must be part of an aggregate function.',
    "EXPRESSION_NOT_AGGREGATE: 'seq' must be an aggregate expression or appear in GROUP BY clause",
    1000,
  ],
  [
    "Conversion Error: Could not convert string 'x' to INT32",
    "INVALID_CAST_ARGUMENT: Could not convert string 'x' to INT32",
    1106,
  ],
  ['INTERNAL Error: something broke', 'GENERIC_INTERNAL_ERROR: something broke', 200],
])('%s', (message, expected, errorType) => {
  const failure = classify(message);
  expect(failure).toBeInstanceOf(QueryFailure);
  expect(failure.message).toBe(expected);
  expect(failure.errorType).toBe(errorType);
});

test('internal names and cache paths never show', () => {
  const failure = classify(
    'Binder Error: Macro athena_divisor() failed in main.athena_x\n\nLINE 1: SELECT /cache/objects/x',
  );
  expect(failure.message).toBe('GENERIC_USER_ERROR: Macro divisor() failed in x');
  expect(
    classify('Invalid Input Error: Malformed JSON in file "/elsewhere", at byte 1 in line 1: x').message,
  ).toContain('(object a cached object)');
});

test('a QueryFailure passes through unchanged; categories say who is at fault', () => {
  const original = new QueryFailure(2, 1006, 'SYNTAX_ERROR: x', false);
  expect(classifyDuckDbError(original, context)).toBe(original);
  expect(classify('Out of Memory Error: x').errorCategory).toBe(1);
  expect(classify('Binder Error: x').errorCategory).toBe(2);
});

test('S3 failures name the object', () => {
  const object = { bucket: 'lake', key: 'raw/a.gz', size: 1, etag: 'e' };
  const denied = classifyObjectError(Object.assign(new Error('no'), { name: 'AccessDenied' }), object);
  expect((denied as QueryFailure).message).toBe(
    'PERMISSION_DENIED: Access denied reading s3://lake/raw/a.gz (AccessDenied: no)',
  );
  const throttled = classifyObjectError(Object.assign(new Error('slow'), { name: 'SlowDown' }), object) as QueryFailure;
  expect(throttled.retryable).toBe(true);
  const missing = classifyObjectError(Object.assign(new Error('gone'), { code: 'ENOENT' }), object) as QueryFailure;
  expect(missing.message).toMatch(/^HIVE_FILE_NOT_FOUND: s3:\/\/lake\/raw\/a.gz/);
  const other = new Error('socket hang up');
  expect(classifyObjectError(other, object)).toBe(other);
});

test('durations read as Trino prints them', () => {
  expect(formatDuration(1_800_000)).toBe('30.00m');
  expect(formatDuration(1500)).toBe('1.50s');
  expect(formatDuration(200)).toBe('200ms');
});

test('engine options are checked when the engine is made', () => {
  const options = { cacheDir: '/tmp/unused', memoryLimit: '1GB', threads: 1 };
  expect(() => new QueryEngine({ ...options, memoryLimit: 'lots' })).toThrow(
    "QueryEngine option memoryLimit: expected a size such as '1GB', got 'lots'",
  );
  expect(() => new QueryEngine({ ...options, threads: 0 })).toThrow('QueryEngine option threads');
  expect(() => new QueryEngine({ ...options, maxConcurrentQueries: 1.5 })).toThrow('maxConcurrentQueries');
});
