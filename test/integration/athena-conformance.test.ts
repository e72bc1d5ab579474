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
    expect({ name, hasExamples: count > 0 }).toEqual({ name, hasExamples: entry.status !== 'refused' });
  }
});

test.each(functions.filter(([, entry]) => entry.status !== 'refused'))('%s', (name, entry) => {
  for (const example of entry.examples!) {
    const outcome = outcomes.get(example);
    const expected: Outcome =
      example.error !== undefined ? { error: example.error } : { value: example.result ?? null, type: example.type! };
    const actual =
      outcome && 'error' in outcome && example.error !== undefined ? { error: outcome.error.split(':')[0] } : outcome;
    expect({ sql: example.sql, outcome: actual }).toEqual({ sql: example.sql, outcome: expected });
  }
});
