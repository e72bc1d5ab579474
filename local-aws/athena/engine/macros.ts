/**
 * DuckDB macros giving Trino's semantics where DuckDB's own functions differ.
 * The dialect rewrite calls them; user SQL cannot (their names are not in the
 * function allowlist). Behaviour that depends on an argument's type is picked
 * with typeof(), which DuckDB folds to a constant so only one branch runs, or
 * with DuckDB's own overloads (divide, time_bucket). Macros overloaded on
 * parameter types serve only where the dialect knows the arguments can be
 * typed first: DuckDB cannot choose such an overload for an aggregate.
 */

/** Trino's bound on the arrays sequence and repeat make. */
export const MAX_ARRAY_ENTRIES = 10_000;

const FLOATING = "typeof(x) IN ('DOUBLE', 'FLOAT')";

/** `x` of any type through VARCHAR as `type`: binds whatever x is, and is exact when x has that type. */
const as = (type: string) => `TRY_CAST(CAST(x AS VARCHAR) AS ${type})`;

/** Java's Double.toString-style scientific form Trino casts doubles to varchar with: 1.5E0, 1.0E-3. */
const DOUBLE_TO_VARCHAR = `
CREATE MACRO athena_scientific(digits, exponent) AS
  substr(digits, 1, 1) || '.' || coalesce(nullif(substr(digits, 2), ''), '0') || 'E' || CAST(exponent AS VARCHAR);
CREATE MACRO athena_scientific_parts(m) AS athena_scientific(
  rtrim(ltrim(m.i || m.f, '0'), '0'),
  length(m.i) - 1 + coalesce(TRY_CAST(nullif(m.e, '') AS INTEGER), 0)
    - (length(m.i || m.f) - length(ltrim(m.i || m.f, '0'))));
CREATE MACRO athena_double_to_varchar(x) AS CASE
  WHEN isnan(x) THEN 'NaN'
  WHEN isinf(x) THEN CASE WHEN x > 0 THEN 'Infinity' ELSE '-Infinity' END
  WHEN x = 0 THEN '0.0E0'
  ELSE CASE WHEN x < 0 THEN '-' ELSE '' END || athena_scientific_parts(
    regexp_extract(CAST(abs(x) AS VARCHAR), '^([0-9]+)\\.?([0-9]*)(?:e([+-]?[0-9]+))?$', ['i', 'f', 'e']))
END;`;

/** Trino's casts to varchar (timestamps with milliseconds, doubles in scientific form) and to integers (rounding). */
const CASTS = `
CREATE MACRO athena_to_varchar(x) AS CASE typeof(x)
  WHEN 'TIMESTAMP' THEN strftime(${as('TIMESTAMP')}, '%Y-%m-%d %H:%M:%S.%g')
  WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(${as('TIMESTAMP WITH TIME ZONE')}, '%Y-%m-%d %H:%M:%S.%g UTC')
  WHEN 'DOUBLE' THEN athena_double_to_varchar(${as('DOUBLE')})
  WHEN 'FLOAT' THEN athena_double_to_varchar(${as('DOUBLE')})
  ELSE CAST(x AS VARCHAR) END;
${['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT']
  .map(
    (type) => `CREATE MACRO athena_to_${type.toLowerCase()}(x) AS CASE WHEN ${FLOATING}
  THEN CAST(round(${as('DOUBLE')}) AS ${type}) ELSE CAST(x AS ${type}) END;`,
  )
  .join('\n')}`;

/**
 * Trino divides integers as integers, truncating, as DuckDB's divide() does (its `/` always gives a
 * double); but fails on an integer or decimal zero, where divide() gives NULL, and divides doubles as
 * IEEE 754 does, as DuckDB's `/` does (divide() gives NULL for a zero).
 */
const DIVISION = `
-- A failing cast, not error(): DuckDB's TRY refuses volatile functions such as error(), and Trino's try(1 / 0) is NULL.
-- duckdb-errors.ts reads this cast's message as DIVISION_BY_ZERO.
CREATE MACRO athena_division_by_zero() AS CAST('athena_division_by_zero' || '' AS INTEGER);
-- INVALID_FUNCTION_ARGUMENT with its message, the same way (duckdb-errors.ts).
CREATE MACRO athena_invalid_argument(message) AS CAST('athena_invalid_argument: ' || message AS BIGINT);
CREATE MACRO athena_divisor(b) AS
  CASE WHEN b = 0 AND typeof(b) NOT IN ('DOUBLE', 'FLOAT') THEN athena_division_by_zero() ELSE b END;
-- Trino's /, where the arguments' types are known: integers as integers; doubles and reals by IEEE 754
-- (1e0 / 0 is Infinity, 0e0 / 0 NaN), where divide() would give NULL; decimals fail on zero.
CREATE MACRO athena_divide
${['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT'].map((type) => `  (a ${type}, b ${type}) AS divide(a, athena_divisor(b)),`).join('\n')}
  (a, b) AS CASE WHEN typeof(a) IN ('DOUBLE', 'FLOAT') OR typeof(b) IN ('DOUBLE', 'FLOAT') THEN a / b
    ELSE divide(a, athena_divisor(b)) END;`;

const DATES = `
CREATE MACRO athena_interval(unit, n) AS CASE lower(unit)
  WHEN 'millisecond' THEN to_milliseconds(n)
  WHEN 'second' THEN to_seconds(n)
  WHEN 'minute' THEN to_minutes(n)
  WHEN 'hour' THEN to_hours(n)
  WHEN 'day' THEN to_days(CAST(n AS INTEGER))
  WHEN 'week' THEN to_weeks(CAST(n AS INTEGER))
  WHEN 'month' THEN to_months(CAST(n AS INTEGER))
  WHEN 'quarter' THEN to_months(CAST(n * 3 AS INTEGER))
  WHEN 'year' THEN to_years(CAST(n AS INTEGER))
  ELSE to_days(CAST(athena_invalid_argument('''' || unit || ''' is not a valid unit') AS INTEGER)) END;
CREATE MACRO athena_date_add(unit VARCHAR, n BIGINT, x DATE) AS CAST(x + athena_interval(unit, n) AS DATE),
  (unit VARCHAR, n BIGINT, x TIMESTAMP) AS x + athena_interval(unit, n),
  (unit VARCHAR, n BIGINT, x TIMESTAMP WITH TIME ZONE) AS x + athena_interval(unit, n);
CREATE MACRO athena_date_add_untyped(unit, n, x) AS x + athena_interval(unit, n);
-- time_bucket keeps the argument's type (date_trunc makes a DATE a TIMESTAMP); its weeks start on Monday, as Trino's.
CREATE MACRO athena_date_trunc_untyped(unit, x) AS time_bucket(athena_interval(unit, 1), x);
-- A TIMESTAMP WITH TIME ZONE in units of fixed length: in the session's zone, UTC, a unit up to a week is a fixed
-- number of microseconds, so the value floors arithmetically; time_bucket goes through the ICU calendar for each row
-- (4x the cost; the named query ohlc truncates every tick of its window). Weeks count from a Monday, 1970-01-05.
CREATE MACRO athena_floor_micros(us, width, origin) AS
  us - (us - origin) % width - CASE WHEN (us - origin) % width < 0 THEN width ELSE 0 END;
CREATE MACRO athena_date_trunc(unit VARCHAR, x TIMESTAMP WITH TIME ZONE) AS CASE lower(unit)
  WHEN 'millisecond' THEN make_timestamptz(athena_floor_micros(epoch_us(x), 1000, 0))
  WHEN 'second' THEN make_timestamptz(athena_floor_micros(epoch_us(x), 1000000, 0))
  WHEN 'minute' THEN make_timestamptz(athena_floor_micros(epoch_us(x), 60000000, 0))
  WHEN 'hour' THEN make_timestamptz(athena_floor_micros(epoch_us(x), 3600000000, 0))
  WHEN 'day' THEN make_timestamptz(athena_floor_micros(epoch_us(x), 86400000000, 0))
  WHEN 'week' THEN make_timestamptz(athena_floor_micros(epoch_us(x), 604800000000, 345600000000))
  ELSE time_bucket(athena_interval(unit, 1), x) END,
  (unit VARCHAR, x TIMESTAMP) AS time_bucket(athena_interval(unit, 1), x),
  (unit VARCHAR, x DATE) AS time_bucket(athena_interval(unit, 1), x),
  (unit, x) AS time_bucket(athena_interval(unit, 1), x);
CREATE MACRO athena_to_iso8601(x) AS CASE typeof(x)
  WHEN 'DATE' THEN strftime(${as('DATE')}, '%Y-%m-%d')
  WHEN 'TIMESTAMP' THEN strftime(${as('TIMESTAMP')}, '%Y-%m-%dT%H:%M:%S.%g')
  ELSE strftime(${as('TIMESTAMP WITH TIME ZONE')}, '%Y-%m-%dT%H:%M:%S.%gZ') END;
CREATE MACRO athena_from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMP WITH TIME ZONE);
CREATE MACRO athena_from_iso8601_date(s) AS CAST(s AS DATE);
CREATE MACRO athena_date(x) AS CAST(x AS DATE);
CREATE MACRO athena_millisecond(x) AS CAST(date_part('millisecond', x) % 1000 AS BIGINT);
-- Trino's sequence refuses more than ${MAX_ARRAY_ENTRIES} entries, checked before any is made. For an
-- interval step the count is bounded by taking a month as 28 days (a few too many refused, never too few).
CREATE MACRO athena_sequence_count(a, b, step) AS abs(b - a) // greatest(abs(step), 1) + 1;
CREATE MACRO athena_interval_micros(step) AS
  (date_part('month', step) + 12 * date_part('year', step)) * 28 * 86400000000
  + date_part('day', step) * 86400000000 + date_part('microseconds', step)
  + 60000000 * (date_part('minute', step) + 60 * date_part('hour', step));
CREATE MACRO athena_time_count(a, b, step) AS
  abs(epoch_us(b) - epoch_us(a)) // greatest(abs(athena_interval_micros(step)), 1) + 1;
-- The count is checked before any entry is made, failing as a cast that TRY can catch (Trino's try() gives NULL).
CREATE MACRO athena_sequence_step(count, step) AS CASE WHEN count > ${MAX_ARRAY_ENTRIES}
  THEN athena_invalid_argument('result of sequence function must not have more than ${MAX_ARRAY_ENTRIES} entries') ELSE step END;
CREATE MACRO athena_sequence_interval(count, step) AS CASE WHEN count > ${MAX_ARRAY_ENTRIES}
  THEN to_microseconds(athena_invalid_argument('result of sequence function must not have more than ${MAX_ARRAY_ENTRIES} entries'))
  ELSE step END;
-- Without a step, Trino counts down when start is after stop (DuckDB would give an empty list).
CREATE MACRO athena_sequence(a BIGINT, b BIGINT) AS
    generate_series(a, b, athena_sequence_step(athena_sequence_count(a, b, 1), CASE WHEN a <= b THEN 1 ELSE -1 END)),
  (a DATE, b DATE) AS list_transform(generate_series(CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP),
    athena_sequence_interval(athena_sequence_count(a, b, 1), CASE WHEN a <= b THEN INTERVAL 1 DAY ELSE INTERVAL (-1) DAY END)),
    d -> CAST(d AS DATE)),
  (a BIGINT, b BIGINT, step BIGINT) AS generate_series(a, b, athena_sequence_step(athena_sequence_count(a, b, step), step)),
  (a DATE, b DATE, step INTERVAL) AS list_transform(generate_series(CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP),
    athena_sequence_interval(athena_time_count(CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP), step), step)), d -> CAST(d AS DATE)),
  (a TIMESTAMP, b TIMESTAMP, step INTERVAL) AS
    generate_series(a, b, athena_sequence_interval(athena_time_count(a, b, step), step));
-- Where argument types are unknown (inside a lambda): numbers only.
CREATE MACRO athena_sequence_untyped(a, b) AS
    generate_series(a, b, athena_sequence_step(athena_sequence_count(a, b, 1), CASE WHEN a <= b THEN 1 ELSE -1 END)),
  (a, b, step) AS generate_series(a, b, athena_sequence_step(athena_sequence_count(a, b, step), step));`;

/** DuckDB's type names as Trino spells them, longest first so TIMESTAMP WITH TIME ZONE is not read as TIMESTAMP. */
const TRINO_TYPE_NAMES: [string, string][] = [
  ['TIMESTAMP WITH TIME ZONE', 'timestamp(3) with time zone'],
  ['TIME WITH TIME ZONE', 'time(3) with time zone'],
  ['TIMESTAMP', 'timestamp(3)'],
  ['TIME', 'time(3)'],
  ['VARCHAR', 'varchar'],
  ['HUGEINT', 'bigint'],
  ['BIGINT', 'bigint'],
  ['INTEGER', 'integer'],
  ['SMALLINT', 'smallint'],
  ['TINYINT', 'tinyint'],
  ['DOUBLE', 'double'],
  ['FLOAT', 'real'],
  ['BOOLEAN', 'boolean'],
  ['DATE', 'date'],
  ['BLOB', 'varbinary'],
  ['DECIMAL', 'decimal'],
  ['INTERVAL', 'interval day to second'],
  ['JSON', 'json'],
  ['UUID', 'uuid'],
  ['MAP', 'map'],
  ['STRUCT', 'row'],
  ['"NULL"', 'unknown'],
];

/** A type with up to three levels of parentheses: `array(x)`, `map(varchar, array(integer))`. */
const NESTED_TYPE = String.raw`\w+(?:\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))?`;

/**
 * typeof in Trino's spelling: DuckDB's names mapped word by word, then `T[]` as `array(T)` from the
 * innermost out (four levels of nesting; DuckDB folds typeof to a constant, so this runs once).
 */
const TYPE_NAMES = `CREATE MACRO athena_type_name(t) AS ${[1, 2, 3, 4].reduce(
  (inner) => `regexp_replace(${inner}, '(${NESTED_TYPE})\\[\\]', 'array(\\1)', 'g')`,
  TRINO_TYPE_NAMES.reduce(
    (inner, [duck, trino]) =>
      `regexp_replace(${inner}, '${/^\w/.test(duck) ? `\\b${duck}\\b` : duck}', '${trino}', 'g')`,
    't',
  ),
)};`;

/** Trino returns NULL (not '') when split_part or regexp_extract find nothing. */
const STRINGS = `
CREATE MACRO athena_split_part(s, delimiter, i) AS CASE
  WHEN i <= 0 THEN CAST(athena_invalid_argument('Index must be greater than zero') AS VARCHAR)
  WHEN i > len(string_split(s, delimiter)) THEN NULL ELSE split_part(s, delimiter, i) END;
-- Trino's substr from 0, or from before the start, is empty.
CREATE MACRO athena_substr(s, start) AS CASE WHEN start = 0 OR -start > length(s) THEN '' ELSE substr(s, start) END,
  (s, start, n) AS CASE WHEN start = 0 OR -start > length(s) THEN '' ELSE substr(s, start, n) END;
CREATE MACRO athena_codepoint(s) AS CASE WHEN length(s) <> 1
  THEN CAST(athena_invalid_argument('Input string must be a single character string') AS INTEGER) ELSE unicode(s) END;
CREATE MACRO athena_from_hex(s) AS
  unhex(CASE WHEN length(s) % 2 = 1 THEN CAST(athena_invalid_argument('invalid input length ' || length(s)) AS VARCHAR) ELSE s END);
CREATE MACRO athena_regexp_extract(s, pattern) AS CASE WHEN regexp_matches(s, pattern) THEN regexp_extract(s, pattern) END,
  (s, pattern, g) AS CASE WHEN regexp_matches(s, pattern) THEN regexp_extract(s, pattern, g) END;
CREATE MACRO athena_regexp_count(s, pattern) AS CAST(len(regexp_extract_all(s, pattern)) AS BIGINT);
CREATE MACRO athena_replace(s, search) AS replace(s, search, '');
CREATE MACRO athena_reverse(x VARCHAR) AS reverse(x), (x) AS list_reverse(x);
CREATE MACRO athena_json_extract_scalar(j, path) AS
  -- Trino answers NULL for text that is not JSON.
  CASE WHEN NOT json_valid(j) THEN NULL WHEN json_type(json_extract(j, path)) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, path) END;
-- DuckDB's count is unsigned; Trino's a bigint.
CREATE MACRO athena_json_array_length(j) AS CAST(json_array_length(j) AS BIGINT);
CREATE MACRO athena_json_format(j) AS CAST(j AS VARCHAR);
-- The JSON pointer to an object's last key equal to name ignoring case (the OpenX SerDe lowercases keys).
CREATE MACRO athena_json_pointer(j, name) AS
  '/' || replace(replace(list_filter(json_keys(j), k -> lower(k) = name)[-1], '~', '~0'), '/', '~1');
${TYPE_NAMES}
CREATE MACRO athena_typeof(x) AS athena_type_name(typeof(x));`;

/** Trino's array and map functions where DuckDB's differ in name or edge cases. */
const COLLECTIONS = `
CREATE MACRO athena_cardinality(x) AS CASE
  WHEN x IS NULL THEN NULL
  WHEN json_type(to_json(x)) = 'OBJECT' THEN CAST(len(json_keys(to_json(x))) AS BIGINT)
  ELSE CAST(json_array_length(to_json(x)) AS BIGINT) END;
CREATE MACRO athena_array_position(a, x) AS CASE WHEN a IS NULL THEN NULL ELSE CAST(coalesce(list_position(a, x), 0) AS BIGINT) END;
CREATE MACRO athena_slice(a, start, n) AS
  list_slice(a, CASE WHEN start = 0 THEN athena_invalid_argument('SQL array indices start at 1')
    WHEN n < 0 THEN athena_invalid_argument('length must be greater than or equal to 0')
    WHEN start < 0 THEN len(a) + start + 1 ELSE start END,
    CASE WHEN start < 0 THEN len(a) + start + 1 ELSE start END + n - 1);
CREATE MACRO athena_repeat(x, n) AS list_transform(range(CASE
  WHEN n > ${MAX_ARRAY_ENTRIES} THEN athena_invalid_argument('count argument of repeat function must be less than or equal to ${MAX_ARRAY_ENTRIES}')
  WHEN n < 0 THEN athena_invalid_argument('count argument of repeat function must be greater than or equal to 0')
  ELSE n END), i -> x);
-- Trino's three-argument array_join writes the replacement for NULL elements (the two-argument form skips them).
CREATE MACRO athena_array_join(a, delimiter, null_replacement) AS
  array_to_string(list_transform(a, e -> coalesce(CAST(e AS VARCHAR), null_replacement)), delimiter);
-- Trino's map_agg skips NULL keys and keeps one value of a repeated key (DuckDB's maps refuse repeated keys).
CREATE MACRO athena_unique_entries(entries) AS
  list_filter(entries, (entry, i) -> i = 1 OR entries[i - 1].key IS DISTINCT FROM entry.key);
CREATE MACRO athena_map_agg(k, v) AS
  map_from_entries(athena_unique_entries(list_sort(list({'key': k, 'value': v}) FILTER (WHERE k IS NOT NULL))));
-- Trino's array_distinct, array_except and array_union keep first occurrences in order, NULL included.
CREATE MACRO athena_array_distinct(a) AS list_filter(a, (e, i) -> list_position(a, e) = i);
CREATE MACRO athena_array_except(a, b) AS list_filter(athena_array_distinct(a), e -> list_position(b, e) IS NULL);
CREATE MACRO athena_array_union(a, b) AS athena_array_distinct(list_concat(a, b));
CREATE MACRO athena_array_intersect(a, b) AS athena_array_distinct(list_filter(a, e -> list_position(b, e) IS NOT NULL));
-- Trino's contains, arrays_overlap, array_max and array_min are NULL when a NULL element could change the answer.
CREATE MACRO athena_has_null(a) AS list_position(a, NULL) IS NOT NULL;
CREATE MACRO athena_contains(a, x) AS CASE WHEN x IS NULL THEN NULL WHEN list_contains(a, x) THEN true
  WHEN athena_has_null(a) THEN NULL WHEN a IS NOT NULL THEN false END;
CREATE MACRO athena_arrays_overlap(a, b) AS CASE WHEN list_has_any(a, b) THEN true
  WHEN athena_has_null(a) OR athena_has_null(b) THEN NULL WHEN a IS NOT NULL AND b IS NOT NULL THEN false END;
CREATE MACRO athena_array_max(a) AS CASE WHEN NOT athena_has_null(a) THEN list_max(a) END;
CREATE MACRO athena_array_min(a) AS CASE WHEN NOT athena_has_null(a) THEN list_min(a) END;
-- map_union merges maps; a key in several keeps one of its values, as map_agg.
CREATE MACRO athena_map_union(m) AS
  map_from_entries(athena_unique_entries(list_sort(flatten(list(map_entries(m)) FILTER (WHERE m IS NOT NULL)))));
-- all_match, any_match and none_match over the predicate's results: NULL when a NULL could decide it.
CREATE MACRO athena_all_match(results) AS CASE WHEN list_contains(results, false) THEN false
  WHEN list_position(results, NULL) IS NOT NULL THEN NULL WHEN results IS NOT NULL THEN true END;
CREATE MACRO athena_any_match(results) AS CASE WHEN list_contains(results, true) THEN true
  WHEN list_position(results, NULL) IS NOT NULL THEN NULL WHEN results IS NOT NULL THEN false END;
CREATE MACRO athena_none_match(results) AS NOT athena_any_match(results);
CREATE MACRO athena_bitwise_and(a, b) AS CAST(a AS BIGINT) & CAST(b AS BIGINT);
CREATE MACRO athena_bitwise_or(a, b) AS CAST(a AS BIGINT) | CAST(b AS BIGINT);
CREATE MACRO athena_bitwise_xor(a, b) AS xor(CAST(a AS BIGINT), CAST(b AS BIGINT));
CREATE MACRO athena_bitwise_not(a) AS ~CAST(a AS BIGINT);
-- Trino's hashes take and give varbinary.
CREATE MACRO athena_md5(b) AS unhex(md5(b));
CREATE MACRO athena_sha1(b) AS unhex(sha1(b));
CREATE MACRO athena_sha256(b) AS unhex(sha256(b));
-- Trino's map_entries gives anonymous rows (field0, field1), DuckDB's names the fields key and value.
CREATE MACRO athena_map_entries(m) AS list_transform(map_entries(m), e -> {'field0': e.key, 'field1': e.value});
CREATE MACRO athena_array_remove(a, x) AS list_filter(a, e -> e IS DISTINCT FROM x);
CREATE MACRO athena_nan() AS CAST('NaN' AS DOUBLE);
CREATE MACRO athena_infinity() AS CAST('Infinity' AS DOUBLE);
CREATE MACRO athena_e() AS exp(1);
-- Trino's greatest and least over the list of their arguments: NULL when any is (DuckDB's skip NULLs).
CREATE MACRO athena_greatest(arguments) AS CASE WHEN NOT athena_has_null(arguments) THEN list_max(arguments) END;
CREATE MACRO athena_least(arguments) AS CASE WHEN NOT athena_has_null(arguments) THEN list_min(arguments) END;`;

/**
 * URL parts by RFC 3986's grammar (scheme://authority/path?query#fragment); Trino parses with java.net.URI
 * and answers NULL for a URL that is not valid, where these still extract what matches.
 */
const SCHEME = '[A-Za-z][A-Za-z0-9+.-]*';
const URLS = `
CREATE MACRO athena_url_extract_protocol(u) AS nullif(regexp_extract(u, '^(${SCHEME}):', 1), '');
CREATE MACRO athena_url_extract_host(u) AS nullif(regexp_extract(u, '^${SCHEME}://(?:[^@/?#]*@)?([^:/?#]*)', 1), '');
CREATE MACRO athena_url_extract_port(u) AS
  CAST(nullif(regexp_extract(u, '^${SCHEME}://(?:[^@/?#]*@)?[^:/?#]*:([0-9]+)', 1), '') AS BIGINT);
CREATE MACRO athena_url_extract_path(u) AS regexp_extract(u, '^(?:${SCHEME}://[^/?#]*)?([^?#]*)', 1);
CREATE MACRO athena_url_extract_query(u) AS
  CASE WHEN regexp_matches(u, '^[^#]*[?]') THEN regexp_extract(u, '^[^#]*[?]([^#]*)', 1) END;
CREATE MACRO athena_url_extract_fragment(u) AS CASE WHEN contains(u, '#') THEN regexp_extract(u, '#(.*)$', 1) END;
CREATE MACRO athena_url_extract_parameter(u, name) AS regexp_extract(
  list_filter(string_split(athena_url_extract_query(u), '&'), p -> split_part(p, '=', 1) = name)[1], '^[^=]*=?(.*)$', 1);`;

/** Bits, bases, encodings and JSON sizes as Trino has them. */
const MORE = `
CREATE MACRO athena_bit_count(x, bits) AS CASE
  WHEN bits < 2 OR bits > 64 THEN athena_invalid_argument('Bits specified in bit_count must be between 2 and 64, got ' || bits)
  WHEN bits < 64 AND (x >= (CAST(1 AS BIGINT) << (bits - 1)) OR x < -(CAST(1 AS BIGINT) << (bits - 1)))
    THEN athena_invalid_argument('Number must be representable with the bits specified. ' || x || ' cannot be represented with ' || bits || ' bits')
  ELSE CAST(bit_count(CAST(x AS BIGINT) & CASE WHEN bits = 64 THEN CAST(-1 AS BIGINT) ELSE (CAST(1 AS BIGINT) << bits) - 1 END) AS BIGINT) END;
CREATE MACRO athena_bitwise_and_agg(x) AS CAST(bit_and(CAST(x AS BIGINT)) AS BIGINT);
CREATE MACRO athena_bitwise_or_agg(x) AS CAST(bit_or(CAST(x AS BIGINT)) AS BIGINT);
CREATE MACRO athena_to_base(x, radix) AS
  CASE WHEN x < 0 THEN '-' || lower(to_base(-x, radix)) ELSE lower(to_base(x, radix)) END;
CREATE MACRO athena_base_digit(c, radix, s) AS
  CASE WHEN strpos('0123456789abcdefghijklmnopqrstuvwxyz', c) BETWEEN 1 AND radix
    THEN CAST(strpos('0123456789abcdefghijklmnopqrstuvwxyz', c) - 1 AS BIGINT)
    ELSE athena_invalid_argument('Not a valid base-' || radix || ' number: ' || s) END;
CREATE MACRO athena_base_digits(digits, radix, s) AS CASE WHEN digits = '' THEN athena_invalid_argument('Not a valid base-' || radix || ' number: ' || s)
  ELSE list_reduce(list_transform(string_split(lower(digits), ''), c -> athena_base_digit(c, radix, s)), (acc, d) -> acc * radix + d, CAST(0 AS BIGINT)) END;
CREATE MACRO athena_from_base(s, radix) AS CASE
  WHEN radix < 2 OR radix > 36 THEN athena_invalid_argument('Radix must be between 2 and 36')
  WHEN starts_with(s, '-') THEN -athena_base_digits(substr(s, 2), radix, s) ELSE athena_base_digits(s, radix, s) END;
CREATE MACRO athena_width_bucket(x, bound1, bound2, n) AS CASE
  WHEN n <= 0 THEN athena_invalid_argument('bucketCount must be greater than 0')
  WHEN bound1 = bound2 THEN athena_invalid_argument('bounds cannot equal each other')
  WHEN bound1 < bound2 THEN CASE WHEN x < bound1 THEN 0 WHEN x >= bound2 THEN n + 1
    ELSE CAST(floor((x - bound1) * n / (bound2 - bound1)) AS BIGINT) + 1 END
  ELSE CASE WHEN x > bound1 THEN 0 WHEN x <= bound2 THEN n + 1
    ELSE CAST(floor((bound1 - x) * n / (bound1 - bound2)) AS BIGINT) + 1 END END;
-- Java's URLEncoder (form encoding): space as +, * kept, ~ escaped; URLDecoder reads + as a space.
CREATE MACRO athena_url_encode(s) AS replace(replace(replace(url_encode(s), '%20', '+'), '~', '%7E'), '%2A', '*');
CREATE MACRO athena_url_decode(s) AS url_decode(replace(s, '+', ' '));
CREATE MACRO athena_to_base64url(b) AS translate(to_base64(b), '+/', '-_');
CREATE MACRO athena_from_base64url(s) AS from_base64(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4));
-- Trino's logarithms and square root are NaN below their domain and -Infinity at 0 (DuckDB's fail).
CREATE MACRO athena_sqrt(x) AS CASE WHEN x < 0 THEN CAST('NaN' AS DOUBLE) ELSE sqrt(x) END;
${['ln', 'log2', 'log10']
  .map(
    (name) => `CREATE MACRO athena_${name}(x) AS CASE WHEN x < 0 THEN CAST('NaN' AS DOUBLE)
  WHEN x = 0 THEN CAST('-Infinity' AS DOUBLE) ELSE ${name}(x) END;`,
  )
  .join('\n')}
CREATE MACRO athena_json_size(j, path) AS CASE
  WHEN json_extract(j, path) IS NULL THEN NULL
  WHEN json_type(json_extract(j, path)) = 'ARRAY' THEN CAST(json_array_length(json_extract(j, path)) AS BIGINT)
  WHEN json_type(json_extract(j, path)) = 'OBJECT' THEN CAST(len(json_keys(json_extract(j, path))) AS BIGINT)
  ELSE CAST(0 AS BIGINT) END;
-- Trino's index counts from 0, and from the end when negative (JSONPath's [#-1]).
CREATE MACRO athena_json_array_get(j, i) AS
  json_extract(j, CASE WHEN i >= 0 THEN '$[' || i || ']' ELSE '$[#' || i || ']' END);
CREATE MACRO athena_map_entry(entry, kv) AS {'key': split_part(entry, kv, 1), 'value': CASE
  WHEN len(string_split(entry, kv)) <> 2 THEN CAST(athena_invalid_argument('Key-value delimiter must appear exactly once in each entry. Bad input: ''' || entry || '''') AS VARCHAR)
  ELSE split_part(entry, kv, 2) END};
CREATE MACRO athena_split_to_map(s, entries, kv) AS
  map_from_entries(list_transform(list_filter(string_split(s, entries), e -> e <> ''), e -> athena_map_entry(e, kv)));
CREATE MACRO athena_ngrams_of(a, n) AS
  list_transform(range(1, greatest(len(a) - n + 1, 1) + 1), i -> list_slice(a, i, i + n - 1));
CREATE MACRO athena_ngrams(a, n) AS
  athena_ngrams_of(a, CASE WHEN n <= 0 THEN athena_invalid_argument('N must be positive') ELSE n END);
CREATE MACRO athena_contains_sequence(a, s) AS CASE WHEN a IS NOT NULL AND s IS NOT NULL THEN len(s) = 0 OR coalesce(
  list_bool_or(list_transform(range(1, len(a) - len(s) + 2), i -> list_slice(a, i, i + len(s) - 1) IS NOT DISTINCT FROM s)), false) END;
CREATE MACRO athena_is_json_scalar(j) AS json_type(json(j)) NOT IN ('OBJECT', 'ARRAY');
CREATE MACRO athena_array_histogram(a) AS CASE WHEN a IS NOT NULL THEN map_from_entries(coalesce(
  list_transform(map_entries(list_histogram(list_filter(a, e -> e IS NOT NULL))), e -> {'key': e.key, 'value': CAST(e.value AS BIGINT)}), [])) END;
CREATE MACRO athena_trim_array(a, n) AS list_slice(a, 1, len(a) - CASE WHEN n < 0 OR n > len(a)
  THEN athena_invalid_argument('size must not be negative or exceed the array''s cardinality: ' || n) ELSE n END);`;

/** Every macro, in an order where each is defined before its callers. */
export const MACRO_SQL = [DOUBLE_TO_VARCHAR, CASTS, DIVISION, DATES, STRINGS, COLLECTIONS, URLS, MORE].join('\n');
