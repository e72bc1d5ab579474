import { OpenBatch, TransactionPipeline } from '../../activities/replay/transactions';

/** A commit that the test settles by hand, recording the order transactions start and end in. */
function manualCommits() {
  const events: string[] = [];
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const commit = (batch: number) =>
    new Promise<void>((resolve, reject) => {
      events.push(`start ${batch}`);
      pending.set(batch, {
        resolve: () => {
          events.push(`commit ${batch}`);
          resolve();
        },
        reject: (error) => {
          events.push(`fail ${batch}`);
          reject(error);
        },
      });
    });
  return { events, pending, commit };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('replay transaction pipeline', () => {
  it('keeps one transaction in flight: the next starts only once the one before has committed, in order', async () => {
    const { events, pending, commit } = manualCommits();
    const pipeline = new TransactionPipeline(commit);
    await pipeline.submit(1); // started, not waited for: the caller reads the next batch meanwhile
    expect(events).toEqual(['start 1']);
    const second = pipeline.submit(2);
    await tick();
    expect(events).toEqual(['start 1']); // 2 waits for 1
    pending.get(1)!.resolve();
    await second;
    expect(events).toEqual(['start 1', 'commit 1', 'start 2']);
    const settled = pipeline.settle();
    pending.get(2)!.resolve();
    await settled;
    expect(events).toEqual(['start 1', 'commit 1', 'start 2', 'commit 2']);
  });

  it('a failed transaction surfaces at the next submit, and the batch submitted after it is never started', async () => {
    const { events, pending, commit } = manualCommits();
    const pipeline = new TransactionPipeline(commit);
    await pipeline.submit(1);
    const second = pipeline.submit(2);
    pending.get(1)!.reject(new Error('fenced'));
    await expect(second).rejects.toThrow('fenced');
    expect(events).toEqual(['start 1', 'fail 1']);
    await pipeline.close();
    expect(events).not.toContain('start 2');
  });

  it('a failure surfaces at settle; close waits for the transaction in flight and swallows its failure', async () => {
    const { events, pending, commit } = manualCommits();
    const pipeline = new TransactionPipeline(commit);
    await pipeline.submit(1);
    const settled = pipeline.settle();
    pending.get(1)!.reject(new Error('timed out'));
    await expect(settled).rejects.toThrow('timed out');

    await pipeline.submit(2);
    let closed = false;
    const closing = pipeline.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false); // close waits for the transaction in flight
    pending.get(2)!.reject(new Error('broker gone'));
    await closing;
    expect(closed).toBe(true);
    expect(events).toEqual(['start 1', 'fail 1', 'start 2', 'fail 2']);
    await expect(pipeline.settle()).resolves.toBeUndefined(); // nothing left in flight
  });
});

describe('replay open batch', () => {
  const T0 = 1_000_000;

  it('is full at batchRows rows, records and rejects together, and starts over once taken', () => {
    const open = new OpenBatch<string>(3, 1_000, T0);
    open.add('a');
    open.reject('bad');
    expect(open.full(T0)).toBe(false);
    open.add('b');
    expect(open.full(T0)).toBe(true);
    expect(open.take({ rowsRead: 3 }, T0 + 5)).toEqual({
      messages: ['a', 'b'],
      rejects: ['bad'],
      marker: { rowsRead: 3 },
    });
    expect(open.size).toBe(0);
    expect(open.full(T0 + 5)).toBe(false);
  });

  it('is full once open maxOpenMs, so progress shows at low rates; the age counts from the last take', () => {
    const open = new OpenBatch<string>(1_000, 1_000, T0);
    open.add('a');
    expect(open.full(T0 + 999)).toBe(false);
    expect(open.full(T0 + 1_000)).toBe(true);
    open.take({ rowsRead: 1 }, T0 + 1_000);
    open.add('b');
    expect(open.full(T0 + 1_999)).toBe(false);
    expect(open.full(T0 + 2_000)).toBe(true);
  });

  it('an empty batch is not a transaction: take gives nothing', () => {
    const open = new OpenBatch<string>(10, 1_000, T0);
    expect(open.take({ rowsRead: 0 }, T0 + 10)).toBeUndefined();
  });
});
