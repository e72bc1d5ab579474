import type { Column } from '@aws-sdk/client-glue';
import { InvalidInput } from './errors';

/**
 * GetPartitions' `Expression`: the SQL-like filter Glue accepts on partition
 * keys (=, <>, !=, <, <=, >, >=, BETWEEN, [NOT] IN, [NOT] LIKE, IS [NOT] NULL,
 * AND, OR, NOT, parentheses). Keys of numeric types compare as numbers, others
 * as strings, as Glue does.
 */

export type PartitionFilter = (values: readonly string[]) => boolean;

type Token = { kind: 'word' | 'string' | 'number' | 'symbol'; text: string; at: number };

const NUMERIC = /^(tinyint|smallint|int|integer|bigint|float|double|decimal(\(.*\))?)$/i;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|([A-Za-z_][A-Za-z0-9_]*|`[^`]+`)|'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|(<=|>=|<>|!=|[=<>(),])/y;
  let at = 0;
  while (at < source.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(source);
    if (!match)
      throw InvalidInput(`Unsupported expression: unexpected '${source.slice(at, at + 10)}' at position ${at}`);
    if (match[1] !== undefined) tokens.push({ kind: 'word', text: match[1].replace(/`/g, ''), at });
    else if (match[2] !== undefined) tokens.push({ kind: 'string', text: match[2].replace(/''/g, "'"), at });
    else if (match[3] !== undefined) tokens.push({ kind: 'number', text: match[3], at });
    else if (match[4] !== undefined) tokens.push({ kind: 'symbol', text: match[4], at });
    at = pattern.lastIndex;
  }
  return tokens;
}

export function compilePartitionFilter(expression: string, partitionKeys: readonly Column[]): PartitionFilter {
  const tokens = tokenize(expression);
  let position = 0;
  const peek = () => tokens[position];
  const isWord = (word: string) => peek()?.kind === 'word' && peek()!.text.toUpperCase() === word;
  const fail = (expected: string): never => {
    const token = peek();
    throw InvalidInput(
      `Unsupported expression '${expression}': expected ${expected} ${token ? `at '${token.text}' (position ${token.at})` : 'at the end'}`,
    );
  };
  const expectSymbol = (symbol: string) => {
    if (peek()?.kind !== 'symbol' || peek()!.text !== symbol) fail(`'${symbol}'`);
    position += 1;
  };
  const literal = (): string => {
    const token = peek();
    if (!token || (token.kind !== 'string' && token.kind !== 'number')) return fail('a literal');
    position += 1;
    return token.text;
  };

  const column = (): { index: number; numeric: boolean } => {
    const token = peek();
    if (token?.kind !== 'word') return fail('a partition key');
    const index = partitionKeys.findIndex((key) => key.Name?.toLowerCase() === token.text.toLowerCase());
    if (index < 0) {
      throw InvalidInput(
        `Unknown partition key '${token.text}' in expression; the table's partition keys are ${partitionKeys.map((key) => key.Name).join(', ') || 'none'}`,
      );
    }
    position += 1;
    return { index, numeric: NUMERIC.test(partitionKeys[index]!.Type ?? '') };
  };

  const compare = (numeric: boolean, left: string, right: string): number => {
    if (numeric) return Number(left) - Number(right);
    return left < right ? -1 : left > right ? 1 : 0;
  };

  const comparison = (): PartitionFilter => {
    const { index, numeric } = column();
    const value = (values: readonly string[]) => values[index];
    if (isWord('IS')) {
      position += 1;
      const negated = isWord('NOT') ? (position++, true) : false;
      if (!isWord('NULL')) fail('NULL');
      position += 1;
      return (values) => (value(values) === undefined) !== negated;
    }
    const negated = isWord('NOT') ? (position++, true) : false;
    if (isWord('BETWEEN')) {
      position += 1;
      const low = literal();
      if (!isWord('AND')) fail('AND');
      position += 1;
      const high = literal();
      return (values) => {
        const v = value(values) ?? '';
        return (compare(numeric, v, low) >= 0 && compare(numeric, v, high) <= 0) !== negated;
      };
    }
    if (isWord('IN')) {
      position += 1;
      expectSymbol('(');
      const options = [literal()];
      while (peek()?.text === ',') {
        position += 1;
        options.push(literal());
      }
      expectSymbol(')');
      return (values) => options.some((option) => compare(numeric, value(values) ?? '', option) === 0) !== negated;
    }
    if (isWord('LIKE')) {
      position += 1;
      const like = compileLikePattern(literal());
      return (values) => like(value(values) ?? '') !== negated;
    }
    if (negated) fail('BETWEEN, IN or LIKE after NOT');
    const operator = peek();
    if (operator?.kind !== 'symbol' || !['=', '<>', '!=', '<', '<=', '>', '>='].includes(operator.text)) {
      return fail('a comparison operator');
    }
    position += 1;
    const right = literal();
    const test: Record<string, (order: number) => boolean> = {
      '=': (order) => order === 0,
      '<>': (order) => order !== 0,
      '!=': (order) => order !== 0,
      '<': (order) => order < 0,
      '<=': (order) => order <= 0,
      '>': (order) => order > 0,
      '>=': (order) => order >= 0,
    };
    const holds = test[operator.text]!;
    return (values) => holds(compare(numeric, value(values) ?? '', right));
  };

  const primary = (): PartitionFilter => {
    if (peek()?.text === '(') {
      position += 1;
      const inner = or();
      expectSymbol(')');
      return inner;
    }
    return comparison();
  };
  const not = (): PartitionFilter => {
    if (isWord('NOT')) {
      position += 1;
      const inner = not();
      return (values) => !inner(values);
    }
    return primary();
  };
  const and = (): PartitionFilter => {
    const parts = [not()];
    while (isWord('AND')) {
      position += 1;
      parts.push(not());
    }
    return (values) => parts.every((part) => part(values));
  };
  function or(): PartitionFilter {
    const parts = [and()];
    while (isWord('OR')) {
      position += 1;
      parts.push(and());
    }
    return (values) => parts.some((part) => part(values));
  }

  const filter = or();
  if (position < tokens.length) fail('the end of the expression');
  return filter;
}

/**
 * Name patterns (GetTables' `Expression`, LIKE in GetPartitions') are user input,
 * so they are never handed to a backtracking regular-expression engine: each is
 * compiled to a sequence of single-character tests and "any run of characters",
 * and matched by simulating all positions at once, in time linear in the name
 * (times the pattern's length), whatever the pattern.
 */
type Step = { any: true } | { any: false; test: (char: string) => boolean };

/** Longer than any table name pattern a catalog needs; bounds the matcher's work per name. */
const MAX_PATTERN_LENGTH = 1024;

function matches(steps: Step[], text: string): boolean {
  // reachable[i]: the first i steps can match the text read so far.
  let reachable: Uint8Array = new Uint8Array(steps.length + 1);
  const close = (states: Uint8Array) => {
    for (let i = 0; i < steps.length; i++) if (states[i] && steps[i]!.any) states[i + 1] = 1;
    return states;
  };
  reachable[0] = 1;
  close(reachable);
  for (const char of text) {
    const next = new Uint8Array(steps.length + 1);
    let alive = false;
    for (let i = 0; i < steps.length; i++) {
      if (!reachable[i]) continue;
      const step = steps[i]!;
      if (step.any) next[i] = 1;
      else if (step.test(char)) next[i + 1] = 1;
      else continue;
      alive = true;
    }
    if (!alive) return false;
    reachable = close(next);
  }
  return reachable[steps.length] === 1;
}

const literal = (expected: string): Step => ({ any: false, test: (char) => char === expected });

/** `[a-z_]`, `[^0-9]`: the class and where the pattern goes on after it. */
function characterClass(pattern: string, start: number, fail: (why: string) => never): { step: Step; end: number } {
  let at = start + 1;
  const negated = pattern[at] === '^';
  if (negated) at++;
  const ranges: [string, string][] = [];
  while (at < pattern.length && (pattern[at] !== ']' || ranges.length === 0)) {
    let low = pattern[at]!;
    if (low === '\\' && at + 1 < pattern.length) low = pattern[++at]!;
    let high = low;
    if (pattern[at + 1] === '-' && at + 2 < pattern.length && pattern[at + 2] !== ']') {
      high = pattern[at + 2]!;
      at += 2;
    }
    ranges.push([low.toLowerCase(), high.toLowerCase()]);
    at++;
  }
  if (pattern[at] !== ']') fail(`unclosed '[' at position ${start}`);
  const inside = (char: string) => ranges.some(([low, high]) => char >= low && char <= high);
  return { step: { any: false, test: (char) => inside(char) !== negated }, end: at + 1 };
}

/** One alternative of a table name pattern: `*` and `.*` match any run, `.` any character, `[...]` a class. */
function tableNameSteps(pattern: string, fail: (why: string) => never): Step[] {
  const steps: Step[] = [];
  let at = 0;
  if (pattern.startsWith('^')) at++;
  const end = pattern.endsWith('$') && !pattern.endsWith('\\$') ? pattern.length - 1 : pattern.length;
  while (at < end) {
    const char = pattern[at]!;
    if (char === '\\' && at + 1 < end) {
      steps.push(literal(pattern[at + 1]!.toLowerCase()));
      at += 2;
    } else if (char === '.' && pattern[at + 1] === '*') {
      steps.push({ any: true });
      at += 2;
    } else if (char === '.') {
      steps.push({ any: false, test: () => true });
      at++;
    } else if (char === '*') {
      steps.push({ any: true });
      at++;
    } else if (char === '[') {
      const { step, end: next } = characterClass(pattern, at, fail);
      steps.push(step);
      at = next;
    } else if ('()+?{}^$'.includes(char)) {
      fail(`'${char}' at position ${at} is not supported (use '*', '.', '[...]' and '|')`);
    } else {
      steps.push(literal(char.toLowerCase()));
      at++;
    }
  }
  return steps;
}

/**
 * GetTables' `Expression`: Glue takes a Hive-style pattern, where `*` matches
 * any characters and `|` separates alternatives, matched against the whole
 * (lowercase) table name.
 */
export function compileTableNamePattern(expression: string): (name: string) => boolean {
  const fail = (why: string): never => {
    throw InvalidInput(`Invalid table name pattern '${expression.slice(0, 100)}': ${why}`);
  };
  if (expression.length > MAX_PATTERN_LENGTH) fail(`longer than ${MAX_PATTERN_LENGTH} characters`);
  const alternatives = expression.split('|').map((part) => tableNameSteps(part.trim(), fail));
  return (name) => alternatives.some((steps) => matches(steps, name.toLowerCase()));
}

/** SQL LIKE: `%` matches any run of characters, `_` one character, everything else itself. */
export function compileLikePattern(pattern: string): (value: string) => boolean {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw InvalidInput(`LIKE pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  const steps = [...pattern].map((char): Step =>
    char === '%' ? { any: true } : char === '_' ? { any: false, test: () => true } : literal(char),
  );
  return (value) => matches(steps, value);
}
