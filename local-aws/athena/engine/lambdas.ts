import {
  arrayField,
  functionCall,
  isObject,
  type Json,
  type JsonObject,
  objectField,
  objectsIn,
  stringConstant,
  stringField,
} from './ast';
import { invalidFunctionArgument } from './errors';

/**
 * Trino's functions whose lambdas take two parameters, or that apply a second lambda, over DuckDB's
 * one-parameter list lambdas: `map_filter(m, (k, v) -> p)` is `list_filter` over the map's entries with
 * k and v read from the entry, and so on. The lambdas' bodies are already in DuckDB's dialect.
 */

type LambdaRewriter = (call: JsonObject, children: Json[]) => JsonObject;

/** The lambda parameter the rewritten lambdas take (athena_ never shows in an error). */
const ENTRY = 'athena_entry';

function integerConstant(value: number, at: JsonObject): JsonObject {
  return {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    query_location: at.query_location ?? 0,
    value: { type: { id: 'INTEGER', type_info: null }, is_null: false, value },
  };
}

const entryRef = (at: JsonObject): JsonObject => ({
  class: 'COLUMN_REF',
  type: 'COLUMN_REF',
  alias: '',
  query_location: at.query_location ?? 0,
  column_names: [ENTRY],
});

const lambda = (body: Json, at: JsonObject): JsonObject => ({
  class: 'LAMBDA',
  type: 'LAMBDA',
  alias: '',
  query_location: at.query_location ?? 0,
  lhs: entryRef(at),
  expr: body,
});

/** A lambda's parameter names and body, checking it takes `count` parameters. */
function lambdaParts(node: Json | undefined, count: number, name: string): { names: string[]; body: Json } {
  const lhs = isObject(node) && node.class === 'LAMBDA' ? objectField(node, 'lhs') : undefined;
  const refs = lhs?.class === 'COLUMN_REF' ? [lhs] : lhs ? objectsIn(lhs, 'children') : [];
  const names = refs.map((ref) => String(arrayField(ref, 'column_names')[0] ?? '').toLowerCase());
  if (!lhs || names.length !== count || refs.some((ref) => ref.class !== 'COLUMN_REF')) {
    throw invalidFunctionArgument(`${name} takes a lambda of ${count} parameter${count === 1 ? '' : 's'}`);
  }
  return { names, body: (node as JsonObject).expr! };
}

/**
 * The body with each parameter replaced by its value (`v.f` by the field f of v's value), in place:
 * the table references the rewrite recorded in the body stay the nodes it splices. A subquery has
 * its own scope and is left as it is.
 */
function substitute(body: Json, values: Map<string, JsonObject>): Json {
  if (Array.isArray(body)) {
    body.forEach((item, index) => (body[index] = substitute(item, values)));
    return body;
  }
  if (!isObject(body) || body.class === 'SUBQUERY') return body;
  if (body.class === 'LAMBDA') {
    // An inner lambda's own parameters hide the outer ones of the same name.
    const lhs = objectField(body, 'lhs');
    const refs = lhs?.class === 'COLUMN_REF' ? [lhs] : lhs ? objectsIn(lhs, 'children') : [];
    const hidden = new Set(refs.map((ref) => String(arrayField(ref, 'column_names')[0] ?? '').toLowerCase()));
    body.expr = substitute(body.expr!, new Map([...values].filter(([name]) => !hidden.has(name))));
    return body;
  }
  if (body.class === 'COLUMN_REF') {
    const [first, ...rest] = arrayField(body, 'column_names').map(String);
    const value = first === undefined ? undefined : values.get(first.toLowerCase());
    if (value) {
      return rest.reduce<JsonObject>(
        (inner, field) => functionCall('struct_extract', [inner, stringConstant(field, body)], body),
        structuredClone(value),
      );
    }
  }
  for (const key of Object.keys(body)) body[key] = substitute(body[key]!, values);
  return body;
}

const field = (name: string | number, at: JsonObject) =>
  functionCall(
    'struct_extract',
    [entryRef(at), typeof name === 'number' ? integerConstant(name, at) : stringConstant(name, at)],
    at,
  );

/** An entry lambda whose body reads a map entry's key and value through the Trino lambda's two names. */
function entryLambda(call: JsonObject, node: Json | undefined, build: (body: Json) => Json): JsonObject {
  const { names, body } = lambdaParts(node, 2, stringField(call, 'function_name'));
  const values = new Map([
    [names[0]!, field('key', call)],
    [names[1]!, field('value', call)],
  ]);
  return lambda(build(substitute(body, values)), call);
}

const entry = (key: Json, value: Json, at: JsonObject) =>
  functionCall(
    'struct_pack',
    [
      { ...(key as JsonObject), alias: 'key' },
      { ...(value as JsonObject), alias: 'value' },
    ],
    at,
  );

const entries = (map: Json, at: JsonObject) => functionCall('map_entries', [map], at);

export const LAMBDA_REWRITERS: Record<string, LambdaRewriter> = {
  map_filter: (call, [map, predicate]) =>
    functionCall(
      'map_from_entries',
      [functionCall('list_filter', [entries(map!, call), entryLambda(call, predicate, (body) => body)], call)],
      call,
    ),
  transform_values: (call, [map, transform]) =>
    functionCall(
      'map_from_entries',
      [
        functionCall(
          'list_transform',
          [entries(map!, call), entryLambda(call, transform, (body) => entry(field('key', call), body, call))],
          call,
        ),
      ],
      call,
    ),
  transform_keys: (call, [map, transform]) =>
    functionCall(
      'map_from_entries',
      [
        functionCall(
          'list_transform',
          [entries(map!, call), entryLambda(call, transform, (body) => entry(body, field('value', call), call))],
          call,
        ),
      ],
      call,
    ),
  // Trino pads the shorter array with NULLs, as list_zip does; list_zip's fields are unnamed: read by position.
  zip_with: (call, [left, right, combine]) => {
    const { names, body } = lambdaParts(combine, 2, 'zip_with');
    const values = new Map([
      [names[0]!, field(1, call)],
      [names[1]!, field(2, call)],
    ]);
    return functionCall(
      'list_transform',
      [functionCall('list_zip', [left!, right!], call), lambda(substitute(body, values), call)],
      call,
    );
  },
  reduce: (call, [array, initial, combine, output]) => {
    // The dialect made the parameter list `(s, x)` a named struct: give list_reduce its parameters back.
    const parameters = lambdaParts(combine, 2, 'reduce').names.map((name) => ({
      ...entryRef(call),
      column_names: [name],
    }));
    const reducer = { ...(combine as JsonObject), lhs: { ...functionCall('row', parameters, call), schema: 'main' } };
    const { names, body } = lambdaParts(output, 1, 'reduce');
    const reduced = functionCall('list_reduce', [array!, reducer, initial!], call);
    // The output lambda reads the reduced state as often as it names it: reduce once, then apply it.
    const applied = functionCall(
      'list_transform',
      [
        functionCall('list_value', [reduced], call),
        lambda(substitute(body, new Map([[names[0]!, entryRef(call)]])), call),
      ],
      call,
    );
    return functionCall('list_extract', [applied, integerConstant(1, call)], call);
  },
};
