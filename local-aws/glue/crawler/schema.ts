import type { Column } from '@aws-sdk/client-glue';

/**
 * Glue (Hive) types as the classifiers infer them, and how schemas merge when
 * the crawler puts records, files and folders into one table.
 */

export type PrimitiveName =
  | 'boolean'
  | 'tinyint'
  | 'smallint'
  | 'int'
  | 'bigint'
  | 'float'
  | 'double'
  | 'string'
  | 'binary'
  | 'date'
  | 'timestamp';

export type GlueType =
  /** A JSON null: no type information yet. */
  | { kind: 'null' }
  | { kind: 'primitive'; name: PrimitiveName }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'struct'; fields: Field[] }
  | { kind: 'array'; element: GlueType }
  | { kind: 'map'; key: GlueType; value: GlueType };

export interface Field {
  name: string;
  type: GlueType;
}

export const NULL: GlueType = { kind: 'null' };
export const primitive = (name: PrimitiveName): GlueType => ({ kind: 'primitive', name });
export const STRING = primitive('string');

const INTEGER_RANK: Partial<Record<PrimitiveName, number>> = { tinyint: 1, smallint: 2, int: 3, bigint: 4 };
const MAX_DECIMAL_PRECISION = 38;

function mergeNumbers(a: PrimitiveName, b: PrimitiveName): GlueType | undefined {
  const rankA = INTEGER_RANK[a];
  const rankB = INTEGER_RANK[b];
  if (rankA !== undefined && rankB !== undefined) return primitive(rankA >= rankB ? a : b);
  const numeric = (name: PrimitiveName) => INTEGER_RANK[name] !== undefined || name === 'float' || name === 'double';
  if (!numeric(a) || !numeric(b)) return undefined;
  // int + double → double, as Glue widens a column that holds both; float only survives against float.
  return primitive(a === 'float' && b === 'float' ? 'float' : 'double');
}

/**
 * The type a column gets when two records (or files) disagree: the wider
 * number, merged structs and arrays, and `string` for any other conflict.
 */
export function mergeTypes(a: GlueType, b: GlueType): GlueType {
  if (a.kind === 'null') return b;
  if (b.kind === 'null') return a;
  if (a.kind === 'primitive' && b.kind === 'primitive') {
    if (a.name === b.name) return a;
    const dates = new Set<PrimitiveName>([a.name, b.name]);
    if (dates.has('date') && dates.has('timestamp')) return primitive('timestamp');
    return mergeNumbers(a.name, b.name) ?? STRING;
  }
  if (a.kind === 'decimal' && b.kind === 'decimal') {
    const scale = Math.max(a.scale, b.scale);
    const digits = Math.max(a.precision - a.scale, b.precision - b.scale);
    return { kind: 'decimal', precision: Math.min(MAX_DECIMAL_PRECISION, digits + scale), scale };
  }
  if (a.kind === 'struct' && b.kind === 'struct') return { kind: 'struct', fields: mergeFields(a.fields, b.fields) };
  if (a.kind === 'array' && b.kind === 'array') return { kind: 'array', element: mergeTypes(a.element, b.element) };
  if (a.kind === 'map' && b.kind === 'map') {
    return { kind: 'map', key: mergeTypes(a.key, b.key), value: mergeTypes(a.value, b.value) };
  }
  return STRING;
}

/** Fields of both, in first-seen order; a name in both gets the merged type. Names compare lowercased. */
export function mergeFields(a: readonly Field[], b: readonly Field[]): Field[] {
  const merged = new Map<string, Field>();
  for (const field of [...a, ...b]) {
    const name = field.name.toLowerCase();
    const known = merged.get(name);
    merged.set(name, { name, type: known ? mergeTypes(known.type, field.type) : field.type });
  }
  return [...merged.values()];
}

/** Glue's type string: `struct<a:int,b:array<string>>`. */
export function renderType(type: GlueType): string {
  switch (type.kind) {
    // A column only ever seen as null is a string to Glue.
    case 'null':
      return 'string';
    case 'primitive':
      return type.name;
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${renderType(type.element)}>`;
    case 'map':
      return `map<${renderType(type.key)},${renderType(type.value)}>`;
    case 'struct':
      // Hive cannot declare `struct<>`; an object only ever seen empty stays a string.
      return type.fields.length === 0
        ? 'string'
        : `struct<${type.fields.map((field) => `${field.name}:${renderType(field.type)}`).join(',')}>`;
  }
}

export const toColumns = (fields: readonly Field[]): Column[] =>
  fields.map((field) => ({ Name: field.name, Type: renderType(field.type) }));
