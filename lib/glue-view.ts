import type { Column, TableInput } from '@aws-sdk/client-glue';

/**
 * Athena's views as the Glue Data Catalog stores them ("Presto views"): a table of type VIRTUAL_VIEW whose
 * `ViewOriginalText` is `/* Presto View: <base64 of a JSON document> *\/`; the document holds the view's SQL,
 * the catalog and schema its unqualified names resolve in, and its columns in Trino types. Athena writes
 * this for `CREATE VIEW`, and reads any table so written as a view.
 */

export interface PrestoView {
  originalSql: string;
  catalog: string;
  schema: string;
  columns: { name: string; type: string }[];
  owner?: string;
  runAsInvoker?: boolean;
}

const PREFIX = '/* Presto View: ';
const SUFFIX = ' */';

export const isVirtualView = (table: { TableType?: string }) => table.TableType === 'VIRTUAL_VIEW';

/** The view a Glue table holds, or undefined when its text is not a Presto view. */
export function decodePrestoView(table: { ViewOriginalText?: string }): PrestoView | undefined {
  const text = table.ViewOriginalText?.trim() ?? '';
  if (!text.startsWith(PREFIX) || !text.endsWith(SUFFIX)) return undefined;
  try {
    const view = JSON.parse(
      Buffer.from(text.slice(PREFIX.length, -SUFFIX.length).trim(), 'base64').toString('utf8'),
    ) as Partial<PrestoView>;
    if (typeof view.originalSql !== 'string' || typeof view.schema !== 'string') return undefined;
    return {
      originalSql: view.originalSql,
      catalog: view.catalog ?? 'awsdatacatalog',
      schema: view.schema,
      columns: Array.isArray(view.columns) ? view.columns : [],
      owner: view.owner,
      runAsInvoker: view.runAsInvoker,
    };
  } catch {
    return undefined;
  }
}

/** Hive's column types (the catalog's) in Trino's words, for the view document. */
const trinoType = (hiveType: string) =>
  hiveType
    .toLowerCase()
    .replace(/^string$/, 'varchar')
    .replace(/^int$/, 'integer')
    .replace(/^float$/, 'real');

/** The Glue table input of a view, as Athena's `CREATE VIEW` writes it. */
export function prestoViewInput(
  name: string,
  schema: string,
  sql: string,
  columns: Column[],
  parameters: Record<string, string> = {},
): TableInput {
  const document: PrestoView = {
    originalSql: sql,
    catalog: 'awsdatacatalog',
    schema,
    columns: columns.map((column) => ({ name: column.Name!, type: trinoType(column.Type ?? 'string') })),
  };
  return {
    Name: name,
    TableType: 'VIRTUAL_VIEW',
    Parameters: { presto_view: 'true', comment: 'Presto View', ...parameters },
    ViewOriginalText: `${PREFIX}${Buffer.from(JSON.stringify(document)).toString('base64')}${SUFFIX}`,
    ViewExpandedText: '/* Presto View */',
    StorageDescriptor: { Columns: columns, SerdeInfo: {} },
    PartitionKeys: [],
  };
}
