/**
 * Glue (Hive) column types as DuckDB types: `string` → VARCHAR, `int` → INTEGER,
 * `array<t>` → t[], `map<k,v>` → MAP(k, v), `struct<a:int>` → STRUCT("a" INTEGER).
 */

const PRIMITIVES: Record<string, string> = {
  tinyint: 'TINYINT',
  smallint: 'SMALLINT',
  int: 'INTEGER',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  float: 'FLOAT',
  real: 'FLOAT',
  double: 'DOUBLE',
  string: 'VARCHAR',
  varchar: 'VARCHAR',
  char: 'VARCHAR',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
};

export class GlueTypeError extends Error {}

export const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const quoteString = (value: string) => `'${value.replace(/'/g, "''")}'`;

class TypeParser {
  private index = 0;

  constructor(private readonly text: string) {}

  parse(): string {
    const type = this.type();
    this.skipSpace();
    if (this.index < this.text.length) this.fail('end of type');
    return type;
  }

  private fail(expected: string): never {
    throw new GlueTypeError(
      `Glue type '${this.text}' is not valid at character ${this.index + 1}: expected ${expected}`,
    );
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.index] ?? '')) this.index++;
  }

  private accept(char: string): boolean {
    this.skipSpace();
    if (this.text[this.index] !== char) return false;
    this.index++;
    return true;
  }

  private expect(char: string): void {
    if (!this.accept(char)) this.fail(`'${char}'`);
  }

  private word(): string {
    this.skipSpace();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.index));
    if (!match) this.fail('a type name');
    this.index += match[0].length;
    return match[0].toLowerCase();
  }

  private number(): number {
    this.skipSpace();
    const match = /^\d+/.exec(this.text.slice(this.index));
    if (!match) this.fail('a number');
    this.index += match[0].length;
    return Number(match[0]);
  }

  /** Struct field names may be backquoted and may hold any character then. */
  private fieldName(): string {
    this.skipSpace();
    if (this.text[this.index] !== '`') return this.word();
    const end = this.text.indexOf('`', this.index + 1);
    if (end < 0) this.fail('a closing backquote');
    const name = this.text.slice(this.index + 1, end);
    this.index = end + 1;
    return name.toLowerCase();
  }

  private type(): string {
    const name = this.word();
    if (name === 'array') {
      this.expect('<');
      const element = this.type();
      this.expect('>');
      return `${element}[]`;
    }
    if (name === 'map') {
      this.expect('<');
      const key = this.type();
      this.expect(',');
      const value = this.type();
      this.expect('>');
      return `MAP(${key}, ${value})`;
    }
    if (name === 'struct') return this.struct();
    if (name === 'decimal' || name === 'numeric') return this.decimal();
    const primitive = PRIMITIVES[name];
    if (!primitive) this.fail(`a supported type, not '${name}'`);
    // varchar(n) and char(n): DuckDB keeps no length.
    if (this.accept('(')) {
      this.number();
      this.expect(')');
    }
    return primitive;
  }

  private struct(): string {
    this.expect('<');
    const fields: string[] = [];
    if (!this.accept('>')) {
      do {
        const field = this.fieldName();
        this.expect(':');
        fields.push(`${quoteIdentifier(field)} ${this.type()}`);
      } while (this.accept(','));
      this.expect('>');
    }
    return `STRUCT(${fields.join(', ')})`;
  }

  /** Hive's bare `decimal` is decimal(10,0). */
  private decimal(): string {
    if (!this.accept('(')) return 'DECIMAL(10,0)';
    const precision = this.number();
    const scale = this.accept(',') ? this.number() : 0;
    this.expect(')');
    if (precision < 1 || precision > 38 || scale > precision) this.fail('a precision of 1 to 38 and a scale up to it');
    return `DECIMAL(${precision},${scale})`;
  }
}

/** The DuckDB type for a Glue column type; throws GlueTypeError for an unknown or malformed one. */
export function duckDbType(glueType: string): string {
  return new TypeParser(glueType).parse();
}
