/**
 * The lake's hour keys. raw/ and curated/ are partitioned by UTC hour in Hive folders `dt=YYYY-MM-DD/hour=HH`, the
 * catalog's partition values are (dt, hour), and SQL compares hours as `dt || hour`. Every layer names hours through
 * this module, workflows included: it imports nothing and reads no clock (times come in as arguments), so it is
 * deterministic. `npm run check-imports` keeps it that way (rule hour-keys-pure).
 */

/** A UTC hour as the catalog's partition values. */
export interface LakeHour {
  /** YYYY-MM-DD (UTC). */
  dt: string;
  /** 00–23. */
  hour: string;
}

export const HOUR_MS = 3_600_000;

/** The hour an instant falls in. */
export function lakeHourOf(epochMs: number): LakeHour {
  const iso = new Date(Math.floor(epochMs / HOUR_MS) * HOUR_MS).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** When the hour starts (epoch ms); NaN when the values name no date. */
export const hourStart = ({ dt, hour }: LakeHour): number => Date.parse(`${dt}T${hour}:00:00Z`);

export const nextHour = (hour: LakeHour): LakeHour => lakeHourOf(hourStart(hour) + HOUR_MS);

/** Whether the values name a real UTC hour (`2024-01-02`, `03`). */
export function isLakeHour(hour: LakeHour): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(hour.dt) || !/^\d{2}$/.test(hour.hour)) return false;
  const start = hourStart(hour);
  return Number.isFinite(start) && new Date(start).toISOString().startsWith(`${hour.dt}T${hour.hour}`);
}

/** The hour's folder: `dt=YYYY-MM-DD/hour=HH`. */
export const hourFolder = ({ dt, hour }: LakeHour): string => `dt=${dt}/hour=${hour}`;

/** The hour in a key or folder that holds `dt=…/hour=…`, if it names a real hour. */
export function hourInKey(key: string): LakeHour | undefined {
  const match = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})(?:\/|$)/.exec(key);
  const hour = match ? { dt: match[1]!, hour: match[2]! } : undefined;
  return hour && isLakeHour(hour) ? hour : undefined;
}

/** `2024-01-02T03`, `2024-01-02/03`, `2024-01-02 03` or `dt=2024-01-02/hour=03`, if it names a real hour. */
export function parseLakeHour(text: string): LakeHour | undefined {
  const match = /^(?:dt=)?(\d{4}-\d{2}-\d{2})(?:T|\/|\/hour=| )(\d{2})$/.exec(text.trim());
  const hour = match ? { dt: match[1]!, hour: match[2]! } : undefined;
  return hour && isLakeHour(hour) ? hour : undefined;
}

/** `dt || hour` of an instant (`YYYY-MM-DDHH`): hours compare as strings in SQL as they do in time. */
export function hourKey(epochMs: number): string {
  const { dt, hour } = lakeHourOf(epochMs);
  return `${dt}${hour}`;
}

const hourFolders = new Map<number, string>();

/** The folder of the hour an instant falls in: `dt=YYYY-MM-DD/hour=HH` (UTC). */
export function hourPartition(epochMs: number): string {
  // Called per record: the few hours a stream spans are formatted once each.
  const hour = Math.floor(epochMs / HOUR_MS);
  let name = hourFolders.get(hour);
  if (name === undefined) {
    name = hourFolder(lakeHourOf(hour * HOUR_MS));
    if (hourFolders.size >= 10_000) hourFolders.clear();
    hourFolders.set(hour, name);
  }
  return name;
}
