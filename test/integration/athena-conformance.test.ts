import { GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { createAthenaClient } from '../../lib/clients';
import { loadConfig } from '../../lib/config';
import { mapLimit } from '../../local-aws/athena/engine/catalog';
import conformance from '../../local-aws/athena/engine/conformance.json';
import { createTestWorkGroup, dropTestWorkGroup, testWorkGroupName } from '../helpers/glue';

/**
 * The conformance suite: every example of local-aws/athena/engine/conformance.json (each
 * function Trino documents that the local engine supports, with Trino's result, NULL handling and
 * errors) run through the local Athena API and compared as Athena returns it: the text of
 * GetQueryResults, the column's type as Trino reports it, NULL as a missing value, and a failed
 * query's error name.
 */

interface Example {
  sql: string;
  result?: string | null;
  type?: string;
  error?: string;
}

type Outcome = { value: string | null; type: string } | { error: string };

const config = loadConfig();
const athena = createAthenaClient(config, 'admin');
const workGroup = testWorkGroupName('conformance');
/** Queries in flight: enough to hide the polling, few enough for a 2-core machine. */
const CONCURRENCY = 6;

const functions = Object.entries(conformance.functions as Record<string, { status: string; examples?: Example[] }>);
const examples = functions.flatMap(([name, entry]) => (entry.examples ?? []).map((example) => ({ name, example })));
const outcomes = new Map<Example, Outcome>();

async function outcomeOf(sql: string): Promise<Outcome> {
  const { QueryExecutionId } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: `SELECT ${sql}`,
      WorkGroup: workGroup,
      ResultConfiguration: { OutputLocation: `s3://${config.s3.bucket}/athena-results/conformance/` },
    }),
  );
  for (;;) {
    const { Status } = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }))).QueryExecution!;
    if (Status?.State === 'FAILED')
      return { error: Status.AthenaError?.ErrorMessage ?? Status.StateChangeReason ?? '' };
    if (Status?.State === 'SUCCEEDED') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { ResultSet } = await athena.send(new GetQueryResultsCommand({ QueryExecutionId }));
  const rows = ResultSet!.Rows!.slice(1);
  if (rows.length !== 1) return { error: `expected one row, got ${rows.length}` };
  return {
    value: rows[0]!.Data![0]!.VarCharValue ?? null,
    type: ResultSet!.ResultSetMetadata!.ColumnInfo![0]!.Type!,
  };
}

beforeAll(async () => {
  await createTestWorkGroup(athena, config, workGroup);
  await mapLimit(examples, CONCURRENCY, async ({ example }) => outcomes.set(example, await outcomeOf(example.sql)));
}, 120_000);

afterAll(async () => {
  await dropTestWorkGroup(athena, workGroup);
  athena.destroy();
});

test('every supported or differing function has an example, every refused one none', () => {
  for (const [name, entry] of functions) {
    const count = entry.examples?.length ?? 0;
    expect({ name, hasExamples: count > 0 }).toEqual({
      name,
      hasExamples: entry.status === 'supported' || entry.status === 'differs',
    });
  }
});

test.each(functions.filter(([, entry]) => entry.status === 'supported' || entry.status === 'differs'))(
  '%s',
  (name, entry) => {
    for (const example of entry.examples!) {
      const outcome = outcomes.get(example);
      const expected: Outcome =
        example.error !== undefined ? { error: example.error } : { value: example.result ?? null, type: example.type! };
      const actual =
        outcome && 'error' in outcome && example.error !== undefined ? { error: outcome.error.split(':')[0] } : outcome;
      expect({ sql: example.sql, outcome: actual }).toEqual({ sql: example.sql, outcome: expected });
    }
  },
);

test.each(functions.filter(([, entry]) => entry.status === 'absent-in-athena'))(
  "%s, in Trino's documentation but not in Athena, is not found as in Athena",
  async (name) => {
    expect(await outcomeOf(`${name}(1)`)).toEqual({
      error: `FUNCTION_NOT_FOUND: line 1:8: Function '${name}' not registered`,
    });
  },
);

test("a call takes at most 127 arguments, Trino's limit, and greatest and least take them all", async () => {
  const numbers = (count: number) => Array.from({ length: count }, (_, i) => i + 1).join(', ');
  expect(await outcomeOf(`greatest(${numbers(127)})`)).toEqual({ value: '127', type: 'integer' });
  expect(await outcomeOf(`least(${numbers(20)}, NULL)`)).toEqual({ value: null, type: 'integer' });
  expect(await outcomeOf(`greatest(${numbers(128)})`)).toEqual({
    error: 'TOO_MANY_ARGUMENTS: line 1:8: Too many arguments for function call greatest()',
  });
  expect(await outcomeOf(`concat(${numbers(128)})`)).toEqual({
    error: 'TOO_MANY_ARGUMENTS: line 1:8: Too many arguments for function call concat()',
  });
  // COALESCE is syntax, not a call: no such limit, as in Trino.
  expect(await outcomeOf(`coalesce(NULL, ${numbers(127)})`)).toEqual({ value: '1', type: 'integer' });
});

test.each([
  // Doubles and reals divide as IEEE 754 does, as in Trino.
  ['1e0 / 0', { value: 'Infinity', type: 'double' }],
  ['-1e0 / 0e0', { value: '-Infinity', type: 'double' }],
  ['0e0 / 0e0', { value: 'NaN', type: 'double' }],
  ["REAL '1' / REAL '0'", { value: 'Infinity', type: 'real' }],
  ['7 / 2e0', { value: '3.5', type: 'double' }],
  // Integers divide as integers, truncating; a zero fails, as a decimal zero does.
  ['-7 / 2', { value: '-3', type: 'integer' }],
  ["BIGINT '7' / 2", { value: '3', type: 'bigint' }],
  ['1 / 0', { error: 'DIVISION_BY_ZERO: Division by zero' }],
  ["DECIMAL '1.5' / DECIMAL '0.0'", { error: 'DIVISION_BY_ZERO: Division by zero' }],
  ['try(1 / 0)', { value: null, type: 'integer' }],
])('%s', async (sql, expected) => {
  expect(await outcomeOf(sql)).toEqual(expected);
});
