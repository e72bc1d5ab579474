import { Market, parseTick, type Tick } from '../../dashboard/market';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 0, 5, 14, 30, 30);
let offset = 0;
const tick = (symbol: string, price: number, size: number, ts = NOW): Tick => ({
  symbol,
  price,
  size,
  ts,
  receivedAt: ts,
  partition: 0,
  offset: String(offset++),
});

describe('Market', () => {
  test('keeps the last trade per symbol, its recent points and one-minute candles', () => {
    const market = new Market();
    market.add(tick('ABC', 10, 5, NOW - MINUTE));
    market.add(tick('ABC', 12, 1, NOW - MINUTE + 1000));
    market.add(tick('ABC', 9, 2, NOW - MINUTE + 2000));
    market.add(tick('ABC', 11, 3, NOW));
    const series = market.series('ABC')!;
    expect(series.last.price).toBe(11);
    expect(series.prices).toEqual([10, 12, 9, 11]);
    expect(series.sizes).toEqual([5, 1, 2, 3]);
    expect(series.candles).toEqual([
      { minute: NOW - MINUTE - 30_000, open: 10, high: 12, low: 9, close: 9, volume: 8, trades: 3 },
      { minute: NOW - 30_000, open: 11, high: 11, low: 11, close: 11, volume: 3, trades: 1 },
    ]);
    expect(market.series('NONE')).toBeUndefined();
  });

  test('a late tick updates the candle of its own minute, not the newest one’s close', () => {
    const market = new Market();
    market.add(tick('ABC', 10, 1, NOW - 2 * MINUTE));
    market.add(tick('ABC', 20, 1, NOW));
    market.add(tick('ABC', 5, 1, NOW - 2 * MINUTE + 5000));
    market.add(tick('ABC', 7, 1, NOW - MINUTE));
    const candles = market.series('ABC')!.candles;
    expect(candles.map((c) => [c.open, c.low, c.close, c.trades])).toEqual([
      [10, 5, 10, 2],
      [7, 7, 7, 1],
      [20, 20, 20, 1],
    ]);
  });

  test('ranks by volume, trades and change since the window’s first price, within the window only', () => {
    const market = new Market();
    market.add(tick('OLD', 100, 1_000_000, NOW - 10 * MINUTE)); // outside a 5-minute window
    market.add(tick('AAA', 100, 50, NOW - 4 * MINUTE));
    market.add(tick('AAA', 110, 50, NOW));
    market.add(tick('BBB', 50, 10, NOW - MINUTE));
    market.add(tick('BBB', 40, 10, NOW));
    market.add(tick('BBB', 45, 10, NOW));
    const five = market.rankings(5, NOW, 10);
    expect(five.byVolume.map((r) => [r.symbol, r.volume])).toEqual([
      ['AAA', 100],
      ['BBB', 30],
    ]);
    expect(five.byTrades.map((r) => r.symbol)).toEqual(['BBB', 'AAA']);
    expect(five.gainers.map((r) => [r.symbol, r.change])).toEqual([['AAA', 0.1]]);
    expect(five.losers.map((r) => [r.symbol, r.change])).toEqual([['BBB', -0.1]]);
    // 60 minutes take the old trade in; 1 minute only this minute's.
    expect(market.rankings(60, NOW, 1).byVolume.map((r) => r.symbol)).toEqual(['OLD']);
    expect(market.rankings(1, NOW, 10).byVolume.map((r) => [r.symbol, r.volume])).toEqual([
      ['AAA', 50],
      ['BBB', 20],
    ]);
  });

  test('a symbol with one tick ranks with no change; an empty market ranks nothing', () => {
    const market = new Market();
    expect(market.rankings(5, NOW, 10)).toMatchObject({ byVolume: [], byTrades: [], gainers: [], losers: [] });
    market.add(tick('ONE', 3, 7));
    const ranked = market.rankings(5, NOW, 10);
    expect(ranked.byVolume).toEqual([{ symbol: 'ONE', volume: 7, trades: 1, last: 3, change: 0 }]);
    expect(ranked.gainers).toEqual([]);
  });

  test('memory stays bounded: symbols, points per symbol, candles and the tape have limits', () => {
    const market = new Market({ maxSymbols: 100, pointsPerSymbol: 50, tapeLength: 20 });
    for (let i = 0; i < 10_000; i++) market.add(tick(`S${i}`, i, 1));
    expect(market.symbolCount).toBe(100);
    // The least recently traded are forgotten first.
    expect(market.series('S0')).toBeUndefined();
    expect(market.series('S9999')?.last.price).toBe(9999);
    for (let i = 0; i < 500; i++) market.add(tick('HOT', i, 1, NOW + i * MINUTE));
    const hot = market.series('HOT')!;
    expect(hot.prices).toHaveLength(50);
    expect(hot.prices.at(-1)).toBe(499);
    expect(hot.candles.length).toBeLessThanOrEqual(61);
    expect(market.tapeSince(0, 1000)).toHaveLength(20);
  });

  test('a symbol’s chart points grow as it trades, oldest first, up to the limit', () => {
    const market = new Market({ maxSymbols: 10, pointsPerSymbol: 50, tapeLength: 20 });
    const prices = (count: number) => {
      for (let i = 0; i < count; i++) market.add(tick('GROW', market.ticks, 1, NOW + market.ticks * 1000));
      return market.series('GROW')!.prices;
    };
    expect(prices(3)).toEqual([0, 1, 2]);
    expect(prices(10)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(prices(40)).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    expect(market.sizes()).toMatchObject({ symbols: 1, tape: 20, points: 50 });
  });

  test('the tape gives the trades after a number, newest last, at most a limit', () => {
    const market = new Market();
    for (let i = 1; i <= 5; i++) market.add(tick('T', i, 1));
    expect(market.latest).toBe(5);
    expect(market.tapeSince(3, 10).map((t) => t.price)).toEqual([4, 5]);
    expect(market.tapeSince(0, 2).map((t) => t.price)).toEqual([4, 5]);
    expect(market.tapeSince(5, 10)).toEqual([]);
  });

  test('the tape keeps the last trades in order across its trims, whatever the count', () => {
    const market = new Market({ maxSymbols: 10, pointsPerSymbol: 50, tapeLength: 20 });
    for (const total of [19, 20, 21, 39, 40, 41, 107]) {
      while (market.ticks < total) market.add(tick('T', market.ticks + 1, 1));
      const last = (count: number) => Array.from({ length: count }, (_, i) => total - count + 1 + i);
      expect(market.tapeSince(0, 1000).map((t) => t.price)).toEqual(last(Math.min(total, 20)));
      expect(market.tapeSince(total - 3, 1000).map((t) => t.price)).toEqual(last(3));
      expect(market.sizes().tape).toBe(Math.min(total, 20));
    }
  });

  test('finds symbols by prefix, the most recently traded first', () => {
    const market = new Market();
    for (const symbol of ['ABC', 'ABD', 'XYZ', 'abe']) market.add(tick(symbol, 1, 1));
    expect(market.find('ab', 10)).toEqual(['abe', 'ABD', 'ABC']);
    expect(market.find('AB', 2)).toEqual(['abe', 'ABD']);
    expect(market.find('Q', 10)).toEqual([]);
  });
});

describe('parseTick', () => {
  const meta = { partition: 2, offset: '7', timestamp: String(NOW), receivedAt: NOW + 5 };
  const value = (body: unknown) => Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));

  test('reads ticks (symbol, price, size) and the index sample (key, close, volume)', () => {
    const ts = new Date(NOW - 1000).toISOString();
    expect(parseTick(null, value({ symbol: 'AAPL', price: 1.5, size: 10, ts }), meta)).toEqual({
      symbol: 'AAPL',
      price: 1.5,
      size: 10,
      ts: NOW - 1000,
      receivedAt: NOW + 5,
      partition: 2,
      offset: '7',
    });
    expect(parseTick('HSI', value({ index: 'HSI', close: 20_000, volume: 3e9, ts }), meta)).toMatchObject({
      symbol: 'HSI',
      price: 20_000,
      size: 3e9,
    });
    // No ts: the record's timestamp; no size: 0.
    expect(parseTick('X', value({ price: 2 }), meta)).toMatchObject({ ts: NOW, size: 0 });
  });

  test.each([
    [null, null, 'no value'],
    ['X', '{"price": ', 'not JSON'],
    ['X', '[1, 2]', 'not a JSON object'],
    ['X', '"text"', 'not a JSON object'],
    [null, '{"price": 1}', 'no symbol'],
    ['X'.repeat(65), '{"price": 1}', 'no symbol'],
    ['X', '{"price": "1.5"}', 'no numeric price'],
    ['X', '{"close": null}', 'no numeric price'],
  ])('key %j value %j is not a tick: %s', (key, body, reason) => {
    expect(parseTick(key, body === null ? null : value(body), meta)).toMatch(new RegExp(`^${reason}`));
  });
});
