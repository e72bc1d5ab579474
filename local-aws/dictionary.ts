/**
 * Objects used as maps from names users choose (databases, tables, partitions,
 * crawlers, work groups, executions): without a prototype, `__proto__`,
 * `constructor` or `toString` are names like any other, absent until created,
 * and storing one cannot change what the map inherits.
 */
export type Dictionary<T> = Record<string, T>;

export function dictionary<T>(entries: Iterable<[string, T]> = []): Dictionary<T> {
  const map = Object.create(null) as Dictionary<T>;
  for (const [key, value] of entries) map[key] = value;
  return map;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** Every plain object in the value, at any depth, as a dictionary (for state read from a file or cloned). */
export function toDictionaries<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => toDictionaries(item)) as T;
  if (!isPlainObject(value)) return value;
  return dictionary(Object.entries(value).map(([key, item]) => [key, toDictionaries(item)])) as T;
}
