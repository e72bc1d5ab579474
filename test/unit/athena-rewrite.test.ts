import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type JsonObject, parseJsonLossless, stringifyJsonLossless } from '../../local-aws/athena/engine/ast';
import type { DialectContext } from '../../local-aws/athena/engine/dialect';
import { QueryFailure } from '../../local-aws/athena/engine/errors';
import { MACRO_SQL } from '../../local-aws/athena/engine/macros';
import {
  analyzeStatement,
  nameResultColumns,
  qualifyColumnRefs,
  spliceTableSource,
  UNNAMED_COLUMN,
} from '../../local-aws/athena/engine/rewrite';
import { normalizeTrinoSql } from '../../local-aws/athena/engine/sql-text';
import { removePushedFilters } from '../../local-aws/athena/engine/views';

// DuckDB only parses and prints SQL here: the rewrite itself is pure.
let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run(MACRO_SQL);
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const context: DialectContext = {
  now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
  database: 'lake',
  invoker: 'arn:aws:iam::000000000000:user/ticksync-analyst',
  position: (node) =>
    typeof node.query_location === 'number' ? { line: 1, column: node.query_location + 1 } : undefined,
};

async function parse(sql: string): Promise<JsonObject> {
  const result = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [normalizeTrinoSql(sql).sql]);
  const parsed = parseJsonLossless(String(result.getRows()[0]![0])) as JsonObject;
  return (parsed.statements as JsonObject[])[0]!;
}

async function print(statement: JsonObject): Promise<string> {
  const json = stringifyJsonLossless({ error: false, statements: [statement] });
  const result = await connection.runAndReadAll('SELECT json_deserialize_sql($1::VARCHAR)', [json]);
  return String(result.getRows()[0]![0]);
}

async function rewrite(sql: string) {
  const statement = await parse(sql);
  const analysis = analyzeStatement(statement.node as JsonObject, context);
  return { statement, analysis, sql: await print(statement) };
}

async function rewriteFailure(sql: string): Promise<QueryFailure> {
  try {
    await rewrite(sql);
  } catch (error) {
    return error as QueryFailure;
  }
  throw new Error(`expected ${sql} to fail`);
}

async function valueOf(sql: string): Promise<unknown> {
  const result = await connection.runAndReadAll((await rewrite(sql)).sql);
  return result.getRowsJson()[0]![0];
}

test('table references are collected, CTE names are not', async () => {
  const { analysis } = await rewrite(
    'WITH recent AS (SELECT * FROM ticks) SELECT * FROM recent r JOIN "Lake"."Trades" AS t ON r.x = t.x LEFT JOIN awsdatacatalog.lake.quotes q ON q.x = r.x',
  );
  expect(
    analysis.tables.map((table) => [table.catalog, table.schema, table.table, table.alias, table.preserved]),
  ).toEqual([
    ['', '', 'ticks', 'ticks', true],
    ['', 'lake', 'trades', 't', true],
    ['awsdatacatalog', 'lake', 'quotes', 'q', false],
  ]);
  expect(analysis.tables[1]!.from?.items).toHaveLength(3);
  const full = await rewrite('SELECT * FROM a FULL JOIN b ON a.x = b.x RIGHT JOIN c ON c.x = a.x');
  expect(full.analysis.tables.map((table) => [table.table, table.preserved])).toEqual([
    ['a', false],
    ['b', false],
    ['c', true],
  ]);
});

test('the rewritten SQL keeps the query and applies Trino semantics', async () => {
  const { sql } = await rewrite(
    "SELECT 7 / 2, date_diff('hour', a, b), approx_distinct(x), current_timestamp FROM t WHERE regexp_like(s, 'a')",
  );
  expect(sql).toContain('athena_divide(7, 2)');
  expect(sql).toContain("date_sub('hour', a, b)");
  expect(sql).toContain('count(DISTINCT x)');
  expect(sql).toContain("CAST('2024-01-02 03:04:05.006+00' AS TIMESTAMP WITH TIME ZONE)");
  expect(sql).toContain("regexp_matches(s, 'a')");
});

test.each([
  ['SELECT 7 / 2', 3],
  ['SELECT -7 / 2', -3],
  ['SELECT 7e0 / 2', 3.5],
  ['SELECT 1e0 / 0', 'Infinity'],
  ['SELECT 0e0 / 0', 'NaN'],
  ['SELECT (SELECT sum(x) FROM (VALUES 7, 1) t(x)) / 3', '2'],
  ['SELECT CAST(2.5e0 AS integer)', 3],
  ['SELECT CAST(-2.5e0 AS bigint)', '-3'],
  ['SELECT CAST(1.5e0 AS varchar)', '1.5E0'],
  ["SELECT CAST(TIMESTAMP '2024-01-02 03:04:05' AS varchar)", '2024-01-02 03:04:05.000'],
  ["SELECT concat('a', NULL)", null],
  ["SELECT split_part('a,b', ',', 3)", null],
  ["SELECT regexp_replace('a1b22', '(\\d+)', '<$1>')", 'a<1>b<22>'],
  ["SELECT date_format(TIMESTAMP '2024-01-02 13:04:05', '%Y-%m-%d %h:%i %p')", '2024-01-02 01:04 PM'],
  ["SELECT EXTRACT(DOW FROM DATE '2024-01-07')", '7'],
  ["SELECT day_of_week(DATE '2024-01-08')", '1'],
  ["SELECT millisecond(TIMESTAMP '2024-01-02 03:04:05.678')", '678'],
  ['SELECT greatest(1, NULL, 3)', null],
  ['SELECT cardinality(MAP(ARRAY[1, 2], ARRAY[3, 4]))', '2'],
  ['SELECT json_extract_scalar(\'{"a":{"b":1}}\', \'$.a\')', null],
])('%s is %p', async (sql, expected) => {
  expect(await valueOf(sql)).toEqual(expected);
});

test('result columns get Trino names: aliases lowercased, expressions _colN', async () => {
  const { statement } = await rewrite('SELECT a, 1 + 1, b AS "MiXed", * FROM t UNION SELECT 1, 2, 3, 4 FROM u');
  nameResultColumns(statement.node as JsonObject);
  const sql = await print(statement);
  expect(sql).toContain(`(1 + 1) AS ${UNNAMED_COLUMN}1`);
  expect(sql).toContain('b AS mixed');
  expect(sql).not.toContain(`a AS ${UNNAMED_COLUMN}`);
});

test('columns named through the full table name point at its alias, and sources splice in', async () => {
  const { statement, analysis } = await rewrite(
    'SELECT lake.ticks.x, awsdatacatalog.lake.ticks.y, ticks.z FROM lake.ticks',
  );
  qualifyColumnRefs(analysis.columnRefs, analysis.tables, 'lake');
  const source = await parse('SELECT 1 AS x, 2 AS y, 3 AS z');
  spliceTableSource(analysis.tables[0]!, source.node as JsonObject);
  const sql = await print(statement);
  expect(sql).toBe('SELECT ticks.x, ticks.y, ticks.z FROM (SELECT 1 AS x, 2 AS y, 3 AS z) AS ticks');
  expect((await connection.runAndReadAll(sql)).getRowsJson()).toEqual([[1, 2, 3]]);
});

test.each([
  ["SELECT * FROM read_csv('/etc/passwd')", 'FUNCTION_NOT_FOUND', "Table function 'read_csv' not registered"],
  ["SELECT getenv('HOME')", 'FUNCTION_NOT_FOUND', "Function 'getenv' not registered"],
  ["SELECT list_transform([1], x -> read_text('/etc/passwd'))", 'FUNCTION_NOT_FOUND', "Function 'read_text'"],
  ["SELECT * FROM (SELECT * FROM t WHERE x IN (SELECT * FROM glob('/*')))", 'FUNCTION_NOT_FOUND', "'glob'"],
  ['SELECT * FROM (DESCRIBE t)', 'NOT_SUPPORTED', 'SHOW_REF'],
  ['SELECT ?', 'NOT_SUPPORTED', 'A query parameter'],
  ["SELECT COLUMNS('x') FROM t", 'NOT_SUPPORTED', 'COLUMNS'],
  ['SELECT * FROM a POSITIONAL JOIN b', 'NOT_SUPPORTED', 'POSITIONAL'],
  ['SELECT * FROM t QUALIFY row_number() OVER () = 1', 'NOT_SUPPORTED', 'QUALIFY'],
  ['SELECT x COLLATE nocase FROM t', 'NOT_SUPPORTED', 'COLLATE'],
])('%s is refused (%s)', async (sql, name, detail) => {
  const failure = await rewriteFailure(sql);
  expect(failure).toBeInstanceOf(QueryFailure);
  expect(failure.message.startsWith(`${name}: `)).toBe(true);
  expect(failure.message).toContain(detail);
});

describe('filters pushed into a view', () => {
  const occurrences = (text: string, part: string) => text.split(part).length - 1;

  test('choose partitions in each branch, then leave: the query evaluates each term once', async () => {
    const view = (await parse("SELECT a, dt FROM t1 WHERE dt < '2' UNION ALL SELECT a, dt FROM t2")).node as JsonObject;
    const statement = await parse("SELECT count(*) FROM v WHERE dt >= '1' AND a > 0");
    const analysis = analyzeStatement(
      statement.node as JsonObject,
      context,
      new Map([['lake.v', { schema: 'lake', node: view }]]),
    );
    // Both terms name columns every branch passes through: each branch holds a copy, for its tables' pruning.
    expect(analysis.pushedFilters.map(({ own, pushed }) => [own, pushed])).toEqual([
      [1, 2],
      [0, 2],
    ]);
    const pushed = await print(statement);
    expect(occurrences(pushed, "(dt >= '1')")).toBe(3);
    expect(occurrences(pushed, '(a > 0)')).toBe(3);
    removePushedFilters(analysis.pushedFilters);
    const run = await print(statement);
    expect(occurrences(run, "(dt >= '1')")).toBe(1);
    expect(occurrences(run, '(a > 0)')).toBe(1);
    // The view's own WHERE stays; the branch that had none has none again.
    expect(run).toContain("FROM t1 WHERE (dt < '2')");
    expect(run).toMatch(/FROM t2\)/);
    expect(run).toMatch(/WHERE \(\(dt >= '1'\) AND \(a > 0\)\)$/);
  });

  test('one term into a branch without a WHERE, and a WHERE changed since, which keeps its copies', async () => {
    const view = (await parse('SELECT a, dt FROM t1 UNION ALL SELECT a, dt FROM t2')).node as JsonObject;
    const statement = await parse("SELECT a FROM v WHERE dt = '1'");
    const analysis = analyzeStatement(
      statement.node as JsonObject,
      context,
      new Map([['lake.v', { schema: 'lake', node: view }]]),
    );
    expect(analysis.pushedFilters.map(({ own, pushed }) => [own, pushed])).toEqual([
      [0, 1],
      [0, 1],
    ]);
    // A shape removePushedFilters does not recognise is left whole: a term twice, never one missing.
    const [first] = analysis.pushedFilters;
    const kept = first!.branch.where_clause;
    removePushedFilters([{ ...first!, own: 1 }]);
    expect(first!.branch.where_clause).toBe(kept);
    removePushedFilters(analysis.pushedFilters);
    const run = await print(statement);
    expect(occurrences(run, "(dt = '1')")).toBe(1);
  });
});
