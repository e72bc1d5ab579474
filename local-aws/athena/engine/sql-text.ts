import type { StatementType } from './types';
import { syntaxError, type SqlPosition } from './errors';

/**
 * The user's SQL as text: tokens, positions (Trino's `line L:C`), and the few
 * Trino spellings DuckDB's parser does not take, rewritten before parsing.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** Words lowercased, quoted identifiers and strings unquoted, symbols as written. */
  value: string;
  start: number;
  end: number;
}

const TWO_CHAR_SYMBOLS = new Set(['||', '<=', '>=', '<>', '!=', '->', '::', '=>']);

function skipSpaceAndComments(sql: string, index: number): number {
  let i = index;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      return i;
    }
  }
}

/** A quoted run ending at an unescaped closing quote (doubled quotes escape it). */
function readQuoted(sql: string, start: number, quote: string): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += sql[i];
    i++;
  }
  return { value, end: sql.length };
}

function readToken(sql: string, start: number): Token {
  const char = sql[start]!;
  if (char === "'" || char === '"' || char === '`') {
    const { value, end } = readQuoted(sql, start, char);
    return { kind: char === "'" ? 'string' : 'quoted', value, start, end };
  }
  const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(start, start + 400));
  if (number) return { kind: 'number', value: number[0], start, end: start + number[0].length };
  const word = /^[\p{L}_][\p{L}\p{N}_$]*/u.exec(sql.slice(start, start + 1000));
  if (word) return { kind: 'word', value: word[0].toLowerCase(), start, end: start + word[0].length };
  const pair = sql.slice(start, start + 2);
  if (TWO_CHAR_SYMBOLS.has(pair)) return { kind: 'symbol', value: pair, start, end: start + 2 };
  return { kind: 'symbol', value: char, start, end: start + 1 };
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = skipSpaceAndComments(sql, 0);
  while (i < sql.length) {
    const token = readToken(sql, i);
    tokens.push(token);
    i = skipSpaceAndComments(sql, token.end);
  }
  return tokens;
}

/** Trino counts lines from 1 and columns from 1, in characters. */
export function positionAt(sql: string, offset: number): SqlPosition {
  const before = sql.slice(0, Math.max(0, Math.min(offset, sql.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}

/** Text edits, and the way back from an offset in the edited text to the original. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

export interface EditedSql {
  sql: string;
  /** Maps a character offset in `sql` back to the user's text. */
  toOriginal(offset: number): number;
}

export function applyEdits(original: string, edits: Edit[]): EditedSql {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let sql = '';
  let cursor = 0;
  // Each entry: from this offset in the edited text on, subtract `shift` to find the original offset.
  const shifts: { from: number; shift: number; until: number; anchor: number }[] = [];
  for (const edit of sorted) {
    sql += original.slice(cursor, edit.start);
    const from = sql.length;
    sql += edit.text;
    shifts.push({ from, until: sql.length, anchor: edit.start, shift: sql.length - edit.end });
    cursor = edit.end;
  }
  sql += original.slice(cursor);
  return {
    sql,
    toOriginal(offset) {
      let result = offset;
      for (const entry of shifts) {
        if (offset < entry.from) break;
        result = offset < entry.until ? entry.anchor : offset - entry.shift;
      }
      return result;
    },
  };
}

/** DuckDB reports byte offsets into the UTF-8 text. */
export function byteToCharOffset(sql: string, byteOffset: number): number {
  return Buffer.from(sql, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}

const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);

/** Nesting change of a token: +1 for ( [ {, -1 for ) ] }. */
function nesting(token: Token | undefined): number {
  if (token?.kind !== 'symbol') return 0;
  return OPENERS.has(token.value) ? 1 : CLOSERS.has(token.value) ? -1 : 0;
}

function matchingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    depth += nesting(tokens[i]);
    if (depth === 0) return i;
  }
  return -1;
}

const isSymbol = (token: Token | undefined, value: string) => token?.kind === 'symbol' && token.value === value;
const isWord = (token: Token | undefined, value: string) => token?.kind === 'word' && token.value === value;

/** Trino's `ARRAY(varchar)` type is DuckDB's `varchar[]`. */
function arrayTypeEdits(tokens: Token[]): Edit[] {
  const edits: Edit[] = [];
  tokens.forEach((token, i) => {
    if (!isWord(token, 'array') || !isSymbol(tokens[i + 1], '(')) return;
    const close = matchingParen(tokens, i + 1);
    if (close < 0) return;
    edits.push({ start: token.start, end: tokens[i + 1]!.end, text: '' });
    edits.push({ start: tokens[close]!.start, end: tokens[close]!.end, text: '[]' });
  });
  return edits;
}

/** Trino's `timestamp(3)` and `time(3)`: DuckDB keeps microseconds and takes no precision. */
function precisionEdits(tokens: Token[]): Edit[] {
  const edits: Edit[] = [];
  tokens.forEach((token, i) => {
    const [open, digits, close] = [tokens[i + 1], tokens[i + 2], tokens[i + 3]];
    if ((isWord(token, 'timestamp') || isWord(token, 'time')) && isSymbol(open, '(') && digits?.kind === 'number') {
      if (isSymbol(close, ')')) edits.push({ start: open!.start, end: close!.end, text: '' });
    }
  });
  return edits;
}

const VALUES_END_WORDS = new Set(['order', 'limit', 'offset', 'fetch', 'union', 'except', 'intersect', 'as']);

/** Trino's `VALUES 1, 2` has rows without parentheses; DuckDB needs `VALUES (1), (2)`. */
function valuesRowEdits(tokens: Token[]): Edit[] {
  const edits: Edit[] = [];
  tokens.forEach((token, i) => {
    if (!isWord(token, 'values')) return;
    let itemStart = i + 1;
    let depth = 0;
    for (let j = i + 1; j <= tokens.length; j++) {
      const current = tokens[j];
      const atDepthZero = depth === 0;
      const ends =
        current === undefined ||
        (atDepthZero && (isSymbol(current, ',') || isSymbol(current, ';') || isSymbol(current, ')'))) ||
        (atDepthZero && current.kind === 'word' && VALUES_END_WORDS.has(current.value));
      if (ends) {
        if (j > itemStart) edits.push(...wrapRow(tokens, itemStart, j - 1));
        if (!isSymbol(current, ',')) return;
        itemStart = j + 1;
        continue;
      }
      depth += nesting(current);
    }
  });
  return edits;
}

function wrapRow(tokens: Token[], first: number, last: number): Edit[] {
  if (isSymbol(tokens[first], '(') && matchingParen(tokens, first) === last) return [];
  return [
    { start: tokens[first]!.start, end: tokens[first]!.start, text: '(' },
    { start: tokens[last]!.end, end: tokens[last]!.end, text: ')' },
  ];
}

/**
 * Trino's typed literals DuckDB reads differently: `DECIMAL '1.50'` is decimal(3,2) (DuckDB: decimal(18,3)),
 * `X'6869'` is varbinary (DuckDB: a string).
 */
function literalEdits(sql: string, tokens: Token[]): Edit[] {
  const edits: Edit[] = [];
  tokens.forEach((token, i) => {
    const literal = tokens[i + 1];
    if (literal?.kind !== 'string') return;
    if (isWord(token, 'decimal') && /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(literal.value)) {
      edits.push({ start: token.start, end: literal.end, text: literal.value.trim() });
    } else if (isWord(token, 'x') && token.end === literal.start && /^[0-9A-Fa-f\s]*$/.test(literal.value)) {
      edits.push({ start: token.start, end: literal.end, text: `from_hex('${literal.value.replace(/\s/g, '')}')` });
    }
  });
  return edits;
}

/** Trino's `if(condition, value)` is NULL when false; DuckDB's parser wants the third argument. */
function ifEdits(tokens: Token[]): Edit[] {
  const edits: Edit[] = [];
  tokens.forEach((token, i) => {
    if (!isWord(token, 'if') || !isSymbol(tokens[i + 1], '(')) return;
    const close = matchingParen(tokens, i + 1);
    let depth = 0;
    let commas = 0;
    for (let j = i + 1; j <= close; j++) {
      depth += nesting(tokens[j]);
      if (depth === 1 && isSymbol(tokens[j], ',')) commas++;
    }
    if (close > 0 && commas === 1)
      edits.push({ start: tokens[close]!.start, end: tokens[close]!.start, text: ', NULL' });
  });
  return edits;
}

/** The user's SQL in the spelling DuckDB's parser takes. */
export function normalizeTrinoSql(sql: string): EditedSql {
  const tokens = tokenize(sql);
  return applyEdits(sql, [
    ...arrayTypeEdits(tokens),
    ...precisionEdits(tokens),
    ...valuesRowEdits(tokens),
    ...literalEdits(sql, tokens),
    ...ifEdits(tokens),
  ]);
}

export type StatementKind = 'query' | 'utility' | 'unsupported' | 'empty' | 'unknown';

const QUERY_WORDS = new Set(['select', 'with', 'values']);
const UTILITY_WORDS = new Set(['show', 'describe', 'desc']);
/**
 * Statements of Trino (Athena engine v3) or DuckDB that the local engine does not
 * run: refused as NOT_SUPPORTED, naming them. Any other first word is a syntax error.
 */
const OTHER_STATEMENT_WORDS = new Set([
  'attach',
  'checkpoint',
  'copy',
  'detach',
  'export',
  'import',
  'install',
  'load',
  'pragma',
  'alter',
  'analyze',
  'call',
  'comment',
  'commit',
  'create',
  'deallocate',
  'delete',
  'deny',
  'drop',
  'execute',
  'explain',
  'grant',
  'insert',
  'merge',
  'msck',
  'prepare',
  'refresh',
  'reset',
  'revoke',
  'rollback',
  'set',
  'start',
  'truncate',
  'unload',
  'update',
  'use',
  'vacuum',
  'optimize',
]);

/** What a statement is, from its first word (a query may open with parentheses). */
export function classifyStatement(tokens: Token[]): { kind: StatementKind; word?: Token } {
  const word = tokens.find((token) => !isSymbol(token, '('));
  if (!word) return { kind: 'empty' };
  if (word.kind !== 'word') return { kind: 'unknown', word };
  if (QUERY_WORDS.has(word.value)) return { kind: 'query', word };
  if (UTILITY_WORDS.has(word.value)) return { kind: 'utility', word };
  return { kind: OTHER_STATEMENT_WORDS.has(word.value) ? 'unsupported' : 'unknown', word };
}

/** Athena's StatementType of a statement, from its first word, as the engine answers it. */
export function statementTypeOf(sql: string): StatementType {
  const { kind, word } = classifyStatement(tokenize(sql));
  if (kind === 'query') return 'DML';
  // SHOW goes Athena's Hive DDL path; DESCRIBE and EXPLAIN are utility statements.
  if (word?.value === 'show') return 'DDL';
  if (kind === 'utility' || word?.value === 'explain') return 'UTILITY';
  return word && ['insert', 'delete', 'update', 'merge'].includes(word.value) ? 'DML' : 'DDL';
}

export interface QualifiedName {
  parts: string[];
  /** Character offset of the name's first part. */
  start: number;
}

export type UtilityStatement =
  | { kind: 'show-databases'; pattern?: string }
  | { kind: 'show-tables'; database?: QualifiedName; pattern?: string }
  | { kind: 'show-partitions'; table: QualifiedName }
  | { kind: 'show-columns'; table: QualifiedName; database?: QualifiedName }
  | { kind: 'describe'; table: QualifiedName };

class UtilityParser {
  private index = 0;

  constructor(
    private readonly sql: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private fail(expected: string): never {
    const token = this.peek();
    const found = token ? `'${this.sql.slice(token.start, token.end)}'` : '<EOF>';
    throw syntaxError(
      `mismatched input ${found}. Expecting: ${expected}`,
      positionAt(this.sql, token?.start ?? this.sql.length),
    );
  }

  acceptWord(...words: string[]): string | undefined {
    const token = this.peek();
    if (token?.kind === 'word' && words.includes(token.value)) {
      this.index++;
      return token.value;
    }
    return undefined;
  }

  expectWord(...words: string[]): string {
    return this.acceptWord(...words) ?? this.fail(words.map((word) => `'${word.toUpperCase()}'`).join(', '));
  }

  name(): QualifiedName {
    const first = this.peek();
    const parts: string[] = [];
    for (;;) {
      const token = this.peek();
      if (token?.kind !== 'word' && token?.kind !== 'quoted') this.fail('<identifier>');
      // Hive DDL names are case-insensitive, quoted or not.
      parts.push(token.value.toLowerCase());
      this.index++;
      if (!isSymbol(this.peek(), '.')) break;
      this.index++;
    }
    return { parts, start: first!.start };
  }

  optionalPattern(): string | undefined {
    this.acceptWord('like');
    const token = this.peek();
    if (token?.kind !== 'string') return undefined;
    this.index++;
    return token.value;
  }

  end(): void {
    if (isSymbol(this.peek(), ';')) this.index++;
    if (this.peek()) this.fail('<EOF>');
  }
}

/** SHOW DATABASES|SCHEMAS, SHOW TABLES, SHOW PARTITIONS, SHOW COLUMNS, DESCRIBE. */
export function parseUtilityStatement(sql: string, tokens: Token[]): UtilityStatement {
  const parser = new UtilityParser(sql, tokens);
  let statement: UtilityStatement;
  if (parser.acceptWord('describe', 'desc')) {
    parser.acceptWord('formatted', 'extended');
    statement = { kind: 'describe', table: parser.name() };
  } else {
    parser.expectWord('show');
    const what = parser.expectWord('databases', 'schemas', 'tables', 'partitions', 'columns');
    if (what === 'databases' || what === 'schemas') {
      statement = { kind: 'show-databases', pattern: parser.optionalPattern() };
    } else if (what === 'tables') {
      const database = parser.acceptWord('in', 'from') ? parser.name() : undefined;
      statement = { kind: 'show-tables', database, pattern: parser.optionalPattern() };
    } else if (what === 'partitions') {
      statement = { kind: 'show-partitions', table: parser.name() };
    } else {
      parser.expectWord('in', 'from');
      const table = parser.name();
      const database = parser.acceptWord('in', 'from') ? parser.name() : undefined;
      statement = { kind: 'show-columns', table, database };
    }
  }
  parser.end();
  return statement;
}

/** Hive's SHOW patterns: `*` matches anything, `|` separates alternatives, case-insensitively. */
export function hivePatternMatcher(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  const alternatives = pattern.split('|').map((part) =>
    part
      .trim()
      .replace(/[.+?^${}()[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*'),
  );
  const regex = new RegExp(`^(?:${alternatives.join('|')})$`, 'i');
  return (name) => regex.test(name);
}
