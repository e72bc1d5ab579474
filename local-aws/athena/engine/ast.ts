/**
 * DuckDB's parse tree as `json_serialize_sql` writes it, read and written back
 * without changing a number: integers beyond 2^53 (BIGINT and DECIMAL
 * constants; unset query locations are 2^64 - 1) and doubles written as `1.0`
 * (which DuckDB must read back as doubles) keep their exact text. Plus
 * builders for the nodes the rewrite adds.
 */

import { notSupported } from './errors';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** Numbers whose text must survive travel as strings with this marker (a private-use character). */
const BIG = '\uE000';

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}

/** JSON.parse, except that numbers other than safe integers stay as their exact text (in marked strings). */
export function parseJsonLossless(text: string): Json {
  if (text.includes(BIG)) throw notSupported('The character U+E000 is reserved by the local Athena engine');
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (char === '-' || isDigit(char)) {
      const start = i++;
      while (i < text.length && /[0-9.eE+-]/.test(text[i]!)) i++;
      const token = text.slice(start, i);
      const safeInteger = /^-?\d+$/.test(token) && Number.isSafeInteger(Number(token));
      out += safeInteger ? token : `"${BIG}${token}"`;
    } else {
      out += char;
      i++;
    }
  }
  return JSON.parse(out) as Json;
}

export function stringifyJsonLossless(value: Json): string {
  return JSON.stringify(value).replace(new RegExp(`"${BIG}([-+0-9.eE]+)"`, 'g'), '$1');
}

export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const stringField = (node: JsonObject, key: string): string => {
  const value = node[key];
  return typeof value === 'string' ? value : '';
};

export const objectField = (node: JsonObject, key: string): JsonObject | undefined => {
  const value = node[key];
  return isObject(value) ? value : undefined;
};

export const arrayField = (node: JsonObject, key: string): Json[] => {
  const value = node[key];
  return Array.isArray(value) ? value : [];
};

export const objectsIn = (node: JsonObject, key: string): JsonObject[] => arrayField(node, key).filter(isObject);

/** A node's byte offset in the parsed SQL, or undefined where the parser left none. */
export function queryLocation(node: JsonObject): number | undefined {
  const value = node.query_location;
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** Replaces a node's contents in place, so references held elsewhere see the new node. */
export function replaceNode(target: JsonObject, replacement: JsonObject): void {
  const copy = { ...replacement };
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, copy);
}

export const clone = <T extends Json>(value: T): T => structuredClone(value);

const location = (at: JsonObject | undefined): Json => at?.query_location ?? 0;

export function functionCall(name: string, children: Json[], at?: JsonObject): JsonObject {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    query_location: location(at),
    function_name: name,
    schema: '',
    children,
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: false,
    is_operator: false,
    export_state: false,
    catalog: '',
  };
}

export function operatorCall(name: string, children: Json[], at?: JsonObject): JsonObject {
  return { ...functionCall(name, children, at), is_operator: true };
}

export function subscript(container: Json, index: Json, at?: JsonObject): JsonObject {
  return {
    class: 'OPERATOR',
    type: 'ARRAY_EXTRACT',
    alias: '',
    query_location: location(at),
    children: [container, index],
  };
}

export function stringConstant(value: string, at?: JsonObject): JsonObject {
  return {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    query_location: location(at),
    value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value },
  };
}

/** A cast to a type DuckDB names with a plain id (VARCHAR, DATE, TIMESTAMP WITH TIME ZONE ...). */
export function castTo(child: Json, typeId: string, at?: JsonObject): JsonObject {
  return {
    class: 'CAST',
    type: 'OPERATOR_CAST',
    alias: '',
    query_location: location(at),
    child,
    cast_type: { id: typeId, type_info: null },
    try_cast: false,
  };
}

/** The value of a string constant node, or undefined if the node is anything else. */
export function stringConstantValue(node: Json | undefined): string | undefined {
  if (!isObject(node) || node.class !== 'CONSTANT') return undefined;
  const value = objectField(node, 'value');
  const type = value && objectField(value, 'type');
  if (!value || value.is_null === true || type?.id !== 'VARCHAR') return undefined;
  return typeof value.value === 'string' ? value.value : undefined;
}

/** Every node below `root` (itself included), depth first. */
export function* descendants(root: Json): Generator<JsonObject> {
  if (Array.isArray(root)) {
    for (const item of root) yield* descendants(item);
  } else if (isObject(root)) {
    yield root;
    for (const value of Object.values(root)) yield* descendants(value);
  }
}

export function conjunction(children: JsonObject[]): JsonObject {
  if (children.length === 1) return children[0]!;
  return { class: 'CONJUNCTION', type: 'CONJUNCTION_AND', alias: '', query_location: 0, children };
}

/** A statement `SELECT <expressions>`, for turning expressions back into SQL text. */
export function selectStatement(expressions: Json[]): JsonObject {
  return {
    node: {
      type: 'SELECT_NODE',
      modifiers: [],
      cte_map: { map: [] },
      select_list: expressions,
      from_table: { type: 'EMPTY', alias: '', sample: null, query_location: 0 },
      where_clause: null,
      group_expressions: [],
      group_sets: [],
      aggregate_handling: 'STANDARD_HANDLING',
      having: null,
      sample: null,
      qualify: null,
    },
    named_param_map: [],
  };
}
