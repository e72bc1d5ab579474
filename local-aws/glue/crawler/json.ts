import { mergeFields, mergeTypes, NULL, primitive, STRING, type Field, type GlueType } from './schema';

/**
 * The built-in JSON classifier: a file of JSON values (one object per line, or
 * documents spanning lines) whose types it infers as Glue does. It reads the
 * text itself rather than through `JSON.parse`, because the type depends on
 * how a number is written: `1.0` is a double, `4156963100` a bigint, and
 * neither survives a round trip through a JavaScript number.
 */

export type JsonOutcome =
  | { kind: 'json'; fields: Field[]; records: number; /** Characters of the text the records span. */ consumed: number }
  /** The sample ends inside the first record: read more of the object. */
  | { kind: 'incomplete' }
  | { kind: 'not-json'; reason: string };

class EndOfInput extends Error {}
class JsonSyntaxError extends Error {}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Deeper nesting is not data a table can describe; it also keeps the recursion off the stack limit. */
const MAX_DEPTH = 500;

function integerType(lexeme: string): GlueType {
  // Nine digits always fit in 32 bits; only longer lexemes need BigInt.
  if (lexeme.replace('-', '').length <= 9) return primitive('int');
  const value = BigInt(lexeme);
  if (value >= INT32_MIN && value <= INT32_MAX) return primitive('int');
  if (value >= INT64_MIN && value <= INT64_MAX) return primitive('bigint');
  return primitive('double');
}

class TypeReader {
  position = 0;

  constructor(private readonly text: string) {}

  get atEnd(): boolean {
    return this.position >= this.text.length;
  }

  skipWhitespace(): void {
    const { text } = this;
    while (this.position < text.length) {
      const code = text.charCodeAt(this.position);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
      this.position += 1;
    }
  }

  value(depth: number): GlueType {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`nesting deeper than ${MAX_DEPTH} levels`);
    this.skipWhitespace();
    if (this.atEnd) throw new EndOfInput();
    const char = this.text[this.position];
    switch (char) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        this.string();
        return STRING;
      case 't':
        this.literal('true');
        return primitive('boolean');
      case 'f':
        this.literal('false');
        return primitive('boolean');
      case 'n':
        this.literal('null');
        return NULL;
      default:
        if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return this.number();
        throw new JsonSyntaxError(`unexpected character ${JSON.stringify(char)}`);
    }
  }

  private expect(char: string): void {
    this.skipWhitespace();
    if (this.atEnd) throw new EndOfInput();
    if (this.text[this.position] !== char) {
      throw new JsonSyntaxError(`expected ${JSON.stringify(char)}, found ${JSON.stringify(this.text[this.position])}`);
    }
    this.position += 1;
  }

  /** The next non-blank character, consumed if it is one of `chars`. */
  private next(chars: string): string {
    this.skipWhitespace();
    if (this.atEnd) throw new EndOfInput();
    const char = this.text[this.position]!;
    if (!chars.includes(char)) {
      throw new JsonSyntaxError(`expected one of ${JSON.stringify(chars)}, found ${JSON.stringify(char)}`);
    }
    this.position += 1;
    return char;
  }

  private object(depth: number): GlueType {
    this.position += 1;
    const fields = new Map<string, GlueType>();
    const struct = (): GlueType => ({ kind: 'struct', fields: [...fields].map(([name, type]) => ({ name, type })) });
    this.skipWhitespace();
    if (this.text[this.position] === '}') {
      this.position += 1;
      return struct();
    }
    for (;;) {
      this.skipWhitespace();
      if (this.atEnd) throw new EndOfInput();
      if (this.text[this.position] !== '"') throw new JsonSyntaxError('expected a quoted field name');
      // Glue lowercases field names; a key repeated in another case is the same field.
      const name = this.string().toLowerCase();
      this.expect(':');
      const type = this.value(depth + 1);
      const known = fields.get(name);
      fields.set(name, known ? mergeTypes(known, type) : type);
      if (this.next(',}') === '}') return struct();
    }
  }

  private array(depth: number): GlueType {
    this.position += 1;
    let element: GlueType = NULL;
    this.skipWhitespace();
    if (this.text[this.position] === ']') {
      this.position += 1;
      return { kind: 'array', element };
    }
    for (;;) {
      element = mergeTypes(element, this.value(depth + 1));
      if (this.next(',]') === ']') return { kind: 'array', element };
    }
  }

  /** Reads a string starting at its opening quote; returns its value. */
  private string(): string {
    const { text } = this;
    const start = this.position;
    let escaped = false;
    this.position += 1;
    for (;;) {
      if (this.position >= text.length) throw new EndOfInput();
      const code = text.charCodeAt(this.position);
      if (code === 0x22) break;
      if (code === 0x5c) {
        escaped = true;
        this.position += 2;
        continue;
      }
      if (code < 0x20) throw new JsonSyntaxError('control character in a string');
      this.position += 1;
    }
    this.position += 1;
    if (!escaped) return text.slice(start + 1, this.position - 1);
    try {
      return JSON.parse(text.slice(start, this.position)) as string;
    } catch {
      throw new JsonSyntaxError('invalid escape in a string');
    }
  }

  private literal(word: string): void {
    if (this.text.startsWith(word, this.position)) {
      this.position += word.length;
      return;
    }
    const rest = this.text.slice(this.position, this.position + word.length);
    if (rest.length < word.length && word.startsWith(rest)) throw new EndOfInput();
    throw new JsonSyntaxError(`unexpected ${JSON.stringify(rest)}`);
  }

  private number(): GlueType {
    NUMBER.lastIndex = this.position;
    const match = NUMBER.exec(this.text);
    if (!match) {
      if (this.position + 1 >= this.text.length) throw new EndOfInput();
      throw new JsonSyntaxError('malformed number');
    }
    this.position = NUMBER.lastIndex;
    if (match[1] !== undefined || match[2] !== undefined) return primitive('double');
    return integerType(match[0]);
  }
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let index = text.indexOf('\n'); index !== -1 && index < position; index = text.indexOf('\n', index + 1)) {
    line += 1;
  }
  return line;
}

/** Whether the text starts like JSON at all: an object or an array. */
export function looksLikeJson(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

/**
 * Infers the schema of JSON text: each top-level object is a record whose
 * fields are columns. A top-level array gives Glue's single column `array`.
 * `complete` says whether the text is the whole object; when it is not, a
 * record cut off at the end of the sample is dropped.
 */
export function inferJson(text: string, complete: boolean): JsonOutcome {
  const reader = new TypeReader(text);
  let fields: Field[] = [];
  let records = 0;
  let consumed = 0;
  for (;;) {
    reader.skipWhitespace();
    if (reader.atEnd) {
      consumed = text.length;
      break;
    }
    const start = reader.position;
    let type: GlueType;
    try {
      type = reader.value(0);
    } catch (error) {
      if (error instanceof EndOfInput) {
        if (!complete) break;
        return { kind: 'not-json', reason: `JSON ends inside a value (line ${lineAt(text, start)})` };
      }
      if (error instanceof JsonSyntaxError) {
        // A sample cut inside a value can read as a syntax error (`{"p":0.` ends a number at the dot): on the
        // sample's last line it is the cut, not the object's.
        if (!complete && !text.includes('\n', reader.position)) break;
        return { kind: 'not-json', reason: `not JSON: ${error.message} at line ${lineAt(text, reader.position)}` };
      }
      throw error;
    }
    if (type.kind === 'struct') fields = mergeFields(fields, type.fields);
    else if (type.kind === 'array') fields = mergeFields(fields, [{ name: 'array', type }]);
    else
      return { kind: 'not-json', reason: `a JSON record must be an object or an array (line ${lineAt(text, start)})` };
    records += 1;
    consumed = reader.position;
  }
  if (records === 0) return complete ? { kind: 'not-json', reason: 'no JSON record' } : { kind: 'incomplete' };
  return { kind: 'json', fields, records, consumed };
}
