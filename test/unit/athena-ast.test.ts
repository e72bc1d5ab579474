import {
  conjunction,
  descendants,
  parseJsonLossless,
  replaceNode,
  stringConstant,
  stringConstantValue,
  stringifyJsonLossless,
  type JsonObject,
} from '../../local-aws/athena/engine/ast';

test('numbers keep their exact text through parse and stringify', () => {
  const text =
    '{"query_location":18446744073709551615,"big":9007199254740993,"double":1.0,"exp":1.5e+300,"small":7,"neg":-12,"s":"1.0 \\"q\\""}';
  const parsed = parseJsonLossless(text) as JsonObject;
  expect(parsed.small).toBe(7);
  expect(parsed.neg).toBe(-12);
  expect(parsed.s).toBe('1.0 "q"');
  expect(stringifyJsonLossless(parsed)).toBe(text);
});

test('the marker character cannot come from user SQL', () => {
  expect(() => parseJsonLossless('{"s":"\uE0001"}')).toThrow(/U\+E000 is reserved/);
});

test('replaceNode keeps the object, so references to it see the replacement', () => {
  const node: JsonObject = { type: 'BASE_TABLE', table_name: 't', alias: 'x' };
  const parent = { from_table: node };
  replaceNode(node, { type: 'SUBQUERY', alias: 'x' });
  expect(parent.from_table).toEqual({ type: 'SUBQUERY', alias: 'x' });
});

test('builders and readers', () => {
  const constant = stringConstant('UTC');
  expect(stringConstantValue(constant)).toBe('UTC');
  expect(stringConstantValue({ class: 'COLUMN_REF', column_names: ['a'] })).toBeUndefined();
  const one = stringConstant('a');
  expect(conjunction([one])).toBe(one);
  const both = conjunction([one, stringConstant('b')]);
  expect(both).toMatchObject({ class: 'CONJUNCTION', type: 'CONJUNCTION_AND' });
  expect([...descendants(both)].filter((node) => node.class === 'CONSTANT')).toHaveLength(2);
});
