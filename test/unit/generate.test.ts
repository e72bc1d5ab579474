import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTicks, TICK_HEADER } from '../../scripts/generate';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticksync-generate-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function generate(name: string, seed: number): Promise<string[]> {
  const out = path.join(dir, name);
  await generateTicks({
    rows: 20_000,
    out,
    symbols: 50,
    seed,
    start: '2026-01-05T14:30:00.000Z',
    ticksPerSecond: 1000,
  });
  return fs.readFileSync(out, 'utf8').trimEnd().split('\n');
}

test('writes the header and the asked number of well-formed ticks, in time order', async () => {
  const [header, ...rows] = await generate('a.csv', 7);
  expect(header).toBe(TICK_HEADER);
  expect(rows).toHaveLength(20_000);
  let previous = 0;
  const symbols = new Map<string, number>();
  for (const row of rows) {
    const [timestamp, symbol, price, size, side] = row.split(',') as [string, string, string, string, string];
    const time = Date.parse(timestamp);
    expect(time).toBeGreaterThanOrEqual(previous);
    previous = time;
    expect(symbol).toMatch(/^[A-Z]{2,4}$/);
    expect(Number(price)).toBeGreaterThan(0);
    expect(Number.isInteger(Number(size)) && Number(size) > 0).toBe(true);
    expect(['buy', 'sell']).toContain(side);
    symbols.set(symbol, (symbols.get(symbol) ?? 0) + 1);
  }
  expect(symbols.size).toBe(50);
  // Zipf-like popularity: the busiest symbol trades far more than the quietest.
  const counts = [...symbols.values()].sort((a, b) => b - a);
  expect((counts[0] as number) / (counts.at(-1) as number)).toBeGreaterThan(10);
  // ~1000 ticks per second of market time.
  const seconds = (previous - Date.parse('2026-01-05T14:30:00.000Z')) / 1000;
  expect(seconds).toBeGreaterThan(16);
  expect(seconds).toBeLessThan(24);
});

test('the same seed writes the same file; another seed another', async () => {
  expect(await generate('b.csv', 7)).toEqual(await generate('c.csv', 7));
  expect(await generate('d.csv', 8)).not.toEqual(await generate('e.csv', 7));
});
