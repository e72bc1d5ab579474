/**
 * Transaction pipelining: one Kafka transaction is in flight while the next batch is read and encoded, so the
 * broker's round trips overlap the CPU work instead of following it. Transactions commit in submission order, one at
 * a time; a failed one surfaces at the next `submit` or `settle`, and nothing submitted after it is started.
 */
export class TransactionPipeline<Batch> {
  private inFlight: Promise<void> | undefined;

  constructor(private readonly commit: (batch: Batch) => Promise<void>) {}

  /** Waits for the transaction in flight (failing with its failure, without starting this one), then starts this one. */
  async submit(batch: Batch): Promise<void> {
    await this.settle();
    const pending = this.commit(batch);
    pending.catch(() => undefined); // surfaced by the next settle()
    this.inFlight = pending;
  }

  /** Waits for the transaction in flight; fails with its failure. */
  async settle(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = undefined;
    await pending;
  }

  /** Waits for the transaction in flight, ignoring its outcome (on the way out after another failure). */
  async close(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = undefined;
    await pending?.catch(() => undefined);
  }
}

/** The rows of one transaction: records, rejects, and the marker committed with them. */
export interface TransactionBatch<Message, Marker> {
  messages: Message[];
  rejects: Message[];
  marker: Marker;
}

/**
 * The open transaction's rows: full when it holds `batchRows` rows or has been open `maxOpenMs` (so progress shows
 * even at low rates). Pure: the time is passed in.
 */
export class OpenBatch<Message> {
  private messages: Message[] = [];
  private rejects: Message[] = [];
  private openedAt: number;

  constructor(
    private readonly batchRows: number,
    private readonly maxOpenMs: number,
    now: number,
  ) {
    this.openedAt = now;
  }

  get size(): number {
    return this.messages.length + this.rejects.length;
  }

  add(message: Message): void {
    this.messages.push(message);
  }

  reject(message: Message): void {
    this.rejects.push(message);
  }

  full(now: number): boolean {
    return this.size >= this.batchRows || now - this.openedAt >= this.maxOpenMs;
  }

  /** The rows so far with their marker, the batch open again from `now`; undefined (and no change) if none. */
  take<Marker>(marker: Marker, now: number): TransactionBatch<Message, Marker> | undefined {
    if (this.size === 0) return undefined;
    this.openedAt = now;
    const batch = { messages: this.messages, rejects: this.rejects, marker };
    this.messages = [];
    this.rejects = [];
    return batch;
  }
}
