/**
 * Glue's schema inference: a type per value, merged across records and files
 * as the crawler merges them (int widens to bigint and double, any other
 * conflict becomes string, struct fields merge, new fields are appended).
 */

export type GlueType =
  | { kind: 'null' | 'boolean' | 'int' | 'bigint' | 'float' | 'double' | 'string' | 'binary' | 'date' | 'timestamp' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'array'; element: GlueType }
  | { kind: 'map'; key: GlueType; value: GlueType }
  | { kind: 'struct'; fields: Map<string, GlueType> };

export const primitive = (
  kind: 'null' | 'boolean' | 'int' | 'bigint' | 'float' | 'double' | 'string' | 'binary' | 'date' | 'timestamp',
): GlueType => ({ kind });

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

export function typeOfJson(value: unknown): GlueType {
  if (value === null || value === undefined) return primitive('null');
  if (typeof value === 'boolean') return primitive('boolean');
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return primitive('double');
    return value >= INT_MIN && value <= INT_MAX ? primitive('int') : primitive('bigint');
  }
  if (typeof value === 'string') return primitive('string');
  if (Array.isArray(value)) {
    return { kind: 'array', element: value.map(typeOfJson).reduce(mergeTypes, primitive('null')) };
  }
  return structOf(value as Record<string, unknown>);
}

/** A JSON object's struct type; Glue lowercases field names. */
export function structOf(record: Record<string, unknown>): GlueType & { kind: 'struct' } {
  const fields = new Map<string, GlueType>();
  for (const [name, value] of Object.entries(record)) {
    const key = name.toLowerCase();
    const type = typeOfJson(value);
    fields.set(key, fields.has(key) ? mergeTypes(fields.get(key)!, type) : type);
  }
  return { kind: 'struct', fields };
}

const NUMERIC_RANK: Record<string, number> = { int: 1, bigint: 2, float: 3, double: 4 };

export function mergeTypes(a: GlueType, b: GlueType): GlueType {
  if (a.kind === 'null') return b;
  if (b.kind === 'null') return a;
  if (a.kind in NUMERIC_RANK && b.kind in NUMERIC_RANK) return NUMERIC_RANK[a.kind]! >= NUMERIC_RANK[b.kind]! ? a : b;
  if (a.kind === 'struct' && b.kind === 'struct') {
    const fields = new Map(a.fields);
    for (const [name, type] of b.fields)
      fields.set(name, fields.has(name) ? mergeTypes(fields.get(name)!, type) : type);
    return { kind: 'struct', fields };
  }
  if (a.kind === 'array' && b.kind === 'array') return { kind: 'array', element: mergeTypes(a.element, b.element) };
  if (a.kind === 'decimal' && b.kind === 'decimal') {
    return a.precision === b.precision && a.scale === b.scale ? a : primitive('double');
  }
  if (a.kind === b.kind && a.kind !== 'map') return a;
  return primitive('string');
}

/** The Hive type string Glue stores: `bigint`, `struct<a:int,b:array<string>>`. A type never seen but null is string. */
export function renderType(type: GlueType): string {
  switch (type.kind) {
    case 'null':
      return 'string';
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${renderType(type.element)}>`;
    case 'map':
      return `map<${renderType(type.key)},${renderType(type.value)}>`;
    case 'struct':
      return `struct<${[...type.fields].map(([name, field]) => `${name}:${renderType(field)}`).join(',')}>`;
    default:
      return type.kind;
  }
}

/** A CSV field's type, as Glue's CSV classifier types fields. Empty fields say nothing. */
export function typeOfCsvField(field: string): GlueType {
  const value = field.trim();
  if (value === '') return primitive('null');
  if (/^[+-]?\d{1,18}$/.test(value)) {
    const number = Number(value);
    return number >= INT_MIN && number <= INT_MAX ? primitive('int') : primitive('bigint');
  }
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(value)) return primitive('double');
  if (/^(true|false)$/i.test(value)) return primitive('boolean');
  return primitive('string');
}

/** Glue's CSV tables type integer columns bigint. */
export const widenCsvType = (type: GlueType): GlueType => (type.kind === 'int' ? primitive('bigint') : type);
