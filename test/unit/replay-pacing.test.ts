import {
  counted,
  mustWait,
  nextDue,
  PACING_SLICE_MS,
  pacingOf,
  rowDue,
  startClock,
  type PaceClock,
  type Pacing,
} from '../../activities/replay/pacing';

const T0 = Date.parse('2026-03-01T10:00:00Z');

/** The due times of `count` rows of pass 0 without event times (a fixed rate), sent one after another. */
function dueTimes(
  pacing: Pacing,
  clock: PaceClock,
  count: number,
  now = clock.start,
): { due: number[]; clock: PaceClock } {
  const due: number[] = [];
  let current = clock;
  for (let i = 0; i < count; i += 1) {
    const next = rowDue(pacing, current, { pass: 0 }, now);
    due.push(next.dueAt as number);
    current = counted(next.clock);
  }
  return { due, clock: current };
}

describe('replay pacing', () => {
  it('a fixed rate spaces rows 1000/rate ms apart from the clock start, and what is due within a slice does not wait', () => {
    const pacing = pacingOf({ kind: 'rate', rowsPerSecond: 10 }, undefined);
    expect(pacing).toEqual({ rate: 10, speed: undefined });
    const { due } = dueTimes(pacing, startClock(T0, undefined, 0), 5);
    expect(due).toEqual([T0, T0 + 100, T0 + 200, T0 + 300, T0 + 400]);
    expect(mustWait(T0 + PACING_SLICE_MS, T0)).toBe(false);
    expect(mustWait(T0 + PACING_SLICE_MS + 1, T0)).toBe(true);
    expect(mustWait(undefined, T0)).toBe(false);
  });

  it('as fast as possible: no row is due at a time and a chunk stopped by its deadline leaves no resume time', () => {
    const pacing = pacingOf({ kind: 'max' }, undefined);
    const clock = startClock(T0, undefined, 0);
    expect(rowDue(pacing, clock, { pass: 0, eventTime: T0 }, T0).dueAt).toBeUndefined();
    expect(nextDue(pacing, counted(clock))).toBeUndefined();
  });

  it('the rate carries over chunks: the next chunk starts where the last one said its next row was due', () => {
    const pacing = pacingOf({ kind: 'rate', rowsPerSecond: 10 }, undefined);
    const first = dueTimes(pacing, startClock(T0, undefined, 0), 5);
    const resumeAt = nextDue(pacing, first.clock);
    expect(resumeAt).toBe(T0 + 500);
    // The next chunk's activity starts a little early: its first row still waits for its time.
    const second = dueTimes(pacing, startClock(T0 + 450, resumeAt, 0), 3);
    expect(second.due).toEqual([T0 + 500, T0 + 600, T0 + 700]);
  });

  it('a resume after a pause starts the clock now: no burst to catch up the paused time', () => {
    const pacing = pacingOf({ kind: 'rate', rowsPerSecond: 10 }, undefined);
    const before = dueTimes(pacing, startClock(T0, undefined, 0), 5);
    const resumedAt = T0 + 60_000;
    // The paused chunk's resume time (T0 + 500) is long past when the run resumes.
    const after = dueTimes(pacing, startClock(resumedAt, nextDue(pacing, before.clock), 0), 3);
    expect(after.due).toEqual([resumedAt, resumedAt + 100, resumedAt + 200]);
    expect(after.due.filter((dueAt) => !mustWait(dueAt, resumedAt))).toHaveLength(2); // one slice, not 600 rows
  });

  it('a rate change (setRate) replaces the input rate, also of a replay paced by nothing, from now', () => {
    const faster = pacingOf({ kind: 'rate', rowsPerSecond: 10 }, 100);
    expect(faster.rate).toBe(100);
    // setRate clears the resume time: the new rate starts at once.
    const changedAt = T0 + 3_000;
    expect(dueTimes(faster, startClock(changedAt, undefined, 0), 3).due).toEqual([
      changedAt,
      changedAt + 10,
      changedAt + 20,
    ]);
    const slowed = pacingOf({ kind: 'max' }, 2);
    expect(dueTimes(slowed, startClock(changedAt, undefined, 0), 3).due).toEqual([
      changedAt,
      changedAt + 500,
      changedAt + 1000,
    ]);
  });

  it("timestamp pacing follows the file's clock divided by the speed; a row without an event time is not paced", () => {
    const pacing = pacingOf({ kind: 'timestamp', speed: 2 }, undefined);
    expect(pacing).toEqual({ rate: undefined, speed: 2 });
    const E0 = Date.parse('2020-01-02T09:30:00Z');
    let clock = startClock(T0, undefined, 0);
    const due: (number | undefined)[] = [];
    for (const eventTime of [E0, E0 + 1_000, undefined, E0 + 4_000]) {
      const next = rowDue(pacing, clock, { pass: 0, eventTime }, T0);
      due.push(next.dueAt);
      clock = counted(next.clock);
    }
    expect(due).toEqual([T0, T0 + 500, undefined, T0 + 2_000]);
    expect(nextDue(pacing, clock)).toBeUndefined();
  });

  it("a looped file's next pass starts its clock over at now instead of bursting (or waiting for the old pass's times)", () => {
    const pacing: Pacing = { speed: 1 };
    const E0 = Date.parse('2020-01-02T09:30:00Z');
    let clock = startClock(T0, undefined, 0);
    for (const eventTime of [E0, E0 + 10_000]) clock = counted(rowDue(pacing, clock, { pass: 0, eventTime }, T0).clock);
    const now = T0 + 10_050;
    const firstOfPass1 = rowDue(pacing, clock, { pass: 1, eventTime: E0 }, now);
    expect(firstOfPass1.dueAt).toBe(now);
    expect(firstOfPass1.clock).toMatchObject({ start: now, pass: 1, firstEventTime: E0 });
    const secondOfPass1 = rowDue(pacing, counted(firstOfPass1.clock), { pass: 1, eventTime: E0 + 3_000 }, now + 1);
    expect(secondOfPass1.dueAt).toBe(now + 3_000);
  });

  it('is pure: a clock is never changed in place, and the same inputs give the same answer', () => {
    const pacing: Pacing = { speed: 4 };
    const clock = startClock(T0, T0 - 5_000, 0);
    expect(clock.start).toBe(T0); // a resume time in the past is now
    const frozen = Object.freeze({ ...clock });
    const a = rowDue(pacing, frozen, { pass: 0, eventTime: 1_000 }, T0 + 7);
    const b = rowDue(pacing, frozen, { pass: 0, eventTime: 1_000 }, T0 + 7);
    expect(a).toEqual(b);
    expect(frozen.firstEventTime).toBeUndefined();
    expect(counted(frozen).paced).toBe(1);
    expect(frozen.paced).toBe(0);
  });
});
