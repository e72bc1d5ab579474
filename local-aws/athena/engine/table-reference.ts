import type { JsonObject } from './ast';

/** A table the user's query names, as the rewrite found it (shared by the rewrite, pruning and views). */
export interface FromClause {
  select: JsonObject;
  /** Every item of the FROM clause, joins flattened. */
  items: JsonObject[];
}

export interface TableReference {
  /** The BASE_TABLE node; replaced in place by the table's source. */
  node: JsonObject;
  catalog: string;
  schema: string;
  table: string;
  /** The name the rest of the query knows it by: its alias, or its table name. */
  alias: string;
  location: number | undefined;
  from: FromClause | undefined;
  /** False on the NULL-supplying side of an outer join, where WHERE cannot prune. */
  preserved: boolean;
}
