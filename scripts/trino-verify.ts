import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../lib/logger';
import { mapLimit } from '../local-aws/athena/engine/catalog';
import conformance from '../local-aws/athena/engine/conformance.json';
import { javaDoubleToString, javaFloatToString } from '../local-aws/athena/engine/render';
import { runCli } from './cli';

/**
 * Runs every example of the conformance inventory (local-aws/athena/engine/conformance.json) against a
 * real Trino server and reports where Trino's answer is not the one the inventory expects: the
 * examples' expected results are meant to be Trino's, so a mismatch on a supported function is a bug
 * in the inventory or the engine, and one on a differing function is the documented difference (or a
 * sign that it changed). A tool, not part of CI: Trino is too heavy to start there.
 */

interface Example {
  sql: string;
  result?: string | null;
  type?: string;
  error?: string;
}

interface Entry {
  status: string;
  source?: string;
  examples?: Example[];
}

export type Outcome = { value: string | null; type: string } | { error: string };

/** The type of a column as Trino's client protocol describes it. */
interface TypeSignature {
  rawType: string;
  arguments: { kind: string; value: TypeSignature | { fieldName?: { name: string }; typeSignature: TypeSignature } }[];
}

interface StatementResponse {
  nextUri?: string;
  columns?: { type: string; typeSignature: TypeSignature }[];
  data?: unknown[][];
  error?: { errorName: string; message: string };
}

const TYPE_ARGUMENT = (signature: TypeSignature, index: number): TypeSignature => {
  const argument = signature.arguments[index]!.value;
  return 'typeSignature' in argument ? argument.typeSignature : argument;
};

/** A value of Trino's JSON protocol as Athena's text of it (what GetQueryResults returns). */
export function athenaText(signature: TypeSignature, value: unknown): string {
  if (value === null) return 'null';
  switch (signature.rawType) {
    case 'double':
      return typeof value === 'number' ? javaDoubleToString(value) : String(value);
    case 'real':
      return typeof value === 'number' ? javaFloatToString(value) : String(value);
    case 'varbinary':
      return Array.from(Buffer.from(String(value), 'base64'), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
    case 'array':
      return `[${(value as unknown[]).map((item) => athenaText(TYPE_ARGUMENT(signature, 0), item)).join(', ')}]`;
    case 'map':
      return `{${Object.entries(value as Record<string, unknown>)
        .map(([key, item]) => `${key}=${athenaText(TYPE_ARGUMENT(signature, 1), item)}`)
        .join(', ')}}`;
    case 'row':
      return `{${(value as unknown[])
        .map((item, index) => {
          const field = signature.arguments[index]!.value as { fieldName?: { name: string } };
          return `${field.fieldName?.name ?? `field${index}`}=${athenaText(TYPE_ARGUMENT(signature, index), item)}`;
        })
        .join(', ')}}`;
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/** Runs one statement through Trino's client protocol: its one value and type, or its error's name. */
export async function trinoOutcome(server: string, sql: string): Promise<Outcome> {
  // Athena's session: UTC, the catalog awsdatacatalog, the query's database (the examples' is default).
  const headers = {
    'X-Trino-User': 'trino-verify',
    'X-Trino-Time-Zone': 'UTC',
    'X-Trino-Catalog': 'awsdatacatalog',
    'X-Trino-Schema': 'default',
  };
  let response = (await (
    await fetch(new URL('/v1/statement', server), { method: 'POST', headers, body: sql })
  ).json()) as StatementResponse;
  let columns: StatementResponse['columns'];
  const rows: unknown[][] = [];
  for (;;) {
    if (response.error) return { error: response.error.errorName };
    columns ??= response.columns;
    rows.push(...(response.data ?? []));
    if (!response.nextUri) break;
    response = (await (await fetch(response.nextUri, { headers })).json()) as StatementResponse;
  }
  if (rows.length !== 1 || !columns) return { error: `expected one row, got ${rows.length}` };
  const signature = columns[0]!.typeSignature;
  const value = rows[0]![0];
  return { value: value === null ? null : athenaText(signature, value), type: signature.rawType };
}

export interface Mismatch {
  name: string;
  status: string;
  sql: string;
  expected: Outcome;
  trino: Outcome;
}

const expectedOutcome = (example: Example): Outcome =>
  example.error !== undefined ? { error: example.error } : { value: example.result ?? null, type: example.type! };

/** The examples of Trino's functions (not those of Athena's own, which Trino has not) against the server. */
export async function verify(server: string, concurrency: number) {
  const examples = Object.entries(conformance.functions as Record<string, Entry>)
    .filter(([, entry]) => entry.source !== 'athena')
    .flatMap(([name, entry]) => (entry.examples ?? []).map((example) => ({ name, status: entry.status, example })));
  const mismatches: Mismatch[] = [];
  await mapLimit(examples, concurrency, async ({ name, status, example }) => {
    const trino = await trinoOutcome(server, `SELECT ${example.sql}`);
    const expected = expectedOutcome(example);
    if (JSON.stringify(trino) !== JSON.stringify(expected))
      mismatches.push({ name, status, sql: example.sql, expected, trino });
  });
  mismatches.sort((a, b) => a.name.localeCompare(b.name));
  return { examples: examples.length, matched: examples.length - mismatches.length, mismatches };
}

/** Fails at once, naming the server, when nothing answers there as Trino does. */
async function requireTrino(server: string): Promise<void> {
  const info = await fetch(new URL('/v1/info', server), { signal: AbortSignal.timeout(5000) }).then(
    async (response) => (response.ok ? ((await response.json()) as { nodeVersion?: { version?: string } }) : undefined),
    () => undefined,
  );
  if (info?.nodeVersion?.version === undefined) throw new Error(`Trino at ${server} is not answering`);
}

const show = (outcome: Outcome) =>
  'error' in outcome ? `error ${outcome.error}` : `${JSON.stringify(outcome.value)} (${outcome.type})`;

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 32)
    throw new InvalidArgumentError(`expected a whole number from 1 to 32, got '${text}'`);
  return value;
}

function serverUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // Reported below.
  }
  throw new InvalidArgumentError(`expected an http(s) URL such as http://127.0.0.1:8080, got '${text}'`);
}

if (require.main === module) {
  const program = new Command('npm run trino-verify --')
    .description(
      "Run every example of the conformance inventory against a real Trino server and report where Trino's answer differs. Exit 0: every example of a supported function matched; 1: a supported function's example did not (or Trino did not answer).",
    )
    .requiredOption('--server <url>', 'the Trino server, e.g. http://127.0.0.1:8080', serverUrl)
    .option('--concurrency <n>', 'queries in flight', positiveInteger, 4)
    .action(async ({ server, concurrency }: { server: string; concurrency: number }) => {
      const logger = createLogger('trino-verify');
      await requireTrino(server);
      logger.info({ server }, 'running the conformance examples against Trino');
      const { examples, matched, mismatches } = await verify(server, concurrency);
      for (const mismatch of mismatches) {
        console.log(
          `${mismatch.status === 'differs' ? 'documented difference' : 'MISMATCH'}  ${mismatch.name}: SELECT ${mismatch.sql}\n  expected ${show(mismatch.expected)}\n  Trino    ${show(mismatch.trino)}`,
        );
      }
      const unexpected = mismatches.filter((mismatch) => mismatch.status !== 'differs').length;
      console.log(
        `${matched} of ${examples} examples match Trino; ${mismatches.length - unexpected} differ as documented, ${unexpected} differ unexpectedly`,
      );
      logger.info({ examples, matched, unexpected }, 'done');
      if (unexpected > 0) process.exitCode = 1;
    });
  runCli(program);
}
