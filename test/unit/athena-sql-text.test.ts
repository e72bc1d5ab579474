import {
  applyEdits,
  byteToCharOffset,
  classifyStatement,
  hivePatternMatcher,
  normalizeTrinoSql,
  parseUtilityStatement,
  positionAt,
  statementTypeOf,
  tokenize,
} from '../../local-aws/athena/engine/sql-text';
import { QueryFailure } from '../../local-aws/athena/engine/errors';

const utility = (sql: string) => parseUtilityStatement(sql, tokenize(sql));
const kind = (sql: string) => classifyStatement(tokenize(sql)).kind;

test('tokens: words lowercased, strings and quoted names unquoted, comments skipped', () => {
  const tokens = tokenize(`-- note\nSELECT "Odd ""x""", 'it''s', 1.5e3 /* c */ FROM \`db\`.t;`);
  expect(tokens.map((token) => [token.kind, token.value])).toEqual([
    ['word', 'select'],
    ['quoted', 'Odd "x"'],
    ['symbol', ','],
    ['string', "it's"],
    ['symbol', ','],
    ['number', '1.5e3'],
    ['word', 'from'],
    ['quoted', 'db'],
    ['symbol', '.'],
    ['word', 't'],
    ['symbol', ';'],
  ]);
  expect(tokens[0]!.start).toBe(8);
});

test('positions are Trino line:column, both from 1, in characters', () => {
  const sql = 'SELECT 1\nFROM tbl';
  expect(positionAt(sql, 0)).toEqual({ line: 1, column: 1 });
  expect(positionAt(sql, sql.indexOf('tbl'))).toEqual({ line: 2, column: 6 });
  // DuckDB reports bytes: "é" is two.
  expect(byteToCharOffset('SELECT é, x', Buffer.byteLength('SELECT é, '))).toBe('SELECT é, '.length);
});

test('statements are classified by their first word', () => {
  expect(kind('  (SELECT 1)')).toBe('query');
  expect(kind('with a as (select 1) select * from a')).toBe('query');
  expect(kind('VALUES 1')).toBe('query');
  expect(kind('SHOW TABLES')).toBe('utility');
  expect(kind('describe t')).toBe('utility');
  expect(kind('COPY t TO x')).toBe('unsupported');
  expect(kind('SELEC 1')).toBe('unknown');
  expect(kind('INSERT INTO t VALUES (1)')).toBe('unsupported');
  expect(kind('  -- nothing\n')).toBe('empty');
  expect(kind("'x'")).toBe('unknown');
});

test("Trino's VALUES rows without parentheses are wrapped; rows with them are kept", () => {
  expect(normalizeTrinoSql('VALUES 1, 2').sql).toBe('VALUES (1), (2)');
  expect(normalizeTrinoSql("VALUES (1, 'a'), (2, 'b')").sql).toBe("VALUES (1, 'a'), (2, 'b')");
  expect(normalizeTrinoSql('SELECT * FROM (VALUES ARRAY[1, 2], (1 + 2) * 3) AS t(x)').sql).toBe(
    'SELECT * FROM (VALUES (ARRAY[1, 2]), ((1 + 2) * 3)) AS t(x)',
  );
});

test("Trino's type spellings and typed literals become DuckDB's", () => {
  expect(normalizeTrinoSql('CAST(x AS ARRAY(ARRAY(varchar)))').sql).toBe('CAST(x AS varchar[][])');
  expect(normalizeTrinoSql("CAST('x' AS timestamp(3) with time zone)").sql).toBe(
    "CAST('x' AS timestamp with time zone)",
  );
  expect(normalizeTrinoSql("SELECT DECIMAL '1.50', X'6869', x 'not hex'").sql).toBe(
    "SELECT 1.50, from_hex('6869'), x 'not hex'",
  );
});

test('offsets in the normalized SQL map back to the user text', () => {
  const sql = 'VALUES 1, 2, nope(3)';
  const edited = normalizeTrinoSql(sql);
  expect(edited.sql).toBe('VALUES (1), (2), (nope(3))');
  expect(edited.toOriginal(edited.sql.indexOf('nope'))).toBe(sql.indexOf('nope'));
  expect(edited.toOriginal(edited.sql.indexOf('2'))).toBe(sql.indexOf('2'));
  const replaced = applyEdits('abcdef', [{ start: 1, end: 3, text: 'XYZW' }]);
  expect(replaced.sql).toBe('aXYZWdef');
  expect(replaced.toOriginal(replaced.sql.indexOf('d'))).toBe(3);
  expect(replaced.toOriginal(2)).toBe(1);
});

test('utility statements parse with their names and patterns', () => {
  expect(utility('SHOW TABLES')).toEqual({ kind: 'show-tables', database: undefined, pattern: undefined });
  expect(utility("SHOW TABLES IN `Lake` 'tick*'")).toMatchObject({
    kind: 'show-tables',
    database: { parts: ['lake'] },
    pattern: 'tick*',
  });
  expect(utility("show schemas like 'l*'")).toEqual({ kind: 'show-databases', pattern: 'l*' });
  expect(utility('SHOW PARTITIONS "Lake".ticks;')).toMatchObject({
    kind: 'show-partitions',
    table: { parts: ['lake', 'ticks'], start: 16 },
  });
  expect(utility('SHOW COLUMNS FROM ticks IN lake')).toMatchObject({
    kind: 'show-columns',
    table: { parts: ['ticks'] },
    database: { parts: ['lake'] },
  });
  expect(utility('DESCRIBE FORMATTED awsdatacatalog.lake.ticks')).toMatchObject({
    kind: 'describe',
    table: { parts: ['awsdatacatalog', 'lake', 'ticks'] },
  });
});

test('a malformed utility statement is a SYNTAX_ERROR at the offending token', () => {
  const failure = (() => {
    try {
      utility('SHOW TABLES IN lake extra');
    } catch (error) {
      return error;
    }
  })();
  expect(failure).toBeInstanceOf(QueryFailure);
  expect((failure as QueryFailure).message).toBe("SYNTAX_ERROR: line 1:21: mismatched input 'extra'. Expecting: <EOF>");
  expect(() => utility('SHOW VIEWS')).toThrow(/mismatched input 'VIEWS'. Expecting: 'DATABASES', 'SCHEMAS'/);
});

test("Hive's SHOW patterns: * and | , case-insensitively", () => {
  const matches = hivePatternMatcher('tick*|Trades');
  expect(['ticks', 'TICKS_2', 'trades', 'trades2', 'orders'].filter(matches)).toEqual(['ticks', 'TICKS_2', 'trades']);
  expect(hivePatternMatcher(undefined)('anything')).toBe(true);
  expect(hivePatternMatcher('a.b')('axb')).toBe(false);
});

test("a statement's Athena StatementType, from its first word", () => {
  expect(statementTypeOf('-- top\n(SELECT 1)')).toBe('DML');
  expect(statementTypeOf('WITH t AS (SELECT 1) SELECT * FROM t')).toBe('DML');
  expect(statementTypeOf('SHOW TABLES')).toBe('DDL');
  expect(statementTypeOf('DESCRIBE ticks')).toBe('UTILITY');
  expect(statementTypeOf('EXPLAIN SELECT 1')).toBe('UTILITY');
  expect(statementTypeOf('INSERT INTO t VALUES (1)')).toBe('DML');
  expect(statementTypeOf('CREATE TABLE t (a int)')).toBe('DDL');
});
