import fs from 'node:fs';
import path from 'node:path';
import { functionCall, type JsonObject, stringConstant } from '../../local-aws/athena/engine/ast';
import { ACCEPTED_FUNCTIONS, type DialectContext, rewriteFunction } from '../../local-aws/athena/engine/dialect';
import conformance from '../../local-aws/athena/engine/conformance.json';

/**
 * The conformance inventory and the dialect agree both ways, and docs/ARCHITECTURE.md's figures and
 * list of differences are the inventory's.
 */

interface Entry {
  topic: string;
  source: 'trino' | 'athena';
  status: 'supported' | 'differs' | 'refused' | 'absent-in-athena';
  difference?: string;
  syntax?: boolean;
}

const functions = conformance.functions as Record<string, Entry>;
const context: DialectContext = {
  now: new Date(0),
  database: 'lake',
  invoker: 'arn:aws:iam::000000000000:user/ticksync-analyst',
  position: () => ({ line: 1, column: 8 }),
};

/**
 * What rewriteFunction says of a call with 1 to 3 arguments: accepted with some arity (an error about the
 * arguments, such as a lambda expected, still means the name is known), or the errors naming the function.
 */
function dialectAnswer(name: string): 'accepted' | string[] {
  const errors: string[] = [];
  for (const arity of [1, 2, 3]) {
    const children: JsonObject[] = Array.from({ length: arity }, () => stringConstant('%Y'));
    try {
      rewriteFunction(functionCall(name, children), context);
      return 'accepted';
    } catch (error) {
      const { message } = error as Error;
      if (!/^(FUNCTION_NOT_FOUND|NOT_SUPPORTED): .*Function '/.test(message)) return 'accepted';
      errors.push(message);
    }
  }
  return errors;
}

const called = Object.entries(functions).filter(([, entry]) => !entry.syntax);

const answered = (entry: Entry) => entry.status === 'supported' || entry.status === 'differs';

test.each(called.filter(([, entry]) => answered(entry)))('%s is accepted by the dialect', (name) => {
  expect(dialectAnswer(name)).toBe('accepted');
});

test.each(called.filter(([, entry]) => entry.status === 'refused'))('%s is refused, naming it', (name) => {
  expect(dialectAnswer(name)).toEqual(
    Array(3).fill(`NOT_SUPPORTED: line 1:8: Function '${name}' is not supported by the local Athena engine`),
  );
});

test.each(called.filter(([, entry]) => entry.status === 'absent-in-athena'))(
  '%s, which Athena does not have, is not found, as in Athena',
  (name) => {
    expect(dialectAnswer(name)).toEqual(
      Array(3).fill(`FUNCTION_NOT_FOUND: line 1:8: Function '${name}' not registered`),
    );
  },
);

test("every entry names the documentation it comes from; only Trino's can be absent in Athena", () => {
  for (const [name, entry] of Object.entries(functions)) {
    expect({ name, source: entry.source }).toEqual({ name, source: expect.stringMatching(/^(trino|athena)$/) });
    if (entry.status === 'absent-in-athena') expect({ name, source: entry.source }).toEqual({ name, source: 'trino' });
  }
});

test('every function the dialect accepts is in the inventory, or is a name DuckDB writes for syntax', () => {
  const parserNames = new Set(conformance.parserNames);
  const missing = ACCEPTED_FUNCTIONS.filter((name) => !(name in functions) && !parserNames.has(name));
  expect(missing).toEqual([]);
  for (const name of conformance.parserNames) expect(ACCEPTED_FUNCTIONS).toContain(name);
});

test('a name in no list stays FUNCTION_NOT_FOUND', () => {
  expect(dialectAnswer('read_csv')).toEqual(
    Array(3).fill("FUNCTION_NOT_FOUND: line 1:8: Function 'read_csv' not registered"),
  );
});

test('every differing function says how', () => {
  for (const [name, entry] of Object.entries(functions)) {
    expect({ name, documented: (entry.difference ?? '').length > 0 }).toEqual({
      name,
      documented: entry.status === 'differs',
    });
  }
});

/** The section of docs/ARCHITECTURE.md generated from the inventory. */
function conformanceSection(): string {
  const entries = Object.entries(functions);
  const count = (status: Entry['status']) => entries.filter(([, entry]) => entry.status === status).length;
  const differing = entries
    .filter(([, entry]) => entry.status === 'differs')
    .map(([name, entry]) => `- \`${name}\`: ${entry.difference}`);
  return [
    `Of the ${entries.length} functions of Trino's and Athena's documentation, the local engine supports ${count('supported')} with Trino's semantics, ${count('differs')} with a documented difference, and refuses ${count('refused')} (NOT_SUPPORTED naming the function); ${count('absent-in-athena')} of Trino's are not in Athena engine v3 and fail FUNCTION_NOT_FOUND as there.`,
    '',
    ...differing,
  ].join('\n');
}

test('docs/ARCHITECTURE.md has the inventory figures and differences', () => {
  const docs = fs.readFileSync(path.join(__dirname, '../../docs/ARCHITECTURE.md'), 'utf8');
  const section = /<!-- conformance:start -->\s*([\s\S]*?)\s*<!-- conformance:end -->/.exec(docs)?.[1];
  expect(section).toBe(conformanceSection());
});
