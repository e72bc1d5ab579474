import {
  castTo,
  descendants,
  functionCall,
  type Json,
  type JsonObject,
  objectsIn,
  operatorCall,
  stringConstant,
  stringConstantValue,
  stringField,
  subscript,
} from './ast';
import conformance from './conformance.json';
import {
  functionNotFound,
  invalidFunctionArgument,
  notSupported,
  type SqlPosition,
  tooManyArguments,
  unexpectedParameters,
} from './errors';
import { LAMBDA_REWRITERS } from './lambdas';

/**
 * Athena's (Trino's) functions over DuckDB. A function is either DuckDB's own
 * with Trino's semantics (kept), DuckDB's under another name (renamed), a macro
 * from macros.ts, or rewritten here. Anything else fails FUNCTION_NOT_FOUND, as
 * in Athena: this allowlist is also what keeps DuckDB-only functions that reach
 * files, settings or the environment (read_csv, glob, getenv ...) out of user SQL.
 */

export interface DialectContext {
  /** Trino fixes current_timestamp at the query's start, the same value everywhere in the query. */
  now: Date;
  /** QueryExecutionContext.Database, for current_schema. */
  database: string;
  /** The caller's principal (an IAM ARN), for invoker_principal(). */
  invoker: string;
  position(node: JsonObject): SqlPosition | undefined;
}

type Rewriter = (call: JsonObject, children: Json[], context: DialectContext) => JsonObject;

/** Aggregates DuckDB has under Trino's names and with Trino's semantics. */
const KEPT_AGGREGATES = [
  'count',
  'count_star',
  'sum',
  'avg',
  'min',
  'max',
  'count_if',
  'bool_and',
  'bool_or',
  'array_agg',
  'stddev',
  'stddev_samp',
  'stddev_pop',
  'variance',
  'var_samp',
  'var_pop',
  'corr',
  'covar_samp',
  'covar_pop',
  'regr_slope',
  'regr_intercept',
  'geometric_mean',
  'kurtosis',
  'skewness',
  'histogram',
];

const KEPT = [
  ...KEPT_AGGREGATES,
  // Window functions.
  'row_number',
  'rank',
  'dense_rank',
  'percent_rank',
  'cume_dist',
  'ntile',
  'lag',
  'lead',
  'first_value',
  'last_value',
  'nth_value',
  // Math.
  'abs',
  'ceil',
  'ceiling',
  'floor',
  'round',
  'cbrt',
  'exp',
  'log',
  'pow',
  'power',
  'sign',
  'pi',
  'degrees',
  'radians',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'atan2',
  'sinh',
  'cosh',
  'tanh',
  'random',
  // Strings.
  'length',
  'lower',
  'upper',
  'trim',
  'ltrim',
  'rtrim',
  'lpad',
  'rpad',
  'strpos',
  'position',
  'starts_with',
  'ends_with',
  'translate',
  'chr',
  'concat_ws',
  'regexp_extract_all',
  'like_escape',
  'not_like_escape',
  'to_base64',
  'from_base64',
  // Conditionals and conversion.
  'nullif',
  'if',
  'try',
  // Dates.
  'year',
  'quarter',
  'month',
  'week',
  'day',
  'hour',
  'minute',
  'second',
  // Arrays and maps.
  'flatten',
  'map',
  'map_keys',
  'map_values',
  'map_from_entries',
  'map_concat',
  // What DuckDB's parser turns `INTERVAL '10' MINUTE` into.
  'trunc',
  'to_years',
  'to_months',
  'to_days',
  'to_hours',
  'to_minutes',
  'to_seconds',
  'to_milliseconds',
  'to_microseconds',
  // JSON.
  'json_extract',
  'uuid',
];

const RENAMED: Record<string, string> = {
  arbitrary: 'any_value',
  any_value: 'any_value',
  every: 'bool_and',
  approx_percentile: 'quantile_disc',
  truncate: 'trunc',
  rand: 'random',
  is_nan: 'isnan',
  is_finite: 'isfinite',
  is_infinite: 'isinf',
  levenshtein_distance: 'levenshtein',
  hamming_distance: 'hamming',
  to_utf8: 'encode',
  from_utf8: 'decode',
  format: 'printf',
  regexp_like: 'regexp_matches',
  regexp_split: 'string_split_regex',
  split: 'string_split',
  to_hex: 'hex',
  // Trino's date_diff counts whole units between the two (as DuckDB's date_sub), not boundaries crossed.
  date_diff: 'date_sub',
  to_unixtime: 'epoch',
  last_day_of_month: 'last_day',
  week_of_year: 'week',
  day_of_month: 'day',
  day_of_week: 'isodow',
  dow: 'isodow',
  day_of_year: 'dayofyear',
  doy: 'dayofyear',
  year_of_week: 'isoyear',
  yow: 'isoyear',
  json_parse: 'json',
  array_sort: 'list_sort',
  transform: 'list_transform',
  filter: 'list_filter',
};

const MACROS = [
  'to_iso8601',
  'from_iso8601_timestamp',
  'from_iso8601_date',
  'date',
  'millisecond',
  'split_part',
  'regexp_count',
  'map_agg',
  'json_array_length',
  'array_distinct',
  'array_except',
  'array_union',
  'bitwise_and',
  'bitwise_or',
  'bitwise_xor',
  'bitwise_not',
  'md5',
  'sha1',
  'sha256',
  'url_extract_protocol',
  'url_extract_host',
  'url_extract_port',
  'url_extract_path',
  'url_extract_query',
  'url_extract_fragment',
  'url_extract_parameter',
  'bit_count',
  'bitwise_and_agg',
  'bitwise_or_agg',
  'to_base',
  'from_base',
  'width_bucket',
  'url_encode',
  'url_decode',
  'to_base64url',
  'from_base64url',
  'json_size',
  'is_json_scalar',
  'array_histogram',
  'trim_array',
  'contains',
  'array_max',
  'array_min',
  'array_intersect',
  'arrays_overlap',
  'map_union',
  'map_entries',
  'json_array_get',
  'split_to_map',
  'ngrams',
  'contains_sequence',
  'from_hex',
  'sqrt',
  'ln',
  'log2',
  'log10',
  'json_extract_scalar',
  'json_format',
  'typeof',
  'cardinality',
  'array_position',
  'slice',
  'repeat',
  'array_remove',
  'nan',
  'infinity',
  'e',
];

/** Functions DuckDB's parser writes for syntax (ARRAY literals, ROW, EXTRACT, AT TIME ZONE, MAP {...}, INTERVAL). */
const PARSER_FUNCTIONS = new Set([
  'list_value',
  'row',
  'struct_pack',
  'date_part',
  'timezone',
  'map',
  // TRIM(... FROM ...), SUBSTRING(... FROM ... FOR ...), POSITION(... IN ...): DuckDB's own, with Trino's semantics.
  'trim',
  'substring',
  'position',
]);

const OPERATORS = new Set(['+', '-', '*', '/', '%', '||', '~~', '!~~']);

const NONDETERMINISTIC = new Set(['random', 'rand', 'uuid']);

/** Aggregates by their DuckDB names (after renaming). */
const AGGREGATES = new Set([
  ...KEPT_AGGREGATES,
  'any_value',
  'quantile_disc',
  'arg_max_null',
  'arg_min_null',
  'athena_map_agg',
  'athena_bitwise_and_agg',
  'athena_bitwise_or_agg',
  'athena_map_union',
  'max_by',
  'min_by',
]);

/**
 * Whether DuckDB can type these arguments before binding the call, as a macro overloaded on
 * parameter types needs: not aggregates, window functions, subqueries or lambda parameters.
 */
function argumentTypesKnown(children: Json[], scope: CallScope): boolean {
  if (scope.insideLambda) return false;
  for (const node of descendants(children)) {
    if (node.class === 'WINDOW' || node.class === 'SUBQUERY') return false;
    if (node.class === 'FUNCTION' && AGGREGATES.has(stringField(node, 'function_name').toLowerCase())) return false;
  }
  return true;
}

/** Where a call sits, as far as the rewrite of the call cares. */
export interface CallScope {
  insideLambda: boolean;
}

/**
 * Functions whose result type follows an argument's type (a DATE stays a DATE): a macro overloaded by
 * type where the arguments can be typed first, else an untyped version (or DuckDB's own function).
 */
const TYPED_MACROS: Record<string, string> = {
  date_add: 'athena_date_add_untyped',
  date_trunc: 'athena_date_trunc_untyped',
  sequence: 'athena_sequence_untyped',
  reverse: 'reverse',
};

export const isNondeterministic = (name: string) => NONDETERMINISTIC.has(name.toLowerCase());

const rename = (call: JsonObject, name: string, children: Json[] = call.children as Json[]): JsonObject => ({
  ...call,
  function_name: name,
  schema: '',
  children,
});

const twoDigits = (n: number) => String(n).padStart(2, '0');

function utcParts(now: Date) {
  const date = `${now.getUTCFullYear()}-${twoDigits(now.getUTCMonth() + 1)}-${twoDigits(now.getUTCDate())}`;
  const time = `${twoDigits(now.getUTCHours())}:${twoDigits(now.getUTCMinutes())}:${twoDigits(now.getUTCSeconds())}.${String(now.getUTCMilliseconds()).padStart(3, '0')}`;
  return { date, time };
}

/** current_timestamp and friends, as constants of the query's start (Athena's session zone is UTC). */
export function currentTimeConstant(name: string, context: DialectContext, at: JsonObject): JsonObject | undefined {
  const { date, time } = utcParts(context.now);
  switch (name) {
    case 'current_timestamp':
    case 'now':
      return castTo(stringConstant(`${date} ${time}+00`, at), 'TIMESTAMP WITH TIME ZONE', at);
    case 'localtimestamp':
      return castTo(stringConstant(`${date} ${time}`, at), 'TIMESTAMP', at);
    case 'current_date':
      return castTo(stringConstant(date, at), 'DATE', at);
    case 'current_time':
      return castTo(stringConstant(`${time}+00`, at), 'TIME WITH TIME ZONE', at);
    case 'localtime':
      return castTo(stringConstant(time, at), 'TIME', at);
    case 'current_timezone':
      return stringConstant('UTC', at);
    case 'current_schema':
      return stringConstant(context.database, at);
    case 'current_catalog':
      return stringConstant('awsdatacatalog', at);
    default:
      return undefined;
  }
}

function constantArgument(call: JsonObject, children: Json[], index: number, context: DialectContext): string {
  const value = stringConstantValue(children[index]);
  if (value === undefined) {
    const name = stringField(call, 'function_name');
    throw notSupported(
      `${name}: argument ${index + 1} must be a constant string in the local Athena engine`,
      context.position(call),
    );
  }
  return value;
}

/** MySQL-style specifiers (Trino's date_format, date_parse) as DuckDB strftime/strptime specifiers. */
const MYSQL_SPECIFIERS: Record<string, string> = {
  a: '%a',
  b: '%b',
  c: '%-m',
  d: '%d',
  e: '%-d',
  f: '%f',
  H: '%H',
  h: '%I',
  I: '%I',
  i: '%M',
  j: '%j',
  k: '%-H',
  l: '%-I',
  M: '%B',
  m: '%m',
  p: '%p',
  r: '%I:%M:%S %p',
  S: '%S',
  s: '%S',
  T: '%H:%M:%S',
  v: '%V',
  W: '%A',
  x: '%G',
  Y: '%Y',
  y: '%y',
  '%': '%%',
};

/** Trino rejects these MySQL specifiers. */
const MYSQL_UNSUPPORTED = new Set(['D', 'U', 'u', 'V', 'w', 'X']);

export function mysqlFormatToStrftime(format: string, parsing = false): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const char = format[i]!;
    if (char !== '%') {
      out += char;
      continue;
    }
    const specifier = format[++i];
    if (specifier === undefined) break;
    if (MYSQL_UNSUPPORTED.has(specifier))
      throw invalidFunctionArgument(`%${specifier} not supported in date format string`);
    const translated = MYSQL_SPECIFIERS[specifier];
    // Parsing takes the padded forms for unpadded numbers too.
    out += translated === undefined ? specifier : parsing ? translated.replace('%-', '%') : translated;
  }
  return out;
}

/** Joda-Time patterns (Trino's format_datetime, parse_datetime) as strftime specifiers. */
const JODA_LETTERS: Record<string, (count: number) => string | undefined> = {
  y: (n) => (n === 2 ? '%y' : '%Y'),
  Y: (n) => (n === 2 ? '%y' : '%Y'),
  x: (n) => (n === 2 ? '%g' : '%G'),
  M: (n) => (n >= 4 ? '%B' : n === 3 ? '%b' : n === 2 ? '%m' : '%-m'),
  d: (n) => (n >= 2 ? '%d' : '%-d'),
  D: () => '%j',
  H: (n) => (n >= 2 ? '%H' : '%-H'),
  h: (n) => (n >= 2 ? '%I' : '%-I'),
  m: (n) => (n >= 2 ? '%M' : '%-M'),
  s: (n) => (n >= 2 ? '%S' : '%-S'),
  S: (n) => (n <= 3 ? '%g' : n <= 6 ? '%f' : undefined),
  a: () => '%p',
  E: (n) => (n >= 4 ? '%A' : '%a'),
  e: () => '%u',
  Z: () => '%z',
  z: () => '%Z',
};

/** A quoted Joda literal from `start` (a quote): `''` inside or alone is one quote. */
function jodaLiteral(pattern: string, start: number): { text: string; end: number } {
  if (pattern[start + 1] === "'") return { text: "'", end: start + 2 };
  let text = '';
  let i = start + 1;
  while (i < pattern.length) {
    if (pattern[i] === "'") {
      if (pattern[i + 1] !== "'") return { text, end: i + 1 };
      text += "'";
      i += 2;
    } else {
      text += pattern[i++];
    }
  }
  return { text, end: i };
}

export function jodaFormatToStrftime(pattern: string, parsing = false): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i]!;
    if (char === "'") {
      const literal = jodaLiteral(pattern, i);
      out += literal.text.replace(/%/g, '%%');
      i = literal.end;
      continue;
    }
    if (!/[A-Za-z]/.test(char)) {
      out += char === '%' ? '%%' : char;
      i++;
      continue;
    }
    let count = 1;
    while (pattern[i + count] === char) count++;
    const translated = JODA_LETTERS[char]?.(count);
    if (translated === undefined) {
      throw invalidFunctionArgument(`Pattern letter '${char.repeat(count)}' is not supported: ${pattern}`);
    }
    out += parsing ? translated.replace('%-', '%') : translated;
    i += count;
  }
  return out;
}

/** Java's regex replacement (`$1`, `\$`) as RE2's (`\1`, `$`). */
export function javaReplacementToRe2(replacement: string): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const char = replacement[i]!;
    if (char === '\\' && i + 1 < replacement.length) {
      const next = replacement[++i]!;
      out += next === '\\' ? '\\\\' : next;
    } else if (char === '$' && /\d/.test(replacement[i + 1] ?? '')) {
      out += `\\${replacement[++i]}`;
    } else {
      out += char;
    }
  }
  return out;
}

/** Trino's limit on the arguments of one function call (its parser's, for any function). */
export const MAX_FUNCTION_ARGUMENTS = 127;

/** Trino's concat is NULL if any argument is; DuckDB's skips NULLs, its `||` does not. */
function concat(call: JsonObject, children: Json[]): JsonObject {
  if (children.length < 2) throw invalidFunctionArgument('There must be two or more concatenation arguments');
  return children
    .slice(1)
    .reduce<Json>((left, right) => operatorCall('||', [left, right], call), children[0]!) as JsonObject;
}

/**
 * Trino's greatest and least are NULL when any argument is (DuckDB's skip NULLs): a macro over the list
 * of the arguments, which takes any number of them.
 */
const extremum: Rewriter = (call, children) =>
  rename(call, `athena_${stringField(call, 'function_name').toLowerCase()}`, [
    functionCall('list_value', children, call),
  ]);

const REWRITERS: Record<string, Rewriter> = {
  concat,
  greatest: extremum,
  least: extremum,
  invoker_principal: (call, children, context) => {
    if (children.length > 0)
      throw unexpectedParameters(
        'invoker_principal',
        children.map(() => '?').join(', '),
        'invoker_principal()',
        context.position(call),
      );
    return stringConstant(context.invoker, call);
  },
  ...LAMBDA_REWRITERS,
  ...Object.fromEntries(
    ['all_match', 'any_match', 'none_match'].map((name): [string, Rewriter] => [
      name,
      (call, children) =>
        rename(call, `athena_${name}`, [functionCall('list_transform', [children[0]!, children[1]!], call)]),
    ]),
  ),
  normalize: (call, children, context) => {
    if (children.length !== 1) throw notSupported('normalize with a form other than NFC', context.position(call));
    return rename(call, 'nfc_normalize', children);
  },
  codepoint: (call, children, context) => {
    // Trino's codepoint takes a varchar(1): a longer literal has no such signature.
    const text = stringConstantValue(children[0]);
    if (text !== undefined && [...text].length !== 1)
      throw unexpectedParameters(
        'codepoint',
        `varchar(${[...text].length})`,
        'codepoint(varchar(1))',
        context.position(call),
      );
    return rename(call, 'athena_codepoint', children);
  },
  substr: (call, children) => rename(call, 'athena_substr', children),
  substring: (call, children) => rename(call, 'athena_substr', children),
  mod: (call, children) => rename(call, 'mod', [children[0]!, functionCall('athena_divisor', [children[1]!], call)]),
  array_join: (call, children) =>
    rename(call, children.length === 3 ? 'athena_array_join' : 'array_to_string', children),
  now: (call, _children, context) => currentTimeConstant('now', context, call)!,
  current_timezone: (call, _children, context) => currentTimeConstant('current_timezone', context, call)!,
  approx_distinct: (call, children) => ({ ...rename(call, 'count', children.slice(0, 1)), distinct: true }),
  approx_percentile: (call, children, context) => {
    if (children.length !== 2) throw notSupported('approx_percentile with weights or accuracy', context.position(call));
    // Exact percentiles: within any accuracy Athena's approximation promises.
    return rename(call, 'quantile_disc', children);
  },
  max_by: (call, children) => rename(call, children.length === 2 ? 'arg_max_null' : 'max_by', children),
  min_by: (call, children) => rename(call, children.length === 2 ? 'arg_min_null' : 'min_by', children),
  element_at: (call, children) => subscript(children[0]!, children[1]!, call),
  replace: (call, children) => rename(call, children.length === 2 ? 'athena_replace' : 'replace', children),
  regexp_extract: (call, children) => rename(call, 'athena_regexp_extract', children),
  regexp_replace: (call, children) => {
    const [input, pattern, replacement] = children;
    const re2 =
      replacement === undefined
        ? stringConstant('', call)
        : stringConstantValue(replacement) !== undefined
          ? stringConstant(javaReplacementToRe2(stringConstantValue(replacement)!), call)
          : functionCall(
              'regexp_replace',
              [
                replacement,
                stringConstant('\\$(\\d)', call),
                stringConstant('\\\\\\1', call),
                stringConstant('g', call),
              ],
              call,
            );
    // Trino replaces every match; RE2 through DuckDB only the first unless 'g'.
    return rename(call, 'regexp_replace', [input!, pattern!, re2, stringConstant('g', call)]);
  },
  date_format: (call, children, context) =>
    rename(call, 'strftime', [
      children[0]!,
      stringConstant(mysqlFormatToStrftime(constantArgument(call, children, 1, context)), call),
    ]),
  date_parse: (call, children, context) =>
    rename(call, 'strptime', [
      children[0]!,
      stringConstant(mysqlFormatToStrftime(constantArgument(call, children, 1, context), true), call),
    ]),
  format_datetime: (call, children, context) =>
    rename(call, 'strftime', [
      children[0]!,
      stringConstant(jodaFormatToStrftime(constantArgument(call, children, 1, context)), call),
    ]),
  parse_datetime: (call, children, context) =>
    castTo(
      rename(call, 'strptime', [
        children[0]!,
        stringConstant(jodaFormatToStrftime(constantArgument(call, children, 1, context), true), call),
      ]),
      'TIMESTAMP WITH TIME ZONE',
      call,
    ),
  from_unixtime: (call, children, context) => {
    if (children.length !== 1) throw notSupported('from_unixtime with a time zone', context.position(call));
    return rename(call, 'to_timestamp', children);
  },
};

/**
 * Trino names an anonymous ROW's fields field0, field1 ... (DuckDB leaves them unnamed, and then unreadable by name).
 * The fields are named in place: the analysis keeps the column references it found by identity (to qualify them,
 * and to count the columns a query reads), so a ROW of columns must hold those same nodes.
 */
function anonymousRow(call: JsonObject, children: JsonObject[]): JsonObject {
  children.forEach((child, i) => (child.alias = `field${i}`));
  return { ...call, function_name: 'struct_pack', children };
}

/** A cast of an anonymous ROW to a ROW type goes by position: give DuckDB its unnamed struct back. */
export function unnamedRowForCast(child: JsonObject): JsonObject | undefined {
  if (child.class !== 'FUNCTION' || child.function_name !== 'struct_pack' || child.schema !== 'main') return undefined;
  const children = objectsIn(child, 'children');
  if (!children.every((field, i) => field.alias === `field${i}`)) return undefined;
  for (const field of children) field.alias = '';
  return { ...child, function_name: 'row', children };
}

/** EXTRACT fields where Trino's meaning differs from DuckDB's date_part: DOW is ISO (Monday 1). */
const EXTRACT_FIELDS: Record<string, string> = {
  dow: 'isodow',
  day_of_week: 'isodow',
  doy: 'doy',
  day_of_year: 'doy',
  yow: 'isoyear',
  year_of_week: 'isoyear',
  day_of_month: 'day',
  week_of_year: 'week',
};

function rewriteExtract(call: JsonObject, children: Json[]): JsonObject {
  const field = stringConstantValue(children[0])?.toLowerCase();
  const mapped = field === undefined ? undefined : EXTRACT_FIELDS[field];
  return mapped === undefined ? call : { ...call, children: [stringConstant(mapped, call), ...children.slice(1)] };
}

/** Trino's functions the local engine refuses (conformance.json): NOT_SUPPORTED naming the function, as Athena words it. */
const REFUSED = new Set(
  Object.entries(conformance.functions)
    .filter(([, entry]) => entry.status === 'refused')
    .map(([name]) => name),
);

function unknownFunction(name: string, at: JsonObject, context: DialectContext) {
  return REFUSED.has(name)
    ? notSupported(`Function '${name}' is not supported by the local Athena engine`, context.position(at))
    : functionNotFound(name, context.position(at));
}

/** Every function name rewriteFunction accepts, for the conformance inventory's test. */
export const ACCEPTED_FUNCTIONS = [
  ...KEPT,
  ...Object.keys(RENAMED),
  ...MACROS,
  ...Object.keys(REWRITERS),
  ...Object.keys(TYPED_MACROS),
];

const KEPT_SET = new Set(KEPT);
const MACRO_SET = new Set(MACROS);

/** A FUNCTION node in Athena's dialect, as DuckDB should run it (children already rewritten). */
export function rewriteFunction(
  call: JsonObject,
  context: DialectContext,
  scope: CallScope = { insideLambda: false },
): JsonObject {
  const name = stringField(call, 'function_name').toLowerCase();
  const schema = stringField(call, 'schema').toLowerCase();
  const children = objectsIn(call, 'children');
  if (call.is_operator === true) {
    if (!OPERATORS.has(name)) throw notSupported(`Operator '${name}' is not supported`, context.position(call));
    const [dividend, divisor] = children;
    // Trino's % fails on an integer zero as its / does; DuckDB's gives NULL.
    if (name === '%') return { ...call, children: [dividend!, functionCall('athena_divisor', [divisor!], call)] };
    if (name !== '/') return call;
    // The typed macro where DuckDB can type the operands first; else integers' semantics (a double's zero gives NULL).
    const divide = argumentTypesKnown(children, scope)
      ? rename(call, 'athena_divide', [dividend!, divisor!])
      : rename(call, 'divide', [dividend!, functionCall('athena_divisor', [divisor!], call)]);
    return { ...divide, is_operator: false };
  }
  if (stringField(call, 'catalog') !== '' || (schema !== '' && !(schema === 'main' && PARSER_FUNCTIONS.has(name)))) {
    throw functionNotFound(
      [stringField(call, 'catalog'), schema, name].filter(Boolean).join('.'),
      context.position(call),
    );
  }
  if (schema === 'main') {
    if (name === 'date_part') return rewriteExtract(call, children);
    if (name === 'substring') return rename(call, 'athena_substr', children);
    return name === 'row' ? anonymousRow(call, children) : call;
  }
  // A call the user wrote (the parser's own, above, are syntax: ARRAY[...] and ROW(...) have limits of their own).
  if (children.length > MAX_FUNCTION_ARGUMENTS) throw tooManyArguments(name, context.position(call));
  const rewriter = REWRITERS[name];
  if (rewriter) return rewriter(call, children, context);
  if (KEPT_SET.has(name)) return call;
  if (name in RENAMED) return rename(call, RENAMED[name]!, children);
  if (MACRO_SET.has(name)) return rename(call, `athena_${name}`, children);
  const untyped = TYPED_MACROS[name];
  if (untyped !== undefined)
    return rename(call, argumentTypesKnown(children, scope) ? `athena_${name}` : untyped, children);
  throw unknownFunction(name, call, context);
}

/** Window functions and aggregates over windows: the same names, renamed the same way. */
export function rewriteWindowFunction(window: JsonObject, context: DialectContext): JsonObject {
  const name = stringField(window, 'function_name').toLowerCase();
  if (stringField(window, 'schema') !== '' || stringField(window, 'catalog') !== '') {
    throw functionNotFound(name, context.position(window));
  }
  if (name === 'max_by' || name === 'min_by') {
    const twoArguments = objectsIn(window, 'children').length === 2;
    return { ...window, function_name: twoArguments ? `arg_${name.slice(0, 3)}_null` : name };
  }
  if (KEPT_SET.has(name)) return window;
  const renamed = RENAMED[name];
  if (renamed !== undefined) return { ...window, function_name: renamed };
  throw REWRITERS[name] || MACRO_SET.has(name) || name in TYPED_MACROS
    ? notSupported(`${name} is not supported as a window function`, context.position(window))
    : unknownFunction(name, window, context);
}
