import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { ResultColumn } from './types';

/**
 * Results as Athena returns them: column types by Trino's names with the
 * precision and scale Athena reports, and every value as the text Athena puts
 * in its CSV and GetQueryResults (timestamps with milliseconds, doubles as Java
 * prints them, arrays `[a, b]`, rows and maps `{x=1, y=2}`).
 */

interface AthenaType {
  name: string;
  precision: number;
  scale: number;
}

const SIMPLE_TYPES: Partial<Record<DuckDBTypeId, AthenaType>> = {
  [DuckDBTypeId.BOOLEAN]: { name: 'boolean', precision: 0, scale: 0 },
  [DuckDBTypeId.TINYINT]: { name: 'tinyint', precision: 3, scale: 0 },
  [DuckDBTypeId.SMALLINT]: { name: 'smallint', precision: 5, scale: 0 },
  [DuckDBTypeId.INTEGER]: { name: 'integer', precision: 10, scale: 0 },
  [DuckDBTypeId.BIGINT]: { name: 'bigint', precision: 19, scale: 0 },
  // DuckDB widens sums of integers to 128 bits; Trino's sum(bigint) is a bigint.
  [DuckDBTypeId.HUGEINT]: { name: 'bigint', precision: 19, scale: 0 },
  [DuckDBTypeId.UTINYINT]: { name: 'smallint', precision: 5, scale: 0 },
  [DuckDBTypeId.USMALLINT]: { name: 'integer', precision: 10, scale: 0 },
  [DuckDBTypeId.UINTEGER]: { name: 'bigint', precision: 19, scale: 0 },
  [DuckDBTypeId.UBIGINT]: { name: 'decimal', precision: 20, scale: 0 },
  [DuckDBTypeId.UHUGEINT]: { name: 'decimal', precision: 38, scale: 0 },
  [DuckDBTypeId.FLOAT]: { name: 'real', precision: 7, scale: 0 },
  [DuckDBTypeId.DOUBLE]: { name: 'double', precision: 17, scale: 0 },
  [DuckDBTypeId.VARCHAR]: { name: 'varchar', precision: 2147483647, scale: 0 },
  [DuckDBTypeId.BLOB]: { name: 'varbinary', precision: 2147483647, scale: 0 },
  [DuckDBTypeId.DATE]: { name: 'date', precision: 0, scale: 0 },
  [DuckDBTypeId.TIME]: { name: 'time', precision: 3, scale: 0 },
  [DuckDBTypeId.TIME_TZ]: { name: 'time with time zone', precision: 3, scale: 0 },
  [DuckDBTypeId.TIMESTAMP]: { name: 'timestamp', precision: 3, scale: 0 },
  [DuckDBTypeId.TIMESTAMP_S]: { name: 'timestamp', precision: 3, scale: 0 },
  [DuckDBTypeId.TIMESTAMP_MS]: { name: 'timestamp', precision: 3, scale: 0 },
  [DuckDBTypeId.TIMESTAMP_NS]: { name: 'timestamp', precision: 3, scale: 0 },
  [DuckDBTypeId.TIMESTAMP_TZ]: { name: 'timestamp with time zone', precision: 3, scale: 0 },
  [DuckDBTypeId.INTERVAL]: { name: 'interval day to second', precision: 0, scale: 0 },
  [DuckDBTypeId.UUID]: { name: 'uuid', precision: 0, scale: 0 },
  [DuckDBTypeId.SQLNULL]: { name: 'unknown', precision: 0, scale: 0 },
  [DuckDBTypeId.ENUM]: { name: 'varchar', precision: 2147483647, scale: 0 },
};

export function athenaType(type: DuckDBType): AthenaType {
  if (type.typeId === DuckDBTypeId.VARCHAR && type.alias?.toUpperCase() === 'JSON') {
    return { name: 'json', precision: 0, scale: 0 };
  }
  if (type.typeId === DuckDBTypeId.DECIMAL) return { name: 'decimal', precision: type.width, scale: type.scale };
  if (type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY) {
    return { name: 'array', precision: 0, scale: 0 };
  }
  if (type.typeId === DuckDBTypeId.STRUCT) return { name: 'row', precision: 0, scale: 0 };
  if (type.typeId === DuckDBTypeId.MAP) return { name: 'map', precision: 0, scale: 0 };
  return SIMPLE_TYPES[type.typeId] ?? { name: type.toString().toLowerCase(), precision: 0, scale: 0 };
}

export function resultColumn(name: string, type: DuckDBType): ResultColumn {
  const athena = athenaType(type);
  return { name, type: athena.name, precision: athena.precision, scale: athena.scale, nullable: 'UNKNOWN' };
}

/** Java's Double.toString, which Athena's results use: 1.0, 123.45, 1.0E7, 1.0E-4. */
export function javaDoubleToString(value: number, digitsOf: (x: number) => string = shortestDouble): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  // Fast path: in this range JavaScript prints the same shortest digits without an exponent.
  if (digitsOf === shortestDouble && magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const sign = value < 0 ? '-' : '';
  const { digits, exponent } = decimalDigits(digitsOf(magnitude));
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const point = exponent + 1;
    const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
    const fraction = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
    return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
  }
  return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${exponent}`;
}

/** Java's Float.toString, for REAL values (which arrive as the nearest double). */
export function javaFloatToString(value: number): string {
  return javaDoubleToString(value, shortestFloat);
}

const shortestDouble = (x: number) => x.toExponential();

function shortestFloat(x: number): string {
  for (let precision = 1; precision <= 9; precision++) {
    const text = x.toExponential(precision - 1);
    if (Math.fround(Number(text)) === Math.fround(x)) return text;
  }
  return x.toExponential(8);
}

/** The significant digits and decimal exponent of an exponential-notation number ("1.25e+3"). */
function decimalDigits(exponential: string): { digits: string; exponent: number } {
  const [mantissa, exponent] = exponential.split('e');
  const digits = mantissa!.replace('.', '').replace(/0+$/, '');
  return { digits: digits === '' ? '0' : digits, exponent: Number(exponent) };
}

const pad = (n: number | bigint, width = 2) => String(n).padStart(width, '0');

/** Whole days since the epoch as a proleptic Gregorian date (JavaScript dates cover ±273,790 years). */
function dateText(days: number): string {
  const date = new Date(days * 86_400_000);
  const year = date.getUTCFullYear();
  const yearText = year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
  return `${yearText}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** Years 0000 to 9999 as milliseconds since the epoch, where Date's ISO form is Trino's text. */
const ISO_MIN_MILLIS = -62_167_219_200_000;
const ISO_MAX_MILLIS = 253_402_300_799_999;

/** Trino timestamps have millisecond precision: sub-millisecond digits are cut. */
function timestampText(micros: bigint): string {
  const fast = Math.floor(Number(micros) / 1000);
  if (fast >= ISO_MIN_MILLIS && fast <= ISO_MAX_MILLIS && Number.isSafeInteger(Number(micros))) {
    const iso = new Date(fast).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  }
  const millis = micros >= 0n ? micros / 1000n : (micros - 999n) / 1000n;
  const days = Number(millis >= 0n ? millis / 86_400_000n : (millis - 86_399_999n) / 86_400_000n);
  const ofDay = Number(millis - BigInt(days) * 86_400_000n);
  return `${dateText(days)} ${timeOfDayText(ofDay)}`;
}

function timeOfDayText(millisOfDay: number): string {
  const hours = Math.floor(millisOfDay / 3_600_000);
  const minutes = Math.floor((millisOfDay % 3_600_000) / 60_000);
  const seconds = Math.floor((millisOfDay % 60_000) / 1000);
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}.${pad(millisOfDay % 1000, 3)}`;
}

/** Trino's interval day to second: "1 02:03:04.500"; year to month: "1-2". */
function intervalText(interval: DuckDBIntervalValue): string {
  if (interval.months !== 0 && interval.days === 0 && interval.micros === 0n) {
    const sign = interval.months < 0 ? '-' : '';
    const months = Math.abs(interval.months);
    return `${sign}${Math.floor(months / 12)}-${months % 12}`;
  }
  const totalMillis = BigInt(interval.days) * 86_400_000n + interval.micros / 1000n;
  const sign = totalMillis < 0n ? '-' : '';
  const millis = totalMillis < 0n ? -totalMillis : totalMillis;
  const days = millis / 86_400_000n;
  return `${sign}${days} ${timeOfDayText(Number(millis % 86_400_000n))}`;
}

/** A zone offset in seconds east of UTC as Trino prints it: +01:00. */
function offsetText(seconds: number): string {
  const sign = seconds < 0 ? '-' : '+';
  const minutes = Math.floor(Math.abs(seconds) / 60);
  return `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');

function renderNested(type: DuckDBType, value: DuckDBValue): string {
  return value === null ? 'null' : renderValue(type, value)!;
}

/** A value as Athena's result text; null for SQL NULL. */
export function renderValue(type: DuckDBType, value: DuckDBValue): string | null {
  if (value === null) return null;
  if (typeof value === 'number') {
    if (type.typeId === DuckDBTypeId.FLOAT) return javaFloatToString(value);
    return type.typeId === DuckDBTypeId.DOUBLE ? javaDoubleToString(value) : String(value);
  }
  if (typeof value === 'bigint' || typeof value === 'string') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof DuckDBTimestampTZValue) return `${timestampText(value.micros)} UTC`;
  if (value instanceof DuckDBTimestampValue) return timestampText(value.micros);
  if (value instanceof DuckDBTimestampMillisecondsValue) return timestampText(value.millis * 1000n);
  if (value instanceof DuckDBTimestampSecondsValue) return timestampText(value.seconds * 1_000_000n);
  if (value instanceof DuckDBTimestampNanosecondsValue) return timestampText(value.nanos / 1000n);
  if (value instanceof DuckDBDateValue) return dateText(value.days);
  if (value instanceof DuckDBTimeValue) return timeOfDayText(Number(value.micros / 1000n));
  if (value instanceof DuckDBTimeTZValue)
    return `${timeOfDayText(Number(value.micros / 1000n))}${offsetText(value.offset)}`;
  if (value instanceof DuckDBDecimalValue) return value.toString();
  if (value instanceof DuckDBIntervalValue) return intervalText(value);
  if (value instanceof DuckDBBlobValue) return hex(value.bytes);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
    const element = 'valueType' in type ? type.valueType : type;
    return `[${value.items.map((item) => renderNested(element, item)).join(', ')}]`;
  }
  if (value instanceof DuckDBMapValue && type.typeId === DuckDBTypeId.MAP) {
    const entries = value.entries.map(
      (entry) => `${renderNested(type.keyType, entry.key)}=${renderNested(type.valueType, entry.value)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  if (value instanceof DuckDBStructValue && type.typeId === DuckDBTypeId.STRUCT) {
    const fields = type.entryNames.map(
      (name, index) => `${name}=${renderNested(type.entryTypes[index]!, value.entries[name] ?? null)}`,
    );
    return `{${fields.join(', ')}}`;
  }
  return value.toString();
}
