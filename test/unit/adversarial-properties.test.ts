import * as glueSdk from '@aws-sdk/client-glue';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { type JsonObject, parseJsonLossless, stringifyJsonLossless } from '../../local-aws/athena/engine/ast';
import type { DialectContext } from '../../local-aws/athena/engine/dialect';
import { MACRO_SQL } from '../../local-aws/athena/engine/macros';
import { analyzeStatement, assertEngineRelationsOnly, spliceTableSource } from '../../local-aws/athena/engine/rewrite';
import { compileTableNamePattern } from '../../local-aws/glue/expression';
import { inputSchema, MAX_NESTING_DEPTH, nestingDepth, validateInput } from '../../local-aws/protocol/validate';

/**
 * Properties, checked on random inputs (bounded in runs and time): the SQL
 * rewrite resolves every relation name as Trino scopes WITH queries, and leaves
 * DuckDB no name of the user's; the request validator never throws, keeps only
 * modelled members, and measures nesting as a plain recursive count does.
 */

const LIMITS = { numRuns: 150, interruptAfterTimeLimit: 20_000 };

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(MACRO_SQL);
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const context: DialectContext = {
  now: new Date(0),
  database: 'lake',
  invoker: 'arn:aws:iam::000000000000:user/ticksync-analyst',
  position: () => undefined,
};

async function serialize(sql: string): Promise<JsonObject> {
  const result = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const parsed = parseJsonLossless(String(result.getRows()[0]![0])) as JsonObject;
  if (parsed.error === true) throw new Error(`${String(parsed.error_message)} in ${sql}`);
  return (parsed.statements as JsonObject[])[0]!;
}

/** Names a query may use: WITH names, Glue tables, and DuckDB's own relations. */
const NAMES = ['a', 'b', 'c', 'ticks', 'pg_settings', 'duckdb_settings', 'duckdb_tables', 'information_schema'];

/** A reference as a user may spell it: any case, quoted or not. */
const spelling = (name: string) =>
  fc
    .tuple(fc.boolean(), fc.boolean())
    .map(([upper, quoted]) => (quoted ? `"${upper ? name.toUpperCase() : name}"` : upper ? name.toUpperCase() : name));

/** A query body over some references, in the forms the issue names. */
const body = (refs: string[]) =>
  fc.constantFrom(
    () => `SELECT x FROM ${refs[0]}`,
    () => `SELECT x FROM (SELECT x FROM ${refs[0]}) AS s`,
    () => `SELECT x FROM ${refs[0]} UNION ALL SELECT x FROM ${refs[1]}`,
    () => `SELECT x FROM ${refs[0]} EXCEPT SELECT x FROM ${refs[1]}`,
    () => `SELECT x FROM (VALUES (1)) AS v(x) WHERE x IN (SELECT x FROM ${refs[0]})`,
    () => `SELECT l.x FROM (VALUES (1)) AS v(y) CROSS JOIN LATERAL (SELECT x FROM ${refs[0]}) AS l`,
    () => `SELECT x FROM ${refs[0]} JOIN ${refs[1]} AS r2 USING (x)`,
  );

const referencesOf = (count: number) => fc.array(fc.constantFrom(...NAMES), { minLength: count, maxLength: count });
const spelled = (refs: string[]) => fc.tuple(...refs.map(spelling));

/** A WITH clause of 1 to 4 queries and a body, each reading random names in a random form. */
const query: fc.Arbitrary<string> = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 })
  .chain((declared) =>
    fc
      .tuple(fc.tuple(...declared.map(() => referencesOf(2).chain(spelled))), referencesOf(2).chain(spelled))
      .chain(([perQuery, main]) =>
        fc.tuple(
          fc.tuple(...perQuery.map((refs) => body(refs))),
          body(main),
          fc.tuple(...declared.map((name) => spelling(name))),
        ),
      )
      .map(([bodies, mainBody, names]) => {
        const withClause = names.map((name, index) => `${name} AS (${bodies[index]!()})`).join(', ');
        return `WITH ${withClause} ${mainBody()}`;
      }),
  );

test('every relation name resolves to a WITH query in scope or goes to the catalog; DuckDB sees none', async () => {
  await fc.assert(
    fc.asyncProperty(query, async (sql) => {
      const statement = await serialize(sql);
      const root = statement.node as JsonObject;
      const analysis = analyzeStatement(root, context);
      for (const table of analysis.tables) {
        spliceTableSource(table, (await serialize('SELECT 1 AS x')).node as JsonObject);
      }
      assertEngineRelationsOnly(root);
      // DuckDB binds what is left: every WITH reference to the query the rewrite meant.
      const text = await connection.runAndReadAll('SELECT json_deserialize_sql($1::VARCHAR)', [
        stringifyJsonLossless({ error: false, statements: [statement] }),
      ]);
      const rewritten = String(text.getRows()[0]![0]);
      // User names survive only as aliases of the engine's relations, never as relations.
      expect(rewritten).not.toMatch(
        /\b(FROM|JOIN)\s+"?(pg_settings|duckdb_settings|duckdb_tables|information_schema)\b/i,
      );
      await connection.runAndReadAll(rewritten);
    }),
    LIMITS,
  );
});

test('the catalog gets exactly the names no earlier WITH query declares (Trino scoping)', async () => {
  const cases: [string, string[]][] = [
    ['WITH a AS (SELECT x FROM b), b AS (SELECT 1 AS x) SELECT x FROM a', ['b']],
    ['WITH b AS (SELECT 1 AS x), a AS (SELECT x FROM b) SELECT x FROM a', []],
    ['WITH a AS (SELECT x FROM a) SELECT x FROM a', ['a']],
    [
      'WITH a AS (SELECT 1 AS x) SELECT x FROM (WITH b AS (SELECT x FROM c), c AS (SELECT x FROM a) SELECT x FROM b)',
      ['c'],
    ],
    ['WITH "PG_Settings" AS (SELECT 1 AS x), a AS (SELECT x FROM pg_settings) SELECT x FROM a', []],
    ['WITH a AS (SELECT x FROM pg_settings), pg_settings AS (SELECT 1 AS x) SELECT x FROM a', ['pg_settings']],
  ];
  for (const [sql, expected] of cases) {
    const analysis = analyzeStatement((await serialize(sql)).node as JsonObject, context);
    expect({ sql, catalog: analysis.tables.map((table) => table.table) }).toEqual({ sql, catalog: expected });
  }
});

test('random WITH clauses send to the catalog only names not declared before their use', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }),
      fc.array(fc.constantFrom(...NAMES), { minLength: 5, maxLength: 5 }),
      async (declared, refs) => {
        // Query i reads refs[i]; the body reads the last ref.
        const withClause = declared.map((name, index) => `${name} AS (SELECT x FROM ${refs[index]})`).join(', ');
        const sql = `WITH ${withClause} SELECT x FROM ${refs[4]}`;
        const expected = [
          ...declared.flatMap((_, index) => (declared.slice(0, index).includes(refs[index]!) ? [] : [refs[index]!])),
          ...(declared.includes(refs[4]!) ? [] : [refs[4]!]),
        ];
        const analysis = analyzeStatement((await serialize(sql)).node as JsonObject, context);
        expect(analysis.tables.map((table) => table.table)).toEqual(expected);
      },
    ),
    LIMITS,
  );
});

/** A recursive reference count of the nesting, to compare with the validator's iterative one. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

test('nesting depth is measured as a recursive count does, and gives up past the limit', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
      expect(nestingDepth(value, 100)).toBe(depthOf(value));
    }),
    LIMITS,
  );
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
  expect(nestingDepth(deep)).toBe(MAX_NESTING_DEPTH + 1);
});

const PROPERTY_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'Name', 'TableInput'];

test('the validator never throws, and keeps only the members the model has, as own data', () => {
  const schema = inputSchema(glueSdk as unknown as Record<string, unknown>, 'CreateTable')!;
  const modelled = [...schema.structIterator()].map(([name]) => name);
  const key = fc.oneof(fc.constantFrom(...PROPERTY_NAMES, 'DatabaseName', 'StorageDescriptor'), fc.string());
  const member = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
  fc.assert(
    fc.property(
      fc.dictionary(key, member, { maxKeys: 6 }),
      fc.dictionary(key, member, { maxKeys: 6 }),
      (top, table) => {
        const input = JSON.parse(JSON.stringify({ ...top, DatabaseName: 'lake', TableInput: table })) as unknown;
        const { problems, value } = validateInput(schema, input);
        expect(Array.isArray(problems)).toBe(true);
        const kept = value as Record<string, unknown>;
        expect(Object.getPrototypeOf(kept)).toBeNull();
        for (const name of Object.keys(kept)) expect(modelled).toContain(name);
        const tableInput = kept.TableInput as Record<string, unknown> | undefined;
        if (tableInput)
          for (const name of Object.keys(tableInput)) expect(PROPERTY_NAMES.slice(0, 5)).not.toContain(name);
      },
    ),
    LIMITS,
  );
});

test('name patterns match as the regular expressions they stand for, in linear time', () => {
  const piece = fc.constantFrom('a', 'b', '_', '*', '.', '.*', '[ab]', '[^a]');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), fc.stringMatching(/^[ab_]{0,12}$/), (pieces, name) => {
      const pattern = pieces.join('');
      const reference = new RegExp(`^(?:${pattern.replace(/(?<!\.)\*/g, '.*')})$`, 'i');
      expect(compileTableNamePattern(pattern)(name)).toBe(reference.test(name));
    }),
    LIMITS,
  );
  // Catastrophic for a backtracking engine: answered at once here.
  expect(compileTableNamePattern(`${'a*'.repeat(200)}b`)('a'.repeat(250))).toBe(false);
});
