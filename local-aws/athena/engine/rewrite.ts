import {
  arrayField,
  castTo,
  clone,
  functionCall,
  isObject,
  type Json,
  type JsonObject,
  objectField,
  objectsIn,
  queryLocation,
  replaceNode,
  stringField,
  descendants,
} from './ast';
import {
  currentTimeConstant,
  type DialectContext,
  rewriteFunction,
  rewriteWindowFunction,
  unnamedRowForCast,
} from './dialect';
import { functionNotFound, internalError, notSupported } from './errors';
import { conjuncts, isPartitionPredicate } from './pruning';
import type { FromClause, TableReference } from './table-reference';
import { type LoadedView, type PushedFilters, pushDownFilters, viewKey } from './views';

/**
 * One walk over DuckDB's parse tree of the user's query that checks every node
 * against what Athena's SQL has, rewrites functions, casts and current_timestamp
 * to Trino's semantics, and collects the table references to resolve through
 * the catalog (CTE names excepted). Any node kind it does not know is refused,
 * so nothing in user SQL reaches DuckDB unexamined.
 */

export interface AnalyzedQuery {
  tables: TableReference[];
  columnRefs: JsonObject[];
  /**
   * The column references of views' select lists that only pass a column through (`SELECT a, b FROM t` in
   * a view's body): Trino reads such a column only when the query over the view names it, so data scanned
   * counts it only then (query-run.ts).
   */
  viewPassThroughRefs: ReadonlySet<JsonObject>;
  /** VALUES without column names: DuckDB calls the columns col0, col1 where Trino says _col0, _col1. */
  anonymousValues: boolean;
  /** The WHERE terms copied into views' branches, for choosing partitions and row groups (views.ts). */
  pushedFilters: readonly PushedFilters[];
}

const QUERY_NODES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);
const TABLE_REFS = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'EXPRESSION_LIST', 'EMPTY', 'TABLE_FUNCTION']);
const EXPRESSIONS = new Set([
  'COLUMN_REF',
  'CONSTANT',
  'FUNCTION',
  'WINDOW',
  'CASE',
  'CAST',
  'COMPARISON',
  'CONJUNCTION',
  'OPERATOR',
  'BETWEEN',
  'SUBQUERY',
  'STAR',
  'LAMBDA',
]);
const OPERATOR_TYPES = new Set([
  'OPERATOR_NOT',
  'OPERATOR_IS_NULL',
  'OPERATOR_IS_NOT_NULL',
  'COMPARE_IN',
  'COMPARE_NOT_IN',
  'OPERATOR_COALESCE',
  'ARRAY_EXTRACT',
  'ARRAY_SLICE',
  'STRUCT_EXTRACT',
  'ARRAY_CONSTRUCTOR',
  'OPERATOR_TRY',
]);
/** Joins Trino has; DuckDB's ASOF, POSITIONAL, SEMI and ANTI joins are not Athena SQL. */
const JOIN_TYPES = new Set(['INNER', 'LEFT', 'RIGHT', 'OUTER', 'FULL']);
const JOIN_REF_TYPES = new Set(['REGULAR', 'CROSS', 'NATURAL', 'DEPENDENT']);
const CURRENT_TIME_NAMES = new Set([
  'current_timestamp',
  'current_date',
  'current_time',
  'localtimestamp',
  'localtime',
  'current_schema',
  'current_catalog',
]);

const CASTS_TO_MACROS: Record<string, string> = {
  VARCHAR: 'athena_to_varchar',
  TINYINT: 'athena_to_tinyint',
  SMALLINT: 'athena_to_smallint',
  INTEGER: 'athena_to_integer',
  BIGINT: 'athena_to_bigint',
};

/** What a table reference sees of the FROM clause it sits in. */
interface FromPlacement {
  from: FromClause;
  preserved: boolean;
}

/** Names of the WITH queries in scope (lowercased) → the engine's name for each. */
type CteScope = ReadonlyMap<string, string>;

/** The engine's names for WITH queries; a relation of any other name is a catalog table. */
export const CTE_PREFIX = '__athena_cte_';

/** Views inside views, as deep as Trino allows before it calls the view recursive. */
export const MAX_VIEW_DEPTH = 10;

class QueryRewriter {
  private cteCount = 0;
  readonly tables: TableReference[] = [];
  readonly columnRefs: JsonObject[] = [];
  readonly viewPassThroughRefs = new Set<JsonObject>();
  readonly pushedFilters: PushedFilters[] = [];
  anonymousValues = false;
  private lambdaDepth = 0;
  private readonly placements = new WeakMap<JsonObject, FromPlacement>();
  /** The schemas of the views being expanded, innermost last: where their unqualified names resolve. */
  private readonly viewSchemas: string[] = [];

  constructor(
    private readonly context: DialectContext,
    private readonly views: ReadonlyMap<string, LoadedView>,
  ) {}

  visit(value: Json, ctes: CteScope): Json {
    if (Array.isArray(value)) {
      value.forEach((item, index) => (value[index] = this.visit(item, ctes)));
      return value;
    }
    if (!isObject(value)) return value;
    if (typeof value.class === 'string') return this.visitExpression(value, ctes);
    const type = stringField(value, 'type');
    if ('modifiers' in value && 'cte_map' in value) return this.visitQueryNode(value, type, ctes);
    if ('alias' in value && 'sample' in value) return this.visitTableRef(value, type, ctes);
    this.visitFields(value, ctes);
    return value;
  }

  private visitFields(node: JsonObject, ctes: CteScope): void {
    for (const key of Object.keys(node)) node[key] = this.visit(node[key]!, ctes);
  }

  private fail(node: JsonObject, what: string): never {
    throw notSupported(`${what} is not supported`, this.context.position(node));
  }

  /**
   * A WITH clause's names, as Trino scopes them: each named query sees the outer scope and the
   * queries declared before it (itself too when it is recursive); the query's body sees them all.
   * Each is renamed to a name of the engine's own, so no name the user wrote reaches DuckDB: a
   * reference the scope does not hold goes to the catalog, and one DuckDB would bind otherwise
   * than this scope does finds no relation of that name at all.
   */
  private visitQueryNode(node: JsonObject, type: string, outer: CteScope): JsonObject {
    if (!QUERY_NODES.has(type)) this.fail(node, `The query form ${type}`);
    const ctes = new Map(outer);
    const map = objectField(node, 'cte_map');
    for (const entry of map ? objectsIn(map, 'map') : []) {
      const name = stringField(entry, 'key').toLowerCase();
      const internal = `${CTE_PREFIX}${this.cteCount++}`;
      entry.key = internal;
      const body = objectField(entry, 'value');
      const query = body && objectField(body, 'query');
      const root = query && objectField(query, 'node');
      const recursive = root !== undefined && stringField(root, 'type') === 'RECURSIVE_CTE_NODE';
      if (recursive) root.cte_name = internal;
      if (body) this.visit(body, recursive ? new Map(ctes).set(name, internal) : ctes);
      ctes.set(name, internal);
    }
    if (type === 'SELECT_NODE') {
      if (node.qualify !== null && node.qualify !== undefined) this.fail(node, 'QUALIFY');
      this.placeFromItems(node);
    }
    for (const key of Object.keys(node)) if (key !== 'cte_map') node[key] = this.visit(node[key]!, ctes);
    return node;
  }

  private placeFromItems(select: JsonObject): void {
    const from: FromClause = { select, items: [] };
    const place = (ref: JsonObject, preserved: boolean) => {
      if (stringField(ref, 'type') !== 'JOIN') {
        from.items.push(ref);
        this.placements.set(ref, { from, preserved });
        return;
      }
      const join = stringField(ref, 'join_type');
      const left = objectField(ref, 'left');
      const right = objectField(ref, 'right');
      if (left) place(left, preserved && (join === 'INNER' || join === 'LEFT'));
      if (right) place(right, preserved && (join === 'INNER' || join === 'RIGHT'));
    };
    const table = objectField(select, 'from_table');
    if (table) place(table, true);
  }

  private visitTableRef(ref: JsonObject, type: string, ctes: CteScope): JsonObject {
    if (!TABLE_REFS.has(type)) this.fail(ref, `The table reference ${type}`);
    if (type === 'BASE_TABLE') return this.visitBaseTable(ref, ctes);
    if (type === 'TABLE_FUNCTION') {
      const call = objectField(ref, 'function');
      const name = call ? stringField(call, 'function_name').toLowerCase() : '';
      if (!call || name !== 'unnest' || stringField(call, 'schema') !== '') {
        throw functionNotFound(name, this.context.position(call ?? ref), 'Table function');
      }
      // Its arguments, not the call itself: unnest is a table function, not in the scalar allowlist.
      this.visitFields(call, ctes);
      return ref;
    }
    if (type === 'JOIN') {
      if (!JOIN_TYPES.has(stringField(ref, 'join_type')) || !JOIN_REF_TYPES.has(stringField(ref, 'ref_type'))) {
        this.fail(ref, `${stringField(ref, 'ref_type')} ${stringField(ref, 'join_type')} JOIN`);
      }
    }
    if (type === 'EXPRESSION_LIST') this.anonymousValues ||= !this.hasColumnAliases(ref);
    this.visitFields(ref, ctes);
    return ref;
  }

  /** VALUES directly in FROM has no column names; `(VALUES ...) AS t(a, b)` is a SUBQUERY that has. */
  private hasColumnAliases(values: JsonObject): boolean {
    return arrayField(values, 'expected_names').length > 0;
  }

  private visitBaseTable(ref: JsonObject, ctes: CteScope): JsonObject {
    const catalog = stringField(ref, 'catalog_name').toLowerCase();
    const schema = stringField(ref, 'schema_name').toLowerCase();
    const table = stringField(ref, 'table_name').toLowerCase();
    const cte = catalog === '' && schema === '' ? ctes.get(table) : undefined;
    if (cte !== undefined) {
      ref.alias = stringField(ref, 'alias') || stringField(ref, 'table_name');
      ref.table_name = cte;
      return ref;
    }
    const inView = this.viewSchemas.at(-1) ?? '';
    const view =
      catalog === '' || catalog === 'awsdatacatalog'
        ? this.views.get(viewKey(schema || inView || this.context.database, table))
        : undefined;
    if (view) return this.expandView(ref, view);
    const placement = this.placements.get(ref);
    this.tables.push({
      node: ref,
      catalog,
      schema: schema || inView,
      table,
      alias: stringField(ref, 'alias') || stringField(ref, 'table_name'),
      location: queryLocation(ref),
      from: placement?.from,
      preserved: placement?.preserved ?? false,
    });
    return ref;
  }

  /**
   * A view's query in place of its name (a subquery under the name or alias the query gave it), with the
   * WHERE terms on the view's columns alone pushed into it, as Trino pushes filters through a view.
   */
  private expandView(ref: JsonObject, view: LoadedView): JsonObject {
    const name = stringField(ref, 'table_name');
    if (this.viewSchemas.length >= MAX_VIEW_DEPTH) {
      throw notSupported(`View '${name}' is recursive or nests views more than ${MAX_VIEW_DEPTH} deep`);
    }
    const alias = stringField(ref, 'alias') || name;
    const body = clone(view.node);
    for (const node of descendants(body)) {
      const items = node.select_list;
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        if (isObject(item) && item.class === 'COLUMN_REF') this.viewPassThroughRefs.add(item);
      }
    }
    const placement = this.placements.get(ref);
    if (placement?.preserved) {
      const single = placement.from.items.length === 1;
      const ownColumn = (names: string[]) =>
        (names.length === 1 && single) || (names.length === 2 && names[0]!.toLowerCase() === alias.toLowerCase());
      const terms = conjuncts(objectField(placement.from.select, 'where_clause')).filter((term) =>
        isPartitionPredicate(term, ownColumn),
      );
      this.pushedFilters.push(
        ...pushDownFilters(body, terms, (column) => String(arrayField(column, 'column_names').at(-1)).toLowerCase()),
      );
    }
    replaceNode(ref, {
      type: 'SUBQUERY',
      alias,
      sample: ref.sample ?? null,
      query_location: ref.query_location ?? 0,
      subquery: { node: body, named_param_map: [] },
      column_name_alias: ref.column_name_alias ?? [],
    });
    this.viewSchemas.push(view.schema);
    try {
      this.visit(body, new Map());
    } finally {
      this.viewSchemas.pop();
    }
    return ref;
  }

  /** An expression rewritten keeps its select-item name: `CAST(x AS varchar) AS name` is still `name`. */
  private visitExpression(node: JsonObject, ctes: CteScope): JsonObject {
    const rewritten = this.rewriteExpression(node, ctes);
    const alias = stringField(node, 'alias');
    return alias !== '' && rewritten !== node && stringField(rewritten, 'alias') === ''
      ? { ...rewritten, alias }
      : rewritten;
  }

  private rewriteExpression(node: JsonObject, ctes: CteScope): JsonObject {
    const kind = stringField(node, 'class');
    if (!EXPRESSIONS.has(kind)) this.fail(node, kind === 'PARAMETER' ? 'A query parameter' : `The expression ${kind}`);
    if (kind === 'OPERATOR' && !OPERATOR_TYPES.has(stringField(node, 'type'))) {
      this.fail(node, `The operator ${stringField(node, 'type')}`);
    }
    if (kind === 'STAR' && (node.columns === true || node.expr !== null)) this.fail(node, 'COLUMNS(...)');
    if (kind === 'COLUMN_REF') return this.visitColumnRef(node);
    if (kind === 'CONSTANT') return this.visitConstant(node);
    if (kind === 'LAMBDA') this.lambdaDepth++;
    try {
      this.visitFields(node, ctes);
    } finally {
      if (kind === 'LAMBDA') this.lambdaDepth--;
    }
    if (kind === 'FUNCTION') return rewriteFunction(node, this.context, { insideLambda: this.lambdaDepth > 0 });
    if (kind === 'WINDOW') return rewriteWindowFunction(node, this.context);
    if (kind === 'CAST') return this.rewriteCast(node);
    return node;
  }

  private visitColumnRef(node: JsonObject): JsonObject {
    const names = arrayField(node, 'column_names');
    const only = names.length === 1 && typeof names[0] === 'string' ? names[0].toLowerCase() : undefined;
    const constant = only && CURRENT_TIME_NAMES.has(only) ? currentTimeConstant(only, this.context, node) : undefined;
    if (constant) return constant;
    this.columnRefs.push(node);
    return node;
  }

  /** DuckDB writes a double constant back as `1.5`, which it would read again as a decimal: keep it a double. */
  private visitConstant(constant: JsonObject): JsonObject {
    const value = objectField(constant, 'value');
    const type = value ? stringField(objectField(value, 'type') ?? {}, 'id') : '';
    return type === 'DOUBLE' || type === 'FLOAT' ? castTo(constant, type, constant) : constant;
  }

  /** Casts whose Trino result differs from DuckDB's (varchar rendering, rounding to integers). */
  private rewriteCast(cast: JsonObject): JsonObject {
    const target = objectField(cast, 'cast_type');
    const row = target?.id === 'STRUCT' && isObject(cast.child) ? unnamedRowForCast(cast.child) : undefined;
    if (row) return { ...cast, child: row };
    const macro = target && target.type_info === null ? CASTS_TO_MACROS[stringField(target, 'id')] : undefined;
    if (!macro) return cast;
    const converted = functionCall(macro, [cast.child!], cast);
    return cast.try_cast === true ? functionCall('try', [converted], cast) : converted;
  }
}

/** Checks and rewrites a parsed statement in place; returns what the engine must resolve. */
export function analyzeStatement(
  statement: JsonObject,
  context: DialectContext,
  views: ReadonlyMap<string, LoadedView> = new Map(),
): AnalyzedQuery {
  const rewriter = new QueryRewriter(context, views);
  rewriter.visit(statement, new Map());
  return {
    tables: rewriter.tables,
    columnRefs: rewriter.columnRefs,
    viewPassThroughRefs: rewriter.viewPassThroughRefs,
    anonymousValues: rewriter.anonymousValues,
    pushedFilters: rewriter.pushedFilters,
  };
}

/** Marks unnamed result columns so they can be renamed `_colN` (Trino's name, by final position) afterwards. */
export const UNNAMED_COLUMN = '__athena_unnamed_column';

function leftmostSelect(node: JsonObject): JsonObject | undefined {
  const type = stringField(node, 'type');
  if (type === 'SELECT_NODE') return node;
  const left = objectField(node, 'left');
  return left ? leftmostSelect(left) : undefined;
}

/** Trino names result columns by alias (lowercased, as Athena shows them), column name, or `_colN`. */
export function nameResultColumns(root: JsonObject): void {
  const select = leftmostSelect(root);
  if (!select) return;
  objectsIn(select, 'select_list').forEach((item, index) => {
    const alias = stringField(item, 'alias');
    const kind = stringField(item, 'class');
    if (alias !== '') item.alias = alias.toLowerCase();
    else if (kind !== 'COLUMN_REF' && kind !== 'STAR') item.alias = `${UNNAMED_COLUMN}${index}`;
  });
}

/** How many leading names of a column reference spell this table (`db.tbl.col`, `awsdatacatalog.db.tbl.col`), or 0. */
function tablePrefixLength(names: string[], table: TableReference, database: string): number {
  const schema = table.schema || database;
  if (names.length >= 4 && names[0] === 'awsdatacatalog' && names[1] === schema && names[2] === table.table) return 3;
  if (names.length >= 3 && names[0] === schema && names[1] === table.table) return 2;
  return 0;
}

/** Points columns named through their table's full name at the table's alias. */
export function qualifyColumnRefs(columnRefs: JsonObject[], tables: TableReference[], database: string): void {
  for (const ref of columnRefs) {
    const original = arrayField(ref, 'column_names');
    const names = original.map((name) => String(name).toLowerCase());
    for (const table of tables) {
      const prefix = tablePrefixLength(names, table, database);
      if (prefix === 0) continue;
      ref.column_names = [table.alias, ...original.slice(prefix)];
      break;
    }
  }
}

/** Puts a table's source query where the user named the table, keeping its alias and column aliases. */
export function spliceTableSource(table: TableReference, source: JsonObject): void {
  replaceNode(table.node, {
    type: 'SUBQUERY',
    alias: table.alias,
    sample: table.node.sample ?? null,
    query_location: table.node.query_location ?? 0,
    subquery: { node: source, named_param_map: [] },
    column_name_alias: table.node.column_name_alias ?? [],
  });
}

/**
 * The last check before DuckDB runs a query: every relation it names is one of the engine's
 * WITH names, every table having been replaced by its source. A name that got past the
 * rewrite would otherwise reach DuckDB's own catalog (its settings, its system views).
 */
export function assertEngineRelationsOnly(value: Json): void {
  const pending: Json[] = [value];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (Array.isArray(node)) pending.push(...node);
    else if (isObject(node)) {
      if (stringField(node, 'type') === 'BASE_TABLE' && 'table_name' in node) {
        const name = stringField(node, 'table_name');
        const qualified = stringField(node, 'schema_name') !== '' || stringField(node, 'catalog_name') !== '';
        if (qualified || !name.startsWith(CTE_PREFIX)) {
          throw internalError(`The query names a relation the engine did not resolve: '${name}'`);
        }
      }
      pending.push(...Object.values(node));
    }
  }
}
