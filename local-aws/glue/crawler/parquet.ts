import type { FileMetaData, SchemaElement, SchemaTree } from 'hyparquet' with { 'resolution-mode': 'import' };
import type { RangeReader } from './sample';
import { primitive, STRING, type Field, type GlueType } from './schema';

/**
 * The built-in Parquet classifier: the schema comes from the footer, read with
 * ranged reads of the end of the object, and is mapped to Hive types as Glue
 * maps it.
 */

export const PARQUET_MAGIC = Buffer.from('PAR1');

function logicalType(element: SchemaElement): GlueType | undefined {
  const logical = element.logical_type;
  switch (logical?.type) {
    case 'STRING':
    case 'ENUM':
    case 'JSON':
    case 'UUID':
      return STRING;
    case 'DATE':
      return primitive('date');
    case 'TIMESTAMP':
      return primitive('timestamp');
    case 'DECIMAL':
      return { kind: 'decimal', precision: logical.precision, scale: logical.scale };
    case 'INTEGER': {
      const names = { 8: 'tinyint', 16: 'smallint', 32: 'int', 64: 'bigint' } as const;
      // Hive has no unsigned integers: an unsigned one takes the next wider type.
      const width = logical.isSigned ? logical.bitWidth : logical.bitWidth * 2;
      return width in names ? primitive(names[width as keyof typeof names]) : primitive('bigint');
    }
    default:
      return undefined;
  }
}

function convertedType(element: SchemaElement): GlueType | undefined {
  switch (element.converted_type) {
    case 'UTF8':
    case 'ENUM':
    case 'JSON':
      return STRING;
    case 'DATE':
      return primitive('date');
    case 'TIMESTAMP_MILLIS':
    case 'TIMESTAMP_MICROS':
      return primitive('timestamp');
    case 'DECIMAL':
      return { kind: 'decimal', precision: element.precision ?? 38, scale: element.scale ?? 0 };
    case 'INT_8':
      return primitive('tinyint');
    case 'INT_16':
    case 'UINT_8':
      return primitive('smallint');
    case 'INT_32':
    case 'UINT_16':
      return primitive('int');
    case 'INT_64':
    case 'UINT_32':
    case 'UINT_64':
      return primitive('bigint');
    default:
      return undefined;
  }
}

function physicalType(element: SchemaElement): GlueType {
  switch (element.type) {
    case 'BOOLEAN':
      return primitive('boolean');
    case 'INT32':
      return primitive('int');
    case 'INT64':
      return primitive('bigint');
    case 'INT96':
      return primitive('timestamp');
    case 'FLOAT':
      return primitive('float');
    case 'DOUBLE':
      return primitive('double');
    default:
      return primitive('binary');
  }
}

const annotated = (element: SchemaElement, annotation: 'LIST' | 'MAP') =>
  element.logical_type?.type === annotation ||
  element.converted_type === annotation ||
  (annotation === 'MAP' && element.converted_type === 'MAP_KEY_VALUE');

/** The type of a node without its repetition. */
function nodeType(node: SchemaTree): GlueType {
  const { element, children } = node;
  if (children.length === 0) return logicalType(element) ?? convertedType(element) ?? physicalType(element);
  if (annotated(element, 'LIST')) return listType(node);
  if (annotated(element, 'MAP')) return mapType(node);
  return { kind: 'struct', fields: children.map(field) };
}

/**
 * A LIST group holds one repeated field. In the standard three-level layout
 * that field is a group of one element; the legacy two-level layouts make the
 * repeated field itself the element (see the parquet-format LogicalTypes rules
 * for backward compatibility).
 */
function listType(node: SchemaTree): GlueType {
  const repeated = node.children[0];
  if (!repeated) return { kind: 'array', element: STRING };
  const legacy =
    repeated.children.length !== 1 ||
    repeated.element.name === 'array' ||
    repeated.element.name === `${node.element.name}_tuple`;
  const element = legacy ? nodeType(repeated) : valueType(repeated.children[0]!);
  return { kind: 'array', element };
}

function mapType(node: SchemaTree): GlueType {
  const entry = node.children[0];
  const [key, value] = entry?.children ?? [];
  return { kind: 'map', key: key ? nodeType(key) : STRING, value: value ? valueType(value) : STRING };
}

/** A field's type: a repeated field outside a LIST is an array of its type. */
function valueType(node: SchemaTree): GlueType {
  const type = nodeType(node);
  return node.element.repetition_type === 'REPEATED' ? { kind: 'array', element: type } : type;
}

const field = (node: SchemaTree): Field => ({ name: node.element.name.toLowerCase(), type: valueType(node) });

/** The columns of a Parquet schema tree (as `parquetSchema` gives it): one per top-level field. */
export const parquetFields = (schema: SchemaTree): Field[] => schema.children.map(field);

export interface ParquetSchema {
  fields: Field[];
  rows: number;
}

/** The columns and row count from a Parquet footer. Throws when the object is not valid Parquet. */
export async function readParquetSchema(size: number, read: RangeReader): Promise<ParquetSchema> {
  const { parquetMetadataAsync, parquetSchema } = await import('hyparquet');
  const metadata: FileMetaData = await parquetMetadataAsync(
    {
      byteLength: size,
      slice: async (start, end) => {
        const bytes = await read(start, end ?? size);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    },
    // The footer of a table's file is rarely more than a few kilobytes; a larger one costs a second read.
    { initialFetchSize: 64 * 1024 },
  );
  return { fields: parquetFields(parquetSchema(metadata)), rows: Number(metadata.num_rows) };
}
