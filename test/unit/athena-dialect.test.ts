import { functionCall, type JsonObject, stringConstant } from '../../local-aws/athena/engine/ast';
import {
  currentTimeConstant,
  type DialectContext,
  javaReplacementToRe2,
  jodaFormatToStrftime,
  mysqlFormatToStrftime,
  rewriteFunction,
  rewriteWindowFunction,
} from '../../local-aws/athena/engine/dialect';
import { QueryFailure } from '../../local-aws/athena/engine/errors';
import { thrownBy } from '../helpers/thrown';

const context: DialectContext = {
  now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 67)),
  database: 'lake',
  invoker: 'arn:aws:iam::000000000000:user/ticksync-analyst',
  position: () => ({ line: 1, column: 8 }),
};
const column = (name: string): JsonObject => ({ class: 'COLUMN_REF', type: 'COLUMN_REF', column_names: [name] });
const rewrite = (name: string, ...children: JsonObject[]) => rewriteFunction(functionCall(name, children), context);
const failure = (run: () => unknown) => thrownBy<QueryFailure>(run);

test("MySQL date_format specifiers as strftime's", () => {
  expect(mysqlFormatToStrftime('%Y-%m-%d %H:%i:%s.%f')).toBe('%Y-%m-%d %H:%M:%S.%f');
  expect(mysqlFormatToStrftime('%W %M %e, %l %p %% %T %r %q')).toBe('%A %B %-d, %-I %p %% %H:%M:%S %I:%M:%S %p q');
  expect(mysqlFormatToStrftime('%e/%c', true)).toBe('%d/%m');
  expect(failure(() => mysqlFormatToStrftime('%D')).message).toBe(
    'INVALID_FUNCTION_ARGUMENT: %D not supported in date format string',
  );
});

test('Joda patterns as strftime specifiers', () => {
  expect(jodaFormatToStrftime("yyyy-MM-dd'T'HH:mm:ss.SSS")).toBe('%Y-%m-%dT%H:%M:%S.%g');
  expect(jodaFormatToStrftime("EEE, d MMM yy h:mm a 'o''clock' 100%")).toBe("%a, %-d %b %y %-I:%M %p o'clock 100%%");
  expect(jodaFormatToStrftime('d/M/yyyy', true)).toBe('%d/%m/%Y');
  expect(() => jodaFormatToStrftime('qq')).toThrow(/Pattern letter 'qq' is not supported/);
});

test("Java's regex replacement syntax as RE2's", () => {
  expect(javaReplacementToRe2('$1-$2')).toBe('\\1-\\2');
  expect(javaReplacementToRe2('\\$1 costs $')).toBe('$1 costs $');
  expect(javaReplacementToRe2('a\\\\b')).toBe('a\\\\b');
});

test('current_timestamp and friends are the query start, in UTC', () => {
  const at = stringConstant('');
  expect(currentTimeConstant('current_timestamp', context, at)).toMatchObject({
    class: 'CAST',
    cast_type: { id: 'TIMESTAMP WITH TIME ZONE' },
    child: { value: { value: '2024-01-02 03:04:05.067+00' } },
  });
  expect(currentTimeConstant('current_date', context, at)).toMatchObject({ child: { value: { value: '2024-01-02' } } });
  expect(currentTimeConstant('current_schema', context, at)).toMatchObject({ value: { value: 'lake' } });
  expect(currentTimeConstant('nope', context, at)).toBeUndefined();
});

test('kept, renamed, macro and rewritten functions', () => {
  expect(rewrite('sum', column('x')).function_name).toBe('sum');
  expect(rewrite('arbitrary', column('x')).function_name).toBe('any_value');
  expect(rewrite('regexp_like', column('x'), stringConstant('a')).function_name).toBe('regexp_matches');
  expect(rewrite('split_part', column('x'), stringConstant(','), stringConstant('1')).function_name).toBe(
    'athena_split_part',
  );
  expect(rewrite('approx_distinct', column('x'))).toMatchObject({ function_name: 'count', distinct: true });
  expect(rewrite('max_by', column('x'), column('y')).function_name).toBe('arg_max_null');
  expect(rewrite('max_by', column('x'), column('y'), column('n')).function_name).toBe('max_by');
  expect(rewrite('element_at', column('a'), column('i'))).toMatchObject({ class: 'OPERATOR', type: 'ARRAY_EXTRACT' });
  expect(rewrite('date_format', column('ts'), stringConstant('%Y %i'))).toMatchObject({
    function_name: 'strftime',
    children: [column('ts'), { value: { value: '%Y %M' } }],
  });
  expect(rewrite('now')).toMatchObject({ class: 'CAST', cast_type: { id: 'TIMESTAMP WITH TIME ZONE' } });
  // concat is NULL if any argument is: DuckDB's || behaves so, its concat does not.
  expect(rewrite('concat', column('a'), column('b'), column('c'))).toMatchObject({
    function_name: '||',
    is_operator: true,
    children: [{ function_name: '||', children: [column('a'), column('b')] }, column('c')],
  });
});

test('functions whose result type follows the argument: typed macro unless the argument is an aggregate', () => {
  expect(rewrite('date_add', stringConstant('day'), column('n'), column('d')).function_name).toBe('athena_date_add');
  const aggregate = functionCall('max', [column('d')]);
  expect(rewrite('date_add', stringConstant('day'), column('n'), aggregate).function_name).toBe(
    'athena_date_add_untyped',
  );
  const inLambda = rewriteFunction(functionCall('reverse', [column('x')]), context, { insideLambda: true });
  expect(inLambda.function_name).toBe('reverse');
});

test('division goes to the macro typed by its operands, or to divide() when they cannot be typed first', () => {
  const division = (a: JsonObject, b: JsonObject) => ({ ...functionCall('/', [a, b]), is_operator: true });
  expect(rewriteFunction(division(column('a'), column('b')), context)).toMatchObject({
    function_name: 'athena_divide',
    is_operator: false,
    children: [column('a'), column('b')],
  });
  const aggregate = functionCall('sum', [column('x')]);
  expect(rewriteFunction(division(aggregate, column('b')), context)).toMatchObject({
    function_name: 'divide',
    is_operator: false,
    children: [aggregate, { function_name: 'athena_divisor', children: [column('b')] }],
  });
});

test("a call takes at most 127 arguments (Trino's limit); greatest and least take a list of any length", () => {
  const columns = (count: number) => Array.from({ length: count }, (_, i) => column(`c${i}`));
  expect(rewrite('greatest', ...columns(127))).toMatchObject({
    function_name: 'athena_greatest',
    children: [{ function_name: 'list_value', children: columns(127) }],
  });
  expect(failure(() => rewrite('least', ...columns(128))).message).toBe(
    'TOO_MANY_ARGUMENTS: line 1:8: Too many arguments for function call least()',
  );
  expect(failure(() => rewrite('concat', column('a'))).message).toBe(
    'INVALID_FUNCTION_ARGUMENT: There must be two or more concatenation arguments',
  );
});

test('invoker_principal() is the caller, and takes no argument', () => {
  expect(rewrite('invoker_principal')).toMatchObject(stringConstant('arn:aws:iam::000000000000:user/ticksync-analyst'));
  expect(failure(() => rewrite('invoker_principal', column('a'))).message).toBe(
    'FUNCTION_NOT_FOUND: line 1:8: Unexpected parameters (?) for function invoker_principal. Expected: invoker_principal()',
  );
});

test('unknown, schema-qualified and DuckDB-only functions are not registered', () => {
  expect(failure(() => rewrite('xyz')).message).toBe("FUNCTION_NOT_FOUND: line 1:8: Function 'xyz' not registered");
  for (const name of ['read_csv', 'getenv', 'current_setting', 'glob', 'read_text', 'athena_divisor']) {
    expect(failure(() => rewrite(name, stringConstant('x'))).errorType).toBe(1303);
  }
  const qualified = { ...functionCall('abs', [column('x')]), schema: 'main' };
  expect(failure(() => rewriteFunction(qualified, context)).message).toMatch(/Function 'main.abs' not registered/);
  const operator = { ...functionCall('^', [column('x'), column('y')]), is_operator: true };
  expect(failure(() => rewriteFunction(operator, context)).message).toMatch(/^NOT_SUPPORTED: .*Operator '\^'/);
  expect(failure(() => rewrite('date_format', column('ts'), column('f'))).message).toMatch(
    /date_format: argument 2 must be a constant string/,
  );
});

test('window functions are checked and renamed like aggregates', () => {
  const window = (name: string, children: JsonObject[] = [column('x')]): JsonObject => ({
    class: 'WINDOW',
    type: 'WINDOW_AGGREGATE',
    function_name: name,
    schema: '',
    catalog: '',
    children,
  });
  expect(rewriteWindowFunction(window('row_number', []), context).function_name).toBe('row_number');
  expect(rewriteWindowFunction(window('arbitrary'), context).function_name).toBe('any_value');
  expect(rewriteWindowFunction(window('min_by', [column('x'), column('y')]), context).function_name).toBe(
    'arg_min_null',
  );
  expect(failure(() => rewriteWindowFunction(window('pg_sleep'), context)).errorType).toBe(1303);
});

const lambda = (parameters: string[], body: JsonObject): JsonObject => ({
  class: 'LAMBDA',
  type: 'LAMBDA',
  lhs:
    parameters.length === 1
      ? column(parameters[0]!)
      : { ...functionCall('row', parameters.map(column)), schema: 'main' },
  expr: body,
});

test("two-parameter lambdas read a map entry's key and value; an inner lambda's parameter hides the outer one", () => {
  const filtered = rewrite(
    'map_filter',
    column('m'),
    lambda(['k', 'v'], functionCall('f', [column('k'), column('v'), lambda(['k'], column('k'))])),
  );
  expect(filtered).toMatchObject({
    function_name: 'map_from_entries',
    children: [{ function_name: 'list_filter', children: [{ function_name: 'map_entries' }, { class: 'LAMBDA' }] }],
  });
  const body = ((filtered.children as JsonObject[])[0]!.children as JsonObject[])[1]!.expr as JsonObject;
  const [key, value, inner] = body.children as JsonObject[];
  expect(key).toMatchObject({ function_name: 'struct_extract', children: [{}, { value: { value: 'key' } }] });
  expect(value).toMatchObject({ function_name: 'struct_extract', children: [{}, { value: { value: 'value' } }] });
  expect(inner).toMatchObject({ class: 'LAMBDA', expr: column('k') });
});

test('reduce applies its output lambda to list_reduce; a lambda of the wrong shape is named', () => {
  const reduced = rewrite(
    'reduce',
    column('a'),
    column('init'),
    lambda(['s', 'x'], column('s')),
    lambda(['s'], functionCall('g', [column('s')])),
  );
  // list_extract(list_transform([list_reduce(a, …, init)], e -> g(e)), 1): the state is reduced once, however
  // often the output lambda names it.
  expect(reduced).toMatchObject({
    function_name: 'list_extract',
    children: [
      {
        function_name: 'list_transform',
        children: [
          {
            function_name: 'list_value',
            children: [{ function_name: 'list_reduce', children: [column('a'), { class: 'LAMBDA' }, column('init')] }],
          },
          { class: 'LAMBDA', expr: { function_name: 'g' } },
        ],
      },
      { class: 'CONSTANT' },
    ],
  });
  expect(failure(() => rewrite('map_filter', column('m'), lambda(['v'], column('v')))).message).toBe(
    'INVALID_FUNCTION_ARGUMENT: map_filter takes a lambda of 2 parameters',
  );
  expect(failure(() => rewrite('zip_with', column('a'), column('b'), column('f'))).message).toBe(
    'INVALID_FUNCTION_ARGUMENT: zip_with takes a lambda of 2 parameters',
  );
});

test("Trino's functions the engine lacks fail NOT_SUPPORTED naming them, as windows too", () => {
  expect(failure(() => rewrite('hmac_sha256', column('x'), column('k'))).message).toBe(
    "NOT_SUPPORTED: line 1:8: Function 'hmac_sha256' is not supported by the local Athena engine",
  );
  const window = { class: 'WINDOW', type: 'WINDOW_AGGREGATE', function_name: 'checksum', schema: '', catalog: '' };
  expect(failure(() => rewriteWindowFunction(window, context)).errorType).toBe(1200);
});
