import { arrayField, descendants, isObject, type JsonObject, objectField, stringField } from './ast';

/**
 * The column references that only compute a WITH query's column nothing reads. Trino inlines a WITH query
 * and prunes the columns its consumers do not use, so the table columns such an item names are not read for
 * it (the named queries' `trade_order`, built from `ts` and `seq`, in top-volume and vwap). Only the plain
 * case is taken, everything else keeps every reference:
 *
 * - a top-level WITH query that is one SELECT without DISTINCT, ORDER BY, LIMIT, GROUP BY, HAVING or
 *   QUALIFY, and without a column list (`WITH w(a, b) AS …`);
 * - an item with an alias that no column reference anywhere else in the statement names (by its last
 *   name, case-insensitively, whatever it is qualified with);
 * - and no `*` anywhere outside that WITH query's own SELECT (a `*` could pass the column on).
 */
export function unusedWithColumnRefs(root: JsonObject): Set<JsonObject> {
  const unused = new Set<JsonObject>();
  const entries = arrayField(objectField(root, 'cte_map') ?? {}, 'map').filter(isObject);
  for (const entry of entries) {
    const value = objectField(entry, 'value');
    const node = objectField(objectField(value ?? {}, 'query') ?? {}, 'node');
    if (!value || !node || stringField(node, 'type') !== 'SELECT_NODE') continue;
    if (arrayField(value, 'aliases').length > 0) continue;
    const plain =
      arrayField(node, 'modifiers').length === 0 &&
      arrayField(node, 'group_expressions').length === 0 &&
      arrayField(node, 'group_sets').length === 0 &&
      (node.having ?? null) === null &&
      (node.qualify ?? null) === null &&
      arrayField(objectField(node, 'cte_map') ?? {}, 'map').length === 0;
    if (!plain) continue;
    const inside = new Set(descendants(node));
    const starOutside = [...descendants(root)].some((item) => item.class === 'STAR' && !inside.has(item));
    if (starOutside) continue;
    for (const item of arrayField(node, 'select_list').filter(isObject)) {
      const alias = stringField(item, 'alias').toLowerCase();
      if (alias === '' || item.class === 'STAR') continue;
      const own = new Set(descendants(item));
      const named = [...descendants(root)].some(
        (other) =>
          other.class === 'COLUMN_REF' &&
          !own.has(other) &&
          String(arrayField(other, 'column_names').at(-1) ?? '').toLowerCase() === alias,
      );
      if (named) continue;
      for (const ref of own) if (ref.class === 'COLUMN_REF') unused.add(ref);
    }
  }
  return unused;
}
