/**
 * The replay's pacing, as pure functions of the time they are given: when each row is due, whether it must
 * wait, and when the next chunk must start. No clock is read here; the activity passes `Date.now()`.
 */

/** Paced replays commit what is due in slices of this length: ~10 transactions a second. */
export const PACING_SLICE_MS = 100;

/** How rows are paced: a fixed rate (rows a second), the file's own clock sped up by `speed`, or neither (max). */
export interface Pacing {
  rate?: number;
  speed?: number;
}

/** Where a chunk's pacing clock stands. */
export interface PaceClock {
  /** When the chunk's first paced row is due (ms since the epoch). */
  readonly start: number;
  /** Rows paced so far in this chunk. */
  readonly paced: number;
  /** Timestamp pacing: the pass the clock is anchored to (a looped file starts its clock over). */
  readonly pass: number;
  /** Timestamp pacing: the event time of the pass's first paced row. */
  readonly firstEventTime?: number;
}

/**
 * A chunk's pacing: the workflow's current rate (a setRate signal replaces the input's) or the input's timestamp
 * pacing.
 */
export function pacingOf(
  pacing: { kind: 'max' } | { kind: 'rate'; rowsPerSecond: number } | { kind: 'timestamp'; speed: number },
  rowsPerSecond: number | undefined,
): Pacing {
  const rate = rowsPerSecond ?? (pacing.kind === 'rate' ? pacing.rowsPerSecond : undefined);
  return { rate, speed: pacing.kind === 'timestamp' ? pacing.speed : undefined };
}

/**
 * A chunk's clock. Pacing carries over chunks: the first row is due when the last chunk said the next row would
 * be (`notBefore`), or now if that is past (a resume after a pause, or a new rate, starts now instead of bursting
 * to catch up).
 */
export function startClock(now: number, notBefore: number | undefined, pass: number): PaceClock {
  return { start: Math.max(now, notBefore ?? 0), paced: 0, pass };
}

/**
 * When the next row is due: at a fixed rate, `paced` rows after the clock's start; with timestamp pacing, its event
 * time's distance from the pass's first one divided by the speed (a row without an event time, a reject, is not
 * paced: undefined). A new pass re-anchors the clock at `now` (or its start, if later). Returns the clock to keep.
 */
export function rowDue(
  pacing: Pacing,
  clock: PaceClock,
  row: { pass: number; eventTime?: number },
  now: number,
): { dueAt: number | undefined; clock: PaceClock } {
  if (pacing.rate !== undefined) return { dueAt: clock.start + (clock.paced * 1000) / pacing.rate, clock };
  if (pacing.speed === undefined || row.eventTime === undefined) return { dueAt: undefined, clock };
  let next = clock;
  if (row.pass !== clock.pass) next = { start: Math.max(now, clock.start), paced: clock.paced, pass: row.pass };
  const firstEventTime = next.firstEventTime ?? row.eventTime;
  if (next.firstEventTime === undefined) next = { ...next, firstEventTime };
  return { dueAt: next.start + (row.eventTime - firstEventTime) / pacing.speed, clock: next };
}

/** The clock after a row is sent. */
export function counted(clock: PaceClock): PaceClock {
  return { ...clock, paced: clock.paced + 1 };
}

/** Whether a row due at `dueAt` must wait: it is due after the slice that starts now. */
export function mustWait(dueAt: number | undefined, now: number): dueAt is number {
  return dueAt !== undefined && dueAt > now + PACING_SLICE_MS;
}

/**
 * When the next chunk's first row is due, for a chunk stopped by its deadline between rows: known at a fixed rate
 * (the next row's place), unknown otherwise (undefined: the next chunk starts at once).
 */
export function nextDue(pacing: Pacing, clock: PaceClock): number | undefined {
  return pacing.rate === undefined ? undefined : clock.start + (clock.paced * 1000) / pacing.rate;
}
