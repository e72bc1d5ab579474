import { gunzipSync } from 'node:zlib';
import { appendBatch, PartitionBuffer } from '../../activities/consumer/buffer';
import { InMemoryObjectStore } from '../../activities/consumer/object-store';
import {
  probeConditionalWrites,
  SegmentWriter,
  type Manifest,
  type WrittenSegment,
} from '../../activities/consumer/segment-writer';
import type { FlushPolicy } from '../../lib/contracts';

const prefixes = { raw: 'raw/', dlq: 'dlq/', manifest: 'manifests/' };
const T0 = Date.parse('2026-03-01T10:00:00Z');
/** Offsets divisible by 7 are not JSON (dead letters); event times step 20 minutes, so segments span hours. */
const value = (offset: number) =>
  offset % 7 === 6
    ? Buffer.from(`garbage ${offset}`)
    : Buffer.from(
        JSON.stringify({ ts: new Date(T0 + offset * 1_200_000).toISOString(), run_id: 'r', seq: offset + 1 }),
      );

/** The group's committed offset: Kafka keeps the last commit, not the highest. */
class Group {
  committed = 0;
}

/** One writer of partition 0: its buffer (loaded from the group's commit), its segment writer, what it created. */
class Member {
  buffer: PartitionBuffer;
  readonly created: WrittenSegment[] = [];
  readonly writer: SegmentWriter;
  crashBeforeCommit = false;

  constructor(
    readonly store: InMemoryObjectStore,
    readonly group: Group,
    readonly flush: FlushPolicy,
    conditionalWrites = true,
  ) {
    this.buffer = new PartitionBuffer(0, group.committed, 0);
    this.writer = new SegmentWriter({
      store,
      topic: 'ticks',
      prefixes,
      flush,
      conditionalWrites,
      commit: (_buffer, offset) => {
        if (this.crashBeforeCommit) throw new Error('crashed between write and commit');
        group.committed = offset;
      },
      written: (segment) => this.created.push(segment),
      log: { info: () => undefined },
    });
  }

  /** Fetches offsets [from, to) from the log, in batches of `size`, as the consumer hands them over. */
  read(from: number, to: number, size = 4) {
    for (let first = from; first < to; first += size) {
      const last = Math.min(to, first + size);
      const messages = [];
      for (let offset = first; offset < last; offset++) {
        messages.push({ key: null, value: value(offset), offset: String(offset), timestamp: String(T0 + offset) });
      }
      appendBatch(
        this.buffer,
        { topic: 'ticks', partition: 0, highWatermark: String(to), lastOffset: String(last - 1), messages },
        { topic: 'ticks', maxRecordBytes: 1 << 20, now: T0 },
        () => undefined,
      );
    }
    return this;
  }

  /** Writes segments while there is one up to what is held (a flush of everything), as the write queue does. */
  async drain() {
    const upTo = this.buffer.last;
    while (this.buffer.isDue(this.flush, T0, upTo)) if (!(await this.writer.write(this.buffer))) return;
  }

  /** Records of the objects this member created (not those another writer had already written). */
  get recordsCreated() {
    return this.created
      .flatMap((segment) => segment.objects.filter((o) => o.created))
      .reduce((n, o) => n + o.records, 0);
  }
}

/** Every offset in the lake (raw/ by seq, dlq/ by offset), as many times as it is there. */
async function lakeOffsets(store: InMemoryObjectStore): Promise<number[]> {
  const offsets: number[] = [];
  for (const key of [...(await store.list('raw/')), ...(await store.list('dlq/'))]) {
    const lines = gunzipSync(await store.get(key))
      .toString('utf8')
      .split('\n')
      .filter(Boolean);
    for (const line of lines) {
      const record = JSON.parse(line) as { seq?: number; offset?: number };
      offsets.push(key.startsWith('raw/') ? (record.seq as number) - 1 : (record.offset as number));
    }
  }
  return offsets.sort((a, b) => a - b);
}

/** The manifests in chain order; each starts where the previous one ended. */
async function chain(store: InMemoryObjectStore): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const key of await store.list('manifests/ticks/0/')) {
    manifests.push(JSON.parse((await store.get(key)).toString()) as Manifest);
  }
  manifests.forEach((manifest, index) =>
    expect(manifest.start).toBe(index === 0 ? 0 : (manifests[index - 1] as Manifest).end + 1),
  );
  return manifests;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);
const limits = (maxRecords: number): FlushPolicy => ({ maxRecords, maxBytes: 1 << 20, maxAgeMs: 60_000 });

/** A gate a fault hook waits on: `open()` lets the held operation go on. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('the in-memory store is create-only, fails a get of a missing key and lists in key order', async () => {
  const store = new InMemoryObjectStore();
  expect(await store.putIfAbsent('b', 'one', {})).toBe(true);
  expect(await store.putIfAbsent('b', 'two', {})).toBe(false);
  expect((await store.get('b')).toString()).toBe('one');
  await store.putIfAbsent('a/2', '', {});
  await store.putIfAbsent('a/10', '', {});
  expect(await store.list('a/')).toEqual(['a/10', 'a/2']);
  await expect(store.get('c')).rejects.toMatchObject({ name: 'NoSuchKey' });
  // Two racing creates of one key: exactly one wins.
  const results = await Promise.all([store.putIfAbsent('x', '1', {}), store.putIfAbsent('x', '2', {})]);
  expect(results.filter(Boolean)).toHaveLength(1);
  expect(await probeConditionalWrites(store, prefixes, 'ticks')).toBe(true);
  expect(await probeConditionalWrites(new InMemoryObjectStore({ ignoresIfNoneMatch: true }), prefixes, 'ticks')).toBe(
    false,
  );
});

test('two writers of one segment, cutting it differently, put every record in the lake once', async () => {
  const store = new InMemoryObjectStore();
  const group = new Group();
  // Same position, different flush limits and fetch sizes: each would end the first segment elsewhere.
  const a = new Member(store, group, limits(5)).read(0, 30, 4);
  const b = new Member(store, group, limits(8)).read(0, 30, 7);
  await Promise.all([a.drain(), b.drain()]);
  expect(await lakeOffsets(store)).toEqual(range(0, 30));
  const manifests = await chain(store);
  expect(manifests[manifests.length - 1]?.end).toBe(29);
  // Each segment's objects were created by one of the two, so the counts add up to the records once.
  expect(a.recordsCreated + b.recordsCreated).toBe(30);
  expect(a.buffer).toMatchObject({ next: 30, records: [], bytes: 0 });
  expect(b.buffer).toMatchObject({ next: 30, records: [], bytes: 0 });
  expect(group.committed).toBe(30);
  // Both wrote: the race was real (the store interleaves every call).
  expect(a.created.length).toBeGreaterThan(0);
  expect(b.created.length).toBeGreaterThan(0);
});

test('without create-only writes, two writers still write each record once (segments end only at limits)', async () => {
  const store = new InMemoryObjectStore({ ignoresIfNoneMatch: true });
  const group = new Group();
  const a = new Member(store, group, limits(5), false).read(0, 23, 4);
  const b = new Member(store, group, limits(5), false).read(0, 23, 7);
  await Promise.all([a.drain(), b.drain()]);
  // 20 records make four whole segments; the last 3 wait in Kafka for more.
  expect(await lakeOffsets(store)).toEqual(range(0, 20));
  expect(a.buffer.records.map((record) => record.offset)).toEqual([20, 21, 22]);
  expect(group.committed).toBe(20);
});

test('a crash between write and commit: the next owner adopts the segment and writes every record once', async () => {
  const store = new InMemoryObjectStore();
  const group = new Group();
  const crashed = new Member(store, group, limits(6)).read(0, 10);
  crashed.crashBeforeCommit = true;
  await expect(crashed.drain()).rejects.toThrow(/crashed between write and commit/);
  expect(group.committed).toBe(0);
  const before = await lakeOffsets(store);
  expect(before).toEqual(range(0, 6)); // its first segment is in the lake, uncommitted

  // The next owner reads from the last commit, more records than the crashed one had, with other limits.
  const next = new Member(store, group, limits(4)).read(0, 25, 5);
  await next.drain();
  expect(await lakeOffsets(store)).toEqual(range(0, 25));
  expect((await chain(store))[0]?.end).toBe(5); // the crashed writer's claim was kept
  expect(next.created[0]?.objects.every((object) => !object.created)).toBe(true);
  expect(next.recordsCreated).toBe(25 - 6);
  expect(group.committed).toBe(25);
});

test('a crash after the claim, with part of its objects written: the next owner writes the rest once', async () => {
  const store = new InMemoryObjectStore();
  const group = new Group();
  const crashed = new Member(store, group, limits(6)).read(0, 10);
  store.fault = (operation, key) => {
    if (operation === 'put' && key.endsWith('/ticks+0+0.jsonl.gz')) throw new Error('killed');
  };
  await expect(crashed.drain()).rejects.toThrow(/killed/);
  store.fault = undefined;
  expect(await store.list('manifests/')).toHaveLength(1);
  // The segment spans two hours: the object of its second hour landed, the first one's did not.
  expect(await lakeOffsets(store)).toEqual([3, 4, 5]);

  const next = new Member(store, group, limits(3)).read(0, 12);
  await next.drain();
  expect(await lakeOffsets(store)).toEqual(range(0, 12));
  expect(next.recordsCreated).toBe(12 - 3);
  expect((await chain(store))[0]?.end).toBe(5);
});

test('a late writer after a rebalance (its claim held up): it adopts the new owner’s segments, nothing twice', async () => {
  const store = new InMemoryObjectStore();
  const group = new Group();
  const late = new Member(store, group, limits(5)).read(0, 10);
  // The old owner's first S3 call hangs (a stalled connection) while the group rebalances.
  const held = gate();
  let holding = true;
  store.fault = async (operation) => {
    if (holding && operation === 'put') {
      holding = false;
      await held.opened;
    }
  };
  const lateWrite = late.drain();
  await new Promise((resolve) => setImmediate(resolve));

  const owner = new Member(store, group, limits(8)).read(0, 20);
  await owner.drain();
  expect(group.committed).toBe(20);
  held.open();
  await lateWrite;

  expect(await lakeOffsets(store)).toEqual(range(0, 20));
  expect(late.recordsCreated).toBe(0);
  expect((await chain(store)).map((manifest) => manifest.end)).toEqual([7, 15, 19]);
  // The late writer committed behind the owner (Kafka keeps the last commit)...
  expect(group.committed).toBe(8);
  // ...and stopped at the owner's next segment, which reaches past what it read.
  expect(late.buffer.adopted?.end).toBe(15);

  // Whoever reads again from that stale commit writes nothing twice.
  const again = new Member(store, group, limits(3)).read(8, 26);
  await again.drain();
  expect(await lakeOffsets(store)).toEqual(range(0, 26));
  expect(again.recordsCreated).toBe(6);
  expect(group.committed).toBe(26);
});

test('a late writer after a rebalance (its claim landed, its objects held up): the new owner finishes its segment', async () => {
  const store = new InMemoryObjectStore();
  const group = new Group();
  const late = new Member(store, group, limits(5)).read(0, 10);
  const held = gate();
  store.fault = async (operation, key) => {
    if (operation === 'put' && key.startsWith('raw/') && key.endsWith('+0.jsonl.gz') && !late.created.length) {
      await held.opened;
    }
  };
  const lateWrite = late.drain();
  while ((await store.list('manifests/ticks/0/')).length === 0) await new Promise((resolve) => setImmediate(resolve));

  const owner = new Member(store, group, limits(8)).read(0, 20);
  store.fault = undefined;
  await owner.drain();
  held.open();
  await lateWrite;

  expect(await lakeOffsets(store)).toEqual(range(0, 20));
  expect((await chain(store))[0]?.end).toBe(4); // the late writer's claim stood
  expect(late.recordsCreated + owner.recordsCreated).toBe(20);
});
