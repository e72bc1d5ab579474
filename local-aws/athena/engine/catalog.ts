import type { Partition, Table } from '@aws-sdk/client-glue';
import { catalogNotFound, schemaNotFound, type SqlPosition, tableNotFound } from './errors';
import type { StoredObject, TableCatalog } from './types';

/** Athena's only catalog here: the Glue Data Catalog. */
const DATA_CATALOG = 'awsdatacatalog';

export interface TableName {
  catalog: string;
  database: string;
  table: string;
}

/** `tbl`, `db.tbl` or `awsdatacatalog.db.tbl`, lowercased as Hive names are, the database defaulted. */
export function tableName(parts: { catalog?: string; schema?: string; table: string }, database: string): TableName {
  return {
    catalog: (parts.catalog || DATA_CATALOG).toLowerCase(),
    database: (parts.schema || database).toLowerCase(),
    table: parts.table.toLowerCase(),
  };
}

export function namePartsOf(parts: string[]): { catalog?: string; schema?: string; table: string } {
  const [table, schema, catalog] = [...parts].reverse();
  return { catalog, schema, table: table ?? '' };
}

/** The table and its partitions, or Athena's TABLE_NOT_FOUND / SCHEMA_NOT_FOUND / CATALOG_NOT_FOUND. */
export function resolveTable(
  catalog: TableCatalog,
  name: TableName,
  position?: SqlPosition,
): { table: Table; partitions: Partition[] } {
  if (name.catalog !== DATA_CATALOG) throw catalogNotFound(name.catalog, position);
  const found = catalog.getTable(name.database, name.table);
  if ('missing' in found) {
    if (found.missing === 'database') throw schemaNotFound(name.database, position);
    throw tableNotFound(`${name.catalog}.${name.database}.${name.table}`, position);
  }
  return found;
}

/** `s3://bucket/prefix/` as bucket and a key prefix that ends in a slash (so `a/b` does not take `a/bc`). */
export function parseS3Location(location: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3[an]?:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) return undefined;
  const prefix = match[2]!;
  return { bucket: match[1]!, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

/**
 * The objects Hive reads under a location: not empty, and with no path segment
 * that Hadoop treats as hidden (`_SUCCESS`, `.part.crc`, `_temporary/`), nor
 * the `_$folder$` markers some tools write.
 */
export function readableObjects(objects: StoredObject[], prefix: string): StoredObject[] {
  return objects.filter((object) => {
    if (object.size <= 0 || object.key.endsWith('/') || !object.key.startsWith(prefix)) return false;
    const segments = object.key.slice(prefix.length).split('/');
    return segments.every(
      (segment) =>
        segment !== '' && !segment.startsWith('_') && !segment.startsWith('.') && !segment.endsWith('_$folder$'),
    );
  });
}

/** Runs `work` over `items` with at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
