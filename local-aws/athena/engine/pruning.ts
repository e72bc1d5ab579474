import { arrayField, descendants, type JsonObject, objectField, objectsIn, stringField } from './ast';
import { isNondeterministic } from './dialect';
import { quoteIdentifier, quoteString } from './glue-types';
import type { TableReference } from './table-reference';

/**
 * Partition pruning as Athena does it: the parts of a WHERE clause that only
 * compare a table's partition keys with constants choose its partitions before
 * anything is listed or read. They are evaluated by DuckDB itself over the
 * partition values, so any expression of constants works (date_format of
 * current_timestamp ...). Keeping every partition is always correct; a part
 * that is not certainly about partition keys alone is left out.
 */

export interface PartitionKey {
  name: string;
  /** DuckDB type of the key. */
  type: string;
}

/** The terms of a chain of ANDs. */
export function conjuncts(expression: JsonObject | undefined): JsonObject[] {
  if (!expression) return [];
  if (expression.class === 'CONJUNCTION' && expression.type === 'CONJUNCTION_AND') {
    return objectsIn(expression, 'children').flatMap(conjuncts);
  }
  return [expression];
}

/** Decides whether a column reference names one of this table's partition keys. */
export type PartitionColumnTest = (names: string[]) => boolean;

export function partitionColumnTest(
  table: TableReference,
  keys: PartitionKey[],
  otherItemHasColumn: (column: string) => boolean,
): PartitionColumnTest {
  const keyNames = new Set(keys.map((key) => key.name.toLowerCase()));
  const alias = table.alias.toLowerCase();
  return (names) => {
    const lower = names.map((name) => name.toLowerCase());
    if (lower.length === 2) return lower[0] === alias && keyNames.has(lower[1]!);
    // Unqualified: this table's key unless another FROM item may have a column of that name.
    return lower.length === 1 && keyNames.has(lower[0]!) && !otherItemHasColumn(lower[0]!);
  };
}

const UNUSABLE_CLASSES = new Set(['SUBQUERY', 'WINDOW', 'STAR', 'LAMBDA', 'PARAMETER']);

/** True when the term reads only this table's partition keys and constants, deterministically. */
export function isPartitionPredicate(term: JsonObject, isPartitionColumn: PartitionColumnTest): boolean {
  for (const node of descendants(term)) {
    const kind = stringField(node, 'class');
    if (UNUSABLE_CLASSES.has(kind)) return false;
    if (kind === 'FUNCTION' && isNondeterministic(stringField(node, 'function_name'))) return false;
    if (kind === 'COLUMN_REF' && !isPartitionColumn(arrayField(node, 'column_names').map(String))) return false;
  }
  return true;
}

/** The WHERE terms that can choose this table's partitions (none on the NULL side of an outer join). */
export function pruningPredicates(table: TableReference, isPartitionColumn: PartitionColumnTest): JsonObject[] {
  if (!table.from || !table.preserved) return [];
  const where = objectField(table.from.select, 'where_clause');
  return conjuncts(where).filter((term) => isPartitionPredicate(term, isPartitionColumn));
}

const PARTITION_INDEX = '__athena_partition_index';

/** Hive writes NULL partition values as this directory name. */
const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

export const partitionValueSql = (value: string | undefined, type: string) =>
  value === undefined || value === HIVE_DEFAULT_PARTITION
    ? `CAST(NULL AS ${type})`
    : `TRY_CAST(${quoteString(value)} AS ${type})`;

/**
 * A query answering which partitions satisfy `condition` (SQL over the keys,
 * named as the user's query names them: the relation takes the table's alias).
 */
export function pruningQuery(alias: string, keys: PartitionKey[], partitions: string[][], condition: string): string {
  const rows = partitions.map(
    (values, index) =>
      `(${[String(index), ...keys.map((key, i) => partitionValueSql(values[i], key.type))].join(', ')})`,
  );
  const columns = [PARTITION_INDEX, ...keys.map((key) => key.name)].map(quoteIdentifier).join(', ');
  return `SELECT ${quoteIdentifier(PARTITION_INDEX)} FROM (VALUES ${rows.join(', ')}) AS ${quoteIdentifier(alias)}(${columns}) WHERE ${condition}`;
}
