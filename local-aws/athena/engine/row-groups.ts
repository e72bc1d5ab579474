import { arrayField, clone, descendants, type JsonObject, objectField, objectsIn, stringField } from './ast';
import { isNondeterministic } from './dialect';
import { quoteIdentifier, quoteString } from './glue-types';
import { conjuncts } from './pruning';
import type { TableReference } from './table-reference';

/**
 * Row-group skipping in data scanned, as Athena's Parquet reader (Trino's) does it: a row group whose
 * min/max statistics show that no row can satisfy a WHERE term on one of its columns is not read, so its
 * column chunks are not counted. Only the shapes below are understood, each a term of the top-level AND of
 * the table's WHERE (a filter a view took from the query over it included):
 *
 *   column <op> constant (or constant <op> column), op one of =, <, <=, >, >=
 *   column BETWEEN constant AND constant
 *   column IN (constant, ...)
 *
 * where "column" is a column of this table or a CAST of one between numeric types (or date to timestamp),
 * casts that keep order; "constant" is any deterministic expression without a column, subquery or window.
 * Anything else (OR or NOT around a term, <>, LIKE, functions of the column such as from_iso8601_timestamp,
 * casts from or to text) is not understood and keeps every row group: the count is never below what is read.
 * Missing or inexact statistics keep the row group too. The rewritten terms are evaluated by DuckDB over one
 * row per row group, its statistics typed as the column, so any expression of constants works.
 */

/** The statistics columns of one table column in the query over row groups. */
const minName = (index: number) => `__rg_min_${index}`;
const maxName = (index: number) => `__rg_max_${index}`;
const ROW_GROUP_INDEX = '__rg_index';
const ROW_GROUPS_ALIAS = '__row_groups';

const UNUSABLE_CLASSES = new Set(['SUBQUERY', 'WINDOW', 'STAR', 'LAMBDA', 'PARAMETER', 'COLUMN_REF']);

const NUMERIC = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'FLOAT',
  'DOUBLE',
  'DECIMAL',
]);

/** The bare type name of a DuckDB type (`DECIMAL(10,2)` → DECIMAL, `INT` → INTEGER). */
function typeName(type: string): string {
  const name = type.toUpperCase().replace(/\(.*$/, '').trim();
  const aliases: Record<string, string> = { INT: 'INTEGER', INT4: 'INTEGER', INT8: 'BIGINT', REAL: 'FLOAT' };
  return aliases[name] ?? name;
}

/** Casts that keep order (x <= y implies cast(x) <= cast(y)): between numeric types, date to timestamp. */
function keepsOrder(from: string, to: string): boolean {
  const source = typeName(from);
  const target = typeName(to);
  if (NUMERIC.has(source) && NUMERIC.has(target)) return true;
  return source === 'DATE' && (target === 'TIMESTAMP' || target === 'DATE');
}

/** True when the node is an expression of constants only, deterministic, without subqueries or windows. */
function isConstant(node: JsonObject): boolean {
  for (const child of descendants(node)) {
    const kind = stringField(child, 'class');
    if (UNUSABLE_CLASSES.has(kind)) return false;
    if (kind === 'FUNCTION' && isNondeterministic(stringField(child, 'function_name'))) return false;
  }
  return true;
}

/** A column of the table (by its lowercased name), as the query names it; undefined when not one. */
export type ColumnOf = (ref: JsonObject) => string | undefined;

interface Target {
  column: string;
  /** The node with the column replaced by a reference to the given name. */
  with: (name: string) => JsonObject;
}

/** The column side of a comparison: a column of the table, or an order-keeping cast of one. */
function target(node: JsonObject | undefined, columnOf: ColumnOf, types: Map<string, string>): Target | undefined {
  if (!node) return undefined;
  const kind = stringField(node, 'class');
  if (kind === 'COLUMN_REF') {
    const column = columnOf(node);
    if (column === undefined || !types.has(column)) return undefined;
    return { column, with: (name) => ({ ...clone(node), column_names: [ROW_GROUPS_ALIAS, name] }) };
  }
  if (kind === 'CAST' && node.try_cast === false) {
    const inner = target(objectField(node, 'child'), columnOf, types);
    const to = stringField(objectField(node, 'cast_type') ?? {}, 'id');
    if (!inner || !keepsOrder(types.get(inner.column)!, to)) return undefined;
    return { column: inner.column, with: (name) => ({ ...clone(node), child: inner.with(name) }) };
  }
  return undefined;
}

const comparison = (type: string, left: JsonObject, right: JsonObject): JsonObject => ({
  class: 'COMPARISON',
  type,
  alias: '',
  query_location: 0,
  left,
  right,
});

const combine = (type: 'CONJUNCTION_AND' | 'CONJUNCTION_OR', children: JsonObject[]): JsonObject =>
  children.length === 1 ? children[0]! : { class: 'CONJUNCTION', type, alias: '', query_location: 0, children };

/** The opposite direction of a comparison (`c < col` is `col > c`). */
const FLIPPED: Record<string, string> = {
  COMPARE_EQUAL: 'COMPARE_EQUAL',
  COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
  COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
};

/** "Some value in [min, max] may equal the constant". */
function mayEqual(side: Target, min: string, max: string, value: JsonObject): JsonObject {
  return combine('CONJUNCTION_AND', [
    comparison('COMPARE_LESSTHANOREQUALTO', side.with(min), clone(value)),
    comparison('COMPARE_GREATERTHANOREQUALTO', side.with(max), clone(value)),
  ]);
}

/**
 * A WHERE term rewritten over a row group's statistics: true or NULL when some row of the group may satisfy
 * it, false only when none can. Undefined when the term's shape is not understood.
 */
export function rowGroupTerm(
  term: JsonObject,
  columnOf: ColumnOf,
  types: Map<string, string>,
  indexOf: (column: string) => number,
): JsonObject | undefined {
  const kind = stringField(term, 'class');
  const type = stringField(term, 'type');
  const names = (side: Target) => [minName(indexOf(side.column)), maxName(indexOf(side.column))] as const;
  if (kind === 'COMPARISON' && type in FLIPPED) {
    const left = objectField(term, 'left');
    const right = objectField(term, 'right');
    let side = target(left, columnOf, types);
    let value = right;
    let op = type;
    if (!side) {
      side = target(right, columnOf, types);
      value = left;
      op = FLIPPED[type]!;
    }
    if (!side || !value || !isConstant(value)) return undefined;
    const [min, max] = names(side);
    switch (op) {
      case 'COMPARE_EQUAL':
        return mayEqual(side, min, max, value);
      case 'COMPARE_LESSTHAN':
      case 'COMPARE_LESSTHANOREQUALTO':
        return comparison(op, side.with(min), clone(value));
      default:
        return comparison(op, side.with(max), clone(value));
    }
  }
  if (kind === 'BETWEEN' && type === 'COMPARE_BETWEEN') {
    const side = target(objectField(term, 'input'), columnOf, types);
    const lower = objectField(term, 'lower');
    const upper = objectField(term, 'upper');
    if (!side || !lower || !upper || !isConstant(lower) || !isConstant(upper)) return undefined;
    const [min, max] = names(side);
    return combine('CONJUNCTION_AND', [
      comparison('COMPARE_GREATERTHANOREQUALTO', side.with(max), clone(lower)),
      comparison('COMPARE_LESSTHANOREQUALTO', side.with(min), clone(upper)),
    ]);
  }
  if (kind === 'OPERATOR' && type === 'COMPARE_IN') {
    const [input, ...values] = objectsIn(term, 'children');
    const side = target(input, columnOf, types);
    if (!side || values.length === 0 || arrayField(term, 'children').length !== values.length + 1) return undefined;
    if (!values.every(isConstant)) return undefined;
    const [min, max] = names(side);
    return combine(
      'CONJUNCTION_OR',
      values.map((value) => mayEqual(side, min, max, value)),
    );
  }
  return undefined;
}

/** A column test for a table's data columns: `alias.column`, or `column` when no other FROM item may have it. */
export function dataColumnOf(
  table: TableReference,
  columns: string[],
  otherItemHasColumn: (column: string) => boolean,
): ColumnOf {
  const names = new Set(columns.map((column) => column.toLowerCase()));
  const alias = table.alias.toLowerCase();
  return (ref) => {
    const lower = arrayField(ref, 'column_names').map((name) => String(name).toLowerCase());
    if (lower.length === 2 && lower[0] === alias && names.has(lower[1]!)) return lower[1];
    if (lower.length === 1 && names.has(lower[0]!) && !otherItemHasColumn(lower[0]!)) return lower[0];
    return undefined;
  };
}

/** The statistics of one column chunk: min/max as text (NULL when absent or inexact). */
export interface ChunkStats {
  min: string | null;
  max: string | null;
}

/** One row group of one file: the statistics of the columns the terms read. */
export interface RowGroupStats {
  columns: Map<string, ChunkStats>;
}

/** The terms of the table's WHERE that row-group statistics can decide, rewritten; none on an outer join's NULL side. */
export function rowGroupTerms(
  table: TableReference,
  columnOf: ColumnOf,
  types: Map<string, string>,
): { terms: JsonObject[]; columns: string[] } {
  if (!table.from || !table.preserved) return { terms: [], columns: [] };
  const columns: string[] = [];
  const indexOf = (column: string) => {
    if (!columns.includes(column)) columns.push(column);
    return columns.indexOf(column);
  };
  const where = objectField(table.from.select, 'where_clause');
  const terms: JsonObject[] = [];
  for (const term of conjuncts(where)) {
    const rewritten = rowGroupTerm(term, columnOf, types, indexOf);
    if (rewritten) terms.push(rewritten);
  }
  return { terms, columns };
}

/**
 * The query over the row groups (one VALUES row each: its index, then min and max of each column, typed as
 * the column) that keeps the row groups the condition does not rule out (a NULL, unknown, keeps it).
 * `condition` is appended as SQL text.
 */
export function rowGroupQuery(columns: string[], types: Map<string, string>, groups: RowGroupStats[]): string {
  const typed = (value: string | null | undefined, type: string) =>
    value === null || value === undefined ? `CAST(NULL AS ${type})` : `TRY_CAST(${quoteString(value)} AS ${type})`;
  const rows = groups.map((group, index) => {
    const cells = columns.flatMap((column) => {
      const type = types.get(column)!;
      const stats = group.columns.get(column);
      return [typed(stats?.min, type), typed(stats?.max, type)];
    });
    return `(${[String(index), ...cells].join(', ')})`;
  });
  const names = [ROW_GROUP_INDEX, ...columns.flatMap((_, index) => [minName(index), maxName(index)])]
    .map(quoteIdentifier)
    .join(', ');
  return `SELECT ${quoteIdentifier(ROW_GROUP_INDEX)} FROM (VALUES ${rows.join(', ')}) AS ${quoteIdentifier(ROW_GROUPS_ALIAS)}(${names}) WHERE coalesce(`;
}
