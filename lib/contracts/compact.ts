import { defineQuery } from '@temporalio/workflow';
import type { LakeHour } from '../hour-keys';

/** The compaction workflow's contract: closed hours of a raw table compacted into Parquet. */

export type { LakeHour } from '../hour-keys';

export interface CompactInput {
  /** Glue database and table of the raw topic (the crawled table). */
  database: string;
  table: string;
  /** Hours to compact (each must be closed); none: every closed hour of the catalog within `lookbackHours`. */
  hours?: LakeHour[];
  /** An hour is closed once it ended this long ago (late records). */
  graceMinutes: number;
  /** How far back a run without `hours` looks for new or changed hours. */
  lookbackHours: number;
  /** Parquet file size aimed at. */
  targetMb: number;
}

/** A compaction's defaults: `npm run compact` and `npm run schedule -- compact` show them in their --help. */
export const COMPACT_DEFAULTS: Readonly<Pick<CompactInput, 'graceMinutes' | 'lookbackHours' | 'targetMb'>> =
  Object.freeze({ graceMinutes: 15, lookbackHours: 7 * 24, targetMb: 128 });

export type HourOutcome = 'published' | 'unchanged' | 'empty';

export interface HourCompaction extends LakeHour {
  outcome: HourOutcome;
  /** Raw objects read (corrupt ones included). */
  rawObjects: number;
  records: number;
  files: number;
  bytes: number;
  /** Raw objects (or lines of them) that could not be read, sent to dlq/. */
  deadLetters: number;
  /** Where the hour is read from after this run. */
  location?: string;
}

export interface CompactHourInput extends LakeHour {
  database: string;
  table: string;
  targetMb: number;
}

export interface ClosedHoursInput {
  database: string;
  table: string;
  graceMinutes: number;
  lookbackHours: number;
}

export interface CompactResult {
  hours: HourCompaction[];
}

export interface CompactProgress {
  /** Hours to look at, and those done so far (with what each came to). */
  hours: LakeHour[];
  done: HourCompaction[];
}

export const compactProgressQuery = defineQuery<CompactProgress>('compactProgress');
