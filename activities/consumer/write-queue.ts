import type { FlushPolicy } from '../../lib/contracts';
import type { PartitionBuffer } from './buffer';
import type { SegmentWriter } from './segment-writer';

/**
 * Runs the segment writes: a partition's writes one after another (across rebalances too: keyed by partition
 * number), partitions side by side. Intake only appends to the buffers, and a write removes exactly the records
 * it wrote (by offset), so intake need not wait for it.
 */
export class WriteQueue {
  private readonly writing = new Map<number, Promise<void>>();

  constructor(
    private readonly writer: SegmentWriter,
    private readonly flush: FlushPolicy,
    /** Whether the buffer is still the member's (a rebalance replaces the buffers). */
    private readonly owns: (buffer: PartitionBuffer) => boolean,
    /** Called when the last write under way settles, with whether the chain that ended wrote anything. */
    private readonly idle: (wrote: boolean) => void,
  ) {}

  isWriting(partition: number): boolean {
    return this.writing.has(partition);
  }

  /**
   * Writes a partition's segments while they are due, after its earlier writes; with `whole`, also everything
   * it holds now (not what arrives meanwhile, so a flush ends under steady traffic). A writer whose partition
   * was reassigned stops after its segment: the new owner reads on from the last commit.
   */
  writeDue(buffer: PartitionBuffer, whole: boolean): Promise<void> {
    const { partition } = buffer;
    const upTo = whole ? buffer.last : undefined;
    let wrote = false;
    const run = async () => {
      while (this.owns(buffer) && buffer.isDue(this.flush, Date.now(), upTo)) {
        if (!(await this.writer.write(buffer))) return;
        wrote = true;
      }
    };
    const written = (this.writing.get(partition) ?? Promise.resolve()).then(run);
    const settled = written
      .catch(() => undefined)
      .finally(() => {
        if (this.writing.get(partition) !== settled) return;
        this.writing.delete(partition);
        if (this.writing.size === 0) this.idle(wrote);
      });
    this.writing.set(partition, settled);
    return written;
  }

  /** Writes every buffer's due segments (all that each holds, when `whole`); fails with the first failure. */
  async flushAll(buffers: Iterable<PartitionBuffer>, whole: boolean): Promise<void> {
    const results = await Promise.allSettled([...buffers].map((buffer) => this.writeDue(buffer, whole)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Settles when every write under way has (the writes of partitions a rebalance took away included). */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.writing.values()]);
  }
}
