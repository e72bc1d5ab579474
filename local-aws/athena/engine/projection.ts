import type { Table } from '@aws-sdk/client-glue';
import { hasProjection } from '../../../lib/ticks-table';
import { exceededPartitionLimit, invalidTableProperty } from './errors';

/**
 * Athena's partition projection (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html):
 * a table with `projection.enabled=true` has its partitions computed from its
 * properties, and the partitions registered in Glue are ignored. Each partition
 * key has a `projection.<key>.type`: `enum` (listed values), `integer` (a range,
 * an interval, zero-padded to `digits`), `date` (a range of dates in a Java
 * DateTimeFormatter `format`, either end `NOW` with an optional offset, stepped
 * by `interval` `interval.unit`s) or `injected` (the values the query's WHERE
 * clause names). A partition's location is `storage.location.template` with
 * `${key}` replaced, or the table's location with Hive's `key=value/` folders.
 *
 * Properties Athena would refuse fail the query with INVALID_TABLE_PROPERTY, worded
 * as Athena engine version 3 (Trino's partition projection) words them.
 */

export type KeyProjection =
  | { kind: 'enum'; key: string; values: string[] }
  | { kind: 'integer'; key: string; min: bigint; max: bigint; interval: bigint; digits: number }
  | { kind: 'date'; key: string; format: DateFormat; start: DateBound; end: DateBound; interval: number; unit: Unit }
  | { kind: 'injected'; key: string };

export interface TableProjection {
  keys: KeyProjection[];
  /** `${key}` placeholders for each key, or undefined for the table's location with Hive folders. */
  template: string | undefined;
  tableLocation: string;
}

/** The most partitions one table of a query may project (Athena's limit is a million). */
export const MAX_PROJECTED_PARTITIONS = 1_000_000;

const TYPES = ['enum', 'integer', 'date', 'injected'] as const;
const UNITS = ['YEARS', 'MONTHS', 'WEEKS', 'DAYS', 'HOURS', 'MINUTES', 'SECONDS', 'MILLIS'] as const;
type Unit = (typeof UNITS)[number];

const fail = (key: string, detail: string) =>
  invalidTableProperty(`Column projection for column '${key}' failed. ${detail}`);

/** The table's projection, undefined when `projection.enabled` is not true; throws on properties Athena refuses. */
export function tableProjection(table: Table): TableProjection | undefined {
  const parameters = table.Parameters ?? {};
  if (!hasProjection(parameters)) return undefined;
  const keys = (table.PartitionKeys ?? []).map((column) => ({ name: column.Name!.toLowerCase(), type: column.Type }));
  if (keys.length === 0) {
    throw invalidTableProperty("Partition projection can't be enabled when no partition columns are defined.");
  }
  const projected = new Set(
    Object.keys(parameters)
      .map((name) => /^projection\.(.+)\.type$/i.exec(name)?.[1]?.toLowerCase())
      .filter((name) => name !== undefined),
  );
  for (const name of projected) {
    if (!keys.some((key) => key.name === name)) {
      throw invalidTableProperty(`Partition projection can't be defined for non partition column: '${name}'`);
    }
  }
  const template = parameters['storage.location.template'];
  const projections = keys.map((key) => {
    if (!projected.has(key.name)) {
      throw invalidTableProperty(`Partition projection definition for column: '${key.name}' missing`);
    }
    if (template !== undefined && !template.includes(`\${${key.name}}`)) {
      throw invalidTableProperty(
        `Partition projection location template: ${template} is missing partition column: '${key.name}' placeholder`,
      );
    }
    return keyProjection(key.name, key.type ?? 'string', parameters);
  });
  return { keys: projections, template, tableLocation: table.StorageDescriptor?.Location ?? '' };
}

function property(parameters: Record<string, string>, key: string, name: string): string | undefined {
  const wanted = `projection.${key}.${name}`;
  const found = Object.keys(parameters).find((candidate) => candidate.toLowerCase() === wanted);
  return found === undefined ? undefined : parameters[found];
}

function required(parameters: Record<string, string>, key: string, name: string): string {
  const value = property(parameters, key, name);
  if (value === undefined) throw fail(key, `Missing required property: 'projection.${key}.${name}'`);
  return value;
}

function positiveInteger(parameters: Record<string, string>, key: string, name: string): number | undefined {
  const text = property(parameters, key, name);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw fail(key, `Property: 'projection.${key}.${name}' needs to be a positive integer, got '${text}'`);
  }
  return value;
}

function keyProjection(key: string, columnType: string, parameters: Record<string, string>): KeyProjection {
  const typeText = required(parameters, key, 'type');
  const type = typeText.trim().toLowerCase() as (typeof TYPES)[number];
  if (!TYPES.includes(type)) {
    throw fail(key, `Property: 'projection.${key}.type' needs to be one of ${TYPES.join(', ')}, got '${typeText}'`);
  }
  const column = columnType.trim().toLowerCase();
  const unsupported = () => fail(key, `Unsupported column type: ${column}`);
  switch (type) {
    case 'enum': {
      if (!/^(string|varchar(\(\d+\))?|char\(\d+\))$/.test(column)) throw unsupported();
      return { kind: 'enum', key, values: required(parameters, key, 'values').split(',') };
    }
    case 'integer': {
      if (!/^(string|varchar(\(\d+\))?|tinyint|smallint|int|integer|bigint)$/.test(column)) throw unsupported();
      const range = required(parameters, key, 'range');
      const bounds = range.split(',').map((bound) => bound.trim());
      if (bounds.length !== 2 || !bounds.every((bound) => /^-?\d{1,19}$/.test(bound))) {
        throw fail(key, `Property: 'projection.${key}.range' needs to be a list of 2 integers, got '${range}'`);
      }
      const [min, max] = bounds.map(BigInt) as [bigint, bigint];
      const interval = BigInt(positiveInteger(parameters, key, 'interval') ?? 1);
      const digits = positiveInteger(parameters, key, 'digits') ?? 0;
      return { kind: 'integer', key, min, max, interval, digits };
    }
    case 'date': {
      if (!/^(string|varchar(\(\d+\))?|date|timestamp)$/.test(column)) throw unsupported();
      const formatText = required(parameters, key, 'format');
      const format = parseDateFormat(formatText, key);
      const range = required(parameters, key, 'range');
      const parts = range.split(',');
      const bounds = parts.length === 2 ? parts.map((part) => parseDateBound(part, format)) : [];
      if (bounds.length !== 2 || bounds.some((bound) => bound === undefined)) {
        throw fail(
          key,
          `Property: 'projection.${key}.range' needs to be a list of 2 valid dates formatted as '${formatText}' or 'NOW' with an optional offset such as 'NOW-3DAYS', got '${range}'`,
        );
      }
      const unitText = property(parameters, key, 'interval.unit');
      let unit: Unit;
      if (unitText !== undefined) {
        const normalized = unitText.trim().toUpperCase();
        const found = UNITS.find((candidate) => candidate === normalized || candidate === `${normalized}S`);
        if (!found) {
          throw fail(
            key,
            `Property: 'projection.${key}.interval.unit' needs to be one of ${UNITS.join(', ')}, got '${unitText}'`,
          );
        }
        unit = found;
      } else if (format.finest === 'day' || format.finest === 'month' || format.finest === 'year') {
        unit = format.finest === 'day' ? 'DAYS' : format.finest === 'month' ? 'MONTHS' : 'YEARS';
      } else {
        throw fail(
          key,
          `Property: 'projection.${key}.interval.unit' needs to be set when 'projection.${key}.format' ('${formatText}') is finer than a day`,
        );
      }
      const interval = positiveInteger(parameters, key, 'interval') ?? 1;
      return { kind: 'date', key, format, start: bounds[0]!, end: bounds[1]!, interval, unit };
    }
    case 'injected': {
      if (!/^(string|varchar(\(\d+\))?|char\(\d+\)|tinyint|smallint|int|integer|bigint)$/.test(column)) {
        throw unsupported();
      }
      return { kind: 'injected', key };
    }
  }
}

/** The values a key projects (all of them, in order); injected keys have none of their own. */
export function keyValues(projection: KeyProjection, now: Date): string[] {
  switch (projection.kind) {
    case 'enum':
      return projection.values;
    case 'injected':
      return [];
    case 'integer': {
      const { min, max, interval, digits } = projection;
      if (max >= min && (max - min) / interval >= BigInt(MAX_PROJECTED_PARTITIONS)) throw tooMany(projection.key);
      const values: string[] = [];
      for (let value = min; value <= max; value += interval) {
        const text = (value < 0n ? -value : value).toString().padStart(digits, '0');
        values.push(value < 0n ? `-${text}` : text);
      }
      return values;
    }
    case 'date': {
      const start = resolveBound(projection.start, now);
      const end = resolveBound(projection.end, now);
      const values: string[] = [];
      for (
        let step = 0, at = start;
        at.getTime() <= end.getTime();
        at = addUnits(start, ++step * projection.interval, projection.unit)
      ) {
        if (values.length >= MAX_PROJECTED_PARTITIONS) throw tooMany(projection.key);
        values.push(formatDate(at, projection.format));
      }
      return values;
    }
  }
}

const tooMany = (key: string) =>
  exceededPartitionLimit(`Partition projection of column '${key}' yields more than ${MAX_PROJECTED_PARTITIONS} values`);

/** The location of the partition with these values (in key order), ending in '/'. */
export function partitionLocation(projection: TableProjection, values: string[]): string {
  let location: string;
  if (projection.template !== undefined) {
    location = projection.template;
    projection.keys.forEach((key, index) => {
      location = location.split(`\${${key.key}}`).join(values[index]!);
    });
  } else {
    const base = projection.tableLocation.replace(/\/?$/, '/');
    location = base + projection.keys.map((key, index) => `${key.key}=${values[index]}/`).join('');
  }
  return location.endsWith('/') ? location : `${location}/`;
}

// ---- dates: the part of Java's DateTimeFormatter that partition layouts use ----

type Field = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millis';

/** A format as literal text and fixed-width numeric fields. */
export interface DateFormat {
  parts: ({ literal: string } | { field: Field; width: number })[];
  finest: Field;
}

const LETTERS: Record<string, Field> = {
  y: 'year',
  u: 'year',
  M: 'month',
  d: 'day',
  H: 'hour',
  m: 'minute',
  s: 'second',
  S: 'millis',
};
const FIELD_ORDER: Field[] = ['year', 'month', 'day', 'hour', 'minute', 'second', 'millis'];

function parseDateFormat(text: string, key: string): DateFormat {
  const parts: DateFormat['parts'] = [];
  let finest = -1;
  for (let i = 0; i < text.length;) {
    const char = text[i]!;
    if (char === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw fail(key, `Property: 'projection.${key}.format' has an unclosed quote: '${text}'`);
      parts.push({ literal: close === i + 1 ? "'" : text.slice(i + 1, close) });
      i = close + 1;
      continue;
    }
    if (/[A-Za-z]/.test(char)) {
      let end = i;
      while (text[end] === char) end++;
      const field = LETTERS[char];
      if (!field) {
        throw fail(
          key,
          `Property: 'projection.${key}.format' uses the pattern letter '${char}', which the local Athena does not support (it supports y, u, M, d, H, m, s, S): '${text}'`,
        );
      }
      const width = end - i;
      parts.push({ field, width: field === 'year' && width === 2 ? 4 : width });
      finest = Math.max(finest, FIELD_ORDER.indexOf(field));
      i = end;
      continue;
    }
    parts.push({ literal: char });
    i++;
  }
  if (finest < 0) throw fail(key, `Property: 'projection.${key}.format' names no date field: '${text}'`);
  return { parts, finest: FIELD_ORDER[finest]! };
}

type DateBound = { now: true; amount: number; unit: Unit } | { now: false; date: Date };

const OFFSET_UNITS: Record<string, Unit> = {
  YEAR: 'YEARS',
  MONTH: 'MONTHS',
  WEEK: 'WEEKS',
  DAY: 'DAYS',
  HOUR: 'HOURS',
  MINUTE: 'MINUTES',
  SECOND: 'SECONDS',
};

function parseDateBound(text: string, format: DateFormat): DateBound | undefined {
  const relative = /^\s*NOW\s*(?:([+-])\s*(\d+)\s*(YEAR|MONTH|WEEK|DAY|HOUR|MINUTE|SECOND)S?\s*)?$/i.exec(text);
  if (relative) {
    const amount = relative[2] === undefined ? 0 : Number(relative[2]) * (relative[1] === '-' ? -1 : 1);
    return { now: true, amount, unit: OFFSET_UNITS[(relative[3] ?? 'DAY').toUpperCase()]! };
  }
  const date = parseDate(text, format);
  return date && { now: false, date };
}

function parseDate(text: string, format: DateFormat): Date | undefined {
  const values: Record<Field, number> = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, millis: 0 };
  let at = 0;
  for (const part of format.parts) {
    if ('literal' in part) {
      if (!text.startsWith(part.literal, at)) return undefined;
      at += part.literal.length;
      continue;
    }
    const digits = /^\d+/.exec(text.slice(at))?.[0] ?? '';
    const taken = part.width > 1 ? digits.slice(0, part.width) : digits;
    if (taken.length === 0 || (part.width > 1 && taken.length !== part.width)) return undefined;
    values[part.field] = Number(taken);
    at += taken.length;
  }
  if (at !== text.length) return undefined;
  const date = new Date(
    Date.UTC(values.year, values.month - 1, values.day, values.hour, values.minute, values.second, values.millis),
  );
  // Reject dates that do not exist (2024-02-30) instead of rolling them over.
  if (date.getUTCMonth() !== values.month - 1 || date.getUTCDate() !== values.day) return undefined;
  return date;
}

function formatDate(date: Date, format: DateFormat): string {
  const field: Record<Field, number> = {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    millis: date.getUTCMilliseconds(),
  };
  return format.parts
    .map((part) => ('literal' in part ? part.literal : String(field[part.field]).padStart(part.width, '0')))
    .join('');
}

function resolveBound(bound: DateBound, now: Date): Date {
  return bound.now ? addUnits(now, bound.amount, bound.unit) : bound.date;
}

function addUnits(date: Date, amount: number, unit: Unit): Date {
  switch (unit) {
    case 'YEARS':
    case 'MONTHS': {
      // As java.time's plusMonths: the day is clamped to the target month's last (Jan 31 + 1 month = Feb 28/29).
      const months = date.getUTCFullYear() * 12 + date.getUTCMonth() + (unit === 'YEARS' ? 12 * amount : amount);
      const [year, month] = [Math.floor(months / 12), ((months % 12) + 12) % 12];
      const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
      const next = new Date(date.getTime());
      next.setUTCFullYear(year, month, Math.min(date.getUTCDate(), last));
      return next;
    }
    default: {
      const ms = { WEEKS: 604_800_000, DAYS: 86_400_000, HOURS: 3_600_000, MINUTES: 60_000, SECONDS: 1000, MILLIS: 1 };
      return new Date(date.getTime() + amount * ms[unit]);
    }
  }
}
