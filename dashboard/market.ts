/**
 * The dashboard's picture of the market, from the ticks it reads: per symbol
 * the last trade, recent points and one-minute candles; the tape of the last
 * trades; rankings over a window. Every structure is bounded, so memory stays
 * flat however long it runs and however many symbols arrive.
 */

export interface Tick {
  symbol: string;
  price: number;
  size: number;
  /** The tick's own time (its `ts`: when it was produced), ms. */
  ts: number;
  /** When the dashboard read it, ms. */
  receivedAt: number;
  partition: number;
  offset: string;
}

export interface Candle {
  /** Start of the minute, ms. */
  minute: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
}

export interface RankedSymbol {
  symbol: string;
  volume: number;
  trades: number;
  last: number;
  /** Change since the window's first price, as a fraction (0.01 = +1 %). */
  change: number;
}

export interface Rankings {
  windowMinutes: number;
  byVolume: RankedSymbol[];
  byTrades: RankedSymbol[];
  gainers: RankedSymbol[];
  losers: RankedSymbol[];
  symbols: number;
}

export interface SymbolSeries {
  symbol: string;
  last: Tick;
  /** Recent trades, oldest first: times (s), prices, sizes. */
  times: number[];
  prices: number[];
  sizes: number[];
  candles: Candle[];
}

export interface MarketLimits {
  /** Symbols kept; the least recently traded are forgotten beyond it. */
  maxSymbols: number;
  /** Trades kept per symbol for its chart. */
  pointsPerSymbol: number;
  /** Trades kept on the tape. */
  tapeLength: number;
}

export const DEFAULT_LIMITS: MarketLimits = { maxSymbols: 10_000, pointsPerSymbol: 600, tapeLength: 200 };
export const WINDOW_MINUTES = [1, 5, 10, 60] as const;
const MINUTE_MS = 60_000;
/** Candles kept per symbol: the longest window, and a margin for ticks that arrive a little late. */
const CANDLES_KEPT = 61;

/**
 * A ring of at most `capacity` numbers, read oldest first. It grows as it fills, so ten thousand symbols with a
 * few trades each take a few kilobytes each, not the whole capacity.
 */
class Ring {
  private values = new Float64Array(8);
  private next = 0;
  length = 0;
  constructor(private readonly capacity: number) {}
  push(value: number) {
    if (this.length === this.values.length && this.length < this.capacity) {
      const grown = new Float64Array(Math.min(this.capacity, this.values.length * 2));
      grown.set(this.toArray());
      this.values = grown;
      this.next = this.length;
    }
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.values.length;
    this.length = Math.min(this.length + 1, this.values.length);
  }
  toArray(): number[] {
    const start = (this.next - this.length + this.values.length) % this.values.length;
    return Array.from({ length: this.length }, (_, i) => this.values[(start + i) % this.values.length] as number);
  }
}

class SymbolState {
  last: Tick;
  readonly times: Ring;
  readonly prices: Ring;
  readonly sizes: Ring;
  /** Oldest first, one per minute that had trades. */
  candles: Candle[] = [];
  constructor(first: Tick, points: number) {
    this.last = first;
    this.times = new Ring(points);
    this.prices = new Ring(points);
    this.sizes = new Ring(points);
  }

  add(tick: Tick) {
    this.last = tick;
    this.times.push(tick.ts / 1000);
    this.prices.push(tick.price);
    this.sizes.push(tick.size);
    const minute = Math.floor(tick.ts / MINUTE_MS) * MINUTE_MS;
    let index = this.candles.length - 1;
    while (index >= 0 && (this.candles[index] as Candle).minute > minute) index -= 1;
    const candle = this.candles[index];
    if (candle?.minute === minute) {
      candle.high = Math.max(candle.high, tick.price);
      candle.low = Math.min(candle.low, tick.price);
      if (index === this.candles.length - 1) candle.close = tick.price;
      candle.volume += tick.size;
      candle.trades += 1;
    } else {
      const fresh = { minute, open: tick.price, high: tick.price, low: tick.price, close: tick.price };
      this.candles.splice(index + 1, 0, { ...fresh, volume: tick.size, trades: 1 });
      if (this.candles.length > CANDLES_KEPT) this.candles.shift();
    }
  }
}

export class Market {
  private readonly symbols = new Map<string, SymbolState>();
  private readonly tape: Tick[] = [];
  /** Ticks taken since the start; a client asks for those after the last number it saw. */
  private sequence = 0;
  ticks = 0;

  constructor(private readonly limits: MarketLimits = DEFAULT_LIMITS) {}

  add(tick: Tick): void {
    this.ticks += 1;
    this.sequence += 1;
    let state = this.symbols.get(tick.symbol);
    if (state)
      this.symbols.delete(tick.symbol); // re-inserted last: the Map's order is least recently traded first
    else state = new SymbolState(tick, this.limits.pointsPerSymbol);
    state.add(tick);
    this.symbols.set(tick.symbol, state);
    if (this.symbols.size > this.limits.maxSymbols) this.symbols.delete(this.symbols.keys().next().value as string);
    // Trimmed when twice as long as kept, not at every tick: one splice per tapeLength ticks at full speed.
    this.tape.push(tick);
    if (this.tape.length >= 2 * this.limits.tapeLength) this.tape.splice(0, this.tape.length - this.limits.tapeLength);
  }

  /** The number of the newest tick taken. */
  get latest(): number {
    return this.sequence;
  }

  /** Trades after number `after`, oldest first, at most `limit` (the newest ones). */
  tapeSince(after: number, limit: number): Tick[] {
    const count = Math.min(this.sequence - after, this.tape.length, this.limits.tapeLength, limit);
    return count > 0 ? this.tape.slice(this.tape.length - count) : [];
  }

  series(symbol: string): SymbolSeries | undefined {
    const state = this.symbols.get(symbol);
    if (!state) return undefined;
    return {
      symbol,
      last: state.last,
      times: state.times.toArray(),
      prices: state.prices.toArray(),
      sizes: state.sizes.toArray(),
      candles: state.candles.map((candle) => ({ ...candle })),
    };
  }

  /** Symbols starting with `prefix` (case-insensitive), the most recently traded first. */
  find(prefix: string, limit: number): string[] {
    const wanted = prefix.toUpperCase();
    const found: string[] = [];
    const names = [...this.symbols.keys()];
    for (let i = names.length - 1; i >= 0 && found.length < limit; i--) {
      const name = names[i] as string;
      if (name.toUpperCase().startsWith(wanted)) found.push(name);
    }
    return found;
  }

  /**
   * Rankings over the last `windowMinutes` minutes of tick time (the current
   * minute and the ones before it): volume, trades, and change since the
   * window's first price.
   */
  rankings(windowMinutes: number, now: number, limit: number): Rankings {
    const from = Math.floor(now / MINUTE_MS) * MINUTE_MS - (windowMinutes - 1) * MINUTE_MS;
    const ranked: RankedSymbol[] = [];
    for (const [symbol, state] of this.symbols) {
      let volume = 0;
      let trades = 0;
      let first: number | undefined;
      for (let i = state.candles.length - 1; i >= 0; i--) {
        const candle = state.candles[i] as Candle;
        if (candle.minute < from) break;
        volume += candle.volume;
        trades += candle.trades;
        first = candle.open;
      }
      if (trades === 0 || first === undefined) continue;
      const last = state.last.price;
      ranked.push({ symbol, volume, trades, last, change: first === 0 ? 0 : (last - first) / first });
    }
    const top = (compare: (a: RankedSymbol, b: RankedSymbol) => number) =>
      [...ranked].sort((a, b) => compare(a, b) || a.symbol.localeCompare(b.symbol)).slice(0, limit);
    return {
      windowMinutes,
      byVolume: top((a, b) => b.volume - a.volume),
      byTrades: top((a, b) => b.trades - a.trades),
      gainers: top((a, b) => b.change - a.change).filter((entry) => entry.change > 0),
      losers: top((a, b) => a.change - b.change).filter((entry) => entry.change < 0),
      symbols: this.symbols.size,
    };
  }

  /** How much the market holds: symbols, tape trades, chart points and candles (each bounded by the limits). */
  sizes(): { symbols: number; tape: number; points: number; candles: number } {
    let points = 0;
    let candles = 0;
    for (const state of this.symbols.values()) {
      points += state.times.length;
      candles += state.candles.length;
    }
    return { symbols: this.symbols.size, tape: Math.min(this.tape.length, this.limits.tapeLength), points, candles };
  }

  get symbolCount(): number {
    return this.symbols.size;
  }
}

/** The fields a tick's price and size are read from, first present wins (ticks: price/size; the index sample: close/volume). */
const PRICE_FIELDS = ['price', 'close', 'last'];
const SIZE_FIELDS = ['size', 'volume', 'quantity', 'qty'];

/** The first of `fields` that holds a finite number (a loop: this runs for every tick read). */
function firstFinite(record: Record<string, unknown>, fields: readonly string[]): number | undefined {
  for (const field of fields) {
    const value = record[field];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

/**
 * A Kafka record as a tick: the symbol is the record's key (the replay keys by
 * symbol) or its `symbol` field; `ts` its time. Anything else is not a tick: a
 * string saying why.
 */
export function parseTick(
  key: string | null,
  value: Buffer | null,
  meta: { partition: number; offset: string; timestamp: string; receivedAt: number },
): Tick | string {
  if (!value) return 'no value';
  let body: unknown;
  try {
    body = JSON.parse(value.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a JSON object';
  const record = body as Record<string, unknown>;
  const symbol = key ?? (typeof record.symbol === 'string' ? record.symbol : undefined);
  if (!symbol || symbol.length > 64) return 'no symbol (record key or symbol field, 1-64 characters)';
  const price = firstFinite(record, PRICE_FIELDS);
  if (price === undefined) return `no numeric price (${PRICE_FIELDS.join(', ')})`;
  const size = firstFinite(record, SIZE_FIELDS);
  const ts = typeof record.ts === 'string' ? Date.parse(record.ts) : NaN;
  return {
    symbol,
    price,
    size: size ?? 0,
    ts: Number.isFinite(ts) ? ts : Number(meta.timestamp),
    receivedAt: meta.receivedAt,
    partition: meta.partition,
    offset: meta.offset,
  };
}
