import {
  arrayField,
  clone,
  conjunction,
  descendants,
  type JsonObject,
  objectField,
  objectsIn,
  stringField,
} from './ast';
import { conjuncts } from './pruning';

/**
 * Glue views (Athena's "Presto views"): a query naming a view reads the view's SQL in its place, its
 * unqualified names resolved in the view's own schema, as Trino inlines a view. Trino then pushes the
 * query's filters down into the view, so a view over partitioned tables still reads only the partitions
 * asked for; here the filters a view can take unchanged (those on columns every branch of a UNION ALL of
 * plain SELECTs passes through under the same name) are copied into each branch's WHERE before pruning.
 */

export interface LoadedView {
  /** Where the view's unqualified table names resolve. */
  schema: string;
  /** The parse tree of the view's query (cloned at each use). */
  node: JsonObject;
}

/** How a name is looked up in the map of views: `schema.table`, lowercased. */
export const viewKey = (schema: string, table: string) => `${schema.toLowerCase()}.${table.toLowerCase()}`;

/** The BASE_TABLE nodes of a parse tree, as names (the query's CTE names among them: they are looked up too). */
export const baseTableNames = (root: JsonObject) =>
  [...descendants(root)]
    .filter((node) => stringField(node, 'type') === 'BASE_TABLE' && 'table_name' in node)
    .map((node) => ({
      catalog: stringField(node, 'catalog_name'),
      schema: stringField(node, 'schema_name'),
      table: stringField(node, 'table_name'),
    }));

/** The SELECTs of a tree of UNION ALLs, or undefined if the query is anything else. */
function unionAllBranches(node: JsonObject): JsonObject[] | undefined {
  const type = stringField(node, 'type');
  if (type === 'SELECT_NODE') return [node];
  if (type !== 'SET_OPERATION_NODE' || stringField(node, 'setop_type') !== 'UNION' || node.setop_all !== true) {
    return undefined;
  }
  if (arrayField(node, 'modifiers').length > 0) return undefined;
  const left = objectField(node, 'left');
  const right = objectField(node, 'right');
  const branches = [left && unionAllBranches(left), right && unionAllBranches(right)];
  return branches.every(Boolean) ? branches.flatMap((branch) => branch!) : undefined;
}

/**
 * The columns a filter may be pushed into every branch under: a branch that is a plain SELECT of one table
 * (no grouping, DISTINCT, LIMIT or window) passes `*` or its bare column references through unchanged.
 * `all` when every branch selects `*`.
 */
function passedThrough(branches: JsonObject[]): Set<string> | 'all' | undefined {
  let common = 'all' as Set<string> | 'all';
  for (const branch of branches) {
    const plain =
      arrayField(branch, 'modifiers').length === 0 &&
      arrayField(branch, 'group_expressions').length === 0 &&
      (branch.having ?? null) === null &&
      stringField(objectField(branch, 'from_table') ?? {}, 'type') === 'BASE_TABLE';
    if (!plain) return undefined;
    const items = objectsIn(branch, 'select_list');
    if (items.some((item) => stringField(item, 'class') === 'WINDOW')) return undefined;
    const star = items.some(
      (item) =>
        stringField(item, 'class') === 'STAR' &&
        stringField(item, 'relation_name') === '' &&
        arrayField(item, 'exclude_list').length === 0,
    );
    if (star) continue;
    const own = new Set<string>();
    for (const item of items) {
      const names = arrayField(item, 'column_names').map((name) => String(name).toLowerCase());
      const alias = stringField(item, 'alias').toLowerCase();
      if (stringField(item, 'class') === 'COLUMN_REF' && (alias === '' || alias === names.at(-1)))
        own.add(names.at(-1)!);
    }
    common = common === 'all' ? own : new Set([...common].filter((name) => own.has(name)));
  }
  return common;
}

/** A branch's WHERE as pushDownFilters left it: its own terms, then the copies pushed into it. */
export interface PushedFilters {
  branch: JsonObject;
  own: number;
  pushed: number;
}

/**
 * Copies the terms into the WHERE of every branch of the view's query, each column reference made
 * unqualified (the branch reads one table). Terms naming a column not passed through unchanged are skipped;
 * a view of another shape takes none. The copies choose partitions and row groups; the query keeps its own
 * terms, so removePushedFilters may take the copies out again before the query runs.
 */
export function pushDownFilters(
  view: JsonObject,
  terms: JsonObject[],
  columnOf: (ref: JsonObject) => string,
): PushedFilters[] {
  const branches = unionAllBranches(view);
  const columns = branches && passedThrough(branches);
  if (!branches || !columns) return [];
  const pushable = terms.filter((term) =>
    columnRefs(term).every((ref) => columns === 'all' || columns.has(columnOf(ref))),
  );
  if (pushable.length === 0) return [];
  return branches.map((branch) => {
    const copies = pushable.map((term) => {
      const copy = clone(term);
      for (const ref of columnRefs(copy)) ref.column_names = [columnOf(ref)];
      return copy;
    });
    const own = conjuncts(objectField(branch, 'where_clause'));
    branch.where_clause = conjunction([...own, ...copies]);
    return { branch, own: own.length, pushed: copies.length };
  });
}

/**
 * Each branch's WHERE without the copies pushed into it, once they have chosen partitions and row groups: the
 * query's own WHERE still holds every term, and DuckDB pushes it down itself, so each term is evaluated once
 * per row rather than in the branch and again above the view. A WHERE whose shape changed since is left whole
 * (a term evaluated twice, never one missing).
 */
export function removePushedFilters(pushed: readonly PushedFilters[]): void {
  for (const { branch, own, pushed: count } of pushed) {
    const where = objectField(branch, 'where_clause');
    if (!where) continue;
    if (own === 0 && count === 1) {
      branch.where_clause = null;
      continue;
    }
    const children =
      where.class === 'CONJUNCTION' && where.type === 'CONJUNCTION_AND' ? objectsIn(where, 'children') : [];
    if (children.length !== own + count) continue;
    branch.where_clause = own === 0 ? null : conjunction(children.slice(0, own));
  }
}

const columnRefs = (term: JsonObject) => [...descendants(term)].filter((node) => node.class === 'COLUMN_REF');
